"""Run process instances: start, complete a user task, fire due timers; load and save state with a version guard."""
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, event, insert, select
from sqlalchemy.orm import Session

from app.clock import as_utc, now
from app.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.fast_statements import FastStatement

from . import retime
from .compaction import compact
from .decisions import Decisions
from .definitions import FORM_PROPERTY, SpecCache, latest_definition_id, message_form
from .models import PendingTimer, ProcessDefinition, ProcessInstance
from . import store, table_memo
from .sandbox import make_script_engine
from . import timer_clock  # noqa: F401  SpiffWorkflow's timers read app.clock
from . import state_log  # noqa: F401  SpiffWorkflow's state-change records built only when written
from . import walk  # noqa: F401  SpiffWorkflow's task-tree walks without their depth bookkeeping

_instances = ProcessInstance.__table__
_timers = PendingTimer.__table__

# Hot statements are built once: SQLAlchemy then skips construction and cache-key work on every step.
# The state's own statements are in engine.store.
_READ_HEAD = FastStatement(select(
    _instances.c.definition_id, _instances.c.serializer_version, _instances.c.version, _instances.c.status
).where(_instances.c.id == bindparam("instance_id")))
_READ_DEFINITION_ID = FastStatement(
    select(_instances.c.definition_id).where(_instances.c.id == bindparam("instance_id")))
_DELETE_TIMER = FastStatement(delete(_timers).where(
    _timers.c.instance_id == bindparam("instance_id"), _timers.c.task_id == bindparam("task_id")
))
_INSERT_TIMERS = FastStatement(insert(_timers))


# A state saved by this engine was compacted after its step; one saved before compaction existed may hold every
# round of its loops, too deep to step through: it is compacted as it loads. A tree this small is stepped as it is
# (its step compacts it), without the walk compaction takes. So is a just-started instance's tree: it is saved as
# it ran unless it is larger, and its first step drops the few tasks its start finished (on a ticket's flow a pass
# over the fresh tree took 40 µs to drop three tasks, a quarter of the lifecycle's compaction; the survey's 17 µs
# to drop none).
COMPACT_ON_LOAD_ABOVE = 150  # tasks, with its subprocesses'


def _task_count(workflow):
    return len(workflow.tasks) + sum(len(sub.tasks) for sub in workflow.subprocesses.values())


class ProcessError(DomainError):
    """A diagram failed while running (a script error, a refused expression): nothing was saved."""

    status = 422


@dataclass
class ReadyTask:
    """A user task waiting for a person."""

    id: str
    name: str
    title: str
    lane: str
    form: str
    properties: dict
    data: dict


class FinishedTask:
    """A task the engine completed during a step, in completion order.

    A step finishes some thirty tasks and hardly anyone asks their ids: `id` is the text of `uuid`, made when asked.
    """

    __slots__ = ("uuid", "name", "title", "kind", "timer", "data", "changed")

    def __init__(self, uuid, name, title, kind, timer, data, changed):
        self.uuid, self.name, self.title, self.kind = uuid, name, title, kind
        self.timer, self.data, self.changed = timer, data, changed

    @property
    def id(self):
        return str(self.uuid)

    def __repr__(self):
        return f"FinishedTask(id={self.id!r}, name={self.name!r}, kind={self.kind!r}, changed={self.changed!r})"


@dataclass
class WaitingTimer:
    task_id: str
    name: str
    due_at: datetime
    attached_to: list


@dataclass
class Step:
    """What one step of an instance produced; services turn it into task rows, ticket columns and history."""

    instance_id: int
    version: int
    completed: bool
    ready: list = field(default_factory=list)
    finished: list = field(default_factory=list)
    timers: list = field(default_factory=list)
    previously_ready: set = field(default_factory=set)  # ids of the user tasks that were ready before the step


class _Lru:
    """A small LRU map. For live workflows the key is (instance id, version) and an entry returns only
    after its commit succeeded (see `_keep_after_commit`)."""

    def __init__(self, size=512):
        self.size = size
        self._items = OrderedDict()

    def take(self, key):
        return self._items.pop(key, None)

    def get(self, key):
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key, workflow):
        self._items[key] = workflow
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self):
        self._items.clear()


@dataclass(frozen=True)
class DefinitionInfo:
    """An immutable copy of a deployed definition version, cached per process."""

    id: int
    name: str
    version: int
    content_hash: str
    filename: str
    bpmn_xml: str
    dmn_xml: dict
    forms: dict


