"""The public intake page (R1-1, R3-1): a customer without a log-in opens an online ticket, gets its number and a
secret once, and follows its status with both; bad input comes back per field; a client address is rate limited
(counts in the database, the clock moved, no sleeps)."""
import re
from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import func, select

from app.auth.models import User
from app.channels.models import TicketSecret
from app.channels.service import secret_hash
from app.customers.models import Customer
from app.extensions import db
from app.tickets.models import Ticket, TicketEvent
from tests.conftest import make_app

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
GOOD = {"name": "林先生", "company": "宁波海港物流有限公司", "phone": "13600136000", "email": "lin@haigang.example.cn",
        "type": "after_sales_support", "urgency": "high", "description": "仓库扫码枪全部无法连接系统，影响发货"}


def submit(client, data=None, address="10.0.0.1", **changes):
    return client.post("/intake", data={**(data or GOOD), **changes}, environ_base={"REMOTE_ADDR": address})


def receipt(client, response):
    """(number, secret) from the confirmation page the submission redirects to."""
    assert response.status_code == 302 and response.headers["Location"] == "/intake/done"
    page = client.get("/intake/done").get_data(as_text=True)
    number = re.search(r'id="intake-number"><strong>([^<]+)<', page).group(1)
    secret = re.search(r'id="intake-secret"><strong><code>([^<]+)<', page).group(1)
    return number, secret


def status(client, number, secret):
    return client.post("/intake/status", data={"number": number, "secret": secret})


def test_the_page_is_chinese_first_and_needs_no_log_in(client):
    page = client.get("/intake")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "提交服务请求" in text and 'lang="zh-CN"' in text and "English" in text
    assert "Submit a service request" in client.get("/intake?lang=en").get_data(as_text=True)


def test_a_request_opens_an_online_ticket_for_a_new_customer_with_a_secret_shown_once(client):
    number, secret = receipt(client, submit(client))
    assert re.fullmatch(r"SR\d{11}", number)
    assert re.fullmatch(r"[A-Z2-9]{5}(-[A-Z2-9]{5}){3}", secret)
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
    assert ticket.channel == "online" and ticket.type == "after_sales_support" and ticket.urgency == "high"
    assert ticket.process_instance_id is not None and ticket.status != "new"  # the normal flow started
    assert ticket.created_by.username == "intake" and not ticket.created_by.active  # a system user, no log-in
    customer = ticket.customer
    assert (customer.name, customer.contact_person, customer.phone, customer.email) == (
        "宁波海港物流有限公司", "林先生", "13600136000", "lin@haigang.example.cn")
    stored = db.session.get(TicketSecret, ticket.id).secret_hash
    assert stored == secret_hash(secret) and secret not in stored  # only the hash is kept
    assert db.session.scalar(select(TicketEvent.actor).where(TicketEvent.ticket_id == ticket.id,
                                                             TicketEvent.action == "created")) == "intake"
    again = client.get("/intake/done")  # shown once: a reload leads to the status form
    assert again.status_code == 302 and again.headers["Location"] == "/intake/status"


def test_an_existing_customer_is_matched_by_phone_or_by_email(client):
    known = db.session.scalar(select(Customer).where(Customer.phone == "13800138000"))
    before = db.session.scalar(select(func.count()).select_from(Customer))
    by_phone, _secret = receipt(client, submit(client, phone="13800138000", email="", company="随便写的公司"))
    by_email, _secret = receipt(client, submit(client, phone="13100131000", email="ZHOU@jinggong.example.cn"))
    for number in (by_phone, by_email):
        assert db.session.scalar(select(Ticket.customer_id).where(Ticket.number == number)) == known.id
    assert db.session.scalar(select(func.count()).select_from(Customer)) == before


