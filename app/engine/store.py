"""Instance state in the database as a snapshot plus per-step deltas, guarded by the instance's version.

A step writes only what it changed: the tasks whose text changed (new ones included), the ids of the tasks
that left the tree, the workflow-level fields that changed, and the same for each subprocess. Every
SNAPSHOT_EVERY steps, when the state cannot be written the direct way, or when a delta would be larger than the
whole state, the step writes the whole state instead and drops the older deltas. Loading is the snapshot with
the later deltas applied in version order: the very dict a whole dump of the live workflow would give
(tests/unit/test_store.py holds it to that after every step of the diagram's paths).

What changed is found by comparing each task's text with the text written last time (kept with the live
workflow), not by guessing from state changes: SpiffWorkflow changes data and internal data of tasks whose
state stays the same (timers, message catches, data inheritance), and a task may be removed from the tree.
"""
import json
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import bindparam, delete, insert, select, update

from app.errors import Conflict
from app.fast_statements import FastStatement

from .models import InstanceDelta, ProcessInstance
from .serializer import (
    SERIALIZER_VERSION, SUB_FIELDS, TOP_FIELDS, Parts, _generic_dump, assemble, load_dict, state_parts,
    subprocess_text,
)

SNAPSHOT_EVERY = 10  # steps; a load reads at most this many deltas after the snapshot

_instances = ProcessInstance.__table__
_deltas = InstanceDelta.__table__

_INSERT_INSTANCE = FastStatement(insert(_instances).returning(_instances.c.id))
# SET comes from the parameters' keys; the WHERE is the version guard
_SAVE = FastStatement(update(_instances).where(
    _instances.c.id == bindparam("instance_id"), _instances.c.version == bindparam("expected_version")
))
_INSERT_DELTA = FastStatement(insert(_deltas))
_DROP_DELTAS = FastStatement(delete(_deltas).where(_deltas.c.instance_id == bindparam("instance_id")))
_READ_SNAPSHOT = FastStatement(select(_instances.c.state, _instances.c.snapshot_version, _instances.c.version).where(
    _instances.c.id == bindparam("instance_id")))
_READ_VERSION = FastStatement(select(_instances.c.version).where(_instances.c.id == bindparam("instance_id")))
_MOVED_ON = "The process moved on; reload and try again."
_READ_DELTAS = FastStatement(
    select(_deltas.c.version, _deltas.c.delta)
    .where(_deltas.c.instance_id == bindparam("instance_id"), _deltas.c.version > bindparam("after"))
    .order_by(_deltas.c.version)
)


@dataclass(frozen=True)
class Saved:
    """What the database holds of a live workflow: the Parts of the state it last wrote (None when that state
    went the generic way, or the workflow was loaded from the database: the next write is then a snapshot) and
    how many deltas follow the snapshot."""

    parts: Optional[Parts]
    deltas: int


@dataclass(frozen=True)
class Write:
    """One state write: a snapshot (`text` is the whole state) or a delta (`text` is what changed)."""

    snapshot: bool
    text: str
    saved: Saved


def plan_write(workflow, saved):
    """Decide what to write for `workflow` after a step, given what the database holds (`saved`, None for none)."""
    parts = state_parts(workflow)
    if parts is None:
        return Write(True, _generic_dump(workflow), Saved(None, 0))
    if saved is not None and saved.parts is not None and saved.deltas + 1 < SNAPSHOT_EVERY:
        text = delta_text(saved.parts, parts)
        if len(text) < _size(parts):
            return Write(False, text, Saved(parts, saved.deltas + 1))
    return Write(True, assemble(parts), Saved(parts, 0))


def delta_text(old, new):
    """JSON text of what changed from Parts `old` to Parts `new` (see `apply_delta`)."""
    members = _changes(old, new, TOP_FIELDS)
    changed, new_subs = [], new.subprocesses
    for key, sub in new_subs.items():
        before = old.subprocesses.get(key)
        if before is None:
            changed.append(f'{key}:{{"new":{subprocess_text(sub)}}}')
        elif before != sub:
            changed.append(f'{key}:{{{",".join(_changes(before, sub, SUB_FIELDS))}}}')
    if changed:
        members.append(f'"subprocesses":{{{",".join(changed)}}}')
    gone = [key for key in old.subprocesses if key not in new_subs]
    if gone:
        members.append(f'"removed_subprocesses":[{",".join(gone)}]')
    return f'{{{",".join(members)}}}'


