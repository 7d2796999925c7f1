"""Dispatch (R2-2, R3-7) and ticket numbers (R1-1, R2-1, R3-2): away members, least-loaded assignment and unique
numbers when several processes create tickets at once (SQLite and PostgreSQL), first-contact ownership, the pool."""
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select, text, update

from app.auth.models import Department, Role, User
from app.extensions import db
from app.notifications.models import Notification
from app.numbering import check_patterns, ticket_number
from app.tasks.models import HumanTask
from app.tickets.models import Ticket
from tests.conftest import PASSWORD, Api
from tests.integration.test_postgres import pg_app, pg_url  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]


def add_handlers(*usernames, department="after_sales"):
    dept = db.session.scalar(select(Department).filter_by(code=department))
    for name in usernames:
        user = User(username=name, display_name=name, department=dept, roles=[db.session.get(Role, "handler")])
        user.set_password(PASSWORD)
        db.session.add(user)
    db.session.commit()


def open_accept_task(number):
    row = db.session.execute(
        select(HumanTask.assignee_id, HumanTask.department_id).join(Ticket, Ticket.id == HumanTask.ticket_id)
        .where(Ticket.number == number, HumanTask.name == "accept_ticket", HumanTask.state == "open")).one()
    db.session.rollback()
    return row


# ------------------------------------------------------------------------------------------- away status

def test_away_members_get_nothing_new_and_nobody_available_leaves_the_department_queue(api):
    add_handlers("engineer2")
    response = api.post("/me/away", "engineer1", json={"away": True})
    assert response.status_code == 200 and response.get_json() == {"username": "engineer1", "away": True}
    assert [api.new_ticket()["assignee"] for _ in range(2)] == ["engineer2", "engineer2"]
    assert api.post("/me/away", "engineer2", json={"away": True}).status_code == 200
    waiting = api.new_ticket()
    assert waiting["assignee"] is None and waiting["status"] == "pending_accept"
    assignee_id, department_id = open_accept_task(waiting["number"])
    assert assignee_id is None and department_id == db.session.scalar(
        select(Department.id).filter_by(code="after_sales"))
    # the department's queue: any of its handlers may take it, away or not
    api.complete("engineer1", waiting["number"], "accept_ticket", contact_note="已联系")
    assert api.ticket(waiting["number"])["assignee"] == "engineer1"
    assert api.post("/me/away", "engineer1", json={"away": False}).get_json()["away"] is False
    assert api.new_ticket()["assignee"] == "engineer1"


def test_inactive_members_are_skipped_and_away_input_is_checked(api):
    add_handlers("engineer2")
    db.session.execute(update(User).where(User.username == "engineer1").values(active=False))
    db.session.commit()
    assert [api.new_ticket()["assignee"] for _ in range(2)] == ["engineer2", "engineer2"]
    response = api.post("/me/away", "engineer2", json={"away": "yes"})
    assert response.status_code == 422 and "away" in response.get_json()["errors"]
    assert api.post("/me/away", "engineer2", json={"away": True, "x": 1}).status_code == 422


