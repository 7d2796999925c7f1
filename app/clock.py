"""The one clock of the application: everything that needs 'now' asks here (time-machine moves it in tests).

A scenario run (app/scenarios) moves its own clock with `scenario_clock`: the override lives in a context
variable, so it holds only for the code running in that context (thread / task) and never leaks into other
requests, the timer loop or the rest of the process. SpiffWorkflow's timers read this clock too
(app/engine/timer_clock.py).
"""
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone

_override = ContextVar("scenario_clock", default=None)


def now():
    """Return the current time as an aware UTC datetime (the scenario's time inside `scenario_clock`)."""
    clock = _override.get()
    if clock is not None:
        return clock.time
    return datetime.now(timezone.utc)


def as_utc(value):
    """Return `value` as an aware UTC datetime (naive values from SQLite are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class ScenarioClock:
    """A stopped clock that moves only when told to (`move_to`); it never goes back."""

    def __init__(self, start):
        self.time = as_utc(start)

    def move_to(self, when):
        when = as_utc(when)
        if when > self.time:
            self.time = when


@contextmanager
def scenario_clock(start):
    """Within the block, `now()` in this context answers the returned ScenarioClock's time."""
    clock = ScenarioClock(start)
    token = _override.set(clock)
    try:
        yield clock
    finally:
        _override.reset(token)
