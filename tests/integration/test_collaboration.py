"""Cross-department collaboration (R3-4, R0-4): the lead department (the ticket's handler) asks supporting
departments to work in parallel; the diagram's event subprocess gives each its own task (a multi-instance user
task) with milestone and deadline and a collaboration notice; the lead keeps handling; the ticket shows who
works on what."""
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.auth.models import User
from app.calendar.worktime import LOCAL
from app.extensions import db
from app.notifications.events import remind_due_tasks
from app.notifications.models import Notification
from tests.conftest import PASSWORD

TUE = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL)  # a working Tuesday


@contextmanager
def clock(api, moment):
    with time_machine.travel(moment, tick=False):
        api.tokens.clear()
        yield


def handled_complaint(api):
    """A complaint accepted by engineer1 of after-sales (the lead)."""
    number = api.new_ticket()["number"]
    api.complete("engineer1", number, "accept_ticket", contact_note="已电话联系客户，确认故障现象")
    return number


def supporter(department="product", **fields):
    item = {"department": department, "task": "排查产品配置", "milestone": "给出排查结论",
            "due_at": (TUE + timedelta(hours=6)).isoformat()}
    item.update(fields)
    return {k: v for k, v in item.items() if v is not None}


def notes(user, kind, number):
    user_id = db.session.scalar(select(User.id).where(User.username == user))
    return db.session.scalars(select(Notification).where(
        Notification.kind == kind, Notification.ticket_number == number, Notification.user_id == user_id)).all()


def test_two_supporting_departments_each_get_a_task_and_the_lead_continues(api):
    with clock(api, TUE):
        number = handled_complaint(api)
        response = api.post(f"/tickets/{number}/collaboration", "engineer1", json={"supporters": [
            supporter("product", assignee="product1"),
            supporter("customer_service", task="联系客户确认使用场景", milestone="场景确认",
                      due_at=(TUE + timedelta(hours=3)).isoformat())]})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["lead"] == {"department": "after_sales", "assignee": "engineer1"}
        assert [(s["department"], s["assignee"], s["task"], s["milestone"], s["state"]) for s in body["supporters"]] == [
            ("product", "product1", "排查产品配置", "给出排查结论", "open"),
            ("customer_service", "service1", "联系客户确认使用场景", "场景确认", "open")]
        assert datetime.fromisoformat(body["supporters"][1]["due_at"]) == TUE + timedelta(hours=3)
        ticket = api.ticket(number)
        assert sorted(t["name"] for t in ticket["open_tasks"]) == ["handle_ticket", "support_task", "support_task"]
        assert ticket["assignee"] == "engineer1" and ticket["department"] == "after_sales"  # the lead is unchanged
        assert "collaboration_started" in [h["action"] for h in ticket["history"]]
        # the collaboration notice, not a plain assignment
        assert notes("product1", "collaboration", number) and notes("service1", "collaboration", number)
        assert not notes("product1", "assignment", number)
        message = api.get("/notifications", "service1").get_json()["items"][0]["message"]
        assert "联系客户确认使用场景" in message and "场景确认" in message
        # each supporter completes its own task
        product_task = api.task_for("product1", number, "support_task")
        assert product_task["due_at"] and datetime.fromisoformat(product_task["due_at"]) == TUE + timedelta(hours=6)
        api.complete("product1", number, "support_task", support_result="配置项缺失，已补充")
        states = {s["department"]: s["state"] for s in api.get(f"/tickets/{number}/collaboration", "agent1")
                  .get_json()["supporters"]}
        assert states == {"product": "completed", "customer_service": "open"}
        api.complete("service1", number, "support_task", support_result="客户用于产线控制")
        collaboration = api.get(f"/tickets/{number}/collaboration", "agent1").get_json()
        assert [s["state"] for s in collaboration["supporters"]] == ["completed", "completed"]
        assert [s["completed_by"] for s in collaboration["supporters"]] == ["product1", "service1"]
        # the lead continues and finishes
        assert [t["name"] for t in api.ticket(number)["open_tasks"]] == ["handle_ticket"]
        api.complete("engineer1", number, "handle_ticket", action="综合配合部门结论处理", status="processing",
                     solution="补充配置并指导客户", solution_ready=True)
        assert [t["name"] for t in api.ticket(number)["open_tasks"]] == ["feedback"]


def test_deadlines_show_overdue_and_remind(api):
    with clock(api, TUE):
        number = handled_complaint(api)
        api.post(f"/tickets/{number}/collaboration", "supervisor1", json={"supporters": [
            supporter("product", due_at=(TUE + timedelta(hours=2)).isoformat())]})
    with clock(api, TUE + timedelta(hours=1, minutes=50)):
        assert remind_due_tasks() >= 1
        assert notes("product1", "due", number)
        assert api.get(f"/tickets/{number}/collaboration", "agent1").get_json()["supporters"][0]["overdue"] is False
    with clock(api, TUE + timedelta(hours=3)):
        entry = api.get(f"/tickets/{number}/collaboration", "agent1").get_json()["supporters"][0]
        assert entry["overdue"] is True and entry["state"] == "open"


def test_a_second_collaboration_adds_tasks(api):
    with clock(api, TUE):
        number = handled_complaint(api)
        assert api.post(f"/tickets/{number}/collaboration", "engineer1",
                        json={"supporters": [supporter("product")]}).status_code == 200
    with clock(api, TUE + timedelta(minutes=5)):
        assert api.post(f"/tickets/{number}/collaboration", "engineer1",
                        json={"supporters": [supporter("customer_service")]}).status_code == 200
        supporters = api.get(f"/tickets/{number}/collaboration", "agent1").get_json()["supporters"]
        assert [s["department"] for s in supporters] == ["product", "customer_service"]