@dataclass
class _Before:
    """What an instance looked like before a step: ready user task ids, waiting timers (id -> due) and what the
    database holds of its state (a store.Saved)."""

    ready: set
    timers: dict
    saved: store.Saved = None

    @classmethod
    def of(cls, workflow, saved):
        return cls(
            {str(t.id) for t in _ready_user_tasks(workflow, ordered=False)},
            {t.task_id: t.due_at for t in _waiting_timers(workflow)},
            saved,
        )


class Engine:
    """The only object that drives SpiffWorkflow. Every method runs inside the caller's transaction."""

    def __init__(self, helpers=None, cache_size=512):
        # decision tables of diagrams that read a few plain variables answer from a memo (see table_memo)
        self.specs = SpecCache(lambda spec, subprocess_specs: table_memo.memoize(spec, subprocess_specs, helpers or {}))
        self.live = _Lru(cache_size)
        self.script_engine = make_script_engine(helpers or {})
        self.decisions = Decisions(self.script_engine)
        self._definitions = {}
        self._instance_definitions = _Lru(100_000)

    # ------------------------------------------------------------ public operations

    def start(self, definition_id, data):
        """Create an instance of definition version `definition_id` with `data`, run it to its first wait."""
        definition = self._definition(definition_id)
        spec, subprocess_specs = self.specs.get(definition)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        workflow.task_tree.data.update(data)
        finished = self._advance(workflow, lambda: None, compact_above=COMPACT_ON_LOAD_ABOVE)
        completed = workflow.is_completed()
        instance_id, saved = store.insert_instance(
            definition.id, workflow, "completed" if completed else "running", now())
        step = self._step(instance_id, 1, workflow, finished, completed, _Before(set(), {}))
        self._sync_timers(step, {})
        self._keep_after_commit(instance_id, 1, workflow, step, saved)
        self._instance_definitions.put(instance_id, definition.id)
        self._start_queued()
        return step

    def start_later(self, name, data):
        """Queue an instance of the newest version of process `name` with `data`; it is started (run to its first
        wait) right after the step that queued it is saved, in the same transaction. For a capability a diagram
        calls (e.g. the close starting the satisfaction survey). ProcessError when `name` is not deployed."""
        definition_id = latest_definition_id(name)
        if definition_id is None:
            raise ProcessError(f"process {name!r} is not deployed")
        db.session.info.setdefault("engine_start_queue", []).append((definition_id, dict(data or {})))

    def _start_queued(self):
        """Start the instances queued by `start_later` in this transaction (each on the version that was newest
        when it was queued, in this same transaction); return their Steps."""
        queue = db.session.info.pop("engine_start_queue", None) or []
        return [self.start(definition_id, data) for definition_id, data in queue]

    def complete_task(self, instance_id, task_id, data, *, expected_version=None):
        """Complete ready user task `task_id` with `data` and run on; Conflict if it is no longer ready."""
        workflow, version, before = self._load(instance_id, expected_version)
        task = _find_task(workflow, task_id)
        if task is None or not task.task_spec.manual or task.state != TaskState.READY:
            self.live.put((instance_id, version), (workflow, before))  # untouched: keep it warm
            raise Conflict("This task is no longer open.")

        data_before = dict(task.data)

        def run():
            task.data.update(data)
            task.run()
            finished.append(_finished(task, data_before))

        finished = []
        self._advance(workflow, run, finished)
        return self._save(instance_id, version, workflow, finished, before)

    def fire_timers(self, instance_id):
        """Refresh lapsed timers of the instance and run what they release; return the Step."""
        workflow, version, before = self._load(instance_id)
        finished = self._advance(workflow, workflow.refresh_timers)
        return self._save(instance_id, version, workflow, finished, before)

    def send_message(self, instance_id, name, payload):
        """Deliver BPMN message `name` with `payload` to the instance and run on; Conflict if it is not waiting for it."""
        workflow, version, before = self._load(instance_id)
        waiting = _waiting_for_message(workflow, name)
        definition = waiting.task_spec.event_definition if waiting is not None else _triggers(workflow).get(name)
        if definition is None:
            self.live.put((instance_id, version), (workflow, before))  # untouched: keep it warm
            raise Conflict(f"The process is not waiting for the message '{name}'.")

        def deliver():
            send_message_event(workflow, definition, payload)

        finished = self._advance(workflow, deliver)
        return self._save(instance_id, version, workflow, finished, before)

    def update_variables(self, instance_id, values, *, hold=None):
        """Set process variables `values` in every unfinished task and run on; a waiting date timer whose
        expression reads a changed variable is evaluated again (it moves). `hold` (a set of variable names)
        replaces the held ones: a date timer reading a held variable does not fire until it is released
        (`hold=()` releases all, and those timers are evaluated again). Returns the Step."""
        workflow, version, before = self._load(instance_id)
        finished = self._advance(workflow, lambda: retime.apply(workflow, dict(values), hold))
        return self._save(instance_id, version, workflow, finished, before)

    def waiting_messages(self, instance_id):
        """Names of the messages the instance is waiting for right now: its waiting message events and the messages
        that start one of its event subprocesses (callers refuse them for a finished ticket)."""
        workflow, version, before = self._load(instance_id)
        try:
            return sorted({
                t.task_spec.event_definition.name
                for t in workflow.event_manager.tasks.values()
                if isinstance(t.task_spec.event_definition, MessageEventDefinition)
            } | set(_triggers(workflow)))
        finally:
            self.live.put((instance_id, version), (workflow, before))

    def message_schema(self, instance_id, name):
        """The JSON Schema of message `name`'s payload as the instance's version deploys it (the form the catching
        event names, else `<name>.json`; see definitions.message_form), or None when it has none."""
        workflow, version, before = self._load(instance_id)
        try:
            form = message_form(name, message_catcher(workflow, name))
        finally:
            self.live.put((instance_id, version), (workflow, before))
        return (self.definition_of(instance_id).forms or {}).get(form)

    def task_data(self, instance_id, task_id):
        """Return the data a ready task would show in its form."""
        workflow, version, before = self._load(instance_id)
        try:
            task = _find_task(workflow, task_id)
            return dict(task.data) if task else {}
        finally:
            self.live.put((instance_id, version), (workflow, before))

    def process_data(self, instance_id):
        """The process variables as the most recently changed unfinished task holds them."""
        workflow, version, before = self._load(instance_id)
        try:
            return current_data(workflow)
        finally:
            self.live.put((instance_id, version), (workflow, before))

    def definition_of(self, instance_id):
        """The ProcessDefinition row an instance runs on (cached: an instance never changes version)."""
        definition_id = self._instance_definitions.get(instance_id)
        if definition_id is None:
            definition_id = _READ_DEFINITION_ID.scalar({"instance_id": instance_id})
            if definition_id is None:
                raise NotFound(f"Process instance {instance_id} does not exist.")
            self._instance_definitions.put(instance_id, definition_id)
        return self._definition(definition_id)

    def definition_forms(self, definition_id):
        """The forms deployed with definition version `definition_id` ({file name: JSON Schema})."""
        return self._definition(definition_id).forms

    def form(self, instance_id, name):
        """The JSON Schema `name` as deployed with the instance's definition version."""
        return (self.definition_of(instance_id).forms or {}).get(name)

    def decide(self, decision_id, data):
        """The outputs of the newest deployed decision table `decision_id` for `data` (first matching rule; {} when
        none matches), or None when no deployed version has that table. DecisionError when it cannot be evaluated."""
        return self.decisions.decide(decision_id, data)

    def evaluate(self, expression, data):
        """Evaluate a diagram expression (a task property) against `data` in the sandbox."""
        return self.script_engine.environment.evaluate(expression, data)  # the sandbox leaves `data` as it is

    # ------------------------------------------------------------ internals

    def _advance(self, workflow, action, finished=None, *, compact_above=0):
        return advance(workflow, action, finished, compact_above=compact_above)

    def _load(self, instance_id, expected_version=None):
        """The live workflow at the instance's current version, its version and what it looked like.

        `expected_version` is the version the caller read in this transaction; a cached workflow at that version
        is used without another read (the guarded save still refuses a step someone else took meanwhile).
        """
        if expected_version is not None:
            cached = self.live.take((instance_id, expected_version))
            if cached is not None:
                return cached[0], expected_version, cached[1]
        row = _READ_HEAD.first({"instance_id": instance_id})
        if row is None:
            raise NotFound(f"Process instance {instance_id} does not exist.")
        if expected_version is not None and row.version != expected_version:
            raise Conflict("The process moved on; reload and try again.")
        cached = self.live.take((instance_id, row.version))
        if cached is not None:
            workflow, before = cached
        else:
            spec, subprocess_specs = self.specs.get(self._definition(row.definition_id))
            workflow, saved = store.load(instance_id, row.version, row.serializer_version, spec,
                                         subprocess_specs, self.script_engine)
            if _task_count(workflow) > COMPACT_ON_LOAD_ABOVE:
                compact(workflow)  # a state saved before compaction existed may be too deep to step through
            before = _Before.of(workflow, saved)
        return workflow, row.version, before

    def _definition(self, definition_id):
        definition = self._definitions.get(definition_id)
        if definition is None:
            row = db.session.get(ProcessDefinition, definition_id)
            definition = self._definitions[definition_id] = DefinitionInfo(
                id=row.id, name=row.name, version=row.version, content_hash=row.content_hash,
                filename=row.filename, bpmn_xml=row.bpmn_xml, dmn_xml=dict(row.dmn_xml), forms=dict(row.forms),
            )
        return definition

    def _save(self, instance_id, version, workflow, finished, before):
        completed = workflow.is_completed()  # writes into the workflow: call before serializing
        saved = store.save(instance_id, version, workflow, before.saved, "completed" if completed else "running",
                           now())
        step = self._step(instance_id, version + 1, workflow, finished, completed, before)
        self._sync_timers(step, before.timers)
        self._keep_after_commit(instance_id, version + 1, workflow, step, saved)
        self._start_queued()
        return step

    def _step(self, instance_id, version, workflow, finished, completed, before):
        return Step(
            instance_id=instance_id,
            version=version,
            completed=completed,
            ready=[_ready(t) for t in _ready_user_tasks(workflow)],
            finished=finished,
            timers=_waiting_timers(workflow),
            previously_ready=before.ready,
        )

    def _sync_timers(self, step, existing):
        """Make the timers table match the step's waiting timers; `existing` maps task id -> due time."""
        wanted = {t.task_id: t for t in step.timers}
        stale = [tid for tid, due in existing.items() if tid not in wanted or due != wanted[tid].due_at]
        if stale:
            _DELETE_TIMER.executemany([{"instance_id": step.instance_id, "task_id": tid} for tid in stale])
        fresh = [
            {"instance_id": step.instance_id, "task_id": t.task_id, "name": t.name, "due_at": t.due_at}
            for tid, t in wanted.items()
            if tid not in existing or tid in stale
        ]
        if fresh:
            _INSERT_TIMERS.executemany(fresh)

    def _keep_after_commit(self, instance_id, version, workflow, step, saved):
        if step.completed:
            return  # a finished instance takes no more steps: do not let it crowd the cache
        entry = (workflow, _Before({t.id for t in step.ready}, {t.task_id: t.due_at for t in step.timers}, saved))
        db.session.info.setdefault("engine_live", []).append((self, (instance_id, version), entry))


