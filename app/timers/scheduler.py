"""APScheduler inside each app process: polls every few seconds and wakes at the next due time."""
import atexit
import logging
import os
import signal
import socket
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from app.clock import now

from .service import fire_due_timers, next_due_at

log = logging.getLogger(__name__)
JOB_ID = "fire-timers"


def start_scheduler(app):
    """Start the timer loop for `app` (unless disabled); return the scheduler or None."""
    if not app.config["SCHEDULER_ENABLED"] or _one_off_cli_command():
        return None
    if app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true" and os.environ.get("FLASK_RUN_FROM_CLI"):
        return None  # the reloader's parent process only watches files
    node = f"{socket.gethostname()}:{os.getpid()}"
    interval = app.config["TIMER_POLL_SECONDS"]
    scheduler = BackgroundScheduler(daemon=True, timezone="UTC")

    def tick():
        with app.app_context():
            try:
                fire_due_timers(node=node, batch=app.config["TIMER_BATCH"])
                upcoming = next_due_at()
            except Exception:  # keep the loop alive; the next tick retries
                log.exception("timer pass failed")
                return
        if upcoming is not None and upcoming < now() + timedelta(seconds=interval):
            job = scheduler.get_job(JOB_ID)
            if job is not None:
                job.modify(next_run_time=max(upcoming, now()))

    scheduler.add_job(tick, "interval", seconds=interval, id=JOB_ID, next_run_time=now(),
                      max_instances=1, coalesce=True, misfire_grace_time=None)
    from app.notifications.scheduling import add_notification_job

    add_notification_job(app, scheduler, node)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    atexit.register(lambda: scheduler.shutdown(wait=False) if scheduler.running else None)
    _stop_on_sigterm(scheduler)
    return scheduler


def _one_off_cli_command():
    """True under `flask <command>` for anything but `run` (seed-demo, deploy, fire-timers, db ...)."""
    import sys

    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    if program != "flask" and not sys.argv[0].endswith(os.path.join("flask", "__main__.py")):
        return False
    return "run" not in sys.argv[1:]


def _stop_on_sigterm(scheduler):
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except ValueError:
        return

    def handler(signum, frame):
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if callable(previous):
            previous(signum, frame)
        else:
            raise SystemExit(0)

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread (e.g. some test runners)
        pass
