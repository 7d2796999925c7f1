"""The service-request flow (workflows/service_request.bpmn, R2-1…R2-4, R3-3…R3-7) walked with the clock moved by
time-machine, and the progress table (R3-5) through the API and the ticket page."""
import re
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.auth.models import User
from app.auth.principal import load_principal
from app.calendar.worktime import LOCAL
from app.customers.models import Customer
from app.extensions import db
from app.tickets import service as tickets
from app.timers.service import fire_due_timers

TUE = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL)  # a working Tuesday
FRI_1600 = datetime(2026, 12, 4, 16, 0, tzinfo=LOCAL)
MON = datetime(2026, 12, 7, tzinfo=LOCAL)
HANDLER = {"consultation": "service1", "handling": "service1", "complaint": "engineer1",
           "technical_support": "engineer1", "suggestion": "product1"}


@contextmanager
def clock(api, moment):
    """The clock at `moment`, logged in afresh (a token lives 12 hours; these walks span days)."""
    with time_machine.travel(moment, tick=False):
        api.tokens.clear()
        yield


def local(iso):
    return datetime.fromisoformat(iso).astimezone(LOCAL) if iso else None


def new_request(type="consultation", urgency="normal", description="客户咨询对公账户开通所需材料"):
    """Open a service request through the ticket service (the flow-selection table is another part's work)."""
    agent = load_principal(db.session.scalar(select(User.id).where(User.username == "agent1")))
    customer = db.session.scalar(select(Customer.number).order_by(Customer.id))
    return tickets.create_ticket(data={"customer_number": customer, "type": type, "urgency": urgency,
                                       "channel": "phone", "description": description},
                                 actor=agent, process="service_request")


def names(ticket):
    return sorted(t["name"] for t in ticket["open_tasks"])


def fired(ticket, timer):
    return [h for h in ticket["history"] if h["action"] == "timer_fired" and h["detail"]["timer"] == timer]


def accept_and_contact(api, number, user):
    api.complete(user, number, "accept_request", decision="accept")
    return api.complete(user, number, "first_contact", contact_method="phone", contact_note="已电话联系客户确认需求")


def plan(api, number, user, at):
    return api.complete(user, number, "handling_plan", plan="核对资料后开通账户",
                        expected_done_at=(at + timedelta(days=3)).isoformat())


# ------------------------------------------------------------------------------------------ the flow

@pytest.mark.parametrize("type_, urgency, priority, window", [
    ("consultation", "normal", "medium", timedelta(hours=2)),
    ("handling", "normal", "medium", timedelta(hours=2)),
    ("complaint", "normal", "high", timedelta(minutes=30)),
    ("technical_support", "normal", "high", timedelta(minutes=30)),
    ("suggestion", "normal", "low", timedelta(hours=4)),
    ("suggestion", "urgent", "urgent", timedelta(minutes=10)),
    ("complaint", "low", "low", timedelta(hours=4)),
])
def test_each_type_has_its_default_priority_and_waits_for_dispatch(api, type_, urgency, priority, window):
    with clock(api, TUE):
        number = new_request(type_, urgency)
        assert re.fullmatch(r"CS20261201\d{4}", number)
        ticket = api.ticket(number)
        assert ticket["status"] == "pending_dispatch"
        assert ticket["process"]["name"] == "service_request"
        assert local(ticket["response_due_at"]) == TUE + window
        [accept] = ticket["open_tasks"]
        assert (accept["name"], accept["assignee"]) == ("accept_request", HANDLER[type_])
        data = api.get(f"/tasks/{accept['id']}", HANDLER[type_]).get_json()["data"]
        assert data["priority"] == priority and ticket["priority"] == priority
        assert data["department"] == {"service1": "customer_service", "engineer1": "after_sales",
                                      "product1": "product"}[HANDLER[type_]]
        assert ticket["number"] in [t["number"] for t in api.get("/pool", "supervisor1").get_json()["items"]]


