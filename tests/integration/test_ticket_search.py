"""Ticket search (R2-4): by number, customer and creation date range, newest first, paged; API and page."""
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
import time_machine
from sqlalchemy import func, text, update

from app.extensions import db
from app.tickets import number_ranges, search, search_grams
from app.tickets.models import Ticket
from tests.conftest import Api
from tests.integration.test_postgres import pg_app, pg_url  # noqa: F401 (fixtures)

# (customer name words, creation time in UTC): 2026-03-01 23:30 UTC is 03-02 07:30 in China
CREATED = [("精工", datetime(2026, 2, 28, 3, 0, tzinfo=timezone.utc)),
           ("惠民", datetime(2026, 3, 1, 15, 59, tzinfo=timezone.utc)),  # 03-01 23:59 China
           ("精工", datetime(2026, 3, 1, 16, 0, tzinfo=timezone.utc)),  # 03-02 00:00 China
           ("优选", datetime(2026, 3, 2, 5, 0, tzinfo=timezone.utc)),
           ("精工", datetime(2026, 3, 3, 1, 0, tzinfo=timezone.utc))]


def make_tickets(api):
    """Open the CREATED tickets; return their numbers, oldest first."""
    numbers = []
    for words, at in CREATED:
        with time_machine.travel(at, tick=False):
            api.tokens.clear()  # tokens expire: log in at that time
            customer = api.get(f"/customers?q={words}", "agent1").get_json()["items"][0]["number"]
            numbers.append(api.new_ticket(customer_number=customer)["number"])
    api.tokens.clear()
    return numbers


def listed(api, query, user="agent1"):
    response = api.get(f"/tickets?{query}", user)
    assert response.status_code == 200, response.get_json()
    return [t["number"] for t in response.get_json()["items"]]


@pytest.fixture
def numbers(api):
    return make_tickets(api)


def test_search_by_number_exact_and_prefix(api, numbers):
    assert listed(api, f"number={numbers[2]}") == [numbers[2]]
    assert listed(api, f"number={numbers[2].lower()}") == [numbers[2]]
    assert listed(api, "number=SR20260302") == [numbers[3], numbers[2]]  # numbers hold the China day
    assert listed(api, "number=SR2026030") == numbers[:0:-1]
    assert listed(api, "number=SR") == numbers[::-1]
    assert listed(api, "number=XX") == []
    # a prefix ending in the last character, or before the surrogates, still has an index range (no error)
    for odd in ("SR\U0010ffff", "\U0010ffff", "SR\ud7ff", "\ud7ff\U0010ffff"):
        assert listed(api, f"number={quote(odd)}") == [], odd


@pytest.mark.parametrize("prefix, end", [("SR", "SS"), ("S\U0010ffff", "T"), ("\U0010ffff", None),
                                         ("A\ud7ff", "A\ue000"), ("\U0010ffff\U0010ffff", None)])
def test_a_prefix_ends_at_the_least_string_after_it(prefix, end):
    assert number_ranges.prefix_end(prefix) == end


def test_search_by_customer_number_or_words(api, numbers):
    jinggong = api.get("/customers?q=精工", "agent1").get_json()["items"][0]["number"]
    expected = [numbers[4], numbers[2], numbers[0]]
    assert listed(api, f"customer={jinggong}") == expected
    assert listed(api, "customer=精工") == expected
    assert listed(api, "customer=上海 精工") == expected  # two words, both must match
    assert listed(api, "customer=周经理") == expected  # the contact person
    assert listed(api, "customer=精工 无此") == []
    assert listed(api, "customer=惠民") == [numbers[1]]


def test_search_by_creation_days_in_china_time(api, numbers):
    assert listed(api, "created_from=2026-03-02&created_to=2026-03-02") == [numbers[3], numbers[2]]
    assert listed(api, "created_from=2026-03-01&created_to=2026-03-01") == [numbers[1]]
    assert listed(api, "created_from=2026-03-02") == [numbers[4], numbers[3], numbers[2]]
    assert listed(api, "created_to=2026-02-28") == [numbers[0]]
    assert listed(api, "created_from=0001-01-01&created_to=9999-12-31") == numbers[::-1]


