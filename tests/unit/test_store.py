"""Snapshot plus deltas restore the very state a whole dump of the live workflow writes, after every step.

The workflows are workflows/quick_response.bpmn walked along the paths of tests/unit/test_serializer.py, with a
write planned after every task the engine completes (far more often than the service layer writes), so
snapshots, delta chains, the subprocess coming and going and tasks leaving the tree all occur.
"""
import json

import pytest
from SpiffWorkflow.util.task import TaskState

from app.engine import store
from app.engine.serializer import SERIALIZER_VERSION, dump_state, load_dict, load_state, state_parts
from tests.unit.test_serializer import ACCEPT, PATHS, clock, engine, handle, specs, start, step  # noqa: F401


class Database:
    """What the store would hold: the last snapshot's text and the deltas after it."""

    def __init__(self):
        self.snapshot, self.deltas, self.saved, self.kinds = None, [], None, []

    def write(self, workflow):
        planned = store.plan_write(workflow, self.saved)
        if planned.snapshot:
            self.snapshot, self.deltas = planned.text, []
        else:
            self.deltas.append(planned.text)
        self.saved = planned.saved
        self.kinds.append("snapshot" if planned.snapshot else "delta")
        return planned

    def state(self):
        dct = json.loads(self.snapshot)
        for delta in self.deltas:
            store.apply_delta(dct, json.loads(delta))
        return dct


def restores_exactly(db, workflow):
    """Snapshot + deltas give the whole dump's dict, in its order: re-encoded, the very same text."""
    whole = dump_state(workflow)
    restored = db.state()
    assert restored == json.loads(whole)
    assert json.dumps(restored, separators=(",", ":")) == whole
    return restored


@pytest.mark.parametrize("every", [2, store.SNAPSHOT_EVERY, 1000])
@pytest.mark.parametrize("path", PATHS)
def test_snapshot_and_deltas_restore_the_whole_state_after_every_task(specs, engine, clock, path, every, monkeypatch):
    monkeypatch.setattr(store, "SNAPSHOT_EVERY", every)
    db = Database()

    def check(workflow):
        db.write(workflow)
        restores_exactly(db, workflow)

    workflow = start(specs, engine, check)
    for action, payload in PATHS[path]:
        step(workflow, clock, action, payload, check)
    assert workflow.is_completed()
    check(workflow)
    assert "delta" in db.kinds
    if every == 1000:
        assert db.kinds.count("snapshot") == 1  # deltas stay smaller than the whole state on these paths


@pytest.mark.parametrize("path", PATHS)
def test_the_restored_workflow_writes_the_same_state_and_runs_on(specs, engine, clock, path):
    """Rebuilt from snapshot + deltas midway, the workflow is the live one: same text now, same steps after."""
    steps = PATHS[path]
    live, db = start(specs, engine), Database()
    db.write(live)
    half = len(steps) // 2
    for action, payload in steps[:half]:
        step(live, clock, action, payload)
        db.write(live)
    restored = load_dict(db.state(), SERIALIZER_VERSION, *specs, engine)
    assert dump_state(restored) == dump_state(live)
    # a delta planned against the restored workflow's parts is the one planned against the live one
    assert state_parts(restored) == db.saved.parts
    for action, payload in steps[half:]:
        step(live, clock, action, payload)
        step(restored, clock, action, payload)
        assert shape(restored) == shape(live)  # new tasks get fresh ids, so compare all but the ids
    assert restored.is_completed() and live.is_completed()


def shape(workflow):
    """Every task's spec, state and data in tree order, and the workflow's data: the state up to task ids."""
    tasks = [(t.task_spec.name, t.state, t.data, t.internal_data) for t in workflow.get_tasks()]
    return tasks, workflow.data, workflow.last_task.task_spec.name

def test_tasks_that_leave_the_tree_are_deleted(specs, engine, clock):
    """Resetting to an earlier task drops the tasks after it (and the subprocess): the delta names them."""
    workflow, db = start(specs, engine), Database()
    db.write(workflow)
    step(workflow, clock, *ACCEPT)
    step(workflow, clock, *handle(False))
    db.write(workflow)
    assert workflow.subprocesses
    accept = next(t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == "accept_ticket")
    before = set(workflow.tasks)
    workflow.reset_from_task_id(accept.id)
    gone = before - set(workflow.tasks)  # (the reset predicts the branch anew, under new ids)
    assert gone and not workflow.subprocesses
    text = store.delta_text(db.saved.parts, state_parts(workflow))
    delta = json.loads(text)
    assert set(delta["removed"]) == {str(i) for i in gone}
    assert delta["removed_subprocesses"]
    db.deltas.append(text)  # (a reset changes so much that plan_write would write a snapshot)
    restores_exactly(db, workflow)
    db.saved = store.Saved(state_parts(workflow), len(db.deltas))
    assert {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)} == {"accept_ticket"}
    assert db.write(workflow).text == "{}"


def test_a_delta_holds_only_what_changed(specs, engine, clock):
    workflow, db = start(specs, engine), Database()
    db.write(workflow)
    assert db.write(workflow).text == "{}"  # nothing moved
    step(workflow, clock, *ACCEPT)  # (this step starts the subprocess: most of the state is new)
    db.write(workflow)
    step(workflow, clock, *handle(True))
    planned = db.write(workflow)
    assert not planned.snapshot and len(planned.text) < len(dump_state(workflow)) * 0.6
    changed = json.loads(planned.text)
    assert 0 < len(changed["tasks"]) < len(workflow.tasks)
    assert list(changed["fields"]) == ["last_task"]


def test_a_state_only_the_generic_way_writes_is_a_snapshot_and_the_next_one_too(specs, engine, clock):
    from datetime import datetime, timezone

    workflow, db = start(specs, engine), Database()
    db.write(workflow)
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    task.data["at"] = datetime(2025, 3, 3, tzinfo=timezone.utc)
    assert db.write(workflow).snapshot and db.saved.parts is None
    assert load_state(db.snapshot, SERIALIZER_VERSION, *specs, engine).get_task_from_id(task.id).data["at"]
    del task.data["at"]
    assert db.write(workflow).snapshot  # nothing to compare with: whole again
    assert not db.write(workflow).snapshot
    restores_exactly(db, workflow)


def test_a_delta_larger_than_the_state_is_written_as_a_snapshot(specs, engine, clock):
    workflow, db = start(specs, engine), Database()
    db.write(workflow)
    for task in workflow.get_tasks():
        task.internal_data["note"] = "x" * 10  # every task changes, and each change is longer than its text
        task.last_state_change += 1.0
    assert db.write(workflow).snapshot
    restores_exactly(db, workflow)
