"""The after-sales flow (workflows/aftersales.bpmn, seed 001, R1-1…R1-6) walked through the API with the clock moved
by time-machine: intake and classification, dispatch by type, the 30-minute acceptance window, the 15-minute first
contact, on-the-spot and complex handling with the 24-hour analysis report, the progress cycles (2 h urgent, 6 h
otherwise) that never stack, confirmation with four satisfaction levels, second handling with the 24-hour
improvement plan, close with reason and result. The flow-selection rule (flow_by_ticket.dmn) picks the flow."""
import re
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import time_machine

from app.calendar.worktime import LOCAL
from app.tickets import service as tickets
from app.timers.service import fire_due_timers

TUE = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL)


@contextmanager
def clock(api, moment):
    """The clock at `moment`, logged in afresh (a token lives 12 hours; these walks span days)."""
    with time_machine.travel(moment, tick=False):
        api.tokens.clear()
        yield


def at(minutes=0, hours=0):
    return TUE + timedelta(minutes=minutes, hours=hours)


def local(iso):
    return datetime.fromisoformat(iso).astimezone(LOCAL) if iso else None


def names(ticket):
    return sorted(t["name"] for t in ticket["open_tasks"])


def fired(ticket, timer):
    return [h for h in ticket["history"] if h["action"] == "timer_fired" and h["detail"]["timer"] == timer]


def completed(ticket, task):
    return [h["detail"]["data"] for h in ticket["history"] if h["action"] == "task_completed"
            and h["detail"]["task"] == task]


INTAKE = {"product_model": "X-2000", "occurred_at": "2026-12-01T08:30:00+08:00", "occurred_place": "上海工厂二号车间",
          "symptom": "设备无法启动，电源指示灯不亮", "category": "hardware_fault", "impact": "non_core",
          "key_customer": False, "cross_department": False}


def new_fault(api, urgency="medium", description="设备无法启动，电源指示灯不亮", **intake):
    """A product-fault ticket opened through the API (the flow table starts after_sales), its intake done."""
    number = api.new_ticket(type="product_fault", urgency=urgency, description=description)["number"]
    return number, api.complete("agent1", number, "intake", **{**INTAKE, **intake})


def accept(api, number, user):
    return api.complete(user, number, "accept", accept_note="已接收")


def contact(api, number, user, path="complex", **more):
    data = {"contact_method": "phone", "contact_note": "已电话联系客户确认故障现象", "resolution_path": path, **more}
    return api.complete(user, number, "first_contact", **data)


def report(api, number, user):
    return api.complete(user, number, "analysis_report", cause="电源模块损坏", investigation="现场检测电源输出为零",
                        proposal="更换电源模块")


def solve(api, number, user):
    return api.complete(user, number, "work_issue", action="已更换电源模块", solved=True, solution="更换电源模块后设备恢复")


def confirm(api, number, user, satisfaction="satisfied", **more):
    return api.complete(user, number, "confirm", confirm_method="phone", satisfaction=satisfaction, **more)


def close(api, number, user):
    return api.complete(user, number, "close_ticket", close_reason="resolved", final_result="更换电源模块，设备恢复正常")


# ------------------------------------------------------------------------------------------ flow selection

@pytest.mark.parametrize("type_, process, pattern, first_task", [
    ("product_fault", "after_sales", r"SR20261201\d{3}", "intake"),
    ("consultation", "quick_response", r"SR20261201\d{3}", "accept_ticket"),
    ("complaint", "quick_response", r"SR20261201\d{3}", "accept_ticket"),
    ("requirement_change", "quick_response", r"SR20261201\d{3}", "accept_ticket"),
    ("after_sales_support", "quick_response", r"SR20261201\d{3}", "accept_ticket"),
    ("suggestion", "service_request", r"CS20261201\d{4}", "accept_request"),
    ("technical_support", "service_request", r"CS20261201\d{4}", "accept_request"),
    ("handling", "service_request", r"CS20261201\d{4}", "accept_request"),
])
def test_the_flow_selection_table_picks_the_flow_a_new_ticket_starts(api, type_, process, pattern, first_task):
    with clock(api, TUE):
        number = api.new_ticket(type=type_, urgency="high")["number"]
        assert re.fullmatch(pattern, number)
        ticket = api.ticket(number)
        assert ticket["process"]["name"] == process
        assert names(ticket) == [first_task]