def advance(workflow, action, finished=None, *, compact_above=0):
    """Run `action` then every engine step it releases; return the finished tasks in order.

    SpiffWorkflow errors become ProcessError; finished rounds of loops are dropped afterwards (compaction) when the
    tree then holds more than `compact_above` tasks.
    """
    finished = [] if finished is None else finished
    before = {}

    def will_complete(task):
        before[task] = dict(task.data)  # keyed by the task itself: a UUID hashes in Python code

    def did_complete(task):
        finished.append(_finished(task, before.pop(task, {})))

    try:
        action()
        workflow.do_engine_steps(will_complete_task=will_complete, did_complete_task=did_complete)
        retime.hold_new_timers(workflow)
    except SpiffWorkflowException as exc:
        raise ProcessError(_describe(exc)) from exc
    if _task_count(workflow) > compact_above:
        compact(workflow)  # drop finished rounds: the state stays bounded whatever the number of loops
    return finished


def _waiting_for_message(workflow, name):
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            return task
    return None


def current_data(workflow):
    """The process variables as the most recently changed unfinished task holds them (a copy)."""
    tasks = [t for flow in (workflow, *workflow.subprocesses.values()) for t in flow.tasks.values()
             if t.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED)]
    latest = max(tasks, key=lambda t: t.last_state_change, default=None)
    return dict(latest.data) if latest is not None else dict(workflow.data)