def test_urgent_first_contact_within_ten_minutes_else_the_supervisor_steps_in(api):
    with clock(api, TUE):
        number = new_request("technical_support", "urgent", "转账失败，资金未到账")
    with clock(api, TUE + timedelta(minutes=3)):
        ticket = api.complete("engineer1", number, "accept_request", decision="accept", note="已接单")
        assert ticket["status"] == "processing"
        assert ticket["owner"] == "engineer1" and ticket["accepted_at"]
        assert ticket["responded_at"] is None and ticket["sla"]["response"] == "running"  # first contact counts
        assert names(ticket) == ["first_contact"]
        assert local(ticket["open_tasks"][0]["due_at"]) == TUE + timedelta(minutes=10)
    with clock(api, TUE + timedelta(minutes=9)):
        assert fire_due_timers() == 0
    with clock(api, TUE + timedelta(minutes=11)):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["first_contact", "review_first_contact"]
        assert ticket["escalated_at"] and fired(ticket, "contact_due_contact")
        assert fire_due_timers() == 0
    with clock(api, TUE + timedelta(minutes=15)):
        ticket = api.complete("engineer1", number, "first_contact", contact_method="phone", contact_note="已联系客户")
        assert local(ticket["responded_at"]) == TUE + timedelta(minutes=15)
        assert ticket["sla"]["response"] == "breached"
        assert names(ticket) == ["handling_plan", "review_first_contact"]
        ticket = api.complete("supervisor1", number, "review_first_contact", note="已提醒处理人")
        assert names(ticket) == ["handling_plan"]


def test_an_unaccepted_request_escalates_once_and_a_contact_in_time_is_on_time(api):
    with clock(api, TUE):
        late = new_request("consultation", "normal")  # medium: first contact within 2 hours
        prompt = new_request("consultation", "normal")
    with clock(api, TUE + timedelta(minutes=30)):
        ticket = accept_and_contact(api, prompt, "service1")
        assert ticket["sla"]["response"] == "on_time"
        row = tickets.get_ticket(prompt)
        assert row.first_responded_at == row.responded_at  # the first contact is the response
    with clock(api, TUE + timedelta(hours=2, minutes=1)):
        assert fire_due_timers() == 1  # only the request nobody accepted
        ticket = api.ticket(late)
        assert names(ticket) == ["accept_request", "review_first_contact"]
        assert ticket["status"] == "pending_dispatch" and fired(ticket, "contact_due_accept")
        assert names(api.ticket(prompt)) == ["handling_plan"]


def test_a_critical_request_takes_the_emergency_path(api):
    with clock(api, TUE):
        number = new_request("technical_support", "critical", "核心系统宕机，大客户业务中断")
        ticket = api.ticket(number)
        assert names(ticket) == ["emergency_response"]
        assert ticket["open_tasks"][0]["assignee"] == "engineer1"
        assert local(ticket["open_tasks"][0]["due_at"]) == TUE + timedelta(minutes=10)
    with clock(api, TUE + timedelta(minutes=9, seconds=59)):
        assert fire_due_timers() == 0
    with clock(api, TUE + timedelta(minutes=10, seconds=1)):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["emergency_response", "review_emergency"]
        assert fired(ticket, "emergency_due")
        review = api.task_for("supervisor1", number, "review_emergency")
        assert review["role"] == "supervisor"
    with clock(api, TUE + timedelta(minutes=12)):
        ticket = api.complete("engineer1", number, "emergency_response", contact_note="已联系客户",
                              measures="切换备用系统，恢复业务")
        assert ticket["status"] == "processing" and ticket["owner"] == "engineer1"
        assert local(ticket["responded_at"]) == TUE + timedelta(minutes=12)
        assert ticket["sla"]["response"] == "breached"
        assert names(ticket) == ["handling_plan", "review_emergency"]