def test_filters_combine_and_include_closed_tickets(api, numbers):
    assert listed(api, "customer=精工&created_from=2026-03-02&created_to=2026-03-02") == [numbers[2]]
    assert listed(api, "customer=精工&number=SR20260228") == [numbers[0]]
    db.session.execute(update(Ticket).where(Ticket.number == numbers[0]).values(status="closed"))
    db.session.commit()
    assert listed(api, "status=closed") == [numbers[0]]
    assert listed(api, "customer=精工&status=closed") == [numbers[0]]
    assert listed(api, "customer=精工&status=pending_accept") == [numbers[4], numbers[2]]
    assert numbers[0] not in listed(api, "", "supervisor1")  # the monitor (no filter) keeps open tickets only


def test_pages_newest_first_with_the_same_creation_time(api, numbers):
    with time_machine.travel(CREATED[-1][1], tick=False):  # a second ticket at the same instant
        api.tokens.clear()
        numbers.append(api.new_ticket()["number"])
    api.tokens.clear()
    newest = sorted(numbers[4:], reverse=True)  # same created_at: the later id first
    everything = listed(api, "number=SR&limit=200")
    assert everything[:2] == newest and everything[2:] == numbers[3::-1]
    pages, url = [], "/tickets?number=SR&limit=2"
    while url:
        body = api.get(url, "agent1").get_json()
        pages += [t["number"] for t in body["items"]]
        url = body.get("next", "").removeprefix("/api/v1")
    assert pages == everything
    assert listed(api, "number=SR&after=99999999") == []


def test_customer_words_page_newest_first(api, numbers):
    """The tickets of the customers the words find (a list of customers): one id page first, then its rows."""
    with time_machine.travel(CREATED[-1][1], tick=False):  # a second 精工 ticket at the same instant
        api.tokens.clear()
        customer = api.get("/customers?q=上海 精工", "agent1").get_json()["items"][0]["number"]
        numbers.append(api.new_ticket(customer_number=customer)["number"])
    api.tokens.clear()
    expected = [numbers[5], numbers[4], numbers[2], numbers[0]]
    for query in ("customer=精工", "customer=上海 精工"):
        assert listed(api, f"{query}&limit=200") == expected
        pages, url = [], f"/tickets?{query}&limit=1"
        while url:
            body = api.get(url, "agent1").get_json()
            pages += [t["number"] for t in body["items"]]
            url = body.get("next", "").removeprefix("/api/v1")
        assert pages == expected
    assert listed(api, "customer=精工&status=closed") == []


def test_items_have_the_ticket_shape(api, numbers):
    item = api.get(f"/tickets?number={numbers[0]}", "agent1").get_json()["items"][0]
    full = api.ticket(numbers[0])
    assert {key: full[key] for key in item} == item
    assert {"number", "status", "customer_number", "created_at", "department", "assignee"} <= set(item)


@pytest.mark.parametrize("query, field", [
    ("created_from=2026-13-01", "created_from"), ("created_from=yesterday", "created_from"),
    ("created_to=2026-3-1", "created_to"), ("created_from=2026-03-02&created_to=2026-03-01", "created_to"),
    ("status=done", "status"), (f"number={'S' * 201}", "number"), ("customer=%00", "customer"),
])
def test_bad_filters_are_refused_naming_the_field(api, query, field):
    response = api.get(f"/tickets?{query}", "agent1")
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_who_may_search(api, numbers):
    assert api.get("/tickets?number=SR", "supervisor1").status_code == 200
    assert api.get("/tickets?number=SR", "engineer1").status_code == 403
    assert api.get("/tickets?number=SR").status_code == 401


def test_a_number_prefix_matching_many_reads_by_date(api, numbers, monkeypatch):
    monkeypatch.setattr(search, "NUMBER_CAP", 2)  # more matches than NUMBER_CAP: read by date within their range
    assert listed(api, "number=SR2026") == numbers[::-1]
    assert listed(api, "number=SR20260302") == [numbers[3], numbers[2]]


