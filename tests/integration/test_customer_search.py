"""The customer search index answers exactly what the row-by-row scan answers, and follows every change."""
import pytest

from app.customers import search_index
from app.customers.models import Customer
from app.customers.service import create_customer, search_customers, update_customer
from app.extensions import db

PEOPLE = [
    ("北京精工制造有限公司", "周经理", "13800138001"),
    ("上海精工制造有限公司", "王建国", "13900139002"),
    ("ABC Trading Co.", "Alice Brown", "13700137003"),
    ("abc 贸易", "李四", "13600136004"),
    ("100% 满意服务", "张三", "13500135005"),
    ("a_b 科技", "赵六", "13400134006"),
    ('"引号"公司', "钱七", "13300133007"),
    ("深圳物流集团", "孙八", "13200132008"),
]
TERMS = ["精工制造", "精工制造有限", "C2026", "138001", "周经理", "ABC", "abc", "Trading", "100%", "a_b", '"引号"',
         "物流集团", "无此客户", "制造有限公司", "0013", "Alice Brown", "%%%", "___"]


@pytest.fixture
def people(app):
    for name, contact, phone in PEOPLE:
        create_customer(data={"name": name, "industry": "retail", "cooperation_start": "2024-05-01",
                              "contact_person": contact, "phone": phone})
    return app


def scanned(q, **kw):
    """The search answered without the index."""
    usable = search_index.usable
    search_index.usable = lambda *a: False
    try:
        return [c.number for c in search_customers(q=q, **kw)]
    finally:
        search_index.usable = usable


def test_index_exists_with_its_triggers(app):
    names = {r[0] for r in db.session.execute(db.text("SELECT name FROM sqlite_master"))}
    assert search_index.TABLE in names and set(search_index.TRIGGERS) <= names


@pytest.mark.parametrize("term", TERMS)
def test_index_answers_what_the_scan_answers(people, term):
    assert search_index.usable(db.session.connection(), term)
    assert [c.number for c in search_customers(q=term, limit=200)] == scanned(term, limit=200)


def test_index_pages_like_the_scan(people):
    everything = scanned("有限公司", limit=200)
    assert len(everything) >= 3
    pages, after = [], None
    while True:
        page = search_customers(q="有限公司", limit=2, after=after)
        if not page:
            break
        pages += [c.number for c in page]
        after = page[-1].id
    assert pages == everything


def test_short_terms_scan(people):
    assert not search_index.usable(db.session.connection(), "精工")
    names = {c.name for c in search_customers(q="精工")}
    assert {"北京精工制造有限公司", "上海精工制造有限公司"} <= names


def test_index_follows_creates_edits_and_deletes(people):
    customer = create_customer(data={"name": "杭州新客户有限公司", "industry": "it", "cooperation_start": "2025-01-02",
                                     "contact_person": "陈九", "phone": "13100131009"})
    assert [c.number for c in search_customers(q="杭州新客户")] == [customer.number]
    update_customer(number=customer.number, data={"name": "杭州更名科技", "industry": "it",
                                                  "cooperation_start": "2025-01-02", "contact_person": "陈九",
                                                  "phone": "13100131009"})
    assert search_customers(q="杭州新客户") == []
    assert [c.number for c in search_customers(q="杭州更名")] == [customer.number]
    db.session.delete(db.session.get(Customer, customer.id))
    db.session.commit()
    assert search_customers(q="杭州更名") == []
