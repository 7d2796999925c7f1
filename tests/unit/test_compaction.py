"""compact() keeps a workflow's tree bounded through any number of loops and changes nothing the engine reads.

Real diagrams: workflows/quick_response.bpmn (with its decision tables) walked at random through all its loops,
timers and messages, once on bare SpiffWorkflow and once compacted and restored from its JSON after every step,
with the same task ids; and a loop through a parallel gateway. No Flask app and no database.
"""
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from app.capabilities import deadline, now_iso
from app.engine.compaction import compact
from app.engine.definitions import parse_specs
from app.engine.runtime import _triggers, send_message_event
from app.engine.sandbox import make_script_engine
from app.engine.serializer import SERIALIZER_VERSION, _generic_dump, dump_state, load_state

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MONDAY = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)
SEEDS = [0, 2, 4]  # walks that take every branch between them (checked below)
START = {"ticket_type": "complaint", "urgency": "high", "channel": "phone", "customer_number": "C1",
         "description": "设备无法启动", "created_by": "agent1", "ticket_number": "SR1"}


@pytest.fixture(scope="module")
def specs():
    dmn = {path.name: path.read_text(encoding="utf-8") for path in WORKFLOWS.glob("*.dmn")}
    _name, spec, subprocess_specs = parse_specs((WORKFLOWS / "quick_response.bpmn").read_text(encoding="utf-8"), dmn)
    return spec, subprocess_specs


class Walk:
    """One random walk through quick_response: people complete what is open, time passes, supervisors redispatch.

    The same seed gives the same walk and the same task ids, so a bare and a compacted run can be compared.
    """

    def __init__(self, specs, seed, compacted):
        self.specs, self.compacted = specs, compacted
        self.rng = random.Random(seed)
        self.collaborations = 0
        ids = random.Random(seed + 1000)
        self.new_id = lambda: uuid.UUID(int=ids.getrandbits(128), version=4)
        self.engine = make_script_engine({
            "deadline": deadline, "now_iso": now_iso, "pick_assignee": lambda department: "engineer1",
            "has_open_task": lambda number, name: name in {t.task_spec.bpmn_id for t in self.ready()},
            "start_process": lambda name, data=None: True,
        })

    def ready(self):
        return sorted(self.workflow.get_tasks(state=TaskState.READY, manual=True), key=lambda t: str(t.id))

    def run(self, steps, monkeypatch):
        """Yield what a step leaves for the app to read: ready tasks, waiting events, tasks finished on the way."""
        monkeypatch.setattr("SpiffWorkflow.task.uuid4", self.new_id)
        with time_machine.travel(MONDAY, tick=False) as clock:
            self.workflow = BpmnWorkflow(*self.specs, script_engine=self.engine)
            self.workflow.task_tree.data.update(START)
            finished = []
            self.workflow.do_engine_steps(did_complete_task=lambda t: finished.append(_finished(t)))
            for number in range(steps):
                if self.compacted:
                    compact(self.workflow)
                    state = dump_state(self.workflow)
                    assert state == _generic_dump(self.workflow)
                    self.workflow = load_state(state, SERIALIZER_VERSION, *self.specs, self.engine)
                yield _seen(self.workflow, self.ready(), finished)
                if self.workflow.is_completed():
                    return
                finished = []
                self._act(number, clock, finished)

    def _act(self, number, clock, finished):
        workflow, rng = self.workflow, self.rng
        did = lambda task: finished.append(_finished(task))  # noqa: E731
        roll = rng.random()
        accepting = any(t.task_spec.bpmn_id == "accept_ticket" for t in self.ready())
        waiting = [t for t in workflow.event_manager.tasks.values()
                   if isinstance(t.task_spec.event_definition, MessageEventDefinition)
                   and t.task_spec.event_definition.name == "redispatch"]  # transfer, collaborate: see below
        if waiting and roll < 0.1:  # a supervisor redispatches, a handler transfers
            definition = waiting[0].task_spec.event_definition
            workflow.send_event(BpmnEvent(definition, payload=_payload(definition.name, number)))
        elif roll < 0.12 or (accepting and roll < 0.6):  # nobody accepts for a while: windows lapse, escalations
            clock.shift(timedelta(minutes=31) if accepting else timedelta(minutes=rng.choice([5, 31, 125, 30 * 60])))
            workflow.refresh_timers()
        else:
            task = rng.choice(self.ready())
            data = {"completed_by": "someone", "round": number}
            if task.task_spec.bpmn_id == "handle_ticket":
                data.update(solution_ready=rng.random() < 0.6, solution=f"方案{number}",
                            status=rng.choices(["processing", "awaiting_customer", "awaiting_review"], [5, 2, 3])[0],
                            next_update_at=(datetime.now(timezone.utc) + timedelta(hours=1)).isoformat())
            elif task.task_spec.bpmn_id == "review_solution":
                data.update(review_decision=rng.choice(["approve", "return"]), review_comment=f"意见{number}")
            elif task.task_spec.bpmn_id == "feedback":
                data["opinion"] = rng.choices(["satisfied", "needs_adjustment", "unsatisfied"], [1, 30, 25])[0]
            elif task.task_spec.bpmn_id == "reassign_ticket":
                data["assignee"] = "engineer3"
            elif task.task_spec.bpmn_id == "support_task":
                data["support_result"] = f"结果{number}"
            task.data.update(data)
            task.run()
        workflow.do_engine_steps(did_complete_task=did)
        clock.shift(timedelta(minutes=1))