def number_range_checks(api, numbers, monkeypatch):
    """The ranges the triggers keep bound every ticket of a prefix, whoever writes the ticket; the search by a
    prefix beyond NUMBER_CAP reads within them (and from the index when their rows are gone)."""
    from sqlalchemy import delete, insert, select

    from app.tickets import number_ranges

    connection = db.session.connection()
    assert number_ranges.creation_range(connection, "SR2026030") == tuple(
        connection.execute(select(func.min(Ticket.created_at), func.max(Ticket.created_at))
                           .where(Ticket.number.in_(numbers[1:]))).one())
    assert number_ranges.creation_range(connection, "SR20260302999") != (None, None)  # within a bucket
    assert number_ranges.creation_range(connection, "XX") == (None, None)
    monkeypatch.setattr(search, "NUMBER_CAP", 1)
    # a ticket written outside the services, numbered in March and dated in January, and one moved to April
    row = {c: v for c, v in db.session.execute(select(Ticket.__table__).where(Ticket.number == numbers[3])).one()
           ._mapping.items() if c != "id"}
    db.session.execute(insert(Ticket.__table__).values(
        {**row, "number": "SR20260301777", "created_at": datetime(2026, 1, 5, tzinfo=timezone.utc)}))
    db.session.execute(update(Ticket).where(Ticket.number == numbers[3])
                       .values(created_at=datetime(2026, 4, 1, tzinfo=timezone.utc)))
    db.session.commit()
    expected = [numbers[3], numbers[4], numbers[2], numbers[1], "SR20260301777"]
    assert listed(api, "number=SR2026030") == expected
    db.session.execute(delete(number_ranges.ranges))
    db.session.commit()
    assert listed(api, "number=SR2026030") == expected  # from the index


def test_number_ranges_bound_every_ticket_of_a_prefix(api, numbers, monkeypatch):
    number_range_checks(api, numbers, monkeypatch)


@pytest.mark.postgres
def test_number_ranges_on_postgres(pg_app, monkeypatch):
    api = Api(pg_app.test_client())
    number_range_checks(api, make_tickets(api), monkeypatch)


def test_customer_words_matching_many_customers_check_each_ticket(api, numbers, monkeypatch):
    monkeypatch.setattr(search, "CUSTOMER_CAP", 0)
    assert listed(api, "customer=精工") == [numbers[4], numbers[2], numbers[0]]
    assert listed(api, "customer=有限 上海") == [numbers[4], numbers[2], numbers[0]]


def test_ticket_list_page(client, numbers):
    from tests.integration.test_pages import login

    login(client, "agent1")
    page = client.get("/tickets?customer=精工&created_from=2026-03-02").get_data(as_text=True)
    assert "工单查询" in page
    assert numbers[4] in page and numbers[2] in page and numbers[0] not in page
    assert page.index(numbers[4]) < page.index(numbers[2])  # newest first
    assert 'value="精工"' in page  # the form shows what was typed
    bad = client.get("/tickets?created_from=2026-02-30")
    assert bad.status_code == 422 and "请按 YYYY-MM-DD 格式输入日期" in bad.get_data(as_text=True)
    assert 'href="/tickets"' in client.get("/").get_data(as_text=True)  # in the navigation


@pytest.mark.postgres
def test_ticket_search_on_postgres(pg_app):
    api = Api(pg_app.test_client())
    numbers = make_tickets(api)
    assert listed(api, f"number={numbers[2]}") == [numbers[2]]
    assert listed(api, "number=sr2026030") == numbers[:0:-1]
    assert listed(api, "customer=上海 精工") == [numbers[4], numbers[2], numbers[0]]
    assert listed(api, "created_from=2026-03-02&created_to=2026-03-02") == [numbers[3], numbers[2]]
    assert listed(api, "customer=精工&created_from=2026-03-02&created_to=2026-03-02") == [numbers[2]]
    pages, url = [], "/tickets?number=SR&limit=2"
    while url:
        body = api.get(url, "agent1").get_json()
        pages += [t["number"] for t in body["items"]]
        url = body.get("next", "").removeprefix("/api/v1")
    assert pages == numbers[::-1]
    assert api.get("/tickets?created_from=0001-01-01&created_to=9999-12-31", "agent1").status_code == 200


# more customers for the paths of customer words: (name, contact person); each gets one ticket, an hour apart
MORE = [("上海华信科技有限公司", "王伟"), ("北京精工机械集团", "李娜"), ("上海精工机械有限公司", "张敏"),
        ("深圳精工贸易有限公司", "刘静"), ("上海恒达物流集团", "陈丽"), ("上海精工电子有限公司", "周强"),
        ("广州精工机械有限公司", "上海人"), ("上海精工建材集团", "赵磊")]
