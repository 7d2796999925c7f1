"""A supervisor changes a ticket's priority with a reason (message `reprioritize`, app/priority): the diagram runs its
windows table again and the deadlines not met yet are recomputed from their original start; the timers move."""
from datetime import datetime, timedelta, timezone

import pytest

from app.calendar.models import SlaWindow
from app.extensions import db
from app.timers.service import fire_due_timers
from sqlalchemy import select

from .test_aftersales import accept as as_accept, contact as as_contact, new_fault
from .test_service_request import TUE, Browser, accept_and_contact, clock, fired, local, names, new_request


def change(api, number, user="supervisor1", **body):
    return api.post(f"/tickets/{number}/priority", user, json=body)


def changed_events(ticket):
    return [h for h in ticket["history"] if h["action"] == "priority_changed"]


# ------------------------------------------------------------------------------------------ service requests

def test_raised_from_medium_to_urgent_the_first_contact_is_due_sooner_and_fires_then(api):
    with clock(api, TUE):
        number = new_request("consultation", "normal")  # medium: first contact within 2 hours
        assert local(api.ticket(number)["response_due_at"]) == TUE + timedelta(hours=2)
    with clock(api, TUE + timedelta(minutes=5)):
        response = change(api, number, priority="urgent", reason="  客户资金存在风险  ")
        assert response.status_code == 200, response.get_json()
        ticket = response.get_json()
        assert ticket["priority"] == "urgent"
        assert local(ticket["response_due_at"]) == TUE + timedelta(minutes=10)  # from registration, not from now
        assert local(ticket["open_tasks"][0]["due_at"]) == TUE + timedelta(minutes=10)
        (event,) = changed_events(ticket)
        assert event["actor"] == "supervisor1"
        assert event["detail"]["from"] == "medium" and event["detail"]["to"] == "urgent"
        assert event["detail"]["reason"] == "客户资金存在风险"
        assert local(event["detail"]["deadlines"]["response_due"]) == TUE + timedelta(minutes=10)
        window = db.session.scalar(select(SlaWindow).where(SlaWindow.variable == "response_due"))
        assert window.working_us == 10 * 60 * 1_000_000  # the window keeps its start: later pauses keep working
    with clock(api, TUE + timedelta(minutes=9)):
        assert fire_due_timers() == 0
    with clock(api, TUE + timedelta(minutes=11)):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert fired(ticket, "contact_due_accept") and names(ticket) == ["accept_request", "review_first_contact"]
    with clock(api, TUE + timedelta(hours=2, minutes=1)):
        assert fire_due_timers() == 0  # the old 2-hour deadline is gone


def test_lowered_from_high_to_low_the_first_contact_is_due_later(api):
    with clock(api, TUE):
        number = new_request("complaint", "normal")  # high: 30 minutes
    with clock(api, TUE + timedelta(minutes=10)):
        ticket = change(api, number, priority="low", reason="客户确认不急").get_json()
        assert local(ticket["response_due_at"]) == TUE + timedelta(hours=4)
    with clock(api, TUE + timedelta(minutes=31)):
        assert fire_due_timers() == 0  # the 30-minute timer moved
    with clock(api, TUE + timedelta(hours=4, minutes=1)):
        assert fire_due_timers() == 1
        assert fired(api.ticket(number), "contact_due_accept")


def test_a_met_deadline_does_not_change(api):
    with clock(api, TUE):
        number = new_request("consultation", "normal")
    with clock(api, TUE + timedelta(minutes=20)):
        accept_and_contact(api, number, "service1")
    with clock(api, TUE + timedelta(minutes=30)):
        ticket = change(api, number, priority="urgent", reason="客户升级投诉").get_json()
        assert ticket["priority"] == "urgent"
        assert local(ticket["response_due_at"]) == TUE + timedelta(hours=2)  # met at 09:20: unchanged
        assert ticket["sla"]["response"] == "on_time"
        assert "response_due" not in changed_events(ticket)[0]["detail"]["deadlines"]


@pytest.mark.parametrize("body, field", [
    ({"priority": "P1", "reason": "客户升级"}, "priority"),  # an after-sales priority: not this process's
    ({"priority": "asap", "reason": "客户升级"}, "priority"),
    ({"reason": "客户升级"}, "priority"),
    ({"priority": "urgent"}, "reason"),
    ({"priority": "urgent", "reason": "   "}, "reason"),
    ({"priority": "urgent", "reason": "x" * 501}, "reason"),
    ({"priority": "urgent", "reason": "客户升级", "deadline": "now"}, "deadline"),
])
def test_bad_input_is_refused_per_field(api, body, field):
    with clock(api, TUE):
        number = new_request("consultation", "normal")
        response = change(api, number, **body)
        assert response.status_code == 422
        assert field in response.get_json()["errors"]
        assert api.ticket(number)["priority"] == "medium"


def test_only_supervisors_change_it_and_never_on_a_closed_ticket(api):
    with clock(api, TUE):
        number = new_request("consultation", "normal")
        for user in ("agent1", "service1"):
            assert change(api, number, user, priority="urgent", reason="客户升级").status_code == 403
        assert change(api, "CS-NOPE", priority="urgent", reason="客户升级").status_code == 404
        api.complete("service1", number, "accept_request", decision="duplicate", note="重复提交")
        api.complete("service1", number, "close_request", close_reason="duplicate", final_result="重复提交已关闭")
        assert api.ticket(number)["status"] == "closed"
        assert change(api, number, priority="urgent", reason="客户升级").status_code == 409