def test_the_emergency_response_in_time(api):
    with clock(api, TUE):
        number = new_request("complaint", "critical", "银行转账系统故障")
    with clock(api, TUE + timedelta(minutes=8)):
        ticket = api.complete("engineer1", number, "emergency_response", contact_note="已联系", measures="启动应急预案")
        assert ticket["sla"]["response"] == "on_time"
    with clock(api, TUE + timedelta(minutes=11)):
        assert fire_due_timers() == 0
        assert names(api.ticket(number)) == ["handling_plan"]


def test_the_handling_plan_is_due_within_one_working_day_across_a_weekend(api):
    with clock(api, FRI_1600):
        number = new_request("handling", "normal", "申请开通企业对公账户")
        ticket = accept_and_contact(api, number, "service1")
        [task] = ticket["open_tasks"]
        # Friday 16:00 + one working day (8 h): Friday 16-18, Monday 9-12 and 13-16
        assert task["name"] == "handling_plan" and local(task["due_at"]) == MON.replace(hour=16)
        assert local(ticket["next_update_at"]) == MON.replace(hour=16)
    with clock(api, MON.replace(hour=15, minute=59)):
        assert fire_due_timers() == 0
        assert not api.ticket(number)["history"][-1]["action"] == "timer_fired"
    with clock(api, MON.replace(hour=16, minute=1)):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert fired(ticket, "plan_overdue") and names(ticket) == ["handling_plan"]
        overdue = [t["number"] for t in api.get("/tickets?overdue=1", "supervisor1").get_json()["items"]]
        assert number in overdue
        ticket = plan(api, number, "service1", MON)
        assert names(ticket) == ["work_request"]


def test_a_plan_in_time_and_the_proactive_update_after_two_working_days(api):
    with clock(api, TUE):
        number = new_request("handling", "normal", "申请开通企业对公账户")
    with clock(api, TUE + timedelta(minutes=5)):
        accept_and_contact(api, number, "service1")  # accepted Tue 09:05
    with clock(api, TUE + timedelta(hours=5)):
        ticket = plan(api, number, "service1", TUE)
        # the update is due two working days (16 h) after acceptance: Thursday 09:05
        assert local(ticket["next_update_at"]) == datetime(2026, 12, 3, 9, 5, tzinfo=LOCAL)
        ticket = api.complete("service1", number, "work_request", action="已提交技术审核", status="processing")
        assert names(ticket) == ["work_request"]
    with clock(api, datetime(2026, 12, 3, 9, 4, tzinfo=LOCAL)):
        assert fire_due_timers() == 0
    with clock(api, datetime(2026, 12, 3, 9, 6, tzinfo=LOCAL)):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["proactive_update", "work_request"]
        assert fired(ticket, "update_due_timer")
        update = api.task_for("agent1", number, "proactive_update")  # the customer-facing registrar
        assert update["assignee"] == "agent1" and update["role"] == "agent"
        ticket = api.complete("agent1", number, "proactive_update", method="phone", message="技术审核中，预计周五完成")
        assert names(ticket) == ["work_request"] and ticket["next_update_at"] is None
        assert fire_due_timers() == 0


def _walk_to_result(api, number, user, **result):
    accept_and_contact(api, number, user)
    plan(api, number, user, TUE)
    return api.complete(user, number, "work_request", action="处理完成", status="processing", result_ready=True,
                        **result)


@pytest.mark.parametrize("result, close_reason", [
    ("done", "resolved"), ("solved", "resolved"), ("refused", "cannot_resolve_customer")])