def test_the_away_switch_in_the_top_bar(client, api):
    client.post("/login", data={"username": "engineer1", "password": "pw-demo-123"})
    page = client.get("/").get_data(as_text=True)
    assert "标记为离开" in page
    response = client.post("/me/away", data={"away": "1", "next": "/customers"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/customers")
    assert "恢复可接单" in client.get("/").get_data(as_text=True)
    assert db.session.scalar(select(User.away).filter_by(username="engineer1")) is True
    db.session.rollback()
    client.post("/me/away", data={"away": "0"})
    assert db.session.scalar(select(User.away).filter_by(username="engineer1")) is False


# ---------------------------------------------------------------------------------- first-contact ownership

def test_the_first_receiver_owns_the_ticket_and_confirms_its_result(api):
    add_handlers("engineer2")
    number = api.new_ticket()["number"]
    assert api.ticket(number)["owner"] is None
    first = api.ticket(number)["assignee"]
    api.complete(first, number, "accept_ticket", contact_note="已联系")
    assert api.ticket(number)["owner"] == first
    early = api.post(f"/tickets/{number}/confirm", first, json={})
    assert early.status_code == 409  # no result yet
    api.complete(first, number, "handle_ticket", action="更换部件", status="processing", solution="更换电源模块",
                 solution_ready=True)
    kinds = db.session.execute(select(Notification.kind).join(User, User.id == Notification.user_id)
                               .where(User.username == first, Notification.ticket_number == number)).scalars().all()
    db.session.rollback()
    assert "confirm_result" in kinds
    assert api.post(f"/tickets/{number}/confirm", "agent1", json={}).status_code == 403
    confirmed = api.post(f"/tickets/{number}/confirm", first, json={"note": "客户已收到方案"})
    assert confirmed.status_code == 200, confirmed.get_json()
    body = confirmed.get_json()
    assert body["owner"] == first and body["owner_confirmed_at"]
    assert [e["detail"] for e in body["history"] if e["action"] == "result_confirmed"] == [{"note": "客户已收到方案"}]
    assert api.post(f"/tickets/{number}/confirm", first, json={}).status_code == 409  # once
    # a second round does not change the first receiver
    api.complete("agent1", number, "feedback", method="phone", opinion="needs_adjustment")
    ticket = api.ticket(number)
    assert ticket["owner"] == first


def test_the_ticket_page_shows_the_first_receiver_and_the_confirm_button(client, api):
    number = api.new_ticket()["number"]
    api.complete("engineer1", number, "accept_ticket", contact_note="已联系")
    api.complete("engineer1", number, "handle_ticket", action="处理", status="processing", solution="方案",
                 solution_ready=True)
    client.post("/login", data={"username": "engineer1", "password": "pw-demo-123"})
    page = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "首问负责人" in page and "确认处理结果" in page
    response = client.post(f"/tickets/{number}/confirm", data={"note": "已确认"})
    assert response.status_code == 302
    page = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "结果已确认" in page and "确认处理结果</button>" not in page


# ------------------------------------------------------------------------------------------------ pool

def test_the_pool_lists_unaccepted_tickets_for_supervisors(client, api):
    add_handlers("engineer2")
    db.session.execute(update(User).values(away=True).where(User.username.in_(["engineer1", "engineer2"])))
    db.session.commit()
    unassigned = api.new_ticket()["number"]
    db.session.execute(update(User).values(away=False).where(User.username == "engineer1"))
    db.session.commit()
    waiting = api.new_ticket()["number"]
    accepted = api.new_ticket()["number"]
    api.complete("engineer1", accepted, "accept_ticket", contact_note="已联系")
    items = api.get("/pool", "supervisor1").get_json()["items"]
    assert [(t["number"], t["assignee"]) for t in items] == [(unassigned, None), (waiting, "engineer1")]
    assert api.get("/pool", "agent1").status_code == 403
    assert api.get("/pool?limit=1", "supervisor1").get_json()["next"]
    moved = api.post(f"/tickets/{unassigned}/redispatch", "supervisor1",
                     json={"assignee": "engineer2", "department": "after_sales", "reason": "指定工程师"})
    assert moved.status_code == 200 and moved.get_json()["assignee"] == "engineer2"
    client.post("/login", data={"username": "supervisor1", "password": "pw-demo-123"})
    page = client.get("/pool").get_data(as_text=True)
    assert "工单池" in page and unassigned in page and waiting in page and accepted not in page


# ---------------------------------------------------------------------------------------------- numbers

def test_number_patterns_per_process_and_channel(app):
    app.config["TICKET_NUMBER_PATTERNS"] = [
        ["service_request", "*", "CS{date:%Y%m%d}{seq:04d}"],
        ["quick_response", "partner", "{channel_code}{date:%Y%m%d}{seq:03d}"],
        ["*", "*", "SR{date:%Y%m%d}{seq:03d}"],
    ]
    with time_machine.travel(datetime(2026, 5, 1, 3, 0, tzinfo=timezone.utc), tick=False):
        assert ticket_number("service_request", "phone") == "CS202605010001"
        assert ticket_number("quick_response", "partner") == "PT20260501001"
        assert ticket_number("quick_response", "phone") == "SR20260501001"
        assert ticket_number("after_sales", "email") == "SR20260501002"  # one counter per prefix and day
        db.session.execute(text("UPDATE sequences SET value = 998 WHERE name = 'ticket:SR20260501'"))
        assert [ticket_number(), ticket_number()] == ["SR20260501999", "SR202605011000"]  # a fourth digit
    db.session.rollback()


def test_bad_patterns_are_refused_on_start():
    codes = {"phone": "TEL"}
    for rule, words in ((["*", "*", "SR{seq:03d}{date:%Y%m%d}"], "at the end"),
                        (["*", "*", "SR{day}{seq}"], "unknown field"),
                        (["*", "*", "SR{date:%Y%m%d}"], "at the end"),
                        (["*", "SR{seq}"], "a rule is"),
                        (["*", "*", "X" * 40 + "{seq}"], "longer than")):
        with pytest.raises(ValueError, match=words):
            check_patterns([rule], codes)
    check_patterns([["*", "*", "{channel_code}-{date:%y%m%d}-{seq:05d}"]], codes)


def test_the_default_numbers_of_quick_response_stay_sr(api):
    assert api.new_ticket(channel="partner")["number"].startswith("SR")


# ------------------------------------------------------------------------------------- several processes

def run_creators(url, batches, overrides=None):
    """Start one creator process per entry of `batches` ((count, ticket fields)), let them open their tickets at
    the same moment; return every [number, assignee] they made."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    nodes = [subprocess.Popen([sys.executable, "-m", "tests.integration.creator", url, str(count), json.dumps(fields),
                               json.dumps(overrides or {})], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for count, fields in batches]
    try:
        ready = [node.stdout.readline().strip() for node in nodes]
        for node in nodes:
            node.stdin.write("go\n")
            node.stdin.flush()
        outputs = [node.communicate(timeout=120) for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    assert ready == ["ready"] * len(nodes), outputs
    assert all(node.returncode == 0 for node in nodes), outputs
    return [made for out, _err in outputs for made in json.loads(out.strip().splitlines()[-1])]


PER_CHANNEL = {"TICKET_NUMBER_PATTERNS": [["*", "*", "{channel_code}{date:%Y%m%d}{seq:03d}"]]}
CHANNELS = ("phone", "online", "email", "branch")


def check_parallel_creation(url):
    """Four processes, 6 tickets each, for one department of four idle handlers: 24 distinct numbers counting
    1..24 (one shared prefix), and each handler gets exactly six."""
    add_handlers("engineer2", "engineer3", "engineer4")
    db.session.remove()
    made = run_creators(url, [(6, {})] * 4)
    numbers = sorted(number for number, _who in made)
    assert len(set(numbers)) == 24
    assert sorted(int(n[-3:]) for n in numbers) == list(range(1, 25))
    assert Counter(who for _n, who in made) == {f"engineer{i}": 6 for i in range(1, 5)}
    # one channel (one counter) per process: nothing but the dispatch lock keeps the assignment balanced
    made = run_creators(url, [(3, {"channel": channel}) for channel in CHANNELS], PER_CHANNEL)
    assert len({number for number, _who in made}) == 12
    assert Counter(who for _n, who in made) == {f"engineer{i}": 3 for i in range(1, 5)}


def test_parallel_creation_on_sqlite(app, tmp_path):
    check_parallel_creation(f"sqlite:///{tmp_path / 'test.db'}")


@pytest.mark.postgres
def test_parallel_creation_on_postgres(pg_app, pg_url):  # noqa: F811
    check_parallel_creation(pg_url)
