"""Move a running instance to another deployed version of its process, where that is safe.

SpiffWorkflow 3.2's `diff_workflow` aligns the instance's tasks with the new version's task specs (by BPMN id,
then by structure) and lists the tasks whose spec was removed or changed; `migrate_workflow` swaps the specs
and resets the branches at the ready and waiting tasks so they are predicted again from the new diagram. The
library leaves "is it safe?" to its users; the rules here (`blockers`):

- a task that holds a token (ready, waiting, started) whose element was removed: the ticket would be lost;
- a completed or started task whose element changed (anything but where its flows lead: a completed task's
  outgoing flows may be rewired, the token has passed it); a changed subprocess that was removed;
- a ready user task that changed (its title, lane, form or assignment): its open task row would not match it;
  a waiting event other than a timer that changed (a message it waits for may be renamed).

The tree forgets the finished rounds of loops (compaction), so the caller also names the elements the instance
completed by its own records (the ticket's completed task rows, its fired timers).

A waiting timer may change (e.g. a 30-minute acceptance window becoming 15): the moved instance keeps the due
time it was armed with (the reset would arm it again from now; `migrate` puts its data back), the new value
applies the next time it is armed. Predicted (future) tasks may change or go: they are predicted again.
"""
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from sqlalchemy import bindparam, update

from app.clock import now
from app.errors import Conflict
from app.extensions import db

from . import store
from .models import ProcessInstance
from .serializer import SERIALIZER

REWIRING = {"inputs", "outputs"}  # what may change on a task a token has passed
_TOKEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


@dataclass(frozen=True)
class Blocker:
    """Why an instance cannot move: `reason` is one of removed_token, removed_completed, changed_completed,
    changed_started, changed_ready, changed_waiting, subprocess_removed, unaligned; `element` the BPMN id."""

    reason: str
    element: str
    name: str

    def as_dict(self):
        return {"reason": self.reason, "element": self.element, "name": self.name}


def _element(task):
    spec = task.task_spec
    return getattr(spec, "bpmn_id", None) or spec.name, getattr(spec, "bpmn_name", None) or ""


def _is_timer(task):
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


def _flow_blockers(diff, changes):
    """The Blockers of one (sub)workflow's WorkflowDiff; `changes` maps old spec -> changed attribute names."""
    found = []
    for task in diff.removed:
        if task.has_state(_TOKEN):
            found.append(Blocker("removed_token", *_element(task)))
        elif task.has_state(TaskState.COMPLETED | TaskState.CANCELLED):
            found.append(Blocker("removed_completed", *_element(task)))
    for task in diff.changed:
        changed = set(changes.get(task.task_spec, ()))
        if task.has_state(TaskState.COMPLETED | TaskState.CANCELLED) and changed - REWIRING:
            found.append(Blocker("changed_completed", *_element(task)))
        elif task.has_state(TaskState.STARTED | TaskState.ERROR):
            found.append(Blocker("changed_started", *_element(task)))
        elif task.has_state(TaskState.READY) and task.task_spec.manual and changed - REWIRING:
            found.append(Blocker("changed_ready", *_element(task)))
        elif task.has_state(TaskState.WAITING) and not _is_timer(task) and changed - REWIRING:
            found.append(Blocker("changed_waiting", *_element(task)))
    return found


def _diffs(workflow, spec, subprocess_specs):
    """(top WorkflowDiff, {subprocess id: WorkflowDiff or None})."""
    return diff_workflow(SERIALIZER.registry, workflow, spec, subprocess_specs)


def _changed_attributes(diff):
    """{old task spec: [changed attribute names]} of the tasks a WorkflowDiff lists as changed."""
    return {task.task_spec: _compare(task.task_spec, diff.alignment.get(task)) for task in diff.changed}


def _compare(old, new):
    if new is None:
        return []
    first, second = SERIALIZER.registry.convert(old), SERIALIZER.registry.convert(new)
    if first.get("typename") != second.get("typename"):
        return ["typename"]
    return [key for key, value in first.items() if second.get(key) != value]


def _recorded_blockers(workflow, spec, completed):
    """Blockers for the elements the instance completed by its own record (`completed`: BPMN ids; compaction
    drops the finished rounds of loops from the tree, so the tree alone forgets them)."""
    spec_diff = SpecDiff(SERIALIZER.registry, workflow.spec, spec)
    removed = {s.name for s in spec_diff.removed}
    changed = {s.name: set(attrs) for s, attrs in spec_diff.changed.items()}
    found = []
    for element in sorted(set(completed)):
        old = workflow.spec.task_specs.get(element)
        if old is None:
            continue
        label = (element, getattr(old, "bpmn_name", None) or "")
        if element in removed:
            found.append(Blocker("removed_completed", *label))
        elif changed.get(element, set()) - REWIRING:
            found.append(Blocker("changed_completed", *label))
    return found