def test_a_changed_flow_table_takes_effect_with_a_deploy(api, tmp_path):
    """Changing which flow starts is a table edit and a deploy: here product faults by e-mail go to quick_response."""
    import shutil
    from pathlib import Path

    from app.database import deploy_rules
    from app.engine import deploy_directory
    from app.extensions import db

    root = Path(__file__).resolve().parents[2]
    workflows = tmp_path / "workflows"
    shutil.copytree(root / "workflows", workflows)
    table = workflows / "flow_by_ticket.dmn"
    text = table.read_text(encoding="utf-8")
    text = text.replace('<inputEntry id="flow_by_ticket_product_fault_in1"><text></text>',
                        '<inputEntry id="flow_by_ticket_product_fault_in1"><text>"phone"</text>')
    table.write_text(text, encoding="utf-8")
    deploy_directory(workflows, root / "forms", deploy_rules())
    db.session.commit()
    with clock(api, TUE):
        by_phone = api.new_ticket(type="product_fault", channel="phone")["number"]
        by_mail = api.new_ticket(type="product_fault", channel="email")["number"]
        assert api.ticket(by_phone)["process"]["name"] == "after_sales"
        assert api.ticket(by_mail)["process"]["name"] == "quick_response"


# ------------------------------------------------------------------------------------------ intake and dispatch

@pytest.mark.parametrize("intake, priority, handler, window", [
    ({"category": "hardware_fault", "impact": "non_core"}, "P3", "engineer1", timedelta(hours=8)),
    ({"category": "software_fault", "impact": "main_function"}, "P2", "engineer1", timedelta(hours=4)),
    ({"category": "software_fault", "impact": "main_function", "key_customer": True}, "P1", "engineer1",
     timedelta(minutes=15)),
    ({"category": "consultation", "impact": "suggestion"}, "P4", "service1", timedelta(hours=24)),
    ({"category": "complaint", "impact": "non_core"}, "P3", "supervisor1", timedelta(hours=8)),
    ({"category": "other", "impact": "core_down"}, "P1", "service1", timedelta(minutes=15)),
])
def test_intake_classifies_prioritises_and_dispatches_by_type(api, intake, priority, handler, window):
    with clock(api, TUE):
        number = api.new_ticket(type="product_fault", urgency="medium")["number"]
        ticket = api.ticket(number)
        assert ticket["status"] == "new" and names(ticket) == ["intake"]
        assert ticket["open_tasks"][0]["assignee"] == "agent1"
        assert ticket["priority"] == "medium"  # the urgency until the table decides
        ticket = api.complete("agent1", number, "intake", **{**INTAKE, **intake})
        assert ticket["status"] == "pending_accept" and ticket["priority"] == priority  # what reports group by
        [task] = ticket["open_tasks"]
        assert (task["name"], task["assignee"]) == ("accept", handler)
        assert local(ticket["response_due_at"]) == TUE + window
        assert local(ticket["accept_due_at"]) == TUE + timedelta(minutes=30)
        data = api.get(f"/tasks/{task['id']}", handler).get_json()["data"]
        assert data["priority"] == priority
        assert data["product_model"] == "X-2000" and data["received_at"]


def test_a_cross_department_issue_is_coordinated_by_the_supervisor(api):
    with clock(api, TUE):
        number, ticket = new_fault(api, category="software_fault", cross_department=True,
                                   cross_department_note="需产品部确认同步接口")
        assert names(ticket) == ["coordinate"]
        assert ticket["open_tasks"][0]["role"] == "supervisor"
        ticket = api.complete("supervisor1", number, "coordinate", department="product", assignee="product1",
                              coordination_note="产品部接口人跟进")
        [task] = ticket["open_tasks"]
        assert (task["name"], task["assignee"]) == ("accept", "product1")
        assert ticket["department"] == "product"
        ticket = accept(api, number, "product1")
        assert ticket["status"] == "processing" and ticket["owner"] == "product1"


def test_not_accepted_in_30_minutes_the_supervisor_reassigns_with_a_reason(api):
    with clock(api, TUE):
        number, _ = new_fault(api)
    with clock(api, at(29)):
        assert fire_due_timers() == 0
    with clock(api, at(31)):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["reassign_ticket"] and fired(ticket, "accept_timeout")
        assert ticket["open_tasks"][0]["role"] == "supervisor"
        ticket = api.complete("supervisor1", number, "reassign_ticket", department="product", assignee="product1",
                              reason="张工外出，改由产品部接口人处理")
        assert completed(ticket, "reassign_ticket")[0]["reason"] == "张工外出，改由产品部接口人处理"
        [task] = ticket["open_tasks"]
        assert (task["name"], task["assignee"]) == ("accept", "product1")
        assert local(ticket["accept_due_at"]) == at(61)  # a fresh 30-minute window
        assert ticket["status"] == "pending_accept"
    with clock(api, at(45)):
        ticket = accept(api, number, "product1")
        assert ticket["status"] == "processing" and names(ticket) == ["first_contact"]
        assert local(ticket["accepted_at"]) == at(45)