@pytest.mark.parametrize("body, field", [
    ({}, "supporters"),
    ({"supporters": []}, "supporters"),
    ({"supporters": "product"}, "supporters"),
    ({"supporters": [supporter()], "lead": "x"}, "lead"),
    ({"supporters": [supporter(department=None)]}, "supporters[0].department"),
    ({"supporters": [supporter(department="nowhere")]}, "supporters[0].department"),
    ({"supporters": [supporter(department="after_sales")]}, "supporters[0].department"),  # the lead itself
    ({"supporters": [supporter(), supporter()]}, "supporters[1].department"),
    ({"supporters": [supporter(assignee="service1")]}, "supporters[0].assignee"),
    ({"supporters": [supporter(assignee="nobody")]}, "supporters[0].assignee"),
    ({"supporters": [supporter(task="   ")]}, "supporters[0].task"),
    ({"supporters": [supporter(milestone=None)]}, "supporters[0].milestone"),
    ({"supporters": [supporter(due_at="soon")]}, "supporters[0].due_at"),
    ({"supporters": [supporter(due_at=(TUE - timedelta(hours=1)).isoformat())]}, "supporters[0].due_at"),
    ({"supporters": [supporter(color="red")]}, "supporters[0].color"),
])
def test_bad_collaboration_input_is_refused_per_field(api, body, field):
    with clock(api, TUE):
        number = handled_complaint(api)
        response = api.post(f"/tickets/{number}/collaboration", "engineer1", json=body)
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["errors"], response.get_json()


def test_who_may_start_a_collaboration_and_when(api):
    with clock(api, TUE):
        waiting = api.new_ticket()["number"]
        response = api.post(f"/tickets/{waiting}/collaboration", "engineer1", json={"supporters": [supporter()]})
        assert response.status_code == 409  # not accepted yet
        number = handled_complaint(api)
        for user in ("agent1", "product1"):
            response = api.post(f"/tickets/{number}/collaboration", user, json={"supporters": [supporter()]})
            assert response.status_code == 403, user


def test_a_supporter_comments_and_the_page_shows_who_works_on_what(app, api, client):
    with clock(api, TUE):
        number = handled_complaint(api)
        client.post("/login", data={"username": "engineer1", "password": PASSWORD})
        page = client.get(f"/tickets/{number}").get_data(as_text=True)
        assert "发起跨部门协同" in page and "协同分工" in page
        refused = client.post(f"/tickets/{number}/collaboration", data={
            "supporters-0-department": "product", "supporters-0-task": "排查产品配置",
            "supporters-0-milestone": "", "supporters-0-due_at": "2026-12-01T15:00"})
        assert refused.status_code == 422
        assert 'id="err-supporters-0-milestone"' in refused.get_data(as_text=True)
        done = client.post(f"/tickets/{number}/collaboration", data={
            "supporters-0-department": "product", "supporters-0-task": "排查产品配置",
            "supporters-0-milestone": "给出排查结论", "supporters-0-due_at": "2026-12-01T15:00",
            "supporters-2-department": "customer_service", "supporters-2-task": "联系客户",
            "supporters-2-milestone": "确认场景", "supporters-2-due_at": "2026-12-01T12:00"})
        assert done.status_code == 302, done.get_data(as_text=True)[:2000]
        page = client.get(f"/tickets/{number}").get_data(as_text=True)
        assert "主责部门" in page and "配合部门" in page and "排查产品配置" in page and "确认场景" in page
        assert "2026-12-01 15:00" in page
        # a supporter of the collaboration may comment
        assert api.post(f"/tickets/{number}/comments", "product1", json={"body": "已开始排查"}).status_code == 201
        task = api.task_for("product1", number, "support_task")
        client.post("/logout")
        client.post("/login", data={"username": "product1", "password": PASSWORD})
        form = client.get(f"/tasks/{task['id']}").get_data(as_text=True)
        assert "排查产品配置" in form and "给出排查结论" in form


def test_a_service_request_collaborates_too(api):
    from app.auth.principal import load_principal
    from app.customers.models import Customer
    from app.tickets import service as tickets

    with clock(api, TUE):
        agent = load_principal(db.session.scalar(select(User.id).where(User.username == "agent1")))
        customer = db.session.scalar(select(Customer.number).order_by(Customer.id))
        number = tickets.create_ticket(data={"customer_number": customer, "type": "handling", "urgency": "normal",
                                             "channel": "phone", "description": "申请开通企业对公账户"},
                                       actor=agent, process="service_request")
        api.complete("service1", number, "accept_request", decision="accept")
        response = api.post(f"/tickets/{number}/collaboration", "service1", json={"supporters": [
            supporter("product"), supporter("after_sales", task="核查设备", milestone="核查完成")]})
        assert response.status_code == 200, response.get_json()
        assert [(s["department"], s["assignee"]) for s in response.get_json()["supporters"]] == [
            ("product", "product1"), ("after_sales", "engineer1")]
        api.complete("product1", number, "support_task", support_result="已确认")
        api.complete("engineer1", number, "support_task", support_result="设备正常")
        assert [t["name"] for t in api.ticket(number)["open_tasks"]] == ["first_contact"]
