"""dump_state writes the very text of SpiffWorkflow's generic serializer, and what it writes loads and runs on.

The workflows are real ones: workflows/quick_response.bpmn with its decision tables, walked along the paths a
ticket takes, with the state compared after every task the engine completes. No Flask app and no database:
deadline and now_iso only read the clock, the other helpers are stand-ins.
"""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
import time_machine
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from app.capabilities import deadline, now_iso
from app.engine import serializer
from app.engine.definitions import parse_specs
from app.engine.sandbox import make_script_engine
from app.engine.serializer import SERIALIZER, SERIALIZER_VERSION, _fast_dump, _generic_dump, dump_state, load_state

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
START = {"ticket_type": "complaint", "urgency": "high", "channel": "phone", "customer_number": "C1",
         "description": "设备无法启动", "created_by": "agent1", "ticket_number": "SR1"}
ACCEPT = ("accept_ticket", {"contact_note": "已联系客户", "completed_by": "engineer1"})
REASSIGN = ("reassign_ticket", {"assignee": "engineer2", "reason": "无人受理", "completed_by": "supervisor1"})
SECOND = ("second_handling", {"unsatisfied_reason": "仍无法启动", "improvement_plan": "上门检修",
                              "assignee": "engineer2", "completed_by": "supervisor1"})
REDISPATCH = ("message", {"assignee": "engineer2", "department": "after_sales", "reason": "客户指定"})
LAPSE = ("wait", timedelta(minutes=31))  # the 30-minute acceptance window
OVERDUE = ("wait", timedelta(hours=25))  # past both deadlines of an urgent ticket (PT2H, PT24H)
REVIEW = ("review_resolution", {"note": "已跟进", "completed_by": "supervisor1"})


def handle(ready, solution="更换电源"):
    return ("handle_ticket", {"action": "更换部件", "status": "awaiting_customer" if ready else "processing",
                              "solution": solution, "solution_ready": ready, "completed_by": "engineer1"})


def feedback(opinion):
    return ("feedback", {"method": "phone", "opinion": opinion, "completed_by": "agent1"})


PATHS = {
    "satisfied": [ACCEPT, handle(True), feedback("satisfied")],
    "adjusted": [ACCEPT, handle(False), handle(True), feedback("needs_adjustment"), handle(True, "换主板"),
                 feedback("satisfied")],
    "unsatisfied": [ACCEPT, handle(True), feedback("unsatisfied"), SECOND, handle(True, "换主板"),
                    feedback("satisfied")],
    "acceptance_lapsed": [LAPSE, REASSIGN, LAPSE, REASSIGN, ACCEPT, handle(True), feedback("satisfied")],
    "redispatched": [REDISPATCH, ACCEPT, handle(True), feedback("satisfied")],
    "overdue": [ACCEPT, OVERDUE, REVIEW, handle(True), feedback("satisfied")],
}


@pytest.fixture(scope="module")
def specs():
    dmn = {path.name: path.read_text(encoding="utf-8") for path in WORKFLOWS.glob("*.dmn")}
    _name, spec, subprocess_specs = parse_specs((WORKFLOWS / "quick_response.bpmn").read_text(encoding="utf-8"), dmn)
    return spec, subprocess_specs


@pytest.fixture(scope="module")
def engine():
    return make_script_engine({"deadline": deadline, "now_iso": now_iso,
                               "pick_assignee": lambda department: "engineer1", "has_open_task": lambda *args: False,
                               "start_process": lambda name, data=None: True})


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def assert_same(workflow):
    """The direct path is taken and writes the generic text, byte for byte."""
    fast = _fast_dump(workflow)
    assert fast is not None
    generic = _generic_dump(workflow)
    assert fast == generic
    assert json.loads(fast) == json.loads(generic)
    assert dump_state(workflow) == fast
    return fast


def start(specs, engine, check=assert_same):
    workflow = BpmnWorkflow(*specs, script_engine=engine)
    workflow.task_tree.data.update(START)
    check(workflow)
    workflow.do_engine_steps(did_complete_task=lambda task: check(workflow))
    check(workflow)
    return workflow


def step(workflow, clock, action, payload, check=assert_same):
    """Do what a person or the scheduler does, as the engine does it, checking after every task that finishes."""
    if action == "wait":
        clock.shift(payload)
        workflow.refresh_timers()
    elif action == "message":
        waiting = next(task for task in workflow.event_manager.tasks.values()
                       if getattr(task.task_spec.event_definition, "name", None) == "redispatch")
        workflow.send_event(BpmnEvent(waiting.task_spec.event_definition, payload=payload))
    else:
        task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == action)
        task.data.update(payload)
        task.run()
    check(workflow)
    workflow.do_engine_steps(did_complete_task=lambda task: check(workflow))
    check(workflow)


@pytest.mark.parametrize("path", PATHS)
def test_direct_text_is_the_generic_text_at_every_step(specs, engine, clock, path):
    checked = []

    def check(workflow):
        checked.append(assert_same(workflow))

    workflow = start(specs, engine, check)
    for action, payload in PATHS[path]:
        step(workflow, clock, action, payload, check)
    assert workflow.is_completed()
    check(workflow)  # is_completed() writes into the workflow; the engine saves after it
    assert len(set(checked)) > 20
    assert json.loads(checked[-1])["bpmn_events"][0]["event_definition"]["typename"] == "TerminateEventDefinition"


