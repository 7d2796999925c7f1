"""A ticket survives any number of loops: the engine's state stays bounded, the history keeps every round."""
from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import func, select

from app.auth.models import User
from app.auth.principal import load_principal
from app.customers.models import Customer
from app.engine import PendingTimer, ProcessInstance
from app.extensions import db
from app.tasks.models import HumanTask
from app.tasks.service import complete_task
from app.tickets.models import Ticket, TicketEvent
from app.tickets.service import create_ticket
from app.timers.service import fire_due_timers

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
HANDLE = {"action": "调整方案", "status": "awaiting_customer", "solution": "调整后的方案", "solution_ready": True}
SECOND = {"unsatisfied_reason": "故障复现", "improvement_plan": "上门检修", "assignee": "engineer1"}


class Desk:
    """Drives one ticket through the service functions, as the pages and the API do."""

    def __init__(self, urgency="high"):
        self.users = {u.username: load_principal(u.id) for u in db.session.scalars(select(User))}
        customer = db.session.scalars(select(Customer)).first().number
        self.number = create_ticket(data={"customer_number": customer, "type": "complaint", "urgency": urgency,
                                          "description": "设备反复故障，客户多次要求调整", "channel": "phone"},
                                    actor=self.users["agent1"])
        self.ticket = db.session.scalar(select(Ticket).where(Ticket.number == self.number))

    def open_tasks(self):
        return sorted(db.session.scalars(select(HumanTask.name).where(
            HumanTask.ticket_id == self.ticket.id, HumanTask.state == "open")))

    def complete(self, name, user, **data):
        [task_id] = db.session.scalars(select(HumanTask.id).where(
            HumanTask.ticket_id == self.ticket.id, HumanTask.name == name, HumanTask.state == "open"))
        complete_task(task_id=task_id, user=self.users[user], data=data)

    def state_size(self):
        return len(db.session.scalar(select(ProcessInstance.state).where(
            ProcessInstance.id == self.ticket.process_instance_id)))

    def timers(self):
        """{timer name: due time} of the instance's rows in the timers table."""
        rows = db.session.execute(select(PendingTimer.name, PendingTimer.due_at).where(
            PendingTimer.instance_id == self.ticket.process_instance_id)).all()
        assert len(rows) == len({name for name, _ in rows}), rows  # never a stale row next to a fresh one
        return {name: due.replace(tzinfo=timezone.utc) if due.tzinfo is None else due for name, due in rows}

    def completed(self, task):
        return db.session.scalar(select(func.count()).select_from(TicketEvent).where(
            TicketEvent.ticket_id == self.ticket.id, TicketEvent.action == "task_completed",
            TicketEvent.detail["task"].as_string() == task))

    def status(self):
        db.session.refresh(self.ticket)
        return self.ticket.status


def test_a_ticket_sent_back_210_times_still_moves_and_closes(app):
    with time_machine.travel(T0, tick=False):
        desk = Desk()
        desk.complete("accept_ticket", "engineer1", contact_note="已联系客户")
        resolution_due = T0 + timedelta(hours=24)
        sizes, adjusted, reopened = {}, 0, 0
        for loop in range(1, 211):  # complete() finds exactly one open task of each name on every round
            desk.complete("handle_ticket", "engineer1", **HANDLE)
            if loop % 3:  # needs adjustment twice, then unsatisfied: both loops, mixed
                desk.complete("feedback", "agent1", method="phone", opinion="needs_adjustment")
                adjusted += 1
            else:
                desk.complete("feedback", "agent1", method="phone", opinion="unsatisfied")
                reopened += 1
                desk.complete("second_handling", "supervisor1", **SECOND)
            if loop % 10 in (0, 1):
                assert desk.open_tasks() == ["handle_ticket"]
                # the resolution deadline is re-armed on every round with the same due time; nothing stale stays
                assert desk.timers() == {"resolution_timer": resolution_due, "next_update_due": resolution_due}
                sizes[loop] = desk.state_size()
        assert desk.status() == "processing" and desk.ticket.reopen_count == reopened
        assert max(sizes.values()) <= 2 * sizes[1], sizes  # bounded whatever the number of loops
        assert sizes[210] <= 2 * sizes[1]

        desk.complete("handle_ticket", "engineer1", **HANDLE)
        desk.complete("feedback", "agent1", method="phone", opinion="satisfied")
    assert desk.status() == "closed" and desk.open_tasks() == []
    assert desk.timers() == {}
    # the history keeps what the engine's tree no longer does: every round
    assert desk.completed("handle_ticket") == 211
    assert desk.completed("feedback") == 211
    assert desk.completed("second_handling") == reopened == 70
    assert adjusted == 140


def test_lapsed_windows_loop_with_an_open_escalation_stay_bounded(app):
    with time_machine.travel(T0, tick=False) as clock:
        desk = Desk()
        sizes = {}
        for loop in range(1, 61):  # nobody accepts: each 30-minute window lapses and the supervisor reassigns
            clock.shift(timedelta(minutes=31))
            fire_due_timers()
            assert "reassign_ticket" in desk.open_tasks()
            desk.complete("reassign_ticket", "supervisor1", assignee="engineer1", reason="请尽快受理")
            window = datetime.now(timezone.utc) + timedelta(minutes=30)
            assert desk.timers()["accept_timeout"] == window  # a fresh window on every round
            sizes[loop] = desk.state_size()
        # the 2-hour response deadline lapsed on round 4; its review stays open, once, all along
        assert desk.open_tasks() == ["accept_ticket", "review_response"]
        assert max(sizes.values()) <= 2 * sizes[1], sizes
        assert desk.completed("reassign_ticket") == 60

        desk.complete("accept_ticket", "engineer1", contact_note="已联系客户")
        desk.complete("review_response", "supervisor1", note="已跟进")
        desk.complete("handle_ticket", "engineer1", **HANDLE)
        desk.complete("feedback", "agent1", method="phone", opinion="satisfied")
    assert desk.status() == "closed" and desk.open_tasks() == [] and desk.timers() == {}


def test_a_state_saved_without_compaction_is_compacted_when_loaded(app, monkeypatch):
    import app.engine.runtime as runtime

    with time_machine.travel(T0, tick=False):
        desk = Desk()
        desk.complete("accept_ticket", "engineer1", contact_note="已联系客户")
        desk.complete("handle_ticket", "engineer1", **HANDLE)
        desk.complete("feedback", "agent1", method="phone", opinion="needs_adjustment")
        compacted = desk.state_size()
        with monkeypatch.context() as patch:  # as an instance saved before the engine compacted its tree
            patch.setattr(runtime, "compact", lambda workflow: 0)
            for _ in range(30):
                desk.complete("handle_ticket", "engineer1", **HANDLE)
                desk.complete("feedback", "agent1", method="phone", opinion="needs_adjustment")
        grown = desk.state_size()
        assert grown > 10 * compacted
        app.extensions["engine"].live.clear()  # the next step reads the stored state

        desk.complete("handle_ticket", "engineer1", **HANDLE)
        assert desk.state_size() <= 2 * compacted
        desk.complete("feedback", "agent1", method="phone", opinion="satisfied")
    assert desk.status() == "closed"
    assert desk.completed("feedback") == 32
