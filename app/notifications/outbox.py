"""Send the mail of pending notifications through SMTP, exactly once across every app process.

A pass claims a batch of due rows by writing its token and a lease into them with a conditional UPDATE (on
PostgreSQL the candidates are first locked with SKIP LOCKED) and commits before talking to the server, so no
other process takes them. Each mail sent is marked sent and committed at once. A failure schedules the next try
after 1, 2, 4 ... minutes (capped) and gives up after MAIL_MAX_ATTEMPTS with the error kept. A sender that dies
holding rows leaves them to the next pass once the lease is over. A pass stops taking new rows from its batch
well before its lease ends, so a slow server cannot make two senders hold one row.
"""
import logging
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app
from sqlalchemy import bindparam, func, or_, select, update

from app.auth.models import User
from app.clock import now
from app.extensions import db

from .messages import mail_of
from .models import Notification

log = logging.getLogger(__name__)
TLS_MODES = ("starttls", "ssl", "none")
_notes, _users = Notification.__table__, User.__table__
_BY_ID = _notes.c.id == bindparam("note_id")
_HELD = _notes.c.mail_claimed_by == bindparam("token")


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    tls: str
    user: str
    password: str
    sender: str
    timeout: float
    ca_file: str = ""

    @classmethod
    def from_config(cls, config):
        tls = (config.get("SMTP_TLS") or "starttls").lower()
        if tls not in TLS_MODES:
            raise ValueError(f"SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {tls!r}")
        return cls(host=config.get("SMTP_HOST") or "", port=int(config.get("SMTP_PORT") or 0), tls=tls,
                   user=config.get("SMTP_USER") or "", password=config.get("SMTP_PASSWORD") or "",
                   sender=config.get("MAIL_FROM") or "", timeout=float(config.get("SMTP_TIMEOUT") or 20),
                   ca_file=config.get("SMTP_CA_FILE") or "")

    def connect(self):
        """An open, logged-in SMTP connection."""
        port = self.port or (465 if self.tls == "ssl" else 587 if self.tls == "starttls" else 25)
        # the server's certificate and name are checked (against SMTP_CA_FILE, else the system's CAs)
        context = ssl.create_default_context(cafile=self.ca_file or None) if self.tls != "none" else None
        if self.tls == "ssl":
            server = smtplib.SMTP_SSL(self.host, port, timeout=self.timeout, context=context)
        else:
            server = smtplib.SMTP(self.host, port, timeout=self.timeout)
        try:
            if self.tls == "starttls":
                server.starttls(context=context)
            if self.user:
                server.login(self.user, self.password)
        except BaseException:
            server.close()
            raise
        return server