def test_the_status_page_shows_status_and_steps_with_the_right_secret_only(client):
    number, secret = receipt(client, submit(client))
    found = status(client, number, secret.lower().replace("-", " "))  # case, spaces and dashes do not matter
    page = found.get_data(as_text=True)
    assert found.status_code == 200
    assert number in page and 'id="status-value"' in page and "已收到您的请求" in page
    assert "林先生" not in page and "13600136000" not in page  # nothing private, not even the customer's own data
    wrong = status(client, number, "AAAAA-AAAAA-AAAAA-AAAAA")
    unknown = status(client, "SR20990101001", secret)
    assert wrong.status_code == unknown.status_code == 404
    message = "没有与该工单号和查询码相符的工单"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert number not in re.sub(r'value="[^"]*"', "", wrong.get_data(as_text=True))
    empty = status(client, number, "  ")
    assert empty.status_code == 422 and "此项为必填项" in empty.get_data(as_text=True)


def test_a_phone_ticket_has_no_status_page(client, api):
    number = api.new_ticket()["number"]  # no secret: even the hash of an empty secret opens nothing
    assert status(client, number, "x").status_code == 404


def test_bad_input_comes_back_per_field_with_what_was_typed(client):
    cases = {
        "name": ("   ", "不能为空"),
        "company": ("公" * 201, "最多输入 200 个字符"),
        "phone": ("010-1234567", "请输入以 1 开头的 11 位手机号码"),
        "email": ("lin@", "请输入有效的电子邮箱地址"),
        "type": ("repair", "请选择列出的选项之一"),
        "description": ("坏" * 4001, "最多输入 4000 个字符"),
    }
    for field, (value, message) in cases.items():
        response = submit(client, **{field: value})
        page = response.get_data(as_text=True)
        assert response.status_code == 422, field
        error = re.search(rf'<p class="error" id="err-{field}">([^<]+)</p>', page)
        assert error and message in error.group(1), (field, error and error.group(1))
        assert 'value="宁波海港物流有限公司"' in page or field == "company"  # the rest is kept
    short = submit(client, description="坏了")
    assert "至少 5 个字符" in short.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.channel == "online")) == 0


def test_a_multipart_field_too_large_to_read_comes_back_as_a_message(tmp_path, template_db):
    import shutil

    path = tmp_path / "small.db"
    shutil.copy(template_db, path)
    app = make_app(path, tmp_path, MAX_FORM_MEMORY_SIZE=10_000)
    with app.app_context():
        response = app.test_client().post("/intake", data={**GOOD, "description": "坏" * 20_000},
                                          content_type="multipart/form-data")  # a text part over the limit
        assert response.status_code == 413
        assert "文字太长，无法读取" in response.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()


def test_each_address_may_open_five_tickets_an_hour(client):
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(5):
            receipt(client, submit(client))
            clock.shift(timedelta(minutes=5))
        refused = submit(client)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) == 35 * 60  # the window began with the first ticket
        page = refused.get_data(as_text=True)
        assert 'id="intake-limit"' in page and "35 分钟" in page and 'value="林先生"' in page
        assert submit(client, name="   ").status_code == 429  # refused before anything else
        receipt(client, submit(client, address="10.0.0.2"))  # another address is not touched
        clock.shift(timedelta(minutes=34, seconds=59))
        assert submit(client).status_code == 429
        clock.shift(timedelta(seconds=1))
        receipt(client, submit(client))
    online = select(func.count()).select_from(Ticket).where(Ticket.channel == "online")
    assert db.session.scalar(online) == 7


def test_bad_input_does_not_count_and_the_limit_is_configured(tmp_path, template_db):
    import shutil

    path = tmp_path / "limit.db"
    shutil.copy(template_db, path)
    app = make_app(path, tmp_path, INTAKE_MAX_PER_ADDRESS=1, INTAKE_WINDOW_SECONDS=60)
    with app.app_context(), time_machine.travel(T0, tick=False) as clock:
        client = app.test_client()
        for _ in range(3):
            assert submit(client, phone="123").status_code == 422
        receipt(client, submit(client))
        assert submit(client).status_code == 429
        other = make_app(path, tmp_path, INTAKE_MAX_PER_ADDRESS=1, INTAKE_WINDOW_SECONDS=60)
        assert submit(other.test_client()).status_code == 429  # another process shares the count
        clock.shift(timedelta(seconds=60))
        receipt(client, submit(client))
        db.session.remove()
        db.engine.dispose()


def test_the_intake_user_is_seeded_once(app):
    from app.seed import seed_reference_data

    seed_reference_data()
    seed_reference_data()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "intake")) == 1
