"""Engine internals: specs parsed once per version, state stored without the spec, live cache and cold loads agree."""
import json

import pytest

from app.engine import definitions, store
from app.engine.models import InstanceDelta, ProcessInstance
from app.engine.serializer import dump_state
from app.extensions import db
from app.tickets.flow import engine


def test_specs_are_parsed_once_per_version(app, api, monkeypatch):
    calls = []
    original = definitions.parse_specs

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(definitions, "parse_specs", counting)
    engine().specs.clear()
    engine().live.clear()
    for _ in range(3):
        number = api.new_ticket()["number"]
        api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
    assert len(calls) == 1


def test_instance_state_has_no_spec_and_restores_cold(app, api):
    number = api.new_ticket()["number"]
    instance = db.session.scalars(db.select(ProcessInstance)).one()
    state = json.loads(instance.state)
    assert "spec" not in state and "subprocess_specs" not in state
    assert instance.serializer_version and instance.version == 1
    engine().live.clear()  # the next step must rebuild the workflow from the stored state
    engine().specs.clear()
    ticket = api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
    assert ticket["status"] == "processing"
    db.session.refresh(instance)
    assert instance.version == 2


def test_a_failing_diagram_script_saves_nothing(app, api, monkeypatch):
    number = api.new_ticket()["number"]
    instance = db.session.scalars(db.select(ProcessInstance)).one()
    task = api.task_for("engineer1", number, "accept_ticket")

    def broken():
        raise RuntimeError("clock unavailable")

    # mark_accepted (the script after acceptance) calls now_iso()
    monkeypatch.setitem(engine().script_engine.environment.helpers, "now_iso", broken)
    response = api.post(f"/tasks/{task['id']}/complete", "engineer1", json={"data": {"contact_note": "已联系客户"}})
    assert response.status_code == 422
    assert "mark_accepted" in response.get_json()["error"]
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance.id).version == instance.version
    ticket = api.ticket(number)
    assert ticket["status"] == "pending_accept" and [t["id"] for t in ticket["open_tasks"]] == [task["id"]]
    assert "task_completed" not in [h["action"] for h in ticket["history"]]
    monkeypatch.undo()
    assert api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")["status"] == "processing"


def _accepted(api, monkeypatch):
    """A ticket accepted by engineer1, its state saved whole after the acceptance: entering the handling
    subprocess adds about as much as the state holds, so whether that step writes a delta or a snapshot depends on
    the diagram's size; the walks below start from a known snapshot."""
    number = api.new_ticket()["number"]
    with monkeypatch.context() as patch:
        patch.setattr(store, "SNAPSHOT_EVERY", 1)
        api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
    instance = _instance()
    assert instance.snapshot_version == instance.version == 2
    return number


def _steps(api, number):
    """Yield after each step of an accepted ticket that loops twice through handling (a delta each), then leaves
    it and starts a new round."""
    api.complete("engineer1", number, "handle_ticket", action="远程排查", status="processing",
                 next_update_at="2030-03-02T15:00:00+08:00", solution_ready=False)
    yield
    api.complete("engineer1", number, "handle_ticket", action="再次排查", status="processing",
                 next_update_at="2030-03-02T16:00:00+08:00", solution_ready=False)
    yield
    api.complete("engineer1", number, "handle_ticket", action="更换部件", status="awaiting_customer",
                 solution="更换电源模块", solution_ready=True)
    yield
    api.complete("agent1", number, "feedback", method="phone", opinion="needs_adjustment")
    yield


def _instance():
    db.session.expire_all()
    return db.session.scalars(db.select(ProcessInstance)).one()


def test_snapshot_and_deltas_in_the_database_restore_the_cached_workflow(app, api, monkeypatch):
    """After every step the database (snapshot + deltas) holds exactly the text of the workflow in the cache."""
    number = _accepted(api, monkeypatch)
    applied = []
    for _ in _steps(api, number):
        instance = _instance()
        workflow, before = engine().live.get((instance.id, instance.version))
        dct, deltas = store.read_state(instance.id, instance.version)
        assert json.dumps(dct, separators=(",", ":")) == dump_state(workflow)
        assert deltas == instance.version - instance.snapshot_version
        assert before.saved.deltas == deltas
        applied.append(deltas)
    # plain steps write deltas; a step that leaves a subprocess or loops back may write a snapshot instead
    # (compaction drops the finished part, so what changed can outweigh the whole, now small, state)
    assert applied[:2] == [1, 2]
    assert db.session.scalar(db.select(db.func.count()).select_from(InstanceDelta)) == applied[-1]


def test_a_cold_load_from_deltas_runs_on_and_its_step_writes_a_snapshot(app, api, monkeypatch):
    """A workflow rebuilt from a snapshot and its deltas steps on. That step writes the state whole (a workflow
    loaded cold has no Parts to diff against) and drops the deltas before it; the live workflow's next step writes
    a delta again."""
    number = _accepted(api, monkeypatch)
    versions = []
    for index, _ in enumerate(_steps(api, number)):
        instance = _instance()
        rows = db.session.scalars(db.select(InstanceDelta.version).where(InstanceDelta.instance_id == instance.id))
        versions.append((instance.version, instance.snapshot_version, list(rows)))
        if index == 1:
            engine().live.clear()  # the next step rebuilds the workflow from snapshot 2 and deltas 3 and 4
    # version 2 is the acceptance's snapshot; 3 and 4 deltas of the live workflow; 5 the cold step's snapshot
    assert versions[:3] == [(3, 2, [3]), (4, 2, [3, 4]), (5, 5, [])]
    assert versions[3][0] == 6 and versions[3][2] == list(range(versions[3][1] + 1, 7))
    ticket = api.complete("engineer1", number, "handle_ticket", action="换主板", status="awaiting_customer",
                          solution="更换主板", solution_ready=True)
    assert ticket["status"] == "feedback"
    assert api.complete("agent1", number, "feedback", method="phone", opinion="satisfied")["status"] == "closed"


def test_a_broken_chain_of_deltas_is_refused_not_guessed(app, api, monkeypatch):
    number = _accepted(api, monkeypatch)
    steps = _steps(api, number)
    next(steps), next(steps)
    instance = _instance()
    db.session.execute(db.delete(InstanceDelta).where(InstanceDelta.version == 3))
    with pytest.raises(RuntimeError, match="do not lead to version 4"):
        store.read_state(instance.id, instance.version)


def test_a_task_compacted_away_is_no_longer_open_not_an_error(app, api):
    """A finished task leaves the tree (compaction): completing or reading it again is a Conflict / no data."""
    from app.errors import Conflict

    number = api.new_ticket()["number"]
    task = api.task_for("engineer1", number, "accept_ticket")
    api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
    instance = _instance()
    engine().live.clear()  # and from a cold load too
    for _ in range(2):
        assert engine().task_data(instance.id, task["id"]) == {}
        with pytest.raises(Conflict):
            engine().complete_task(instance.id, task["id"], {"contact_note": "又一次"})
        db.session.rollback()


def test_a_step_that_landed_between_two_reads_is_a_conflict_not_an_error(app, api, monkeypatch):
    """The process steps before the first write (outside the write transaction on SQLite): when another step lands
    meanwhile, reading the state at the version read before answers Conflict (409), not a broken chain."""
    from app.errors import Conflict

    number = _accepted(api, monkeypatch)
    steps = _steps(api, number)
    next(steps)
    instance = _instance()
    with pytest.raises(Conflict):
        store.read_state(instance.id, instance.version - 1)