def test_the_result_is_delivered_with_its_explanation_and_closed_with_a_reason(api, result, close_reason):
    with clock(api, TUE):
        number = new_request("handling", "normal", "申请开通企业对公账户")
        extra = {"refusal_reason": "客户未提供营业执照，依据开户管理办法第12条"} if result == "refused" else {}
        ticket = _walk_to_result(api, number, "service1", result=result, explanation="结果说明：" + result, **extra)
        assert ticket["status"] == "feedback" and ticket["resolved_at"]
        deliver = api.task_for("agent1", number, "deliver_result")
        data = api.get(f"/tasks/{deliver['id']}", "agent1").get_json()["data"]
        assert (data["result"], data["explanation"]) == (result, "结果说明：" + result)
        assert data.get("refusal_reason") == extra.get("refusal_reason")
        ticket = api.complete("agent1", number, "deliver_result", method="phone", customer_response="accepted")
        assert ticket["status"] == "pending_close" and names(ticket) == ["close_request"]
        ticket = api.complete("service1", number, "close_request", close_reason=close_reason, final_result="已归档")
        assert ticket["status"] == "closed" and ticket["closed_at"] and tickets.get_ticket(number).solution == "已归档"
        closing = [h for h in ticket["history"] if h["action"] == "task_completed"][-1]
        assert closing["detail"]["data"]["close_reason"] == close_reason
        archived = api.get(f"/tickets?number={number}&status=closed", "agent1").get_json()["items"]
        assert [t["number"] for t in archived] == [number]


def test_a_refusal_needs_its_reason_and_a_result_its_explanation(api):
    with clock(api, TUE):
        number = new_request("handling", "normal")
        accept_and_contact(api, number, "service1")
        plan(api, number, "service1", TUE)
        task = api.task_for("service1", number, "work_request")
        response = api.post(f"/tasks/{task['id']}/complete", "service1", json={"data": {
            "action": "处理", "status": "processing", "result_ready": True, "result": "refused", "explanation": "不符合"}})
        assert response.status_code == 422 and set(response.get_json()["errors"]) == {"refusal_reason"}
        response = api.post(f"/tasks/{task['id']}/complete", "service1", json={"data": {
            "action": "处理", "status": "processing", "result_ready": True}})
        assert response.status_code == 422 and {"result", "explanation"} <= set(response.get_json()["errors"])


def test_a_customer_who_does_not_accept_the_result_sends_it_back_to_handling(api):
    with clock(api, TUE):
        number = new_request("complaint", "normal", "投诉退款迟迟未到账")
        _walk_to_result(api, number, "engineer1", result="solved", explanation="已退款")
        ticket = api.complete("agent1", number, "deliver_result", method="phone", customer_response="not_accepted",
                              customer_comment="退款金额不对")
        assert ticket["status"] == "processing" and ticket["reopen_count"] == 1
        assert names(ticket) == ["work_request"]  # the plan stands; handling goes on
        task = api.get(f"/tasks/{ticket['open_tasks'][0]['id']}", "engineer1").get_json()
        assert task["data"]["customer_comment"] == "退款金额不对"
        response = api.post(f"/tasks/{api.task_for('engineer1', number, 'work_request')['id']}/complete", "engineer1",
                            json={"data": {"action": "补退差额", "status": "processing", "result_ready": True,
                                           "result": "solved", "explanation": "差额已补退"}})
        assert response.status_code == 200
        assert names(api.ticket(number)) == ["deliver_result"]


def test_a_duplicate_goes_straight_to_closing(api):
    with clock(api, TUE):
        first = new_request("consultation", "normal")
        number = new_request("consultation", "normal")
        task = api.task_for("service1", number, "accept_request")
        response = api.post(f"/tasks/{task['id']}/complete", "service1", json={"data": {"decision": "duplicate"}})
        assert response.status_code == 422 and "note" in response.get_json()["errors"]
        ticket = api.complete("service1", number, "accept_request", decision="duplicate", note=f"与 {first} 重复")
        assert ticket["status"] == "pending_close" and names(ticket) == ["close_request"]
        ticket = api.complete("service1", number, "close_request", close_reason="duplicate",
                              final_result=f"重复提交，见 {first}")
        assert ticket["status"] == "closed"


def test_a_supervisor_redispatches_a_request_from_the_pool(api):
    with clock(api, TUE):
        number = new_request("consultation", "normal")
        response = api.post(f"/tickets/{number}/redispatch", "supervisor1",
                            json={"assignee": "engineer1", "department": "after_sales", "reason": "需技术支持"})
        assert response.status_code == 200, response.get_json()
        ticket = response.get_json()
        assert ticket["status"] == "pending_dispatch" and ticket["assignee"] == "engineer1"
        assert api.task_for("engineer1", number, "accept_request")