WORDS = ["精工", "上海 精工", "精工机械", "有限公司 上海 精工", "有限 上海", "上海 集团 精工", "机械 有限 上海",
         "精工 无此", "上海人", "c2026 精工", "精工 135", "机械有限 上海", "工机"]


def add_more(api):
    """Create the MORE customers, one ticket each an hour apart on 2026-03-04 (UTC)."""
    from app.customers.service import create_customer

    for hour, (name, contact) in enumerate(MORE):
        customer = create_customer(data={"name": name, "industry": "retail", "cooperation_start": "2024-05-01",
                                         "contact_person": contact, "phone": f"1350013{hour:04d}"})
        with time_machine.travel(datetime(2026, 3, 4, hour, tzinfo=timezone.utc), tick=False):
            api.tokens.clear()
            api.new_ticket(customer_number=customer.number)
    api.tokens.clear()
    return api


@pytest.fixture
def more(api, numbers):
    return add_more(api)


def customer_words_expected(words, **where):
    """The tickets whose customer has every word in a searched column, newest first, the slow Python way."""
    from sqlalchemy import select

    from app.customers.models import Customer

    rows = db.session.execute(select(Ticket.number, Ticket.created_at, Ticket.id, Customer.number, Customer.name,
                                     Customer.phone, Customer.contact_person).join(Customer)).all()
    found = [r for r in rows if all(any(w.lower() in (v or "").lower() for v in r[3:]) for w in words.split())
             and all(_aware(r[1]) >= v for k, v in where.items())]
    return [r[0] for r in sorted(found, key=lambda r: (r[1], r[2]), reverse=True)]


def _aware(stamp):
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def all_pages(api, query, limit):
    pages, url = [], f"/tickets?{query}&limit={limit}"
    while url:
        body = api.get(url, "agent1").get_json()
        pages += [t["number"] for t in body["items"]]
        url = body.get("next", "").removeprefix("/api/v1")
    return pages


PATHS = [(500, 20_000), (500, 0), (1, 1), (1, 20_000), (2, 3)]  # (SAMPLE, CUSTOMER_CAP)


@pytest.mark.parametrize("sample, cap", PATHS)
def test_customer_words_every_path_finds_the_same_tickets(more, monkeypatch, sample, cap):
    """Listed customers, a sample showing many (each ticket's customer checked), a sample then the rest, or
    every ticket checked: the same tickets, newest first, page by page, with a date too."""
    check_every_word(more, monkeypatch, sample, cap)


def check_every_word(api, monkeypatch, sample, cap, grams=False):
    """Every word of WORDS through the paths SAMPLE and CUSTOMER_CAP choose (`grams`: the tickets' pieces first,
    see search_grams), against the slow Python way."""
    if not grams:
        monkeypatch.setattr(search_grams, "page_ids", lambda *a, **k: None)
    monkeypatch.setattr(search, "SAMPLE", sample)
    monkeypatch.setattr(search, "CUSTOMER_CAP", cap)
    for words in WORDS:
        expected = customer_words_expected(words)
        assert listed(api, f"customer={words}&limit=200") == expected, words
        assert all_pages(api, f"customer={words}", 2) == expected, words
        since = customer_words_expected(words, since=datetime(2026, 3, 3, 16, tzinfo=timezone.utc))  # 03-04 China
        assert listed(api, f"customer={words}&created_from=2026-03-04&limit=200") == since, words
    assert customer_words_expected("上海 精工") and customer_words_expected("有限 上海")


@pytest.mark.postgres
def test_customer_words_every_path_on_postgres(pg_app, monkeypatch):
    api = Api(pg_app.test_client())
    make_tickets(api)
    add_more(api)
    pages = []  # what _customers_page answered: the ids of a page, or None (more customers than the cap)
    customers_page = search._customers_page
    monkeypatch.setattr(search, "_customers_page", lambda *a: pages.append(customers_page(*a)) or pages[-1])
    for sample, cap in PATHS:
        check_every_word(api, monkeypatch, sample, cap)
    assert any(pages)  # the GIN index over the customers' pieces listed the customers
    # more customers than estimated (over the cap): each ticket's customer checked instead, the same tickets
    monkeypatch.setattr(search, "_customers_page", lambda c, customers, cap, *a: pages.append(
        customers_page(c, customers, 0, *a)) or pages[-1])
    pages.clear()
    check_every_word(api, monkeypatch, 500, 20_000)
    assert None in pages


