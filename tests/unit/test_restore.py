"""serializer.TaskRestorer (and the id memo) restore the very workflow SpiffWorkflow's own converters restore.

States of workflows/quick_response.bpmn along the paths of tests/unit/test_serializer.py, after every step, each
restored both ways: the same text, the same data in every task, and the same sharing of values between a task's
data and its parent's (SpiffWorkflow copies a parent's dicts, lists and sets one level deep)."""
import json

import pytest
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnSubWorkflowConverter, TaskConverter

from app.engine import serializer
from app.engine.serializer import SERIALIZER_VERSION, _generic_dump, dump_state, load_state
from tests.unit.test_serializer import PATHS, clock, engine, specs, start, step  # noqa: F401


def _spiffworkflows_own():
    return serializer._make_serializer(BpmnSubWorkflowConverter, TaskConverter)


def sharing(workflow):
    """{task id: {key: whether the value is the parent's very object}} over the workflow and its subprocesses."""
    found = {}
    for flow in (workflow, *workflow.subprocesses.values()):
        for task in flow.tasks.values():
            parent = task.parent
            found[task.id] = {k: parent is not None and parent.data.get(k) is v for k, v in task.data.items()}
    return found


def data(workflow):
    return {task.id: task.data for flow in (workflow, *workflow.subprocesses.values()) for task in flow.tasks.values()}


@pytest.mark.parametrize("path", PATHS)
def test_restored_the_way_spiffworkflow_restores(specs, engine, clock, path, monkeypatch):
    states = []
    workflow = start(specs, engine, lambda w: None)
    states.append(dump_state(workflow))
    for action, payload in PATHS[path]:
        step(workflow, clock, action, payload, lambda w: states.append(dump_state(w)))
    own = _spiffworkflows_own()
    for state in states:
        ours = load_state(state, SERIALIZER_VERSION, *specs, engine)
        with monkeypatch.context() as patch:
            patch.setattr(serializer, "SERIALIZER", own)
            theirs = load_state(state, SERIALIZER_VERSION, *specs, engine)
        assert _generic_dump(ours) == _generic_dump(theirs) == state
        assert data(ours) == data(theirs)
        assert sharing(ours) == sharing(theirs)
        assert [t.id for t in ours.event_manager.tasks.values()] == [t.id for t in theirs.event_manager.tasks.values()]


def test_the_memo_gives_the_same_ids_and_stays_bounded(monkeypatch):
    monkeypatch.setattr(serializer, "_UUIDS", {})
    monkeypatch.setattr(serializer, "_TEXTS_MAX", 3)
    texts = [f"00000000-0000-0000-0000-00000000000{i}" for i in range(1, 9)]
    first = [serializer._uuid(t) for t in texts]
    assert [str(u) for u in first] == texts
    assert serializer._uuid(texts[-1]) is first[-1]
    assert len(serializer._UUIDS) <= 3
    assert json.dumps([str(serializer._uuid(t)) for t in texts]) == json.dumps(texts)