# ------------------------------------------------------------------------------------ progress table

def _handled_request(api, at=TUE):
    with clock(api, at):
        number = new_request("handling", "normal", "申请开通企业对公账户")
        accept_and_contact(api, number, "service1")
    return number


def test_the_handler_keeps_the_progress_table_and_everyone_reads_it(api):
    number = _handled_request(api)
    with clock(api, TUE + timedelta(hours=1)):
        response = api.post(f"/tickets/{number}/progress", "service1", json={
            "stage": "资料审核", "planned_date": "2026-12-02", "note": "等待客户提交资料", "remarks": "需客户补充营业执照"})
        assert response.status_code == 201, response.get_json()
        entry = response.get_json()
        assert entry["owner"] == "service1" and entry["actual_date"] is None and not entry["done"]
        second = api.post(f"/tickets/{number}/progress", "supervisor1", json={
            "stage": "方案制定", "owner": "engineer1", "planned_date": "2026-12-03", "note": "技术团队评估"}).get_json()
        assert second["owner"] == "engineer1" and second["remarks"] == ""
        refused = api.post(f"/tickets/{number}/progress", "agent1", json={
            "stage": "x", "planned_date": "2026-12-03", "note": "y"})
        assert refused.status_code == 403  # the customer-facing staff read it
        table = api.get(f"/tickets/{number}/progress", "agent1").get_json()
        assert not table["may_edit"] and [i["stage"] for i in table["items"]] == ["资料审核", "方案制定"]
        assert api.get(f"/tickets/{number}/progress", "service1").get_json()["may_edit"]
    with clock(api, datetime(2026, 12, 4, 10, 0, tzinfo=LOCAL)):
        table = api.get(f"/tickets/{number}/progress", "agent1").get_json()
        assert [i["overdue"] for i in table["items"]] == [True, True]
        response = api.put(f"/tickets/{number}/progress/{entry['id']}", "service1",
                           json={"actual_date": "2026-12-03", "note": "客户提交资料齐全，审核通过"})
        assert response.status_code == 200, response.get_json()
        done = response.get_json()
        assert done["done"] and not done["overdue"] and done["planned_date"] == "2026-12-02"  # a passed plan stays
        history = api.ticket(number)["history"]
        assert [h["action"] for h in history if h["action"].startswith("progress")] == [
            "progress_added", "progress_added", "progress_updated"]


@pytest.mark.parametrize("body, field", [
    ({"stage": "审核", "planned_date": "2026/12/05", "note": "说明"}, "planned_date"),
    ({"stage": "审核", "planned_date": "2026-02-30", "note": "说明"}, "planned_date"),
    ({"stage": "   ", "planned_date": "2026-12-05", "note": "说明"}, "stage"),
    ({"planned_date": "2026-12-05", "note": "说明"}, "stage"),
    ({"stage": "审核", "planned_date": "2026-11-30", "note": "说明"}, "planned_date"),  # in the past
    ({"stage": "审核", "planned_date": "2026-12-05", "note": " "}, "note"),
    ({"stage": "审核", "planned_date": "2026-12-05", "note": "说明", "actual_date": "2026-12-09"}, "actual_date"),
    ({"stage": "审核", "planned_date": "2026-12-05", "note": "说明", "actual_date": "2026-11-01"}, "actual_date"),
    ({"stage": "审核", "planned_date": "2026-12-05", "note": "说明", "owner": "nobody"}, "owner"),
    ({"stage": "审" * 101, "planned_date": "2026-12-05", "note": "说明"}, "stage"),
    ({"stage": "审核", "planned_date": "2026-12-05", "note": "说明", "colour": "red"}, "colour"),
])
def test_bad_progress_input_is_refused_per_field(api, body, field):
    number = _handled_request(api)
    with clock(api, TUE + timedelta(hours=1)):
        response = api.post(f"/tickets/{number}/progress", "service1", json=body)
        assert response.status_code == 422, response.get_json()
        assert list(response.get_json()["errors"]) == [field]
        assert api.get(f"/tickets/{number}/progress", "service1").get_json()["items"] == []


