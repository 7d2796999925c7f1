"""The customer search indexes answer exactly what the row-by-row scan answers, and follow every change."""
import pytest
from sqlalchemy import text

from app.customers import search_index
from app.customers.models import Customer
from app.customers.service import create_customer, search_customers, update_customer
from app.extensions import db
from tests.integration.test_postgres import pg_app, pg_url  # noqa: F401 (fixtures)

PEOPLE = [
    ("北京精工制造有限公司", "周经理", "13800138001"),
    ("上海精工制造有限公司", "王建国", "13900139002"),
    ("ABC Trading Co.", "Alice Brown", "13700137003"),
    ("abc 贸易", "李四", "13600136004"),
    ("100% 满意服务", "张三", "13500135005"),
    ("a_b 科技", "赵六", "13400134006"),
    ('"引号"公司', "钱七", "13300133007"),
    ("深圳物流集团", "孙八", "13200132008"),
    ("上海物流有限公司", "周精工", "13100131010"),
    ("Shanghai AB Tools", "Ab Lee", "13000130011"),
]
TERMS = ["精工制造", "精工制造有限", "C2026", "138001", "周经理", "ABC", "abc", "Trading", "100%", "a_b", '"引号"',
         "物流集团", "无此客户", "制造有限公司", "0013", "Alice Brown", "%%%", "___",
         # two characters: from the two-character index (digits and single characters scan)
         "精工", "上海", "有限", "经理", "无此", "ab", "AB", "aB", "0%", "%%", "_b", "__", "c2", "C2", "13", "00", "周",
         # several words: every word must match, each in any column
         "上海 精工", "精工 上海", "上海  精工制造", "精工 无此", "abc 贸易", "有限 周 公司", "138 精工", "C2026 物流",
         "Alice Brown", "ab lee", "上海 上海", "上 海", "上海 物流", "物流 上海", "精工 北京", "北京 上海", "上海 周精工",
         "有限 公司 上海 制造", "有限公司 上海 精工", "有限 上海 精工"]


@pytest.fixture
def people(app):
    for name, contact, phone in PEOPLE:
        create_customer(data={"name": name, "industry": "retail", "cooperation_start": "2024-05-01",
                              "contact_person": contact, "phone": phone})
    return app


def scanned(q, **kw):
    """The search answered without the indexes: every word compared with every row."""
    kind = search_index._kind
    search_index._kind = lambda *a: "scan"
    try:
        return [c.number for c in search_customers(q=q, **kw)]
    finally:
        search_index._kind = kind


def expected(q):
    """The customers of PEOPLE (and what the app seeded) matching every word of q, the slow Python way."""
    words = [w.lower() for w in q.split()]
    rows = db.session.execute(text("SELECT number, name, phone, contact_person FROM customers ORDER BY id"))
    return [r[0] for r in rows if all(any(w in (v or "").lower() for v in r) for w in words)]


def test_index_exists_with_its_triggers(app):
    names = {r[0] for r in db.session.execute(db.text("SELECT name FROM sqlite_master"))}
    assert {search_index.TABLE, search_index.BIGRAMS} <= names
    assert set(search_index.TRIGGERS + search_index.BIGRAM_TRIGGERS) <= names


@pytest.mark.parametrize("term", TERMS)
def test_index_answers_what_the_scan_answers(people, term):
    found = [c.number for c in search_customers(q=term, limit=200)]
    assert found == scanned(term, limit=200) == expected(term)


MULTI = [t for t in TERMS if len(t.split()) > 1] + ["有限 公司", "公司 有限 上海", "精工 上海 有限 制造有限"]


@pytest.mark.parametrize("common", [None, "有限", "上海", "精工", "有限 制造有限"])
@pytest.mark.parametrize("ratio", [0, 10**6])
@pytest.mark.parametrize("term", MULTI)
def test_merged_and_probed_words_answer_what_the_scan_answers(people, term, ratio, common, monkeypatch):
    """Two-character words merged with the driver's ids (by the estimates) or probed on each candidate, in any
    mix (`common` made near-universal: probed after the others merge), read in batches of any size: the same
    customers, page by page (the blocks never used)."""
    check_merged_and_probed(term, ratio, common, monkeypatch)


@pytest.mark.parametrize("common", [None, "有限"])
@pytest.mark.parametrize("term", MULTI)
def test_words_from_the_blocks_answer_what_the_scan_answers(people, term, common, monkeypatch):
    """Every two-character word from the blocks (their bits ANDed), in batches of any size, page by page."""
    check_merged_and_probed(term, 10**6, common, monkeypatch, blocks=True)


