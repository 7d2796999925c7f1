"""Reopened tickets get a new round of deadlines; the acceptance window on the monitor; the review of a solution."""
from datetime import datetime, timedelta, timezone

import time_machine

from app.timers.service import fire_due_timers
from tests.integration.test_pages import login, text

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai


def names(ticket):
    return sorted(t["name"] for t in ticket["open_tasks"])


def solve(api, number, **extra):
    data = dict(action="更换部件", status="awaiting_customer", solution="更换电源模块", solution_ready=True)
    data.update(extra)
    return api.complete("engineer1", number, "handle_ticket", **data)


def overdue_numbers(api):
    return [t["number"] for t in api.get("/tickets?overdue=1&limit=200", "supervisor1").get_json()["items"]]


def test_unsatisfied_starts_a_new_round_with_new_deadlines(api, client):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]  # high: respond in 2 h, solve in 24 h
        api.complete("engineer1", number, "accept_ticket", contact_note="已电话联系客户")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        ticket = solve(api, number)
        assert ticket["resolved_at"] == (T0 + timedelta(hours=1)).isoformat()
        assert ticket["responded_at"] == T0.isoformat()
    reopened_at = T0 + timedelta(hours=30)
    with time_machine.travel(reopened_at, tick=False):
        api.tokens.clear()
        ticket = api.complete("agent1", number, "feedback", method="phone", opinion="unsatisfied",
                              customer_comment="设备仍频繁重启")
        assert ticket["status"] == "reopened" and ticket["reopen_count"] == 1
        # the earlier round's resolution no longer counts; the diagram set this round's windows
        assert ticket["resolved_at"] is None and ticket["responded_at"] is None
        assert ticket["response_due_at"] == (reopened_at + timedelta(hours=2)).isoformat()
        assert ticket["resolution_due_at"] == (reopened_at + timedelta(hours=24)).isoformat()
        assert ticket["accepted_at"] == T0.isoformat()  # acceptance happens once
        [event] = [h for h in ticket["history"] if h["action"] == "new_round"]
        assert event["detail"]["previous"]["resolved_at"] == (T0 + timedelta(hours=1)).isoformat()
        assert event["detail"]["previous"]["resolution_due_at"] == (T0 + timedelta(hours=24)).isoformat()
        assert event["detail"]["resolution_due_at"] == ticket["resolution_due_at"]

        login(client, "supervisor1")
        page = text(client.get(f"/tickets/{number}?lang=en"))
        assert "Met on time" in page  # the acceptance window of the first round
        assert page.count("Met on time") == 1
        assert "2 h left" in page and "1 d left" in page
        assert "New round of handling" in page and "Resolved in this round" in page
        monitor = text(client.get("/supervisor/monitor?lang=en"))
        row = monitor[monitor.index(number):monitor.index("</tr>", monitor.index(number))]
        assert "2 h left" in row and "Met on time" in row  # acceptance met; response pending again

        # second handling shows what the customer said
        task = api.task_for("supervisor1", number, "second_handling")
        page = text(client.get(f"/tasks/{task['id']}?lang=en"))
        assert "设备仍频繁重启" in page and "Unsatisfied" in page and "更换电源模块" in page

    with time_machine.travel(reopened_at + timedelta(hours=3), tick=False):
        api.tokens.clear()
        assert number in overdue_numbers(api)  # this round's response is late
        api.complete("supervisor1", number, "second_handling", unsatisfied_reason="重启", improvement_plan="上门",
                     assignee="engineer1")
        ticket = api.complete("engineer1", number, "handle_ticket", action="上门检查", status="processing",
                              next_update_at=(reopened_at + timedelta(hours=6)).isoformat())
        assert ticket["responded_at"] == (reopened_at + timedelta(hours=3)).isoformat()
        assert number not in overdue_numbers(api)
        ticket = solve(api, number, solution="整机更换")
        assert ticket["resolved_at"] == (reopened_at + timedelta(hours=3)).isoformat()
        page = text(client.get(f"/tickets/{number}?lang=en"))
        assert "Met late, by 1 h" in page  # the round's response came an hour late
    with time_machine.travel(reopened_at + timedelta(hours=4), tick=False):
        api.tokens.clear()
        ticket = api.complete("agent1", number, "feedback", method="phone", opinion="satisfied")
        assert ticket["status"] == "closed"


