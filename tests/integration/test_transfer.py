"""Transfer (R2-3): the handler or a supervisor transfers a ticket being handled to another department or person
with a reason and an expected time; the previous handler keeps reading and commenting; comments; the reports
count transfers. The diagrams decide the flow (the `transfer` message on the handling task)."""
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from app.calendar.worktime import LOCAL
from app.collab.models import TicketTransfer
from app.engine.models import ProcessDefinition, ProcessInstance
from app.extensions import db
from app.notifications.models import Notification
from app.tickets.models import Ticket
from tests.conftest import PASSWORD

TUE = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL)  # a working Tuesday


@contextmanager
def clock(api, moment):
    with time_machine.travel(moment, tick=False):
        api.tokens.clear()
        yield


def iso(moment):
    return moment.isoformat()


def handled_complaint(api):
    """A complaint accepted by engineer1 (after-sales): its handle_ticket task is open."""
    number = api.new_ticket()["number"]
    api.complete("engineer1", number, "accept_ticket", contact_note="已电话联系客户，确认故障现象")
    assert api.task_for("engineer1", number, "handle_ticket")
    return number


def transfer_body(**fields):
    body = {"department": "product", "assignee": "product1", "reason": "产品功能异常，需产品部处理",
            "expected_at": iso(TUE + timedelta(days=1))}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def notes(user, kind, number):
    """`user`'s notifications of `kind` about ticket `number`."""
    return db.session.scalars(select(Notification).where(
        Notification.kind == kind, Notification.ticket_number == number,
        Notification.user_id == _user_id(user))).all()


def _user_id(username):
    from app.auth.models import User

    return db.session.scalar(select(User.id).where(User.username == username))


# ---------------------------------------------------------------------------------------------- the flow

def test_the_handler_transfers_to_a_person_of_another_department(api):
    with clock(api, TUE):
        number = handled_complaint(api)
        response = api.post(f"/tickets/{number}/transfer", "engineer1", json=transfer_body())
        assert response.status_code == 200, response.get_json()
        ticket = response.get_json()
        assert ticket["assignee"] == "product1" and ticket["department"] == "product"
        assert ticket["status"] == "processing"
        assert [t["name"] for t in ticket["open_tasks"]] == ["handle_ticket"]
        assert ticket["open_tasks"][0]["assignee"] == "product1"
        actions = [h["action"] for h in ticket["history"]]
        assert "transferred" in actions
        event = next(h for h in ticket["history"] if h["action"] == "transferred")
        assert event["actor"] == "engineer1" and event["detail"]["data"]["reason"] == "产品功能异常，需产品部处理"
        # the expected time is the promised next update (the diagram's reminder timer reads it)
        assert datetime.fromisoformat(ticket["next_update_at"]) == TUE + timedelta(days=1)
        # the new handler works the ticket on; the transfer is recorded
        transfers = api.get(f"/tickets/{number}/transfers", "agent1").get_json()["items"]
        assert [(t["from_user"], t["from_department"], t["to_user"], t["to_department"]) for t in transfers] == [
            ("engineer1", "after_sales", "product1", "product")]
        assert notes("product1", "transfer_in", number) and notes("engineer1", "transfer_out", number)
        api.complete("product1", number, "handle_ticket", action="修复配置", status="processing",
                     solution="已修复产品配置", solution_ready=True)
        assert [t["name"] for t in api.ticket(number)["open_tasks"]] == ["feedback"]


def test_a_transfer_to_a_department_goes_to_its_least_loaded_handler(api):
    with clock(api, TUE):
        number = handled_complaint(api)
        response = api.post(f"/tickets/{number}/transfer", "supervisor1", json=transfer_body(assignee=None))
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["assignee"] == "product1"


@pytest.mark.parametrize("body, field", [
    (transfer_body(department=None), "department"),
    (transfer_body(department="nowhere"), "department"),
    (transfer_body(assignee="nobody"), "assignee"),
    (transfer_body(assignee="service1"), "assignee"),  # customer service, not product
    (transfer_body(reason="   "), "reason"),
    (transfer_body(reason=None), "reason"),
    (transfer_body(expected_at=None), "expected_at"),
    (transfer_body(expected_at="tomorrow"), "expected_at"),
    (transfer_body(expected_at="2026-12-02 10:00"), "expected_at"),
    (transfer_body(expected_at=iso(TUE - timedelta(hours=1))), "expected_at"),
    (transfer_body(priority="high"), "priority"),
])
def test_bad_transfer_input_is_refused_per_field(api, body, field):
    with clock(api, TUE):
        number = handled_complaint(api)
        response = api.post(f"/tickets/{number}/transfer", "engineer1", json=body)
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["errors"], response.get_json()
        assert api.ticket(number)["assignee"] == "engineer1"