def check_merged_and_probed(term, ratio, common, monkeypatch, blocks=False):
    monkeypatch.setattr(search_index, "BLOCK_RATIO", 0 if blocks else 10**12)
    monkeypatch.setattr(search_index, "MERGE_RATIO", ratio)
    monkeypatch.setattr(search_index, "MIN_BATCH", 1)
    estimate, common = search_index.Plan.estimate, (common or "").split()  # pieces, or words of 3+ (SQLite)

    def faked(plan, source):
        keys = [source.key] if isinstance(source.key, str) else source.key
        return 10**12 if set(keys) <= set(common) else estimate(plan, source)

    monkeypatch.setattr(search_index.Plan, "estimate", faked)
    found = [c.number for c in search_customers(q=term, limit=200)]
    assert found == expected(term), (term, ratio, common)
    pages, after = [], None
    while page := search_customers(q=term, limit=1, after=after):
        pages += [c.number for c in page]
        after = page[-1].id
    assert pages == found, (term, ratio, common)


def test_which_words_use_an_index(app):
    connection = db.session.connection()
    assert all(search_index.usable(connection, w) for w in ("精工制造", "C2026", "精工", "ab", "c2", "%%"))
    assert not any(search_index.usable(connection, w) for w in ("周", "a", "13", "00"))


def test_two_words_each_matching_find_the_customers_with_both(people):
    """The new user's case: 上海 精工 found nothing though each word matches."""
    found = search_customers(q="上海 精工")
    assert {"上海精工制造有限公司", "上海物流有限公司"} <= {c.name for c in found}  # the second by 周精工
    assert all("上海" in c.name and "精工" in c.name + c.contact_person for c in found)
    assert search_customers(q="上海 无此") == []


@pytest.mark.parametrize("term", ["有限公司", "有限", "上海 有限", "有限 公司 精工"])
def test_index_pages_like_the_scan(people, term):
    everything = scanned(term, limit=200)
    assert len(everything) >= 2
    pages, after = [], None
    while True:
        page = search_customers(q=term, limit=2, after=after)
        if not page:
            break
        pages += [c.number for c in page]
        after = page[-1].id
    assert pages == everything


def test_single_characters_scan(people):
    assert not search_index.usable(db.session.connection(), "精")
    names = {c.name for c in search_customers(q="精")}
    assert {"北京精工制造有限公司", "上海精工制造有限公司"} <= names


def test_index_follows_creates_edits_and_deletes(people):
    customer = create_customer(data={"name": "杭州新客户有限公司", "industry": "it", "cooperation_start": "2025-01-02",
                                     "contact_person": "陈九", "phone": "13100131009"})
    assert [c.number for c in search_customers(q="杭州新客户")] == [customer.number]
    assert [c.number for c in search_customers(q="杭州 陈九")] == [customer.number]
    update_customer(number=customer.number, data={"name": "杭州更名科技", "industry": "it",
                                                  "cooperation_start": "2025-01-02", "contact_person": "陈九",
                                                  "phone": "13100131009"})
    assert search_customers(q="杭州新客户") == []
    assert search_customers(q="杭州 新客") == [] and search_customers(q="客户 陈九") == []
    assert [c.number for c in search_customers(q="杭州更名")] == [customer.number]
    assert [c.number for c in search_customers(q="更名 陈九")] == [customer.number]
    db.session.delete(db.session.get(Customer, customer.id))
    db.session.commit()
    assert search_customers(q="杭州更名") == [] and search_customers(q="更名") == []
    assert db.session.execute(text(f"SELECT count(*) FROM {search_index.BIGRAMS} WHERE customer_id = :id"),
                              {"id": customer.id}).scalar() == 0
    assert_blocks_hold_the_bigrams()


