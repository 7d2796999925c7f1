"""The working-time clock end to end: a decision table selects the calendar, timers fire at the working-time
deadline when the clock is moved, waiting for the customer pauses the clock, a calendar edit moves deadlines."""
import shutil
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select, text

from app.calendar import service as calendars
from app.calendar.models import ClockPause
from app.calendar.worktime import LOCAL
from app.database import deploy_workflows
from app.engine.models import PendingTimer
from app.extensions import db
from app.timers.service import fire_due_timers

ROOT = Path(__file__).resolve().parents[2]
FRI_1700 = datetime(2026, 12, 4, 17, 0, tzinfo=LOCAL)
MON = datetime(2026, 12, 7, tzinfo=LOCAL)


def local(iso):
    return datetime.fromisoformat(iso).astimezone(LOCAL)


@contextmanager
def clock(api, moment):
    """The clock at `moment`, logged in afresh (a token lives 12 hours; these tests span days)."""
    with time_machine.travel(moment, tick=False):
        api.tokens.clear()
        yield


def names(ticket):
    return sorted(t["name"] for t in ticket["open_tasks"])


def pending_due(name):
    return {n: d for n, d in db.session.execute(select(PendingTimer.name, PendingTimer.due_at))}.get(name)


@pytest.fixture
def working_time_flow(app, tmp_path):
    """The shipped diagrams with `high` tickets on the default calendar (the decision table's sla_calendar column),
    and the acceptance window as 30 working minutes (`working_deadline` in the timer), deployed."""
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    # the shipped scenarios expect wall-clock deadlines: this copy's tables put `high` on working time instead
    for scenarios in (tmp_path / "workflows").glob("*.scenarios.*"):
        scenarios.unlink()
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    dmn = tmp_path / "workflows" / "sla_by_urgency.dmn"
    dmn.write_text(dmn.read_text(encoding="utf-8").replace(
        '<outputEntry id="sla_high_calendar"><text>""</text>', '<outputEntry id="sla_high_calendar"><text>"default"</text>'),
        encoding="utf-8")
    bpmn = tmp_path / "workflows" / "quick_response.bpmn"
    old = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT30M"</bpmn:timeDuration>'
    assert old in bpmn.read_text(encoding="utf-8")
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace(old, (
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">working_deadline("PT30M", None, sla_calendar or "default")'
        '</bpmn:timeDate>')), encoding="utf-8")
    app.config.update(WORKFLOWS_DIR=str(tmp_path / "workflows"), FORMS_DIR=str(tmp_path / "forms"))
    with time_machine.travel(FRI_1700 - timedelta(days=1), tick=False):
        assert any(created for _definition, created in deploy_workflows())
    db.session.commit()
    return app


def test_timers_fire_at_the_working_time_deadline(working_time_flow, api):
    at_1750 = FRI_1700 + timedelta(minutes=50)
    with clock(api, at_1750):
        ticket = api.new_ticket(urgency="high")  # respond within 2 working hours, resolve within 24
        # Friday 17:50 + 2 working hours: 10 minutes on Friday, then Monday 09:00-10:50
        assert local(ticket["response_due_at"]) == MON.replace(hour=10, minute=50)
        # 24 working hours = three working days of 8 h: Mon, Tue, Wed, ending Wednesday 17:50... plus Friday's 10 min
        assert local(ticket["resolution_due_at"]) == datetime(2026, 12, 9, 17, 50, tzinfo=LOCAL)
        [accept] = ticket["open_tasks"]
        assert local(accept["due_at"]) == MON.replace(hour=9, minute=20)  # 30 working minutes
        number = ticket["number"]
    with clock(api, at_1750 + timedelta(hours=3)):  # the wall clock's windows are over
        assert fire_due_timers() == 0
        assert names(api.ticket(number)) == ["accept_ticket"]
    with clock(api, MON.replace(hour=9, minute=19)):
        assert fire_due_timers() == 0
    with clock(api, MON.replace(hour=9, minute=21)):
        assert fire_due_timers() == 1
        assert names(api.ticket(number)) == ["reassign_ticket"]
    with clock(api, MON.replace(hour=10, minute=25)):
        ticket = api.complete("supervisor1", number, "reassign_ticket", assignee="engineer1", reason="再次提醒")
        assert local(ticket["open_tasks"][0]["due_at"]) == MON.replace(hour=10, minute=50)  # the response window
    with clock(api, MON.replace(hour=10, minute=49)):
        assert fire_due_timers() == 0
    with clock(api, MON.replace(hour=10, minute=51)):
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert names(ticket) == ["accept_ticket", "review_response"]
        assert ticket["sla"]["response"] == "breached"