def _changes(old, new, names):
    """The members of one (sub)workflow's change: fields, tasks (changed or new) and removed task keys."""
    members = []
    fields = [f'"{name}":{text}' for name, text, before in zip(names, new.fields, old.fields) if text != before]
    if fields:
        members.append(f'"fields":{{{",".join(fields)}}}')
    old_tasks, new_tasks, tasks, kept = old.tasks, new.tasks, [], 0
    for key, text in new_tasks.items():
        before = old_tasks.get(key)
        if before is not None:
            kept += 1
            if before == text:
                continue
        tasks.append(f"{key}:{text}")
    if tasks:
        members.append(f'"tasks":{{{",".join(tasks)}}}')
    if kept != len(old_tasks):  # some task left the tree
        members.append(f'"removed":[{",".join(key for key in old_tasks if key not in new_tasks)}]')
    return members


def _size(parts):
    """About the length of the whole state's text (a lower bound is enough to compare a delta with)."""
    return (sum(map(len, parts.tasks.values())) + sum(map(len, parts.fields))
            + sum(_size(sub) for sub in parts.subprocesses.values()))


def apply_delta(dct, delta):
    """Apply a parsed delta to the parsed state `dct` in place: `dct` becomes the state the delta was taken of."""
    _apply(dct, delta)
    subprocesses = dct["subprocesses"]
    for key, change in delta.get("subprocesses", {}).items():
        if "new" in change:
            subprocesses[key] = change["new"]
        else:
            _apply(subprocesses[key], change)
    for key in delta.get("removed_subprocesses", ()):
        del subprocesses[key]
    return dct


def _apply(dct, change):
    dct.update(change.get("fields", ()))
    tasks = dct["tasks"]
    tasks.update(change.get("tasks", ()))
    for key in change.get("removed", ()):
        del tasks[key]


# ------------------------------------------------------------------ the database

def insert_instance(definition_id, workflow, status, stamp):
    """Insert a new instance at version 1 with its whole state; return (instance id, Saved)."""
    write = plan_write(workflow, None)
    instance_id = _INSERT_INSTANCE.execute({
        "definition_id": definition_id,
        "state": write.text,
        "serializer_version": SERIALIZER_VERSION,
        "version": 1,
        "snapshot_version": 1,
        "status": status,
        "created_at": stamp,
        "updated_at": stamp,
    }).scalar_one()
    return instance_id, write.saved


def save(instance_id, version, workflow, saved, status, stamp):
    """Write the step that takes the instance from `version` to version + 1; return the new Saved.

    Conflict when the instance is no longer at `version` (someone else stepped it meanwhile).
    """
    write = plan_write(workflow, saved)
    head = {"instance_id": instance_id, "expected_version": version, "version": version + 1,
            "status": status, "updated_at": stamp}
    if write.snapshot:
        head.update(state=write.text, snapshot_version=version + 1, serializer_version=SERIALIZER_VERSION)
    if _SAVE.execute(head).rowcount != 1:
        raise Conflict("Someone else changed this process at the same time; reload and try again.")
    if not write.snapshot:
        _INSERT_DELTA.execute({"instance_id": instance_id, "version": version + 1, "delta": write.text})
    elif saved is None or saved.deltas:
        _DROP_DELTAS.execute({"instance_id": instance_id})  # all at or before the new snapshot
    return write.saved


def load(instance_id, version, serializer_version, spec, subprocess_specs, script_engine):
    """Rebuild the instance's live workflow at `version` from its snapshot and later deltas; return (workflow, Saved)."""
    dct, deltas = read_state(instance_id, version)
    workflow = load_dict(dct, serializer_version, spec, subprocess_specs, script_engine)
    # No Parts: the step after a load writes a snapshot. Taking this workflow's Parts to diff against costs more
    # than the snapshot saves: 0.25 ms of a 3.6 ms completion, where the shipped diagrams' deltas are 70-100 % of
    # the state's size. A workflow kept live after its step has its Parts and writes deltas.
    return workflow, Saved(None, deltas)


def read_state(instance_id, version):
    """The parsed state of the instance at `version` (snapshot plus deltas) and the number of deltas applied.

    Conflict when the instance is no longer at `version`: the caller's reads may run outside its write
    transaction (on SQLite the process steps before the first write takes the database's write lock), so
    another step may land between them. A chain of deltas broken otherwise is an error, never guessed around.
    """
    row = _READ_SNAPSHOT.first({"instance_id": instance_id})
    if row is None or row.version != version:
        raise Conflict(_MOVED_ON)
    dct = json.loads(row.state)
    deltas = _READ_DELTAS.execute({"instance_id": instance_id, "after": row.snapshot_version}).all()
    if [d.version for d in deltas] != list(range(row.snapshot_version + 1, version + 1)):
        if _READ_VERSION.scalar({"instance_id": instance_id}) != version:
            raise Conflict(_MOVED_ON)  # stepped between the two reads
        raise RuntimeError(f"Process instance {instance_id}: the deltas after snapshot {row.snapshot_version} "
                           f"do not lead to version {version}.")
    for delta in deltas:
        apply_delta(dct, json.loads(delta.delta))
    return dct, len(deltas)
