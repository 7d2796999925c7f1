"""Escalation at scale: open tickets of which many response windows lapse at the same moment.

Creates TOTAL open tickets through the service layer on a SQLite file; LAPSING of them were opened
just under one window ago (created with the clock moved back), so their windows lapse together a few
seconds after the app's own scheduler starts. Prints the time from that moment until every supervisor
task exists, and the lateness of a single lapsed window (its due time to its supervisor task).
Targets: <= 10 s for 1,000 lapsing among 10,000, lateness <= 2 s.

Flows (--flow, default all): quick_response (the 30-minute acceptance window -> reassign_ticket),
service_request (an urgent request's 10-minute first-contact window -> review_first_contact) and after_sales
(the 30-minute acceptance window after the agent's intake -> reassign_ticket); see FLOWS.

Usage: .venv/bin/python bench/escalation.py [TOTAL] [LAPSING] [--flow NAME]
"""
import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import time_machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.customers.models import Customer  # noqa: E402
from app.extensions import db  # noqa: E402
from app.seed import seed_demo  # noqa: E402
from app.tasks.models import HumanTask  # noqa: E402
from app.auth.principal import load_principal  # noqa: E402
from app.tasks.service import complete_task  # noqa: E402
from app.tickets.models import Ticket  # noqa: E402
from app.tickets.service import create_ticket  # noqa: E402
from app.timers.scheduler import start_scheduler  # noqa: E402
from config import Config  # noqa: E402


class Flow:
    """What a bench run needs of a flow: the process, a new ticket's fields, the window that lapses and the name
    of the supervisor's task its lapse opens."""

    def __init__(self, process, body, window, task, intake=None):
        self.process, self.body, self.window, self.task = process, body, window, task
        self.intake = intake  # (task name, answers) the agent completes right after the ticket is opened


FLOWS = {
    "quick_response": Flow("quick_response", {"type": "complaint", "urgency": "low"}, timedelta(minutes=30),
                           "reassign_ticket"),
    "after_sales": Flow("after_sales", {"type": "product_fault", "urgency": "medium"}, timedelta(minutes=30),
                        "reassign_ticket", intake=("intake", {
                            "product_model": "X-2000", "occurred_at": "2026-12-01T08:30:00+08:00",
                            "occurred_place": "上海工厂二号车间", "symptom": "设备无法启动，电源指示灯不亮",
                            "category": "hardware_fault", "impact": "non_core", "key_customer": False,
                            "cross_department": False})),
    "service_request": Flow("service_request", {"type": "technical_support", "urgency": "urgent"},
                            timedelta(minutes=10), "review_first_contact"),
}


def make_app(folder):
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'escalation.db'}",
                     SCHEDULER_ENABLED=False, UPLOAD_DIR=str(folder / "uploads"), TIMER_POLL_SECONDS=2)
    with app.app_context():
        seed_demo(password="bench-123")
    return app


def open_tickets(app, flow, count, at):
    """Open `count` tickets of `flow` with the clock at `at`."""
    with app.app_context(), time_machine.travel(at, tick=False):
        agent = db.session.scalar(select(User).where(User.username == "agent1"))
        customer = db.session.scalars(select(Customer)).first().number
        body = {"customer_number": customer, **flow.body, "description": "批量压测工单", "channel": "online"}
        principal = load_principal(agent.id)
        for _ in range(count):
            number = create_ticket(data=body, actor=agent, process=flow.process)
            if flow.intake:  # the acceptance window opens once the agent's intake is done
                name, answers = flow.intake
                task_id = db.session.scalar(select(HumanTask.id).join(Ticket, Ticket.id == HumanTask.ticket_id)
                                            .where(Ticket.number == number, HumanTask.name == name))
                complete_task(task_id=task_id, user=principal, data=answers)


def escalation_tasks(app, flow):
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.name == flow.task))
        db.session.remove()
        return count


def wait_for(app, flow, count, limit=300):
    began = time.monotonic()
    while escalation_tasks(app, flow) < count and time.monotonic() - began < limit:
        time.sleep(0.05)
    return time.monotonic()


def run(total, lapsing, flow):
    folder = Path(tempfile.mkdtemp(prefix="escalation-"))
    try:
        app = make_app(folder)
        began = time.monotonic()
        open_tickets(app, flow, total - lapsing, datetime.now(timezone.utc))
        lead = timedelta(seconds=15)
        lapse_at = datetime.now(timezone.utc) + lead + timedelta(seconds=lapsing * 0.02)
        open_tickets(app, flow, lapsing, lapse_at - flow.window)
        setup = time.monotonic() - began
        app.config["SCHEDULER_ENABLED"] = True
        scheduler = start_scheduler(app)
        wait = (lapse_at - datetime.now(timezone.utc)).total_seconds()
        wait_for(app, flow, lapsing)
        elapsed = (datetime.now(timezone.utc) - lapse_at).total_seconds()
        scheduler.shutdown(wait=True)
        print(f"[{flow.process}] open tickets: {total}; lapsing together: {lapsing}; set-up {setup:.0f} s "
              f"(waited {wait:.1f} s for the lapse)", flush=True)
        print(f"[{flow.process}] all {lapsing} {flow.task} tasks exist {elapsed:.2f} s after the windows lapsed "
              "(target <= 10 s)", flush=True)
        single_lateness(app, flow)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def single_lateness(app, flow):
    """One more window lapsing alone: how late is its supervisor task?"""
    before = escalation_tasks(app, flow)
    lapse_at = datetime.now(timezone.utc) + timedelta(seconds=5)
    open_tickets(app, flow, 1, lapse_at - flow.window)
    scheduler = start_scheduler(app)
    while escalation_tasks(app, flow) <= before:
        time.sleep(0.02)
    lateness = (datetime.now(timezone.utc) - lapse_at).total_seconds()
    scheduler.shutdown(wait=True)
    print(f"[{flow.process}] a single lapsed window got its {flow.task} task {lateness:.2f} s after it lapsed "
          "(target <= 2 s)", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("total", nargs="?", type=int, default=10_000)
    parser.add_argument("lapsing", nargs="?", type=int, default=1_000)
    parser.add_argument("--flow", choices=sorted(FLOWS), action="append")
    args = parser.parse_args()
    for name in args.flow or sorted(FLOWS):
        run(args.total, args.lapsing, FLOWS[name])