def test_waiting_for_the_customer_pauses_the_wall_clock(api):
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL)
    with clock(api, t0):
        number = api.new_ticket(urgency="high")["number"]  # wall clock: resolve within 24 h
        api.complete("engineer1", number, "accept_ticket", contact_note="已电话联系客户")
    with clock(api, t0 + timedelta(hours=1)):
        ticket = api.complete("engineer1", number, "handle_ticket", action="请客户提供日志", status="awaiting_customer",
                              next_update_at=(t0 + timedelta(hours=2)).isoformat())
        assert ticket["status"] == "awaiting_customer"
        assert local(ticket["resolution_due_at"]) == t0 + timedelta(hours=24)
        assert pending_due("resolution_timer") is None  # held while the clock stands still
        [handle] = ticket["open_tasks"]
        assert local(handle["due_at"]) == t0 + timedelta(hours=2)  # the handler's promised update still counts
        assert "clock_paused" in [h["action"] for h in ticket["history"]]
    with clock(api, t0 + timedelta(hours=30)):
        fire_due_timers()  # the handler's promised update (2 h) lapses; the resolution window does not
        assert "review_resolution" not in names(api.ticket(number))
        ticket = api.complete("engineer1", number, "handle_ticket", action="客户已提供日志", status="processing",
                              next_update_at=(t0 + timedelta(hours=60)).isoformat())
        # paused 29 h: the deadline moves 29 h later
        assert local(ticket["resolution_due_at"]) == t0 + timedelta(hours=53)
        assert ticket["sla"]["resolution"] == "running"
        [handle] = ticket["open_tasks"]
        assert local(handle["due_at"]) == t0 + timedelta(hours=60)  # the new promise
        resumed = [h for h in ticket["history"] if h["action"] == "clock_resumed"]
        assert resumed and resumed[-1]["detail"]["paused_working_seconds"] == 29 * 3600
    pause = db.session.scalars(select(ClockPause)).one()
    assert pause.paused_seconds == 29 * 3600 and pause.ended_at is not None
    assert pending_due("resolution_timer").astimezone(LOCAL) == t0 + timedelta(hours=53)
    with clock(api, t0 + timedelta(hours=52)):
        assert fire_due_timers() == 0
    with clock(api, t0 + timedelta(hours=53, minutes=1)):
        assert fire_due_timers() >= 1
        assert "review_resolution" in names(api.ticket(number))


def test_pause_and_resume_in_working_time(working_time_flow, api):
    start = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL)  # Tuesday
    with clock(api, start):
        number = api.new_ticket(urgency="high")["number"]  # resolve within 24 working hours: Thu 18:00
        ticket = api.complete("engineer1", number, "accept_ticket", contact_note="已电话联系客户")
        assert local(ticket["resolution_due_at"]) == datetime(2026, 12, 3, 18, 0, tzinfo=LOCAL)
    with clock(api, start + timedelta(hours=2)):  # 11:00
        api.complete("engineer1", number, "handle_ticket", action="请客户确认", status="awaiting_customer",
                     next_update_at=(start + timedelta(days=10)).isoformat())
    # resumed Wednesday 14:00: the pause took 11:00-12:00 and 13:00-18:00 Tuesday, 09:00-12:00 and 13:00-14:00
    # Wednesday = 10 working hours (lunch and night not counted)
    with clock(api, datetime(2026, 12, 2, 14, 0, tzinfo=LOCAL)):
        ticket = api.complete("engineer1", number, "handle_ticket", action="客户已确认", status="processing",
                              next_update_at=(start + timedelta(days=10)).isoformat())
        assert local(ticket["resolution_due_at"]) == datetime(2026, 12, 7, 11, 0, tzinfo=LOCAL)  # Thu 18:00 + 10 h
    with clock(api, datetime(2026, 12, 7, 10, 59, tzinfo=LOCAL)):
        fire_due_timers()
        assert "review_resolution" not in names(api.ticket(number))
    with clock(api, datetime(2026, 12, 7, 11, 1, tzinfo=LOCAL)):
        assert fire_due_timers() >= 1
        assert "review_resolution" in names(api.ticket(number))
    with clock(api, datetime(2026, 12, 7, 15, 0, tzinfo=LOCAL)):  # Monday 15:00: resolved
        api.complete("engineer1", number, "handle_ticket", action="已更换部件", status="processing",
                     solution="更换电源模块", solution_ready=True)
    # the report's working time: Tue 9-12, 13-18, Wed 9-12, 13-18, Thu, Fri (8 h each), Mon 9-12, 13-15 = 37 h,
    # less the 10 working hours of the pause = 27 h; the wall clock says 6 days 6 hours
    row = db.session.execute(text("SELECT response_working_seconds, resolution_working_seconds, resolved_at "
                                  "FROM tickets WHERE number = :n"), {"n": number}).one()
    assert row.resolved_at is not None
    assert (row.response_working_seconds, row.resolution_working_seconds) == (0, 27 * 3600)


