"""The notification job of each app process's scheduler: due reminders, then the mail outbox."""
import logging

from app.clock import now
from app.extensions import db

from .events import remind_due_tasks
from .outbox import MailSettings, send_due_mail

log = logging.getLogger(__name__)
JOB_ID = "notifications"


def add_notification_job(app, scheduler, node):
    """Run `notification_pass` every MAIL_POLL_SECONDS on `scheduler`; a bad SMTP_TLS stops the start-up."""
    if app.config.get("SMTP_HOST"):
        MailSettings.from_config(app.config)  # raises ValueError naming SMTP_TLS when it is not a known mode

    def tick():
        with app.app_context():
            notification_pass(node=node)

    scheduler.add_job(tick, "interval", seconds=app.config["MAIL_POLL_SECONDS"], id=JOB_ID, next_run_time=now(),
                      max_instances=1, coalesce=True, misfire_grace_time=None)


def notification_pass(*, node="local"):
    """Write due reminders, then send due mail; each part's failure is logged and retried on the next pass."""
    for name, work in (("due reminders", remind_due_tasks), ("mail", lambda: send_due_mail(node=node))):
        try:
            work()
        except Exception:  # keep the loop alive; the next pass retries
            db.session.rollback()
            log.exception("notification pass (%s) failed", name)