def test_an_inactive_person_cannot_receive_a_transfer(api):
    from app.auth.models import User

    with clock(api, TUE):
        number = handled_complaint(api)
        db.session.execute(update(User).where(User.username == "product1").values(active=False))
        db.session.commit()
        response = api.post(f"/tickets/{number}/transfer", "engineer1", json=transfer_body())
        assert response.status_code == 422 and "assignee" in response.get_json()["errors"]


def test_only_the_handler_and_supervisors_transfer(api):
    with clock(api, TUE):
        number = handled_complaint(api)
        for user in ("agent1", "product1", "service1"):
            response = api.post(f"/tickets/{number}/transfer", user, json=transfer_body())
            assert response.status_code == 403, (user, response.get_json())
        assert api.post(f"/tickets/{number}/transfer", "admin", json=transfer_body()).status_code == 200


def test_a_ticket_not_being_handled_cannot_be_transferred(api):
    with clock(api, TUE):
        number = api.new_ticket()["number"]  # awaits acceptance: a supervisor redispatches it instead
        response = api.post(f"/tickets/{number}/transfer", "engineer1", json=transfer_body())
        assert response.status_code == 409 and "改派" in response.get_json()["error"]


def test_a_ticket_on_an_earlier_process_version_answers_conflict(api):
    """A running ticket whose diagram version has no transfer (deployed before it existed) cannot take one."""
    with clock(api, TUE):
        number = handled_complaint(api)
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
        definition_id = db.session.scalar(select(ProcessInstance.definition_id)
                                          .where(ProcessInstance.id == ticket.process_instance_id))
        definition = db.session.get(ProcessDefinition, definition_id)
        forms = {k: v for k, v in definition.forms.items() if k not in ("transfer.json", "collaborate.json")}
        db.session.execute(update(ProcessDefinition).where(ProcessDefinition.id == definition_id).values(forms=forms))
        db.session.commit()
        api.client.application.extensions["engine"]._definitions.clear()
        response = api.post(f"/tickets/{number}/transfer", "engineer1", json=transfer_body())
        assert response.status_code == 409, response.get_json()
        assert "早期版本" in response.get_json()["error"]


# ------------------------------------------------------------------------- read access and comments

def test_the_previous_handler_keeps_reading_and_both_comment(api):
    with clock(api, TUE):
        number = handled_complaint(api)
        api.post(f"/tickets/{number}/transfer", "engineer1", json=transfer_body())
        assert api.get(f"/tickets/{number}", "engineer1").status_code == 200
        assert api.get(f"/tickets/{number}/progress", "engineer1").status_code == 200
        first = api.post(f"/tickets/{number}/comments", "engineer1", json={"body": "  客户的设备序列号见附件  "})
        assert first.status_code == 201, first.get_json()
        assert first.get_json()["body"] == "客户的设备序列号见附件"
        second = api.post(f"/tickets/{number}/comments", "product1", json={"body": "收到，正在排查"})
        assert second.status_code == 201
        items = api.get(f"/tickets/{number}/comments", "agent1").get_json()["items"]
        assert [(c["author"], c["body"]) for c in items] == [("engineer1", "客户的设备序列号见附件"),
                                                             ("product1", "收到，正在排查")]


@pytest.mark.parametrize("body, field", [
    ({}, "body"), ({"body": ""}, "body"), ({"body": "   "}, "body"), ({"body": 5}, "body"),
    ({"body": "x" * 2001}, "body"), ({"body": "好", "author": "admin"}, "author"),
])
def test_bad_comments_are_refused_per_field(api, body, field):
    number = api.new_ticket()["number"]
    response = api.post(f"/tickets/{number}/comments", "agent1", json=body)
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()


def test_who_may_comment(api):
    number = api.new_ticket()["number"]  # agent1 opened it; engineer1 holds its accept task
    for user, status in (("agent1", 201), ("engineer1", 201), ("supervisor1", 201), ("product1", 403),
                         ("service1", 403), ("agent2", 403)):
        response = api.post(f"/tickets/{number}/comments", user, json={"body": f"{user} 的评论"})
        assert response.status_code == status, (user, response.get_json())


def test_reading_comments_is_two_statements(app, api):
    from sqlalchemy import event

    number = api.new_ticket()["number"]
    api.post(f"/tickets/{number}/comments", "agent1", json={"body": "第一条"})
    api.login("agent2")
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = api.get(f"/tickets/{number}/comments", "agent2")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    relevant = [s for s in statements if "ticket" in s.lower()]
    assert len(relevant) <= 2, relevant