def test_a_calendar_edit_moves_open_deadlines_and_their_timers(working_time_flow, api):
    wed_1700 = datetime(2026, 12, 2, 17, 0, tzinfo=LOCAL)
    with clock(api, wed_1700):
        number = api.new_ticket(urgency="high")["number"]
        ticket = api.complete("engineer1", number, "accept_ticket", contact_note="已电话联系客户")
        # 24 working hours: Wednesday 1 h, Thursday 8, Friday 8, Monday 7 (lunch left out)
        assert local(ticket["resolution_due_at"]) == datetime(2026, 12, 7, 17, 0, tzinfo=LOCAL)
        calendars.put_day(day="2026-12-03", kind="holiday", name="公司活动日")
        ticket = api.ticket(number)
        assert local(ticket["resolution_due_at"]) == datetime(2026, 12, 8, 17, 0, tzinfo=LOCAL)
        assert "deadlines_recomputed" in [h["action"] for h in ticket["history"]]
        calendars.put_day(day="2026-12-05", kind="workday", name="调休上班")  # Saturday: 8 working hours more
        assert local(api.ticket(number)["resolution_due_at"]) == datetime(2026, 12, 7, 17, 0, tzinfo=LOCAL)
        calendars.remove_day(day="2026-12-05")
        assert local(api.ticket(number)["resolution_due_at"]) == datetime(2026, 12, 8, 17, 0, tzinfo=LOCAL)
    assert pending_due("resolution_timer").astimezone(LOCAL) == datetime(2026, 12, 8, 17, 0, tzinfo=LOCAL)
    with clock(api, datetime(2026, 12, 7, 17, 5, tzinfo=LOCAL)):
        fire_due_timers()
        assert "review_resolution" not in names(api.ticket(number))
    with clock(api, datetime(2026, 12, 8, 17, 1, tzinfo=LOCAL)):
        fire_due_timers()
        assert "review_resolution" in names(api.ticket(number))


def test_an_edit_reaches_other_processes_through_the_version(app):
    app.config["CALENDAR_CACHE_SECONDS"] = 3600
    start = datetime(2026, 12, 2, 17, 0, tzinfo=LOCAL)
    assert calendars.add_working_time(start, "PT2H").astimezone(LOCAL) == datetime(2026, 12, 3, 10, 0, tzinfo=LOCAL)
    # another process adds a holiday: its rows and the version bump reach the database, not this process's cache
    calendar_id = db.session.execute(text("SELECT id FROM business_calendars WHERE code = 'default'")).scalar()
    db.session.execute(text("INSERT INTO calendar_days (calendar_id, day, kind, name) VALUES (:c, '2026-12-03', "
                            "'holiday', 'x')"), {"c": calendar_id})
    db.session.execute(text("UPDATE business_calendars SET version = version + 1"))
    db.session.commit()
    assert calendars.add_working_time(start, "PT2H").astimezone(LOCAL) == datetime(2026, 12, 3, 10, 0, tzinfo=LOCAL)
    app.config["CALENDAR_CACHE_SECONDS"] = 0  # the copy is due for its version check
    assert calendars.add_working_time(start, "PT2H").astimezone(LOCAL) == datetime(2026, 12, 4, 10, 0, tzinfo=LOCAL)


def test_working_time_between_and_an_unknown_calendar(app):
    a, b = datetime(2026, 12, 4, 11, 0, tzinfo=LOCAL), datetime(2026, 12, 7, 10, 0, tzinfo=LOCAL)
    assert calendars.working_time_between(a, b) == timedelta(hours=7)  # 11-12, 13-18 Friday, 9-10 Monday
    from app.errors import NotFound

    with pytest.raises(NotFound):
        calendars.add_working_time(a, "PT1H", "nonexistent")
    assert b.astimezone(timezone.utc).tzinfo == timezone.utc
