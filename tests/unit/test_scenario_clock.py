"""The scenario clock: durations a scenario may write, and SpiffWorkflow's timers reading app.clock."""
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from app.clock import now, scenario_clock
from app.engine import timer_clock
from app.scenarios.durations import parse_duration


@pytest.mark.parametrize("text, expected", [
    ("31 minutes", timedelta(minutes=31)), ("2 hours 30 minutes", timedelta(hours=2, minutes=30)),
    ("1 day", timedelta(days=1)), ("PT31M", timedelta(minutes=31)), ("P1DT2H", timedelta(days=1, hours=2)),
    ("31分钟", timedelta(minutes=31)), ("1h30m", timedelta(hours=1, minutes=30)), ("90 seconds", timedelta(seconds=90)),
])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "3 parsecs", "P", "minutes 3", 31])
def test_not_durations(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_spiffworkflow_timers_read_the_scenario_clock_and_time_machine_outside_it():
    spiff_datetime = timer_clock._timer_module.datetime
    start = datetime(2031, 5, 1, 8, 0, tzinfo=timezone.utc)
    with scenario_clock(start) as clock:
        assert spiff_datetime.now(timezone.utc) == start
        clock.move_to(start + timedelta(minutes=31))
        clock.move_to(start)  # never back
        assert spiff_datetime.now(timezone.utc) == now() == start + timedelta(minutes=31)
    travelled = datetime(2029, 1, 1, tzinfo=timezone.utc)
    with time_machine.travel(travelled, tick=False):
        assert spiff_datetime.now(timezone.utc) == travelled == now()


def test_capabilities_that_touch_the_database_are_answered_by_the_scenario():
    from app.scenarios.world import World

    def start_process(name, data=None):
        raise AssertionError("the real capability must not run in a scenario")

    world = World({"after_sales": "engineer1"},
                  base={"now_iso": lambda: "t", "pick_assignee": None, "has_open_task": None,
                        "start_process": start_process})
    helpers = world.helpers()
    world.open_before = {"review_response"}
    assert helpers["now_iso"]() == "t"
    assert helpers["pick_assignee"]("after_sales", "handler") == "engineer1" and helpers["pick_assignee"]("x") is None
    assert helpers["has_open_task"]("GD-1", "review_response") and not helpers["has_open_task"]("GD-1", "other")
    assert helpers["start_process"]("satisfaction_survey", {"ticket_number": "GD-1"}) is True
    assert world.calls == [("start_process", ("satisfaction_survey", {"ticket_number": "GD-1"}))]