def check_ticket_pieces(api, monkeypatch):
    """The tickets' pieces answer every word with pieces (others: the customers' paths), with dates, statuses and
    pages; the triggers follow a renamed customer, a ticket moved to another customer or time, a deleted ticket."""
    from sqlalchemy import delete, insert, select

    from app.customers.models import Customer
    from app.customers.service import update_customer

    assert search_grams.page_ids(db.session.connection(), "上海 精工") is None  # few customers: listed instead
    monkeypatch.setattr(search_grams, "FEW", 0)  # the tickets' pieces whatever the customers expected
    used, page_ids = [], search_grams.page_ids
    monkeypatch.setattr(search_grams, "page_ids", lambda *a, **k: (  # the terms it answered
        ((found := page_ids(*a, **k)) is not None and used.append(a[1])) or found))
    check_every_word(api, monkeypatch, 500, 20_000, grams=True)
    assert {"上海 精工", "有限公司 上海 精工", "c2026 精工"} <= set(used) and "精工 135" not in used
    monkeypatch.setattr(search_grams, "PG_BATCH", 1)  # PostgreSQL: batches of 1, 8, 64 candidates, then all
    check_every_word(api, monkeypatch, 500, 20_000, grams=True)
    db.session.execute(update(Ticket).where(Ticket.id == db.session.scalar(select(func.min(Ticket.id))))
                       .values(status="closed"))
    db.session.commit()
    for words in ("精工", "上海 精工"):
        assert listed(api, f"customer={words}&status=closed&limit=200") == [
            n for n in customer_words_expected(words) if db.session.scalar(
                select(Ticket.status).where(Ticket.number == n)) == "closed"], words
    customer = db.session.scalar(select(Customer).where(Customer.name == "上海精工机械有限公司"))
    update_customer(number=customer.number, data={"name": "杭州新名贸易", "industry": "retail",
                                                  "cooperation_start": "2024-05-01", "contact_person": "张敏",
                                                  "phone": customer.phone})
    moved = db.session.scalar(select(Ticket).where(Ticket.customer_id != customer.id).order_by(Ticket.id.desc()))
    db.session.execute(update(Ticket).where(Ticket.id == moved.id).values(
        customer_id=customer.id, created_at=datetime(2026, 3, 5, tzinfo=timezone.utc)))
    row = {c: v for c, v in db.session.execute(select(Ticket.__table__).where(Ticket.id == moved.id)).one()
           ._mapping.items() if c not in ("id", "number")}  # a ticket written outside the services
    db.session.execute(insert(Ticket.__table__).values({**row, "number": "SR20260306001",
                                                        "created_at": datetime(2026, 3, 6, tzinfo=timezone.utc)}))
    db.session.commit()
    for words in ("杭州 新名", "精工机械", "上海 精工", "张敏", "有限 上海", "精工"):
        assert listed(api, f"customer={words}&limit=200") == customer_words_expected(words), words
    assert listed(api, "customer=杭州 新名&limit=200")[0] == "SR20260306001"
    db.session.execute(delete(Ticket).where(Ticket.number == "SR20260306001"))
    db.session.commit()
    assert "SR20260306001" not in listed(api, "customer=杭州 新名&limit=200")
    rows = {tuple(r) for r in db.session.execute(text(f"SELECT gram, ticket_id FROM {search_grams.TABLE}"))}
    wanted = {(g, t) for g, t in db.session.execute(text(f"SELECT b.gram, t.id FROM {search_grams.search_schema.BIGRAMS} "
                                                          "b JOIN tickets t ON t.customer_id = b.customer_id"))}
    assert rows == wanted and rows


def test_ticket_pieces_find_the_same_tickets(more, monkeypatch):
    check_ticket_pieces(more, monkeypatch)


@pytest.mark.postgres
def test_ticket_pieces_on_postgres(pg_app, monkeypatch):
    api = Api(pg_app.test_client())
    make_tickets(api)
    check_ticket_pieces(add_more(api), monkeypatch)
