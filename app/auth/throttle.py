"""The log-in throttle: after too many failed log-ins of one account, or from one client address, within a
window, further attempts are refused (even with the right password) until the window that began with the
first of those failures has passed.

Counts live in the `login_failures` table, so every app process (gunicorn workers, several hosts) shares
them; a failure is counted by one atomic upsert. Only log-in runs this: a check is one indexed read.
Settings: LOGIN_MAX_FAILURES_PER_ACCOUNT, LOGIN_MAX_FAILURES_PER_ADDRESS, LOGIN_THROTTLE_WINDOW_SECONDS.
"""
import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from app.clock import as_utc, now
from app.errors import TooManyAttempts
from app.extensions import db
from app.i18n import _

from .models import LoginFailures

_table = LoginFailures.__table__
_KEY_LENGTH = _table.c.key.type.length


def _keys(username, address):
    """{key: limit} of the counters a log-in attempt touches."""
    config = current_app.config
    keys = {account_key(username): config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]}
    if address:
        keys[f"address:{address}"[:_KEY_LENGTH]] = config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    return keys


def account_key(username):
    """The counter key of an employee number as typed (case-insensitive, so case variants share it)."""
    return f"account:{(username or '').strip().casefold()}".replace("\x00", "")[:_KEY_LENGTH]


def _window():
    return timedelta(seconds=current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"])


def check(username, address):
    """Raise TooManyAttempts (with the seconds to wait) while the account or the address is throttled."""
    limits = _keys(username, address)
    at, window = now(), _window()
    rows = db.session.execute(
        select(_table.c.key, _table.c.failures, _table.c.window_start).where(_table.c.key.in_(limits))
    ).all()
    ends = [as_utc(row.window_start) + window for row in rows
            if row.failures >= limits[row.key] and as_utc(row.window_start) + window > at]
    if ends:
        wait = max(1, math.ceil((max(ends) - at).total_seconds()))
        minutes = max(1, math.ceil(wait / 60))
        raise TooManyAttempts(
            _("Too many failed log-ins. Wait %(minutes)s minutes, then try again.", minutes=minutes),
            retry_after=wait)


def record_failure(username, address):
    """Count one failed log-in for the account and the address (a counter whose window ended starts again).

    Also deletes the counters whose window has ended. The caller commits.
    """
    at = now()
    cutoff = at - _window()
    session = db.session
    session.execute(delete(_table).where(_table.c.window_start <= cutoff))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for key in _keys(username, address):
        statement = dialect.insert(_table).values(key=key, failures=1, window_start=at)
        expired = _table.c.window_start <= cutoff
        session.execute(statement.on_conflict_do_update(index_elements=[_table.c.key], set_={
            "failures": case((expired, 1), else_=_table.c.failures + 1),
            "window_start": case((expired, statement.excluded.window_start), else_=_table.c.window_start),
        }))


def reset_account(username):
    """Forget the account's failures (after a successful log-in). The caller commits."""
    db.session.execute(delete(_table).where(_table.c.key == account_key(username)))