def assert_blocks_hold_the_bigrams():
    """The block table is the bigram table as bit masks: bit i of (piece, block) set for customer 64 x block + i."""
    wanted = {}
    for piece, customer in db.session.execute(text(f"SELECT gram, customer_id FROM {search_index.BIGRAMS}")):
        key = (piece, customer // 64)
        wanted[key] = wanted.get(key, 0) | 1 << (customer % 64)
    held = {(piece, block): bits & (2**64 - 1) for piece, block, bits in
            db.session.execute(text(f"SELECT gram, block, bits FROM {search_index.BLOCKS}"))}
    assert held == wanted and wanted


def test_blocks_follow_customers_across_many_blocks(app, monkeypatch):
    """Customers with ids on both sides of block edges (63, 64, 127, 128: bit 63 is the sign bit): the blocks
    follow creates, edits and deletes, and a search through them finds what the scan finds, page by page."""
    created = []
    for i in range(150):
        name = ["上海精工有限公司", "北京精工集团", "上海物流有限公司"][i % 3] if i % 5 else f"客户{i}"
        created.append(create_customer(data={"name": name, "industry": "retail", "cooperation_start": "2024-05-01",
                                             "contact_person": "周精工" if i % 7 == 0 else "李四",
                                             "phone": f"139{i:08d}"}))
    assert max(c.id for c in created) > 129
    for customer in created[::11]:
        update_customer(number=customer.number, data={"name": "上海更名精工", "industry": "retail",
                                                      "cooperation_start": "2024-05-01", "contact_person": "王五",
                                                      "phone": customer.phone})
    for customer in created[5::13]:
        db.session.delete(db.session.get(Customer, customer.id))
    db.session.commit()
    assert_blocks_hold_the_bigrams()
    read, block_ids = [], search_index._block_ids
    monkeypatch.setattr(search_index, "_block_ids", lambda *a: read.append(a[1]) or block_ids(*a))
    for term in ("上海 精工", "精工 上海", "有限 上海 精工", "上海 周精工", "更名 精工", "北京 集团 精工"):
        check_merged_and_probed(term, 10**6, None, monkeypatch, blocks=True)
    assert {frozenset(pieces) for pieces in read} >= {frozenset({"上海", "精工"}), frozenset({"北京", "集团", "精工"})}


def _add_people():
    for name, contact, phone in PEOPLE:
        create_customer(data={"name": name, "industry": "retail", "cooperation_start": "2024-05-01",
                              "contact_person": contact, "phone": phone})


@pytest.mark.postgres
def test_postgres_indexes_answer_what_the_scan_answers_and_follow_changes(pg_app):
    connection = db.session.connection()
    assert search_index.usable(connection, "精工") and search_index.usable(connection, "精工制造")
    _add_people()
    for term in TERMS:
        assert [c.number for c in search_customers(q=term, limit=200)] == scanned(term, limit=200) == expected(term), term
    pages, after = [], None
    while page := search_customers(q="上海 有限", limit=1, after=after):
        pages, after = pages + [c.number for c in page], page[-1].id
    assert pages == expected("上海 有限") and len(pages) >= 2
    customer = search_customers(q="深圳物流")[0]
    update_customer(number=customer.number, data={"name": "广州物流集团", "industry": "retail",
                                                  "cooperation_start": "2024-05-01", "contact_person": "孙八",
                                                  "phone": customer.phone})
    assert search_customers(q="深圳") == [] and [c.number for c in search_customers(q="广州 孙八")] == [customer.number]
    db.session.delete(db.session.get(Customer, customer.id))
    db.session.commit()
    assert search_customers(q="广州") == []


@pytest.mark.postgres
def test_postgres_merged_and_probed_words(pg_app, monkeypatch):
    """Through the B-tree of pieces in batches (GIN_PAGE 0), and through the GIN index over each customer's pieces
    (a page of few candidates, in one statement): the same customers, page by page."""
    _add_people()
    gin_pages, gin_page = [], search_index._gin_page  # (GIN_PAGE, the page) of each read through the GIN index
    monkeypatch.setattr(search_index, "_gin_page", lambda *a: gin_pages.append((search_index.GIN_PAGE, gin_page(*a)))
                        or gin_pages[-1][1])
    for term in ("上海 精工", "有限 上海 精工", "有限 公司 上海 制造", "精工 上海 有限 制造有限", "上海 周精工"):
        for ratio, common in ((0, None), (10**6, None), (10**6, "有限"), (10**6, "上海"), (10**6, "有限 制造有限")):
            for most in (0, search_index.GIN_PAGE):
                with monkeypatch.context() as patch:
                    patch.setattr(search_index, "GIN_PAGE", most)
                    check_merged_and_probed(term, ratio, common, patch)
    assert gin_pages and all(most for most, _page in gin_pages)


def test_the_usual_search_is_one_statement(people):
    """One word of three or more characters on SQLite: the page of customer rows comes from one statement (the
    trigram table's page of ids inside it), in id order, as the index-less scan finds them."""
    search_customers(q="无此客户")  # the first search asks once whether the index's tables exist
    connection = db.session.connection().connection.dbapi_connection
    seen = []
    connection.set_trace_callback(seen.append)
    try:
        found = search_customers(q="精工制造", limit=20)
    finally:
        connection.set_trace_callback(None)
    sent = [s for s in seen if not s.startswith("--")]  # FTS5's own reads of its shadow tables start with "--"
    assert len(sent) == 1 and search_index.TABLE in sent[0], sent
    assert [c.number for c in found] == scanned("精工制造", limit=20) == expected("精工制造")[:20]
    assert [c.number for c in search_customers(q="精工制造", limit=1, after=found[0].id)] == [found[1].number]
