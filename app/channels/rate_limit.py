"""A fixed-window rate limit whose counts live in the database (table `rate_counters`), so every app process and
host shares them, like the log-in throttle (app/auth/throttle.py). A hit is one atomic upsert."""
import math
from datetime import timedelta

from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite

from app.clock import as_utc, now
from app.errors import TooManyAttempts
from app.extensions import db

from .models import RateCounter

_table = RateCounter.__table__
_KEY_LENGTH = _table.c.key.type.length


def hit(family, subject, *, limit, window_seconds, message):
    """Count one hit of `subject` (e.g. a client address) in `family`; raise TooManyAttempts (with the seconds to
    wait) when it is over `limit` hits in the window that began with the first of them. The caller commits, so a
    rolled-back use case counts nothing. `message(minutes)` words the refusal."""
    at, window = now(), timedelta(seconds=window_seconds)
    cutoff = at - window
    key = f"{family}:{subject or ''}".replace("\x00", "")[:_KEY_LENGTH]
    session = db.session
    session.execute(delete(_table).where(_table.c.key.startswith(f"{family}:"), _table.c.window_start <= cutoff))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_table).values(key=key, hits=1, window_start=at)
    expired = _table.c.window_start <= cutoff
    row = session.execute(statement.on_conflict_do_update(index_elements=[_table.c.key], set_={
        "hits": case((expired, 1), else_=_table.c.hits + 1),
        "window_start": case((expired, statement.excluded.window_start), else_=_table.c.window_start),
    }).returning(_table.c.hits, _table.c.window_start)).one()
    if row.hits > limit:
        wait = max(1, math.ceil((as_utc(row.window_start) + window - at).total_seconds()))
        raise TooManyAttempts(message(max(1, math.ceil(wait / 60))), retry_after=wait)
