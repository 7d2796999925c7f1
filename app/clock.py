"""The one clock of the application: everything that needs 'now' asks here (time-machine moves it in tests)."""
from datetime import datetime, timezone


def now():
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def as_utc(value):
    """Return `value` as an aware UTC datetime (naive values from SQLite are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