# ------------------------------------------------------------------------------------- reports

def test_reports_count_transfers(api):
    with clock(api, TUE):
        number = handled_complaint(api)
        api.post(f"/tickets/{number}/transfer", "engineer1", json=transfer_body())
        report = api.get("/reports?start=2026-12-01&end=2026-12-02", "supervisor1")
        assert report.status_code == 200, report.get_json()
        assert report.get_json()["summary"]["transfers"] == 1


# ------------------------------------------------------------------------------------- the pages

def test_the_ticket_page_transfers_and_comments(app, api, client):
    with clock(api, TUE):
        number = handled_complaint(api)
        client.post("/login", data={"username": "engineer1", "password": PASSWORD})
        page = client.get(f"/tickets/{number}").get_data(as_text=True)
        assert "转办工单" in page and 'action="/tickets/%s/transfer"' % number in page
        assert "评论" in page
        refused = client.post(f"/tickets/{number}/transfer", data={
            "department": "product", "assignee": "product1", "reason": "   ", "expected_at": "2026-12-02T10:00"})
        assert refused.status_code == 422
        text = refused.get_data(as_text=True)
        assert "不能为空" in text or "Must not be empty" in text
        assert 'value="2026-12-02T10:00"' in text  # what was typed is shown again
        done = client.post(f"/tickets/{number}/transfer", data={
            "department": "product", "assignee": "product1", "reason": "需产品部处理", "expected_at": "2026-12-02T10:00"})
        assert done.status_code == 302
        page = client.get(f"/tickets/{number}").get_data(as_text=True)
        assert "需产品部处理" in page and "转办" in page
        assert 'action="/tickets/%s/transfer"' % number not in page  # engineer1 is no longer the handler
        commented = client.post(f"/tickets/{number}/comments", data={"body": "原处理人补充：客户上午不在"})
        assert commented.status_code == 302
        assert "原处理人补充：客户上午不在" in client.get(f"/tickets/{number}").get_data(as_text=True)
        empty = client.post(f"/tickets/{number}/comments", data={"body": "  "})
        assert empty.status_code == 422
        saved = db.session.scalars(select(TicketTransfer)).all()
        assert len(saved) == 1 and saved[0].reason == "需产品部处理"


# --------------------------------------------------------------------------- service requests

def new_request(type="handling"):
    from app.auth.models import User
    from app.auth.principal import load_principal
    from app.customers.models import Customer
    from app.tickets import service as tickets

    agent = load_principal(db.session.scalar(select(User.id).where(User.username == "agent1")))
    customer = db.session.scalar(select(Customer.number).order_by(Customer.id))
    return tickets.create_ticket(data={"customer_number": customer, "type": type, "urgency": "normal",
                                       "channel": "phone", "description": "申请开通企业对公账户"},
                                 actor=agent, process="service_request")


def test_a_service_request_is_transferred_before_and_after_its_plan(api):
    with clock(api, TUE):
        number = new_request()
        api.complete("service1", number, "accept_request", decision="accept")
        api.complete("service1", number, "first_contact", contact_method="phone", contact_note="已电话联系客户确认需求")
        # no plan yet: the receiver makes it
        response = api.post(f"/tickets/{number}/transfer", "service1", json=transfer_body())
        assert response.status_code == 200, response.get_json()
        ticket = response.get_json()
        assert ticket["assignee"] == "product1" and [t["name"] for t in ticket["open_tasks"]] == ["handling_plan"]
        assert ticket["open_tasks"][0]["assignee"] == "product1"
        api.complete("product1", number, "handling_plan", plan="核对资料后开通账户",
                     expected_done_at=(TUE + timedelta(days=3)).isoformat())
        # with a plan: the receiver works on
        response = api.post(f"/tickets/{number}/transfer", "product1",
                            json=transfer_body(department="after_sales", assignee="engineer1"))
        assert response.status_code == 200, response.get_json()
        ticket = response.get_json()
        assert [(t["name"], t["assignee"]) for t in ticket["open_tasks"]] == [("work_request", "engineer1")]
        transfers = api.get(f"/tickets/{number}/transfers", "agent1").get_json()["items"]
        assert [(t["from_user"], t["to_user"]) for t in transfers] == [("service1", "product1"),
                                                                       ("product1", "engineer1")]
        # both earlier handlers still comment
        for user in ("service1", "product1"):
            assert api.post(f"/tickets/{number}/comments", user, json={"body": "补充说明"}).status_code == 201
