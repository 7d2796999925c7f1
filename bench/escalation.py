"""Escalation at scale: open tickets of which many acceptance windows lapse at the same moment.

Creates TOTAL open tickets through the service layer on a SQLite file; LAPSING of them were opened
just under 30 minutes ago (created with the clock moved back), so their windows lapse together a few
seconds after the app's own scheduler starts. Prints the time from that moment until every supervisor
task exists, and the lateness of a single lapsed window (its due time to its supervisor task).
Targets: <= 10 s for 1,000 lapsing among 10,000, lateness <= 2 s.

Usage: .venv/bin/python bench/escalation.py [TOTAL] [LAPSING]
"""
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
from app.tickets.service import create_ticket  # noqa: E402
from app.timers.scheduler import start_scheduler  # noqa: E402
from config import Config  # noqa: E402

WINDOW = timedelta(minutes=30)


def make_app(folder):
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'escalation.db'}",
                     SCHEDULER_ENABLED=False, UPLOAD_DIR=str(folder / "uploads"), TIMER_POLL_SECONDS=2)
    with app.app_context():
        seed_demo(password="bench-123")
    return app


def open_tickets(app, count, at):
    """Open `count` tickets with the clock at `at`."""
    with app.app_context(), time_machine.travel(at, tick=False):
        agent = db.session.scalar(select(User).where(User.username == "agent1"))
        customer = db.session.scalars(select(Customer)).first().number
        body = {"customer_number": customer, "type": "complaint", "urgency": "low",
                "description": "批量压测工单", "channel": "online"}
        for _ in range(count):
            create_ticket(data=body, actor=agent)


def reassign_tasks(app):
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.name == "reassign_ticket"))
        db.session.remove()
        return count


def wait_for(app, count, limit=300):
    began = time.monotonic()
    while reassign_tasks(app) < count and time.monotonic() - began < limit:
        time.sleep(0.05)
    return time.monotonic()


def run(total, lapsing):
    folder = Path(tempfile.mkdtemp(prefix="escalation-"))
    try:
        app = make_app(folder)
        began = time.monotonic()
        open_tickets(app, total - lapsing, datetime.now(timezone.utc))
        lead = timedelta(seconds=15)
        lapse_at = datetime.now(timezone.utc) + lead + timedelta(seconds=lapsing * 0.012)
        open_tickets(app, lapsing, lapse_at - WINDOW)
        setup = time.monotonic() - began
        app.config["SCHEDULER_ENABLED"] = True
        scheduler = start_scheduler(app)
        wait = (lapse_at - datetime.now(timezone.utc)).total_seconds()
        wait_for(app, lapsing)
        elapsed = (datetime.now(timezone.utc) - lapse_at).total_seconds()
        scheduler.shutdown(wait=True)
        print(f"open tickets: {total}; lapsing together: {lapsing}; set-up {setup:.0f} s (waited {wait:.1f} s for the lapse)")
        print(f"all {lapsing} supervisor tasks exist {elapsed:.2f} s after the windows lapsed (target <= 10 s)")
        single_lateness(app)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def single_lateness(app):
    """One more window lapsing alone: how late is its supervisor task?"""
    before = reassign_tasks(app)
    lapse_at = datetime.now(timezone.utc) + timedelta(seconds=5)
    open_tickets(app, 1, lapse_at - WINDOW)
    scheduler = start_scheduler(app)
    while reassign_tasks(app) <= before:
        time.sleep(0.02)
    lateness = (datetime.now(timezone.utc) - lapse_at).total_seconds()
    scheduler.shutdown(wait=True)
    print(f"a single lapsed window got its supervisor task {lateness:.2f} s after it lapsed (target <= 2 s)")


if __name__ == "__main__":
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    lapsing = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    run(total, lapsing)
