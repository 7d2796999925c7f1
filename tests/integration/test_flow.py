"""Every path of workflows/quick_response.bpmn, driven through the JSON API with the clock moved."""
from datetime import datetime, timedelta, timezone

import time_machine

from app.timers.service import fire_due_timers

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai


def names(ticket):
    return sorted(t["name"] for t in ticket["open_tasks"])


def accept_and_solve(api, number, user="engineer1"):
    api.complete(user, number, "accept_ticket", contact_note="已电话联系客户，确认故障现象")
    return api.complete(user, number, "handle_ticket", action="远程排查并更换部件", status="awaiting_customer",
                        solution="更换电源模块并升级固件", solution_ready=True)


def test_happy_path_closes_and_archives(api):
    with time_machine.travel(T0, tick=False):
        ticket = api.new_ticket()
        number = ticket["number"]
        assert ticket["status"] == "pending_accept"
        assert ticket["department"] == "after_sales"  # complaint -> after-sales (R0-4)
        assert ticket["assignee"] == "engineer1"
        assert ticket["process"] == {"name": "quick_response", "version": 1}
        assert ticket["response_due_at"] == (T0 + timedelta(hours=2)).isoformat()
        assert ticket["resolution_due_at"] == (T0 + timedelta(hours=24)).isoformat()
        [accept] = ticket["open_tasks"]
        assert accept["name"] == "accept_ticket" and accept["role"] == "handler"
        assert accept["due_at"] == (T0 + timedelta(minutes=30)).isoformat()

        ticket = api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
        assert ticket["status"] == "processing" and ticket["accepted_at"] == T0.isoformat()
        ticket = api.complete("engineer1", number, "handle_ticket", action="远程排查", status="processing",
                              next_update_at="2026-03-02T15:00:00+08:00", solution_ready=False)
        assert names(ticket) == ["handle_ticket"]
        assert ticket["next_update_at"] == "2026-03-02T07:00:00+00:00"
        ticket = api.complete("engineer1", number, "handle_ticket", action="更换部件", status="awaiting_customer",
                              solution="更换电源模块", solution_ready=True)
        assert ticket["status"] == "feedback" and names(ticket) == ["feedback"]
        assert ticket["open_tasks"][0]["assignee"] == "agent1"  # first-contact responsibility
        ticket = api.complete("agent1", number, "feedback", method="phone", opinion="satisfied")
    assert ticket["status"] == "closed"
    assert ticket["closed_at"] == T0.isoformat()
    assert ticket["satisfaction"] == "satisfied"
    assert ticket["open_tasks"] == []
    actions = [h["action"] for h in ticket["history"]]
    assert actions[0] == "created"
    assert actions.count("task_completed") == 4


def test_type_routes_to_default_department(api):
    ticket = api.new_ticket(type="requirement_change", urgency="medium")
    assert ticket["department"] == "product" and ticket["assignee"] == "product1"
    ticket = api.new_ticket(type="consultation", urgency="low")
    assert ticket["department"] == "customer_service" and ticket["assignee"] == "service1"
    assert ticket["open_tasks"][0]["role"] == "handler"


def transfer_count(number):
    from sqlalchemy import select

    from app.extensions import db
    from app.tickets.models import Ticket

    db.session.expire_all()
    return db.session.scalar(select(Ticket.transfer_count).where(Ticket.number == number))