def test_a_changed_planned_date_must_not_lie_in_the_past_and_a_closed_table_is_archived(api):
    number = _handled_request(api)
    with clock(api, TUE + timedelta(hours=1)):
        entry = api.post(f"/tickets/{number}/progress", "service1", json={
            "stage": "资料审核", "planned_date": "2026-12-02", "note": "审核中"}).get_json()
        bad = api.put(f"/tickets/{number}/progress/{entry['id']}", "service1", json={"planned_date": "2026-11-30"})
        assert bad.status_code == 422 and list(bad.get_json()["errors"]) == ["planned_date"]
        assert api.put(f"/tickets/{number}/progress/999999", "service1", json={}).status_code == 404
        plan(api, number, "service1", TUE)
        api.complete("service1", number, "work_request", action="完成", status="processing", result_ready=True,
                     result="done", explanation="已开通")
        api.complete("agent1", number, "deliver_result", method="phone", customer_response="accepted")
        api.complete("service1", number, "close_request", close_reason="resolved", final_result="账户已开通")
        closed = api.put(f"/tickets/{number}/progress/{entry['id']}", "service1", json={"actual_date": "2026-12-01"})
        assert closed.status_code == 409
        assert not api.get(f"/tickets/{number}/progress", "supervisor1").get_json()["may_edit"]


class Browser:
    """A logged-in page client; each request runs in its own app context, as in production (Flask-Login keeps the
    user in `g`)."""

    def __init__(self, app, user):
        from tests.conftest import PASSWORD

        self.app, self.client = app, app.test_client()
        assert self.post("/login", {"username": user, "password": PASSWORD}).status_code == 302

    def get(self, url):
        with self.app.app_context():
            response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)

    def post(self, url, data):
        with self.app.app_context():
            return self.client.post(url, data=data)


def test_the_ticket_page_shows_the_table_and_its_keeper_edits_it(app, api):
    number = _handled_request(api)
    with clock(api, TUE + timedelta(hours=1)):
        handler, agent = Browser(app, "service1"), Browser(app, "agent1")
        page = handler.get(f"/tickets/{number}")
        assert "进度跟踪表" in page and "暂无进度记录" in page and f'action="/tickets/{number}/progress"' in page
        refused = handler.post(f"/tickets/{number}/progress", {
            "stage": "资料审核", "planned_date": "2026-13-01", "note": "等待资料", "remarks": "需客户配合"})
        assert refused.status_code == 422
        text = refused.get_data(as_text=True)
        assert "YYYY-MM-DD" in text and 'value="资料审核"' in text and "需客户配合" in text
        added = handler.post(f"/tickets/{number}/progress", {
            "stage": "资料审核", "planned_date": "2026-12-02", "note": "等待资料", "remarks": "需客户配合"})
        assert added.status_code == 302
        [entry] = api.get(f"/tickets/{number}/progress", "agent1").get_json()["items"]
        saved = handler.post(f"/tickets/{number}/progress/{entry['id']}", {
            "stage": "资料审核", "owner": "service1", "planned_date": "2026-12-02", "actual_date": "2026-12-01",
            "note": "资料齐全，审核通过", "remarks": ""})
        assert saved.status_code == 302
        refused = handler.post(f"/tickets/{number}/progress/{entry['id']}", {
            "stage": " ", "planned_date": "2026-12-02", "note": "x"})
        assert refused.status_code == 422 and "不能为空" in refused.get_data(as_text=True)
        page = agent.get(f"/tickets/{number}")
        assert "资料齐全，审核通过" in page and "2026-12-01" in page and "新增进度记录" in page
        assert f'action="/tickets/{number}/progress"' not in page  # read-only for the customer-facing staff
        assert agent.post(f"/tickets/{number}/progress", {"stage": "x"}).status_code == 403