def _payload(message, number):
    """What a person sends with `message`."""
    soon = (datetime.now(timezone.utc) + timedelta(hours=4)).isoformat()
    if message == "transfer":
        return {"department": "product", "assignee": "product1", "reason": f"转办{number}", "expected_at": soon}
    if message == "collaborate":
        return {"supporters": [{"department": "product", "task": f"任务{number}", "milestone": "节点", "due_at": soon},
                               {"department": "customer_service", "task": "联系客户", "milestone": "确认",
                                "due_at": soon}]}
    return {"assignee": "engineer2"}


def _finished(task):
    return str(task.id), task.task_spec.name, sorted(task.data.items())


def _seen(workflow, ready, finished):
    events = []
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        due = definition.details(task).value if isinstance(definition, TimerEventDefinition) else None
        events.append((str(task.id), task.task_spec.bpmn_id, task.state, due))
    return ([(str(t.id), t.task_spec.bpmn_id, sorted(t.data.items())) for t in ready], sorted(events),
            list(finished), workflow.is_completed())


def test_a_compacted_workflow_reads_the_same_as_a_bare_one_at_every_step(specs, monkeypatch):
    ran = set()
    for seed in SEEDS:
        bare = list(Walk(specs, seed, compacted=False).run(90, monkeypatch))
        compacted = list(Walk(specs, seed, compacted=True).run(90, monkeypatch))
        assert len(bare) == len(compacted) > 10
        for number, (expected, seen) in enumerate(zip(bare, compacted)):
            assert seen == expected, f"seed {seed}, step {number}"
        ran |= {name for step in bare for _id, name, _data in step[2]}
    # the walks took every loop and every timer and message branch, the stacked escalations avoided too
    assert {"adjust", "reopen", "after_reassign", "apply_redispatch", "mark_escalated_response", "end_response_dup",
            "mark_escalated_resolution", "end_resolution_dup", "end_update_reminder", "review_returned", "close"} <= ran