def send_message_event(workflow, definition, payload):
    """Deliver message `definition` with `payload` to the workflow (a waiting event, or an event subprocess's
    start; see definitions._prepare_triggers).

    An event subprocess started by the message sees the process variables as they are now: SpiffWorkflow would
    start it with the data the process started with (its trigger hangs under the process's start task), so the
    start task takes the current variables first."""
    if _waiting_for_message(workflow, definition.name) is None:
        data = current_data(workflow)
        for task in workflow.tasks.values():
            if task.task_spec is workflow.spec.start:
                task.data.update(data)
    workflow.send_event(BpmnEvent(definition, payload=payload))


def _triggers(workflow):
    """{message name: its event definition} of the message start events of the top process's event subprocesses
    (SpiffWorkflow starts such a subprocess when the message arrives; it does not wait for it as a task)."""
    found = {}
    for name in workflow.spec.start.trigger_specs:
        spec = workflow.subprocess_specs.get(name)
        for start in getattr(spec, "bpmn_start_events", ()) or ():
            definition = start.event_definition
            if isinstance(definition, MessageEventDefinition):
                found.setdefault(definition.name, definition)
    return found


def message_catcher(workflow, name):
    """The spec of the event that catches message `name` now (a waiting event, or an event subprocess's message
    start event), or None."""
    waiting = _waiting_for_message(workflow, name)
    if waiting is not None:
        return waiting.task_spec
    for trigger in workflow.spec.start.trigger_specs:
        spec = workflow.subprocess_specs.get(trigger)
        for start in getattr(spec, "bpmn_start_events", ()) or ():
            definition = start.event_definition
            if isinstance(definition, MessageEventDefinition) and definition.name == name:
                return start
    return None