def test_acceptance_window_lapses_supervisor_reassigns_with_reason(api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
    with time_machine.travel(T0 + timedelta(minutes=29), tick=False):
        assert fire_due_timers() == 0
        assert names(api.ticket(number)) == ["accept_ticket"]
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["reassign_ticket"]
        assert any(h["action"] == "timer_fired" and h["detail"]["timer"] == "accept_timeout" for h in ticket["history"])
        assert api.get("/tasks", "engineer1").get_json()["items"] == []
        bad = api.post(f"/tasks/{ticket['open_tasks'][0]['id']}/complete", "supervisor1",
                       json={"data": {"assignee": "agent1"}})
        assert bad.status_code == 422
        assert set(bad.get_json()["errors"]) == {"assignee", "reason"}
        ticket = api.complete("supervisor1", number, "reassign_ticket", assignee="product1", department="product",
                              reason="售后工程师外出，转产品部处理")
        assert ticket["assignee"] == "product1" and ticket["department"] == "product"
        [accept] = ticket["open_tasks"]
        assert accept["name"] == "accept_ticket" and accept["assignee"] == "product1"
        assert accept["due_at"] == (T0 + timedelta(minutes=61)).isoformat()  # a fresh 30-minute window
        completed = [h for h in ticket["history"] if h["action"] == "task_completed"]
        assert completed[-1]["detail"]["data"]["reason"] == "售后工程师外出，转产品部处理"
        assert transfer_count(number) == 1  # the reassignment counts as a transfer in the reports
    with time_machine.travel(T0 + timedelta(minutes=62), tick=False):
        assert fire_due_timers() == 1
        assert names(api.ticket(number)) == ["reassign_ticket"]


def test_response_deadline_escalates_to_supervisor(api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket(urgency="high")["number"]
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        fire_due_timers()
    with time_machine.travel(T0 + timedelta(minutes=110), tick=False):
        api.complete("supervisor1", number, "reassign_ticket", assignee="engineer1", reason="再次提醒工程师")
    with time_machine.travel(T0 + timedelta(minutes=121), tick=False):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["accept_ticket", "review_response"]
        assert ticket["escalated_at"] == (T0 + timedelta(minutes=121)).isoformat()
        ticket = api.complete("supervisor1", number, "review_response", note="已电话督促工程师")
        assert names(ticket) == ["accept_ticket"]


def test_resolution_deadline_escalates_once(api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket(urgency="high")["number"]
        api.complete("engineer1", number, "accept_ticket", contact_note="已联系")
    with time_machine.travel(T0 + timedelta(hours=25), tick=False):
        api.tokens.clear()  # tokens last 12 hours
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["handle_ticket", "review_resolution"]
        api.complete("engineer1", number, "handle_ticket", action="继续排查", status="processing", solution_ready=False,
                     next_update_at=(T0 + timedelta(hours=27)).isoformat())
        assert names(api.ticket(number)) == ["handle_ticket", "review_resolution"]
        assert fire_due_timers() == 0


def test_a_missed_next_update_is_raised(api):
    """R0-5: the handler promises a next update; when that time passes, the ticket's timeline records it, the
    handling task shows it as its due time, and the monitor's overdue filter lists the ticket."""
    promised = T0 + timedelta(hours=4)
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket(urgency="low")["number"]  # solution due in 72 h
        api.complete("engineer1", number, "accept_ticket", contact_note="已联系")
        first = api.task_for("engineer1", number, "handle_ticket")
        assert datetime.fromisoformat(first["due_at"]) == T0 + timedelta(hours=72)  # no promise yet: the deadline
        missing = api.post(f"/tasks/{first['id']}/complete", "engineer1",
                           json={"data": {"action": "远程排查", "status": "processing"}})
        assert missing.status_code == 422 and "next_update_at" in missing.get_json()["errors"]
        api.complete("engineer1", number, "handle_ticket", action="远程排查", status="awaiting_customer",
                     next_update_at=promised.isoformat())
        task = api.task_for("engineer1", number, "handle_ticket")
        assert datetime.fromisoformat(task["due_at"]) == promised
    with time_machine.travel(promised - timedelta(minutes=1), tick=False):
        assert fire_due_timers() == 0
    with time_machine.travel(promised + timedelta(minutes=1), tick=False):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        reminders = [e for e in ticket["history"] if e["action"] == "timer_fired"]
        assert [e["detail"]["timer"] for e in reminders] == ["next_update_due"]
        assert [t["id"] for t in ticket["open_tasks"]] == [task["id"]]  # the handler keeps the same task
        overdue = api.get("/tickets?overdue=1", "supervisor1").get_json()["items"]
        assert number in [t["number"] for t in overdue]
        api.complete("engineer1", number, "handle_ticket", action="客户确认中", status="awaiting_customer",
                     next_update_at=(promised + timedelta(hours=4)).isoformat())
        assert fire_due_timers() == 0  # a fresh promise, a fresh timer
        assert number not in [t["number"] for t in api.get("/tickets?overdue=1", "supervisor1").get_json()["items"]]


def test_needs_adjustment_loops_back_to_handling(api):
    number = api.new_ticket()["number"]
    accept_and_solve(api, number)
    ticket = api.complete("agent1", number, "feedback", method="email", opinion="needs_adjustment")
    assert ticket["status"] == "processing" and names(ticket) == ["handle_ticket"]
    ticket = api.complete("engineer1", number, "handle_ticket", action="调整方案", status="awaiting_customer",
                          solution="调整后的方案", solution_ready=True)
    ticket = api.complete("agent1", number, "feedback", method="phone", opinion="satisfied")
    assert ticket["status"] == "closed" and ticket["solution"] if "solution" in ticket else ticket["status"] == "closed"


def test_unsatisfied_reopens_for_second_handling_and_cannot_be_force_closed(api):
    number = api.new_ticket()["number"]
    accept_and_solve(api, number)
    feedback = api.task_for("agent1", number, "feedback")
    ticket = api.complete("agent1", number, "feedback", method="in_person", opinion="unsatisfied")
    assert ticket["status"] == "reopened" and ticket["reopen_count"] == 1
    assert names(ticket) == ["second_handling"]
    # the old feedback task cannot be used to close it, and nobody can set the status through a form
    again = api.post(f"/tasks/{feedback['id']}/complete", "agent1", json={"data": {"method": "phone", "opinion": "satisfied"}})
    assert again.status_code == 409
    second = api.task_for("supervisor1", number, "second_handling")
    forced = api.post(f"/tasks/{second['id']}/complete", "supervisor1", json={"data": {
        "unsatisfied_reason": "故障复现", "improvement_plan": "上门检修", "assignee": "engineer1", "status": "closed"}})
    assert forced.status_code == 422 and set(forced.get_json()["errors"]) == {"status"}  # not a field of the form
    ticket = api.complete("supervisor1", number, "second_handling", unsatisfied_reason="故障复现",
                          improvement_plan="上门检修", assignee="engineer1")
    assert ticket["status"] == "processing" and names(ticket) == ["handle_ticket"]
    assert api.post(f"/tickets/{number}/close", "supervisor1").status_code in (404, 405)
    ticket = api.complete("engineer1", number, "handle_ticket", action="上门更换", status="awaiting_customer",
                          solution="整机更换", solution_ready=True)
    ticket = api.complete("agent1", number, "feedback", method="phone", opinion="satisfied")
    assert ticket["status"] == "closed" and ticket["reopen_count"] == 1


def test_terminate_at_close_cancels_open_escalations(api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
        accept_and_solve(api, number)
    with time_machine.travel(T0 + timedelta(hours=25), tick=False):
        api.tokens.clear()  # tokens last 12 hours
        fire_due_timers()  # feedback is open; nothing waits on the resolution timer any more
        ticket = api.complete("agent1", number, "feedback", method="phone", opinion="satisfied")
        assert ticket["status"] == "closed" and ticket["open_tasks"] == []


def test_supervisor_redispatches_before_acceptance(api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
        assert api.post(f"/tickets/{number}/redispatch", "agent1", json={"assignee": "product1", "reason": "转"}).status_code == 403
        bad = api.post(f"/tickets/{number}/redispatch", "supervisor1", json={"assignee": "agent1"})
        assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"assignee", "reason"}
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        response = api.post(f"/tickets/{number}/redispatch", "supervisor1",
                            json={"assignee": "product1", "department": "product", "reason": "属于产品需求"})
        assert response.status_code == 200, response.get_json()
        ticket = response.get_json()
        assert ticket["assignee"] == "product1" and ticket["department"] == "product"
        [accept] = ticket["open_tasks"]
        assert accept["name"] == "accept_ticket" and accept["assignee"] == "product1"
        assert accept["due_at"] == (T0 + timedelta(minutes=50)).isoformat()  # a fresh 30-minute window
        assert [h["action"] for h in ticket["history"]].count("redispatched") == 1
        assert transfer_count(number) == 1
        assert api.get("/tasks", "engineer1").get_json()["items"] == []
        api.complete("product1", number, "accept_ticket", contact_note="产品部已联系客户")
        late = api.post(f"/tickets/{number}/redispatch", "supervisor1", json={"assignee": "engineer1", "reason": "再转"})
        assert late.status_code == 409


def test_an_open_escalation_is_not_stacked(api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket(urgency="high")["number"]
    for minutes in (31, 62, 93):  # nobody accepts; the supervisor keeps reassigning
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            fire_due_timers()
            api.complete("supervisor1", number, "reassign_ticket", assignee="engineer1", reason="请尽快受理")
    with time_machine.travel(T0 + timedelta(minutes=125), tick=False):
        fire_due_timers()  # the window and the 2-hour response deadline have both passed: one review
        assert names(api.ticket(number)) == ["reassign_ticket", "review_response"]
    for minutes in (126, 160, 200):  # more lapses and reassignments while the review is still open
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            fire_due_timers()
            if "reassign_ticket" in names(api.ticket(number)):
                api.complete("supervisor1", number, "reassign_ticket", assignee="engineer1", reason="再次提醒")
    with time_machine.travel(T0 + timedelta(minutes=201), tick=False):
        ticket = api.ticket(number)
        assert names(ticket).count("review_response") == 1
        assert [h["detail"].get("task") for h in ticket["history"] if h["action"] == "task_opened"].count(
            "review_response") == 1
        fired = [h["detail"]["timer"] for h in ticket["history"] if h["action"] == "timer_fired"]
        assert fired.count("response_timer") > 1  # it did lapse again; the diagram chose not to stack