def test_a_supervisor_redispatches_before_acceptance(api):
    with clock(api, TUE):
        number, _ = new_fault(api)
        response = api.post(f"/tickets/{number}/redispatch", "supervisor1",
                            json={"department": "customer_service", "assignee": "service1", "reason": "属于操作咨询"})
        assert response.status_code == 200, response.get_json()
        ticket = api.ticket(number)
        [task] = ticket["open_tasks"]
        assert (task["name"], task["assignee"]) == ("accept", "service1")


def test_an_urgent_ticket_gets_a_first_contact_within_15_minutes_else_the_supervisor_steps_in(api):
    with clock(api, TUE):
        number, ticket = new_fault(api, impact="core_down")
        assert local(ticket["response_due_at"]) == at(15)
    with clock(api, at(5)):
        ticket = accept(api, number, "engineer1")
        # the first contact is the response, not the acceptance (the reports' first response too)
        assert ticket["responded_at"] is None and ticket["sla"]["response"] == "running"
    with clock(api, at(14)):
        assert fire_due_timers() == 0
    with clock(api, at(16)):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["first_contact", "review_first_contact"]
        assert ticket["escalated_at"] and fired(ticket, "contact_due_contact")
    with clock(api, at(20)):
        ticket = contact(api, number, "engineer1")
        assert local(ticket["responded_at"]) == at(20) and ticket["sla"]["response"] == "breached"
        from sqlalchemy import select

        from app.extensions import db
        from app.tickets.models import Ticket

        first = db.session.scalar(select(Ticket.first_responded_at).where(Ticket.number == number))
        assert local(first.isoformat()) == at(20)
        ticket = api.complete("supervisor1", number, "review_first_contact", note="已督促工程师联系客户")
        assert names(ticket) == ["analysis_report"]


# ------------------------------------------------------------------------------------------ handling

def test_a_simple_issue_is_solved_on_the_spot_confirmed_and_closed(api):
    with clock(api, TUE):
        number, _ = new_fault(api, category="consultation", impact="non_core")
    with clock(api, at(10)):
        accept(api, number, "service1")
        ticket = contact(api, number, "service1", path="on_the_spot", solution="指导客户重置电源参数")
        assert ticket["sla"]["response"] == "on_time"
        assert ticket["status"] == "feedback" and ticket["resolved_at"]
        [task] = ticket["open_tasks"]
        assert (task["name"], task["assignee"]) == ("confirm", "service1")  # the first receiver confirms
    with clock(api, at(30)):
        ticket = confirm(api, number, "service1", satisfaction="very_satisfied")
        assert ticket["satisfaction"] == "very_satisfied" and ticket["status"] == "pending_close"
        assert names(ticket) == ["close_ticket"]
        ticket = close(api, number, "service1")
        assert ticket["status"] == "closed" and ticket["open_tasks"] == []
        assert local(ticket["closed_at"]) == at(30)
        assert tickets.get_ticket(number).solution == "更换电源模块，设备恢复正常"
        assert completed(ticket, "close_ticket")[0]["close_reason"] == "resolved"


def test_the_on_the_spot_solution_is_required(api):
    with clock(api, TUE):
        number, _ = new_fault(api, category="consultation")
        accept(api, number, "service1")
        task = api.task_for("service1", number, "first_contact")
        response = api.post(f"/tasks/{task['id']}/complete", "service1", json={"data": {
            "contact_method": "phone", "contact_note": "已联系", "resolution_path": "on_the_spot"}})
        assert response.status_code == 422 and "solution" in response.get_json()["errors"]