def send_due_mail(*, node="local", batch=None):
    """Send the mail of every due pending notification (up to `batch`); return how many were sent."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return 0
    settings = MailSettings.from_config(config)
    token = f"{node}:{uuid.uuid4().hex}"[:120]
    lease = timedelta(seconds=config["MAIL_LEASE_SECONDS"])
    rows = _claim(token, batch or config["MAIL_BATCH"], lease)
    if not rows:
        return 0
    # stop starting new mails while less than two server timeouts (at least half) of the lease are left
    stop_at = now() + max(lease - timedelta(seconds=2 * settings.timeout), lease / 2)
    sent = 0
    server = None
    try:
        for index, row in enumerate(rows):
            if now() >= stop_at:
                _release(rows[index:], token)
                break
            if not row.email:
                _finish(row.id, token, state="skipped", error="the user has no e-mail address")
                continue
            try:
                if server is None:
                    server = settings.connect()
                server.send_message(_message(row, settings))
            except smtplib.SMTPRecipientsRefused as exc:
                permanent = all(code >= 500 for code, _msg in exc.recipients.values())
                _failed(row, token, _describe(exc), permanent=permanent)
                continue
            except (OSError, smtplib.SMTPException) as exc:  # server down, refusing, or the connection broke
                _failed(row, token, _describe(exc))
                _quit(server)
                server = None
                for rest in rows[index + 1:]:  # the server is unreachable: try the rest on a later pass
                    _failed(rest, token, _describe(exc))
                break
            _finish(row.id, token, state="sent")
            sent += 1
    finally:
        _quit(server)
    return sent


def _claim(token, batch, lease):
    """Claim up to `batch` due rows for `token`; return them with their recipient's address (`mail_to`, else the
    user's)."""
    stamp = now()
    free = or_(_notes.c.mail_claimed_until.is_(None), _notes.c.mail_claimed_until < stamp)
    candidates = (
        select(_notes.c.id).where(_notes.c.mail_state == "pending", _notes.c.mail_next_at <= stamp, free)
        .order_by(_notes.c.mail_next_at, _notes.c.id).limit(batch)
    )
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = db.session.execute(candidates).scalars().all()
    if not ids:
        db.session.rollback()
        return []
    db.session.execute(
        update(_notes).where(_notes.c.id.in_(ids), _notes.c.mail_state == "pending", free)
        .values(mail_claimed_by=token, mail_claimed_until=stamp + lease)
    )
    db.session.commit()
    rows = db.session.execute(
        select(_notes.c.id, _notes.c.kind, _notes.c.ticket_number, _notes.c.title, _notes.c.detail,
               _notes.c.mail_attempts, func.coalesce(_notes.c.mail_to, _users.c.email).label("email"),
               _users.c.display_name)
        .select_from(_notes.outerjoin(_users, _users.c.id == _notes.c.user_id))  # mail_to: not a user's mail
        .where(_notes.c.id.in_(ids), _notes.c.mail_claimed_by == token, _notes.c.mail_state == "pending")
        .order_by(_notes.c.mail_next_at, _notes.c.id)
    ).all()
    db.session.rollback()
    return rows


def _message(row, settings):
    subject, body = mail_of(row._mapping)
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = row.email
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    # stable per notification: a receiving system can tell a repeat (only possible after a crash mid-send)
    domain = settings.sender.rpartition("@")[2] or socket.getfqdn()
    message["Message-ID"] = f"<notification-{row.id}@{domain}>"
    message.set_content(body)
    return message


def _finish(note_id, token, *, state, error=None):
    stamp = now()
    db.session.execute(
        update(_notes).where(_BY_ID, _HELD, _notes.c.mail_state == "pending")
        .values(mail_state=state, mail_sent_at=stamp if state == "sent" else None, mail_error=error,
                mail_claimed_until=None),
        {"note_id": note_id, "token": token},
    )
    db.session.commit()


def _failed(row, token, error, *, permanent=False):
    """Count a failed try: schedule the next after the backoff, or give up after the last one."""
    config = current_app.config
    attempts = row.mail_attempts + 1
    values = {"mail_attempts": attempts, "mail_error": error[:2000], "mail_claimed_until": None}
    if permanent or attempts >= config["MAIL_MAX_ATTEMPTS"]:
        values["mail_state"] = "failed"
        log.warning("giving up the mail of notification %s after %s tries: %s", row.id, attempts, error)
    else:
        values["mail_next_at"] = now() + backoff(attempts, config)
    db.session.execute(update(_notes).where(_BY_ID, _HELD, _notes.c.mail_state == "pending").values(**values),
                       {"note_id": row.id, "token": token})
    db.session.commit()


def backoff(attempts, config):
    """The wait after the `attempts`-th failed try: base, 2 x base, 4 x base ... at most the cap."""
    base, cap = config["MAIL_RETRY_BASE_SECONDS"], config["MAIL_RETRY_CAP_SECONDS"]
    return timedelta(seconds=min(cap, base * 2 ** min(attempts - 1, 30)))


def _release(rows, token):
    """Hand back rows not tried in this pass, without counting a try."""
    db.session.execute(
        update(_notes).where(_notes.c.id.in_([r.id for r in rows]), _notes.c.mail_claimed_by == token,
                             _notes.c.mail_state == "pending").values(mail_claimed_until=None)
    )
    db.session.commit()


def _describe(exc):
    return f"{type(exc).__name__}: {exc}"


def _quit(server):
    if server is None:
        return
    try:
        server.quit()
    except (OSError, smtplib.SMTPException):
        server.close()
