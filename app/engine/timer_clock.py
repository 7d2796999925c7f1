"""SpiffWorkflow's timers ask the application clock (app.clock.now) for 'now'.

SpiffWorkflow's timer event definitions call `datetime.now(timezone.utc)` when they arm a duration timer and
when they check whether a timer has lapsed. Their module's `datetime` is replaced by a subclass whose `now`
answers `app.clock.now()`: outside a scenario that is the real time (and time-machine still moves it in tests),
inside `app.clock.scenario_clock` it is the scenario's time, for that context only.
"""
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

from app import clock


class _ClockDateTime(datetime):
    @classmethod
    def now(cls, tz=None):
        current = clock.now()
        return current.astimezone(tz) if tz is not None else current.astimezone().replace(tzinfo=None)


def install():
    """Make SpiffWorkflow's timer module read the application clock (idempotent)."""
    _timer_module.datetime = _ClockDateTime


install()