def test_a_complex_urgent_issue_reports_in_24_hours_and_shares_progress_every_2_hours_without_stacking(api):
    with clock(api, TUE):
        number, _ = new_fault(api, impact="core_down")
    with clock(api, at(5)):
        accept(api, number, "engineer1")
        ticket = contact(api, number, "engineer1")
        assert names(ticket) == ["analysis_report"]
        assert local(ticket["open_tasks"][0]["due_at"]) == at(5, 24)
        assert local(ticket["next_update_at"]) == at(5, 2)
    with clock(api, at(4, 2)):
        assert fire_due_timers() == 0
    with clock(api, at(6, 2)):  # first 2-hour cycle
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["analysis_report", "share_progress"]
        ticket = api.complete("engineer1", number, "share_progress", method="phone", message="正在排查电源模块")
        assert names(ticket) == ["analysis_report"]
    with clock(api, at(6, 4)):  # second cycle
        assert fire_due_timers() == 1
        assert names(api.ticket(number)) == ["analysis_report", "share_progress"]
    with clock(api, at(6, 6)):  # third cycle while the second's task is still open: not stacked
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["analysis_report", "share_progress"]
        assert [h["detail"]["task"] for h in ticket["history"] if h["action"] == "task_opened"].count(
            "share_progress") == 2
        api.complete("engineer1", number, "share_progress", method="email", message="已定位故障，等待备件")
    with clock(api, at(6, 24)):  # the 24-hour analysis report window lapses
        fire_due_timers()
        ticket = api.ticket(number)
        assert fired(ticket, "analysis_overdue") and ticket["escalated_at"]
        assert "analysis_report" in names(ticket)
        ticket = report(api, number, "engineer1")
        assert "work_issue" in names(ticket)
        ticket = solve(api, number, "engineer1")
        assert names(ticket) == ["confirm"]  # handling ended: an open progress task went with it
        assert ticket["status"] == "feedback" and ticket["next_update_at"] is None
    with clock(api, at(6, 30)):
        assert fire_due_timers() == 0  # no more progress cycles once handling ended
        assert names(api.ticket(number)) == ["confirm"]


def test_a_normal_complex_issue_shares_progress_every_6_hours(api):
    with clock(api, TUE):
        number, _ = new_fault(api)  # P3
        accept(api, number, "engineer1")
        contact(api, number, "engineer1")
        ticket = report(api, number, "engineer1")
        assert names(ticket) == ["work_issue"]
        ticket = api.complete("engineer1", number, "work_issue", action="已订购备件")
        assert names(ticket) == ["work_issue"]
    with clock(api, at(59, 5)):
        assert fire_due_timers() == 0
    with clock(api, at(1, 6)):
        assert fire_due_timers() == 1
        assert names(api.ticket(number)) == ["share_progress", "work_issue"]
        api.complete("engineer1", number, "share_progress", method="message", message="备件明日到货")
    with clock(api, at(1, 12)):
        assert fire_due_timers() == 1
        assert names(api.ticket(number)) == ["share_progress", "work_issue"]


# ------------------------------------------------------------------------------------------ confirmation

def test_an_unsatisfied_customer_gets_a_second_handling_led_by_the_supervisor(api):
    with clock(api, TUE):
        number, _ = new_fault(api)
        accept(api, number, "engineer1")
        contact(api, number, "engineer1")
        report(api, number, "engineer1")
        solve(api, number, "engineer1")
    with clock(api, at(0, 2)):
        task = api.task_for("engineer1", number, "confirm")
        response = api.post(f"/tasks/{task['id']}/complete", "engineer1", json={"data": {
            "confirm_method": "phone", "satisfaction": "unsatisfied"}})
        assert response.status_code == 422 and "unsatisfied_reason" in response.get_json()["errors"]
        ticket = confirm(api, number, "engineer1", satisfaction="unsatisfied", unsatisfied_reason="故障两天后复发")
        assert ticket["status"] == "reopened" and ticket["reopen_count"] == 1
        assert ticket["satisfaction"] == "unsatisfied" and ticket["resolved_at"] is None
        [task] = ticket["open_tasks"]
        assert (task["name"], task["role"]) == ("improvement_plan", "supervisor")
        assert local(task["due_at"]) == at(0, 26)  # the improvement plan within 24 hours
        data = api.get(f"/tasks/{task['id']}", "supervisor1").get_json()["data"]
        assert data["unsatisfied_reason"] == "故障两天后复发"
    with clock(api, at(1, 26)):
        fire_due_timers()
        ticket = api.ticket(number)
        assert fired(ticket, "improvement_overdue") and names(ticket) == ["improvement_plan"]
        ticket = api.complete("supervisor1", number, "improvement_plan", improvement_plan="更换整机并回访",
                              department="after_sales", assignee="engineer1")
        assert ticket["status"] == "processing"
        assert names(ticket) == ["work_issue"]  # the analysis report is not asked again
        ticket = solve(api, number, "engineer1")
        assert names(ticket) == ["confirm"]
        ticket = confirm(api, number, "engineer1", satisfaction="average")
        ticket = close(api, number, "engineer1")
        assert ticket["status"] == "closed" and ticket["satisfaction"] == "average"