def test_a_quick_response_ticket_changes_its_urgency_and_the_round_s_deadlines_follow(api):
    with clock(api, TUE):
        ticket = api.new_ticket(type="complaint", urgency="low", description="客户投诉设备异响")
        number = ticket["number"]
        assert ticket["process"]["name"] == "quick_response"
        # seed 000's windows (sla_by_urgency.dmn): low responds within 8 h and resolves within 72 h
        assert local(ticket["response_due_at"]) == TUE + timedelta(hours=8)
    with clock(api, TUE + timedelta(minutes=10)):
        refused = change(api, number, priority="P1", reason="客户产线停机")
        assert refused.status_code == 422 and "priority" in refused.get_json()["errors"]
        response = change(api, number, priority="high", reason="客户产线停机")
        assert response.status_code == 200, response.get_json()
        ticket = response.get_json()
        assert ticket["priority"] == "high"
        # from the round's start (the registration), not from now: high responds within 2 h, resolves within 24 h
        assert local(ticket["response_due_at"]) == TUE + timedelta(hours=2)
        assert local(ticket["resolution_due_at"]) == TUE + timedelta(hours=24)
        [event] = changed_events(ticket)
        assert (event["detail"]["from"], event["detail"]["to"]) == ("low", "high")
        assert due_of("response_timer") == TUE + timedelta(hours=2)  # the waiting timer moved with it
    with clock(api, TUE + timedelta(minutes=20)):
        ticket = api.complete("engineer1", number, "accept_ticket", contact_note="已电话联系客户")
        assert ticket["sla"]["response"] == "on_time"
        assert local(ticket["resolution_due_at"]) == TUE + timedelta(hours=24)
    with clock(api, TUE + timedelta(hours=23, minutes=59)):
        assert not fire_due_timers()
    with clock(api, TUE + timedelta(hours=24, minutes=1)):
        assert fire_due_timers() >= 1  # the resolution window lapses at the new deadline (the old one was 72 h)
        assert fired(api.ticket(number), "resolution_timer")


def due_of(timer):
    from app.engine.models import PendingTimer

    db.session.expire_all()
    due = db.session.scalar(select(PendingTimer.due_at).where(PendingTimer.name == timer))
    return due.replace(tzinfo=timezone.utc).astimezone(TUE.tzinfo) if due.tzinfo is None else due.astimezone(TUE.tzinfo)


# ------------------------------------------------------------------------------------------ after-sales

def test_after_sales_p3_to_p1_moves_the_first_contact_to_15_minutes(api):
    with clock(api, TUE):
        number, ticket = new_fault(api)  # P3: first contact within 8 hours
        assert ticket["priority"] == "P3" and local(ticket["response_due_at"]) == TUE + timedelta(hours=8)
    with clock(api, TUE + timedelta(minutes=5)):
        ticket = change(api, number, priority="P1", reason="重点客户产线停机").get_json()
        assert ticket["priority"] == "P1"
        assert local(ticket["response_due_at"]) == TUE + timedelta(minutes=15)
    with clock(api, TUE + timedelta(minutes=16)):
        assert fire_due_timers() >= 1
        assert fired(api.ticket(number), "contact_due_accept")


def test_after_sales_p3_to_p1_while_handling_shares_progress_every_2_hours(api):
    with clock(api, TUE):
        number, _ticket = new_fault(api)
        as_accept(api, number, "engineer1")
        as_contact(api, number, "engineer1")  # handling starts: progress every 6 hours
    with clock(api, TUE + timedelta(hours=1)):
        ticket = change(api, number, priority="P1", reason="客户升级投诉").get_json()
        assert local(ticket["response_due_at"]) == TUE + timedelta(hours=8)  # met: unchanged
        assert changed_events(ticket)[0]["detail"]["deadlines"]["progress_every"] == "PT2H"
        assert local(ticket["next_update_at"]) == TUE + timedelta(hours=2)
    with clock(api, TUE + timedelta(hours=1, minutes=59)):
        assert fire_due_timers() == 0
    with clock(api, TUE + timedelta(hours=2, minutes=1)):
        assert fire_due_timers() == 1
        assert "share_progress" in names(api.ticket(number))
    with clock(api, TUE + timedelta(hours=4, minutes=1)):
        assert fire_due_timers() == 1  # the next round two hours later, not six


def test_a_supervisor_changes_it_on_the_ticket_page_and_the_timeline_shows_it(app, api):
    with clock(api, TUE):
        number = new_request("consultation", "normal")
        assert 'id="reprioritize"' not in Browser(app, "agent1").get(f"/tickets/{number}")
        supervisor = Browser(app, "supervisor1")
        page = supervisor.get(f"/tickets/{number}")
        assert 'id="reprioritize"' in page and f'action="/tickets/{number}/priority"' in page and "特急" in page
        refused = supervisor.post(f"/tickets/{number}/priority", {"priority": "urgent", "reason": "   "})
        assert refused.status_code == 422
        text = refused.get_data(as_text=True)
        assert 'id="reprioritize" open' in text and ("不能为空" in text or "请至少输入" in text)
        done = supervisor.post(f"/tickets/{number}/priority", {"priority": "urgent", "reason": "客户资金存在风险"})
        assert done.status_code == 302
        page = supervisor.get(f"/tickets/{number}")
        assert "主管调整优先级" in page and "原优先级" in page and "新优先级" in page and "客户资金存在风险" in page
        assert "新的首次联系时限" in page and "2026-12-01 09:10" in page


def test_the_openapi_document_has_the_endpoint(api):
    document = api.get("/openapi.json").get_json()
    post = document["paths"]["/tickets/{number}/priority"]["post"]
    assert post["operationId"] == "changeTicketPriority"
    assert document["components"]["schemas"]["PriorityInput"]["additionalProperties"] is False
