"""engine.state_log changes task states as SpiffWorkflow does, and writes SpiffWorkflow's records when its logger
is enabled."""
import logging

import pytest
from SpiffWorkflow.util.task import TaskState

from app.engine import state_log
from tests.unit.test_serializer import PATHS, clock, engine, specs, start  # noqa: F401
from tests.unit.test_walk import states_with_and_without


@pytest.mark.parametrize("path", ["acceptance_lapsed", "unsatisfied"])
def test_a_run_writes_the_states_of_a_run_with_spiffworkflows_own_method(specs, engine, path, monkeypatch):
    quiet, own = states_with_and_without(state_log, specs, engine, path, monkeypatch)
    assert quiet == own


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_records_are_written_when_the_logger_is_enabled(specs, engine, clock, caplog, level):
    workflow = start(specs, engine, lambda w: None)
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    with caplog.at_level(level, logger="spiff.task"):
        task._set_state(TaskState.READY)  # unchanged: a debug record
        task._set_state(TaskState.STARTED)
    messages = [r.getMessage() for r in caplog.records if r.name == "spiff.task"]
    assert "State changed to STARTED" in messages
    assert ("State set to READY" in messages) == (level == logging.DEBUG)
    changed = next(r for r in caplog.records if r.getMessage() == "State changed to STARTED")
    assert changed.task_id == task.id and changed.elapsed >= 0 and changed.task_spec == task.task_spec.name


def test_nothing_is_gathered_when_the_logger_is_not_enabled(specs, engine, clock, monkeypatch):
    workflow = start(specs, engine, lambda w: None)
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    monkeypatch.setattr(type(task), "collect_log_extras", lambda *args: pytest.fail("gathered"))
    logger = logging.getLogger("spiff.task")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        task._set_state(TaskState.STARTED)
        task._set_state(TaskState.STARTED)
    finally:
        logger.setLevel(level)
    assert task.state == TaskState.STARTED