# ------------------------------------------------------------------------------------------ decision tables

def decide(app, decision, **data):
    return app.extensions["engine"].decide(decision, data)


@pytest.mark.parametrize("data, priority", [
    ({"impact": "core_down", "key_customer": False, "urgency": "low"}, "P1"),
    ({"impact": "suggestion", "key_customer": False, "urgency": "critical"}, "P1"),
    ({"impact": "main_function", "key_customer": True, "urgency": "medium"}, "P1"),
    ({"impact": "main_function", "key_customer": False, "urgency": "medium"}, "P2"),
    ({"impact": "non_core", "key_customer": True, "urgency": "medium"}, "P2"),
    ({"impact": "non_core", "key_customer": False, "urgency": "medium"}, "P3"),
    ({"impact": "suggestion", "key_customer": True, "urgency": "low"}, "P3"),
    ({"impact": "suggestion", "key_customer": False, "urgency": "low"}, "P4"),
    ({"impact": "", "key_customer": False, "urgency": "low"}, "P3"),
])
def test_aftersales_priority_rows(app, data, priority):
    assert decide(app, "aftersales_priority", **data) == {"priority": priority}


@pytest.mark.parametrize("category, cross, department, role, coordinate", [
    ("hardware_fault", True, "customer_service", "supervisor", True),
    ("hardware_fault", False, "after_sales", "handler", False),
    ("software_fault", False, "after_sales", "handler", False),
    ("consultation", False, "customer_service", "handler", False),
    ("complaint", False, "customer_service", "supervisor", False),
    ("other", False, "customer_service", "handler", False),
])
def test_aftersales_route_rows(app, category, cross, department, role, coordinate):
    assert decide(app, "aftersales_route", category=category, cross_department=cross) == {
        "department": department, "dispatch_role": role, "coordinate": coordinate}


@pytest.mark.parametrize("priority, response, contact, progress, urgent", [
    ("P1", "PT2H", "PT15M", "PT2H", True),
    ("P2", "PT4H", "PT4H", "PT6H", False),
    ("P3", "PT8H", "PT8H", "PT6H", False),
    ("P4", "PT24H", "PT24H", "PT6H", False),
])
def test_aftersales_windows_rows_are_seed_001(app, priority, response, contact, progress, urgent):
    assert decide(app, "aftersales_windows", priority=priority) == {
        "response_within": response, "first_contact_within": contact, "accept_within": "PT30M",
        "progress_every": progress, "analysis_within": "PT24H", "improvement_within": "PT24H", "urgent": urgent}


@pytest.mark.parametrize("urgency, response, resolve", [
    ("high", "PT2H", "PT24H"), ("medium", "PT4H", "PT48H"), ("low", "PT8H", "PT72H"),
])
def test_sla_by_urgency_rows_are_seed_000(app, urgency, response, resolve):
    assert decide(app, "sla_by_urgency", urgency=urgency) == {
        "response_within": response, "resolve_within": resolve, "sla_calendar": ""}


@pytest.mark.parametrize("priority, contact", [
    ("critical", "PT10M"), ("urgent", "PT10M"), ("high", "PT30M"), ("medium", "PT2H"), ("low", "PT4H"),
])
def test_service_request_windows_rows(app, priority, contact):
    """Seed 002's scheme, the shipped default (both schemes: test_service_request_scheme.py)."""
    assert decide(app, "service_request_windows", sla_scheme="seed002", priority=priority)["first_contact_within"] \
        == contact


@pytest.mark.parametrize("type_, channel, process", [
    ("product_fault", "phone", "after_sales"), ("product_fault", "partner", "after_sales"),
    ("suggestion", "online", "service_request"), ("technical_support", "phone", "service_request"),
    ("handling", "branch", "service_request"), ("consultation", "phone", "quick_response"),
    ("complaint", "email", "quick_response"), ("requirement_change", "phone", "quick_response"),
    ("after_sales_support", "phone", "quick_response"),
])
def test_flow_by_ticket_rows(app, type_, channel, process):
    assert decide(app, "flow_by_ticket", ticket_type=type_, channel=channel) == {"process": process}


def test_an_unknown_decision_decides_nothing(app):
    assert decide(app, "no_such_table", x=1) is None