def test_needs_adjustment_renews_the_resolution_window(api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket(urgency="low")["number"]  # low: 8 h / 72 h
        api.complete("engineer1", number, "accept_ticket", contact_note="已联系")
        solve(api, number)
    later = T0 + timedelta(hours=5)
    with time_machine.travel(later, tick=False):
        ticket = api.complete("agent1", number, "feedback", method="phone", opinion="needs_adjustment",
                              customer_comment="需要书面说明")
        assert ticket["status"] == "processing" and names(ticket) == ["handle_ticket"]
        assert ticket["resolved_at"] is None
        assert ticket["resolution_due_at"] == (later + timedelta(hours=72)).isoformat()
        assert ticket["response_due_at"] == (later + timedelta(hours=8)).isoformat()
        assert [h["action"] for h in ticket["history"]].count("new_round") == 1
        task = api.get(f"/tasks/{api.task_for('engineer1', number, 'handle_ticket')['id']}", "engineer1").get_json()
        assert task["data"]["customer_comment"] == "需要书面说明"


def test_monitor_counts_down_the_acceptance_window_and_flags_its_lapse(api, client):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
        ticket = api.ticket(number)
        assert ticket["accept_due_at"] == (T0 + timedelta(minutes=30)).isoformat()
    login(client, "supervisor1")
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        page = text(client.get("/supervisor/monitor?lang=en"))
        row = page[page.index(number):page.index("</tr>", page.index(number))]
        assert "20 min left" in row
        assert number not in overdue_numbers(api)
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        fire_due_timers()
        ticket = api.ticket(number)
        assert names(ticket) == ["reassign_ticket"]
        assert number in overdue_numbers(api)  # the response deadline (2 h) has not passed yet
        page = text(client.get("/supervisor/monitor?overdue=1&lang=en"))
        row = page[page.index(number):page.index("</tr>", page.index(number))]
        assert "Overdue by 1 min" in row
        api.complete("supervisor1", number, "reassign_ticket", assignee="engineer1", reason="原处理人休假")
        ticket = api.ticket(number)
        assert ticket["accept_due_at"] == (T0 + timedelta(minutes=61)).isoformat()  # a fresh window
        assert number not in overdue_numbers(api)
        api.complete("engineer1", number, "accept_ticket", contact_note="已联系")
        page = text(client.get(f"/tickets/{number}?lang=en"))
        assert "Acceptance window" in page and "Met on time" in page


def test_awaiting_review_goes_to_a_supervisor_review(api, client):
    number = api.new_ticket()["number"]
    api.complete("engineer1", number, "accept_ticket", contact_note="已联系")
    # choosing "awaiting review" needs a solution to review
    task = api.task_for("engineer1", number, "handle_ticket")
    refused = api.post(f"/tasks/{task['id']}/complete", "engineer1",
                       json={"data": {"action": "拟定方案", "status": "awaiting_review"}})
    assert refused.status_code == 422 and "solution" in refused.get_json()["errors"]
    ticket = api.complete("engineer1", number, "handle_ticket", action="拟定方案", status="awaiting_review",
                          solution="更换主板")
    assert ticket["status"] == "awaiting_review" and names(ticket) == ["review_solution"]
    assert ticket["resolved_at"] is None
    review = api.task_for("supervisor1", number, "review_solution")
    assert review["role"] == "supervisor"
    login(client, "supervisor1")
    page = text(client.get(f"/tasks/{review['id']}?lang=en"))
    assert "Solution to review" in page and "更换主板" in page
    returned = api.post(f"/tasks/{review['id']}/complete", "supervisor1", json={"data": {"review_decision": "return"}})
    assert returned.status_code == 422 and "review_comment" in returned.get_json()["errors"]
    ticket = api.complete("supervisor1", number, "review_solution", review_decision="return",
                          review_comment="请补充费用说明")
    assert ticket["status"] == "processing" and names(ticket) == ["handle_ticket"]
    handle = api.task_for("engineer1", number, "handle_ticket")
    login(client, "engineer1")
    assert "请补充费用说明" in text(client.get(f"/tasks/{handle['id']}"))
    ticket = api.complete("engineer1", number, "handle_ticket", action="补充说明", status="awaiting_review",
                          solution="更换主板，费用由我方承担")
    ticket = api.complete("supervisor1", number, "review_solution", review_decision="approve")
    assert ticket["status"] == "feedback" and names(ticket) == ["feedback"]
    assert ticket["resolved_at"] is not None