def test_the_tree_stays_bounded_through_every_loop(specs):
    def has_open_task(number, name):
        return any(t.task_spec.bpmn_id == name for t in workflow.get_tasks(state=TaskState.READY, manual=True))

    engine = make_script_engine({"deadline": deadline, "now_iso": now_iso,
                                 "pick_assignee": lambda department: "engineer1", "has_open_task": has_open_task,
                                 "start_process": lambda name, data=None: True})

    def do(name, **data):
        task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == name)
        task.data.update(data, completed_by="someone")
        task.run()
        workflow.do_engine_steps()
        compact(workflow)

    def depth():
        deepest = 0
        for tree in (workflow, *workflow.subprocesses.values()):
            deepest = max([deepest] + [t.depth for t in tree.tasks.values()])
        return deepest

    with time_machine.travel(MONDAY, tick=False) as clock:
        workflow = BpmnWorkflow(*specs, script_engine=engine)
        workflow.task_tree.data.update(START)
        workflow.do_engine_steps()
        for _ in range(30):  # the acceptance window lapses and a supervisor reassigns
            clock.shift(timedelta(minutes=31))
            workflow.refresh_timers()
            workflow.do_engine_steps()
            compact(workflow)
            do("reassign_ticket", assignee="engineer1")
        do("accept_ticket")
        sizes, depths = [], []
        for round_ in range(150):  # not solved yet; needs adjustment; unsatisfied and handled a second time
            do("handle_ticket", solution_ready=False, next_update_at="")
            do("handle_ticket", solution_ready=True, solution="方案")
            do("feedback", opinion="needs_adjustment" if round_ % 2 else "unsatisfied")
            if round_ % 2 == 0:
                do("second_handling", assignee="engineer1")
            sizes.append((len(dump_state(workflow)), len(workflow.tasks), len(workflow.subprocesses)))
            if round_ in (1, 149):
                depths.append(depth())
        assert max(s[0] for s in sizes) <= 1.2 * sizes[1][0]
        assert max(s[1] for s in sizes) <= sizes[1][1] and max(s[2] for s in sizes) == 1
        assert depths[1] <= depths[0] <= 20  # a deep tree is what ends in RecursionError on the bare engine
        assert workflow.get_tasks(state=TaskState.READY, manual=True)[0].data["reopen_count"] == 75
        do("handle_ticket", solution_ready=True, solution="方案")
        do("feedback", opinion="satisfied")
    assert workflow.is_completed()


def test_a_loop_through_a_parallel_gateway_runs_every_round(monkeypatch):
    _name, spec, subprocess_specs = parse_specs((FIXTURES / "parallel_loop.bpmn").read_text(encoding="utf-8"), {})
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=make_script_engine({}))
    workflow.task_tree.data["rounds"] = 0
    workflow.do_engine_steps()
    rng, sizes = random.Random(3), []
    for number in range(120):  # 60 rounds, the two tasks of each in either order
        compact(workflow)
        state = dump_state(workflow)
        sizes.append(len(state))
        workflow = load_state(state, SERIALIZER_VERSION, spec, subprocess_specs, workflow.script_engine)
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert len(ready) == (2 if number % 2 == 0 else 1)  # a round waits for both of its branches
        task = rng.choice(ready)
        task.data["more"] = number < 119
        task.run()
        workflow.do_engine_steps()
    assert workflow.is_completed() and workflow.data["rounds"] == 60
    assert max(sizes) <= 2 * sizes[2]


def test_a_waiting_timer_keeps_the_data_of_the_task_before_it():
    _name, spec, subprocess_specs = parse_specs((FIXTURES / "timer_loop.bpmn").read_text(encoding="utf-8"), {})
    with time_machine.travel(MONDAY, tick=False) as clock:
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=make_script_engine({}))
        workflow.task_tree.data["rounds"] = 0
        workflow.do_engine_steps()
        for number in range(1, 31):
            [work] = workflow.get_tasks(state=TaskState.READY, manual=True)
            assert work.data["rounds"] == number - 1
            work.data["more"] = number < 30
            work.run()
            workflow.do_engine_steps()
            compact(workflow)
            clock.shift(timedelta(minutes=30))
            workflow.refresh_timers()  # not due yet: the timer takes its parent's data again
            workflow.do_engine_steps()
            compact(workflow)
            clock.shift(timedelta(minutes=31))
            workflow.refresh_timers()
            workflow.do_engine_steps()
            compact(workflow)
        assert len(workflow.tasks) < 15
    assert workflow.is_completed() and workflow.data["rounds"] == 30


