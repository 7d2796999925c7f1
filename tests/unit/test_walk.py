"""engine.walk yields what SpiffWorkflow's own task iterators yield, in their order, and a workflow run with it
writes the very states a run with SpiffWorkflow's own walks writes.

The workflows are workflows/quick_response.bpmn along the paths of tests/unit/test_serializer.py (a subprocess
comes and goes, timers wait and fire, an event subprocess starts), compared after every task the engine completes.
"""
import itertools
from uuid import UUID

import pytest
import time_machine
import SpiffWorkflow.task as spiff_task
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator, TaskState

from app.engine import walk
from app.engine.serializer import dump_state
from tests.unit.test_serializer import MONDAY, PATHS, clock, engine, specs, start, step  # noqa: F401

FILTERS = [
    {}, {"state": TaskState.READY}, {"state": TaskState.READY, "manual": True},
    {"state": TaskState.READY, "manual": False},
    {"state": TaskState.WAITING}, {"state": TaskState.NOT_FINISHED_MASK}, {"state": TaskState.FINISHED_MASK},
    {"state": TaskState.COMPLETED}, {"state": TaskState.PREDICTED_MASK}, {"state": TaskState.DEFINITE_MASK},
    {"state": TaskState.ANY_MASK, "skip_subprocesses": True}, {"state": TaskState.READY, "lane": "handler"},
    {"spec_name": "accept_ticket"}, {"end_at_spec": "resolve"}, {"state": TaskState.WAITING, "updated_ts": 1e12},
]


def flows(workflow):
    return [workflow, *workflow.subprocesses.values()]


def same_walks(workflow):
    """Every filter, from every (sub)workflow's root and from each of its tasks: the same tasks in the same order."""
    for flow in flows(workflow):
        for first in [flow.task_tree, *list(flow.tasks.values())[::7]]:
            for kwargs in FILTERS:
                plain = {k: v for k, v in kwargs.items() if k not in ("skip_subprocesses", "lane")}
                assert list(walk.walk(TaskIterator(first, **plain))) == list(TaskIterator(first, **plain))
                assert list(walk.walk(BpmnTaskIterator(first, **kwargs))) == list(BpmnTaskIterator(first, **kwargs))


@pytest.mark.parametrize("path", PATHS)
def test_walks_yield_what_spiffworkflow_yields_after_every_task(specs, engine, clock, path):
    workflow = start(specs, engine, same_walks)
    for action, payload in PATHS[path]:
        step(workflow, clock, action, payload, same_walks)
    assert workflow.is_completed()
    same_walks(workflow)


def test_the_lean_walk_is_the_one_taken_and_large_trees_keep_spiffworkflows(specs, engine, clock):
    workflow = start(specs, engine, lambda w: None)
    assert not isinstance(walk.walk(TaskIterator(workflow.task_tree)), TaskIterator)
    assert isinstance(walk.walk(TaskIterator(workflow.task_tree, max_depth=len(workflow.tasks))), TaskIterator)
    assert isinstance(walk.walk(TaskIterator(workflow.task_tree, depth_first=False)), TaskIterator)


def states_with_and_without(patch, specs, engine, path, monkeypatch):
    """`states_along` with the patch module installed, then with SpiffWorkflow's own methods (it is put back)."""
    installed = states_along(specs, engine, path, monkeypatch)
    patch.uninstall()
    try:
        return installed, states_along(specs, engine, path, monkeypatch)
    finally:
        patch.install()


def states_along(specs, engine, path, monkeypatch):
    """The states written after every task of `path`, with task ids drawn from a counter and the clock starting at
    MONDAY (the same in every run)."""
    counter = itertools.count(1)
    monkeypatch.setattr(spiff_task, "uuid4", lambda: UUID(int=next(counter)))
    states = []

    def keep(workflow):
        states.append(dump_state(workflow))

    with time_machine.travel(MONDAY, tick=False) as clock:
        workflow = start(specs, engine, keep)
        for action, payload in PATHS[path]:
            step(workflow, clock, action, payload, keep)
        assert workflow.is_completed()
        keep(workflow)
    return states


@pytest.mark.parametrize("path", PATHS)
def test_a_run_with_the_walks_writes_the_states_of_a_run_without(specs, engine, path, monkeypatch):
    with_walks, without = states_with_and_without(walk, specs, engine, path, monkeypatch)
    assert with_walks == without
    assert len(set(with_walks)) > 20