def test_paths_reach_the_timer_and_message_branches(specs, engine, clock):
    workflow = start(specs, engine)
    step(workflow, clock, *LAPSE)
    assert ready_tasks(workflow) == {"reassign_ticket"}
    step(workflow, clock, *REASSIGN)
    step(workflow, clock, *REDISPATCH)
    assert workflow.get_next_task(state=TaskState.READY, manual=True).data["assignee"] == "engineer2"
    step(workflow, clock, *OVERDUE)
    assert ready_tasks(workflow) == {"reassign_ticket", "review_response"}
    step(workflow, clock, *REASSIGN)
    step(workflow, clock, *ACCEPT)
    step(workflow, clock, *OVERDUE)
    assert ready_tasks(workflow) == {"handle_ticket", "review_response", "review_resolution"}


def ready_tasks(workflow):
    return {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def run_to_end(workflow, clock, steps):
    for action, payload in steps:
        step(workflow, clock, action, payload, check=lambda w: None)
    assert workflow.is_completed()
    assert workflow.data["status"] == "closed"


@pytest.mark.parametrize("dump", [dump_state, _generic_dump], ids=["direct", "generic"])
@pytest.mark.parametrize("stop", range(len(PATHS["acceptance_lapsed"])))
def test_state_loads_and_runs_to_completion(specs, engine, clock, dump, stop):
    """Stored states of either kind load into a workflow that writes the same state and runs on."""
    steps = PATHS["acceptance_lapsed"]
    workflow = start(specs, engine)
    for action, payload in steps[:stop]:
        step(workflow, clock, action, payload)
    state = dump(workflow)
    loaded = load_state(state, SERIALIZER_VERSION, *specs, engine)
    assert json.loads(assert_same(loaded)) == json.loads(state)
    run_to_end(loaded, clock, steps[stop:])


@pytest.mark.parametrize("value", [
    datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc), timedelta(hours=2), uuid4(), {"engineer1", "engineer2"},
    float("nan"), float("inf"), len, [1, {"at": datetime(2025, 3, 3)}],
], ids=lambda value: type(value).__name__)
def test_anything_but_plain_json_goes_the_generic_way(specs, engine, clock, value):
    workflow = start(specs, engine)
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    task.data["odd"] = value
    assert _fast_dump(workflow) is None
    assert dump_state(workflow) == _generic_dump(workflow)


def test_what_the_generic_way_cannot_write_still_fails(specs, engine, clock):
    workflow = start(specs, engine)
    workflow.get_next_task(state=TaskState.READY, manual=True).data["price"] = Decimal("1.5")
    assert _fast_dump(workflow) is None
    with pytest.raises(TypeError, match="Decimal"):
        dump_state(workflow)


@pytest.mark.parametrize("where", ["root data", "internal data", "workflow data"])
def test_callables_dropped_or_nulled_by_the_generic_way_go_that_way(specs, engine, clock, where):
    workflow = start(specs, engine)
    target = {"root data": workflow.task_tree.data, "workflow data": workflow.data,
              "internal data": workflow.get_next_task(state=TaskState.READY, manual=True).internal_data}[where]
    target["helper"] = len
    assert _fast_dump(workflow) is None
    assert dump_state(workflow) == _generic_dump(workflow)


def test_a_datetime_state_loads_back(specs, engine, clock):
    workflow = start(specs, engine)
    workflow.get_next_task(state=TaskState.READY, manual=True).data["promised_at"] = MONDAY
    loaded = load_state(dump_state(workflow), SERIALIZER_VERSION, *specs, engine)
    assert loaded.get_next_task(state=TaskState.READY, manual=True).data["promised_at"] == MONDAY


@pytest.mark.parametrize("field, value", [("last_state_change", 1741000000), ("triggered", 0), ("_state", True)])
def test_task_fields_of_unusual_types_go_the_generic_way(specs, engine, clock, field, value):
    workflow = start(specs, engine)
    setattr(workflow.get_next_task(state=TaskState.READY, manual=True), field, value)
    assert _fast_dump(workflow) is None
    assert dump_state(workflow) == _generic_dump(workflow)


def test_odd_but_plain_values_stay_on_the_direct_path(specs, engine, clock):
    workflow = start(specs, engine)
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    task.data.update({"pair": (1, "a"), "by_floor": {3: "engineer1"}, "nested": [{"a": [None, True, -0.0, 1e300]}]})
    task.parent.last_state_change, task.last_state_change = 0.0, -0.0
    assert_same(workflow)
    task.parent.last_state_change, task.last_state_change = -0.0, 0.0  # written anew, not from the memo
    assert_same(workflow)


def test_memos_emptied_midway_change_nothing(specs, engine, clock, monkeypatch):
    monkeypatch.setattr(serializer, "_TEXTS_MAX", 7)
    workflow = start(specs, engine)
    for action, payload in PATHS["adjusted"]:
        step(workflow, clock, action, payload)
    assert len(serializer._UUID_TEXTS) <= 7


def test_no_registered_type_passes_for_plain_json():
    """Plain values go straight to the encoder; that is exact only if the registry converts none of them."""
    for cls in SERIALIZER.registry.typenames:
        assert not issubclass(cls, (str, int, float, list, tuple, dict)), cls


def test_threads_get_their_own_text(specs, engine, clock):
    plain = start(specs, engine)
    odd = start(specs, engine)
    odd.get_next_task(state=TaskState.READY, manual=True).data["at"] = MONDAY
    expected = {id(plain): _generic_dump(plain), id(odd): _generic_dump(odd)}
    with ThreadPoolExecutor(4) as pool:
        for workflow, text in pool.map(lambda w: (w, dump_state(w)), [plain, odd] * 200):
            assert text == expected[id(workflow)]
