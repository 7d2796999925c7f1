"""Human-readable numbers (customers C2026001, tickets SR20261201001) from counters taken under a row lock."""
from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError

from app.clock import now
from app.customers.models import Sequence
from app.extensions import db
from app.fast_statements import FastStatement

_seq = Sequence.__table__
_BUMP = update(_seq).where(_seq.c.name == bindparam("counter")).values(value=_seq.c.value + 1).returning(_seq.c.value)
_FAST_BUMP = FastStatement(_BUMP)
_CREATE = insert(_seq)


def next_value(name):
    """Return the next value of counter `name`; the row stays locked until the caller's transaction ends."""
    value = _FAST_BUMP.scalar({"counter": name})
    if value is not None:
        return value
    conn = db.session.connection()
    try:
        with conn.begin_nested():
            conn.execute(_CREATE, {"name": name, "value": 1})
        return 1
    except IntegrityError:  # another transaction created the counter first
        return conn.execute(_BUMP, {"counter": name}).scalar_one()


def customer_number():
    """C + year + a yearly counter of at least three digits, e.g. C2026001 (R0-8)."""
    year = now().astimezone(_display_tz()).year
    return f"C{year}{next_value(f'customer:{year}'):03d}"


def ticket_number(prefix="SR"):
    """Prefix + date + a daily counter of at least three digits, e.g. SR20261201001 (R1-1)."""
    day = now().astimezone(_display_tz()).strftime("%Y%m%d")
    return f"{prefix}{day}{next_value(f'ticket:{prefix}:{day}'):03d}"


def _display_tz():
    from zoneinfo import ZoneInfo

    from flask import current_app

    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