def blockers(workflow, spec, subprocess_specs, completed=()):
    """Why `workflow` cannot move to `spec` (with `subprocess_specs`): a list of Blockers, empty when it can.
    `completed` names further elements (BPMN ids) the instance completed, from the caller's records."""
    top, subs = _diffs(workflow, spec, subprocess_specs)
    found = _flow_blockers(top, _changed_attributes(top)) + _recorded_blockers(workflow, spec, completed)
    for sub_id, diff in subs.items():
        sub = workflow.subprocesses[sub_id]
        if diff is None:
            if not sub.is_completed():
                found.append(Blocker("subprocess_removed", sub.spec.name, sub.spec.description or ""))
            continue
        found.extend(_flow_blockers(diff, _changed_attributes(diff)))
    return _unique(found)


def _unique(found):
    seen, result = set(), []
    for blocker in found:
        if blocker not in seen:
            seen.add(blocker)
            result.append(blocker)
    return result


def _kept(workflow):
    """{task id: (data, internal data)} of the tasks the migration resets (ready and waiting ones), to put back."""
    kept = {}
    for flow in (workflow, *workflow.subprocesses.values()):
        for task in flow.get_tasks(state=TaskState.READY | TaskState.WAITING, skip_subprocesses=True):
            kept[task.id] = (task.task_spec.name, task.state, dict(task.data), dict(task.internal_data))
    return kept


def migrate(workflow, spec, subprocess_specs, completed=()):
    """Move `workflow` to `spec` in place, after `blockers` found nothing (Conflict naming the first otherwise).

    The ready and waiting tasks keep their ids, data and internal data (a waiting timer its due time); tasks
    predicted from the old diagram are predicted again from the new one."""
    found = blockers(workflow, spec, subprocess_specs, completed)
    if found:
        raise MigrationRefused(found)
    kept = _kept(workflow)
    top, subs = _diffs(workflow, spec, subprocess_specs)
    migrate_workflow(top, workflow, spec)
    for sub_id, diff in subs.items():
        if diff is not None:
            migrate_workflow(diff, workflow.subprocesses[sub_id], subprocess_specs[workflow.subprocesses[sub_id].spec.name])
    workflow.subprocess_specs = dict(subprocess_specs)
    for flow in (workflow, *workflow.subprocesses.values()):
        for task in flow.tasks.values():
            before = kept.get(task.id)
            if before is not None and before[0] == task.task_spec.name and task.state == before[1]:
                task.data, task.internal_data = before[2], before[3]
    _check_aligned(workflow, spec, subprocess_specs)


def _check_aligned(workflow, spec, subprocess_specs):
    """Every task of the moved workflow runs on a spec of the new version (MigrationRefused otherwise)."""
    stray = []
    for flow in (workflow, *workflow.subprocesses.values()):
        specs = set(map(id, flow.spec.task_specs.values()))
        stray.extend(Blocker("unaligned", *_element(t)) for t in flow.tasks.values() if id(t.task_spec) not in specs)
    if stray:
        raise MigrationRefused(_unique(stray))


class MigrationRefused(Conflict):
    """The instance cannot move to the version; `blockers` says why (nothing was changed in the database)."""

    def __init__(self, found):
        super().__init__("; ".join(f"{b.reason}: {b.element}" for b in found))
        self.blockers = found


# ------------------------------------------------------------------ on stored instances

_SET_DEFINITION = update(ProcessInstance.__table__).where(
    ProcessInstance.__table__.c.id == bindparam("instance_id")).values(definition_id=bindparam("definition_id"))


def check_instance(engine, instance_id, definition_id, completed=()):
    """The Blockers that keep stored instance `instance_id` from moving to definition version `definition_id`
    (`completed`: see `blockers`)."""
    workflow, version, before = engine._load(instance_id)
    try:
        spec, subprocess_specs = engine.specs.get(engine._definition(definition_id))
        return blockers(workflow, spec, subprocess_specs, completed)
    finally:
        engine.live.put((instance_id, version), (workflow, before))  # untouched: keep it warm


def move_instance(engine, instance_id, definition_id, completed=()):
    """Move stored instance `instance_id` to definition version `definition_id` in the caller's transaction:
    its state is written whole (a snapshot) at the next version, its definition id changes, its waiting timers
    keep their rows and due times. Returns the engine Step (the same ready tasks and timers as before).
    MigrationRefused (nothing written) when it is not safe; Conflict when someone stepped it meanwhile."""
    workflow, version, before = engine._load(instance_id)
    spec, subprocess_specs = engine.specs.get(engine._definition(definition_id))
    migrate(workflow, spec, subprocess_specs, completed)  # the workflow came out of the cache: a refusal just drops it
    completed = workflow.is_completed()
    saved = store.save(instance_id, version, workflow, None, "completed" if completed else "running", now())
    db.session.execute(_SET_DEFINITION, {"instance_id": instance_id, "definition_id": definition_id})
    engine._instance_definitions.take(instance_id)
    step = engine._step(instance_id, version + 1, workflow, [], completed, before)
    engine._sync_timers(step, before.timers)
    engine._keep_after_commit(instance_id, version + 1, workflow, step, saved)
    return step