class ScriptedWalk(Walk):
    """A walk through transfers and collaborations: the lead transfers, asks two departments to help (a
    multi-instance task in an event subprocess), twice, while handling goes on."""

    SCRIPT = [("task", "accept_ticket", {}), ("message", "transfer"), ("message", "collaborate"),
              ("task", "handle_ticket", {"solution_ready": False, "status": "processing", "next_update_at": ""}),
              ("task", "support_task", {}), ("message", "transfer"), ("task", "support_task", {}),
              ("message", "collaborate"), ("task", "support_task", {}), ("task", "support_task", {}),
              ("task", "handle_ticket", {"solution_ready": True, "solution": "方案", "status": "processing"}),
              ("task", "feedback", {"opinion": "needs_adjustment"}), ("message", "collaborate"),
              ("task", "handle_ticket", {"solution_ready": True, "solution": "方案", "status": "processing"}),
              ("task", "feedback", {"opinion": "satisfied"})]

    def _act(self, number, clock, finished):
        workflow = self.workflow
        kind, name, *data = self.SCRIPT[number]
        if kind == "message":
            waiting = [t.task_spec.event_definition for t in workflow.event_manager.tasks.values()
                       if isinstance(t.task_spec.event_definition, MessageEventDefinition)
                       and t.task_spec.event_definition.name == name]
            definition = waiting[0] if waiting else _triggers(workflow)[name]
            send_message_event(workflow, definition, _payload(name, number))
        else:
            task = next(t for t in self.ready() if t.task_spec.bpmn_id == name)
            task.data.update({"completed_by": "someone", "support_result": "结果", **data[0]})
            task.run()
        workflow.do_engine_steps(did_complete_task=lambda task: finished.append(_finished(task)))
        clock.shift(timedelta(minutes=1))


def test_transfers_and_collaborations_compact_like_the_rest(specs, monkeypatch):
    steps = len(ScriptedWalk.SCRIPT) + 1
    bare = list(ScriptedWalk(specs, 1, compacted=False).run(steps, monkeypatch))
    compacted = list(ScriptedWalk(specs, 1, compacted=True).run(steps, monkeypatch))
    assert len(bare) == len(compacted) == steps
    for number, (expected, seen) in enumerate(zip(bare, compacted)):
        assert seen == expected, f"step {number}"
    ran = {name for step in bare for _id, name, _data in step[2]}
    assert {"apply_transfer", "plan_collaboration", "collaboration_done", "close"} <= ran
    assert bare[-1][3]  # finished


def test_a_start_is_compacted_only_when_its_tree_is_large_and_its_first_step_drops_what_it_finished(specs):
    """Engine.start saves a fresh tree as it ran (advance's compact_above=COMPACT_ON_LOAD_ABOVE): the few tasks a
    start finishes go at the first step, which then leaves the same tree as with a compaction at start."""
    from app.engine.runtime import COMPACT_ON_LOAD_ABOVE, _task_count, advance

    engine = make_script_engine({"deadline": deadline, "now_iso": now_iso,
                                 "pick_assignee": lambda department: "engineer1",
                                 "has_open_task": lambda number, name: False,
                                 "start_process": lambda name, data=None: True})

    def started(compact_above):
        workflow = BpmnWorkflow(*specs, script_engine=engine)
        workflow.task_tree.data.update(START)
        advance(workflow, lambda: None, compact_above=compact_above)
        return workflow

    def accepted(workflow):
        task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                    if t.task_spec.bpmn_id == "accept_ticket")

        def run():
            task.data.update(completed_by="engineer1")
            task.run()
        advance(workflow, run)
        return workflow

    def shape(workflow):
        return sorted((t.task_spec.name, t.state) for t in workflow.tasks.values())

    with time_machine.travel(MONDAY, tick=False):
        kept, compacted = started(COMPACT_ON_LOAD_ABOVE), started(0)
        bare = BpmnWorkflow(*specs, script_engine=engine)
        bare.task_tree.data.update(START)
        bare.do_engine_steps()
        assert _task_count(kept) == _task_count(bare) < COMPACT_ON_LOAD_ABOVE  # saved as it ran
        assert _task_count(compacted) < _task_count(kept)
        assert _task_count(started(_task_count(bare) - 1)) == _task_count(compacted)  # a larger tree is compacted
        assert shape(accepted(kept)) == shape(accepted(compacted))