def _find_task(workflow, task_id):
    """The task `task_id` of the workflow or of one of its subprocesses, or None (not an id, or gone: compaction
    drops finished tasks)."""
    try:
        task_id = UUID(str(task_id))
    except ValueError:
        return None
    task = workflow.tasks.get(task_id)
    if task is None:
        for subprocess in workflow.subprocesses.values():
            task = subprocess.tasks.get(task_id)
            if task is not None:
                break
    return task


def _ready_user_tasks(workflow, ordered=True):
    """The ready user tasks, as `workflow.get_tasks(state=READY, manual=True)` lists them (`ordered=False`: in any
    order).

    A scan of the task maps finds them without walking the tree; with two or more, the tree walk gives their order.
    """
    found = [t for t in workflow.tasks.values() if t._state == TaskState.READY and t.task_spec.manual]
    for sub in workflow.subprocesses.values():
        found.extend(t for t in sub.tasks.values() if t._state == TaskState.READY and t.task_spec.manual)
    return found if len(found) < 2 or not ordered else workflow.get_tasks(state=TaskState.READY, manual=True)


def _ready(task):
    spec = task.task_spec
    properties = dict((getattr(spec, "extensions", {}) or {}).get("properties", {}))
    return ReadyTask(
        id=str(task.id),
        name=spec.bpmn_id or spec.name,
        title=spec.bpmn_name or spec.bpmn_id or spec.name,
        lane=spec.lane,
        form=properties.get(FORM_PROPERTY),
        properties=properties,
        data=task.data,
    )


def _finished(task, before):
    spec = task.task_spec
    event_definition = getattr(spec, "event_definition", None)
    data = task.data
    return FinishedTask(
        task.id,
        getattr(spec, "bpmn_id", None) or spec.name,
        getattr(spec, "bpmn_name", None) or "",
        type(spec).__name__,
        isinstance(event_definition, TimerEventDefinition),
        data,
        {} if data == before else {k: v for k, v in data.items() if k not in before or before[k] != v},
    )


def _waiting_timers(workflow):
    timers = []
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        if not isinstance(definition, TimerEventDefinition) or task.state != TaskState.WAITING:
            continue
        value = definition.details(task).value
        if not value or value == retime.HELD_UNTIL:
            continue  # not armed yet, or held while a clock pauses (see retime.py)
        due = datetime.fromisoformat(value)
        attached = [str(c.id) for c in (task.parent.children if task.parent else []) if c.task_spec.manual]
        timers.append(
            WaitingTimer(task_id=str(task.id), name=task.task_spec.bpmn_id or "", due_at=as_utc(due), attached_to=attached)
        )
    return timers


def _describe(exc):
    parts = [str(exc.args[0]) if exc.args else type(exc).__name__]
    task_spec = getattr(getattr(exc, "task", None), "task_spec", None)
    if task_spec is not None:
        parts.insert(0, f"{getattr(task_spec, 'bpmn_id', None) or task_spec.name}:")
    return " ".join(parts)


@event.listens_for(Session, "after_commit")
def _return_live_workflows(session):
    for engine, key, workflow in session.info.pop("engine_live", []):
        engine.live.put(key, workflow)


@event.listens_for(Session, "after_rollback")
def _drop_live_workflows(session):
    session.info.pop("engine_live", None)
    session.info.pop("engine_start_queue", None)
