"""Instance state as JSON without the spec: the spec is stored once per definition version.

SpiffWorkflow's upgrade migrations expect the full dict, so the serializer version is recorded per
instance and SpiffWorkflow is pinned in requirements.txt.

`dump_state` runs after every step. It writes exactly the text of SpiffWorkflow's generic serializer
(`_generic_dump`), but assembles it directly when the state holds only plain JSON values; anything else
sends the whole workflow through the generic serializer.
"""
import json
import threading
from copy import copy
from typing import NamedTuple
from json.encoder import encode_basestring_ascii
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter, BpmnWorkflowConverter, TaskConverter, WorkflowConverter,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState


# A state names each task id about three times (the task, its parent's children, its children's parent), and UUID()
# is Python code: ids are parsed once per text. A UUID is immutable, so the tasks may share one.
_UUIDS = {}


def _uuid(text):
    """UUID(text), the same object for the same text while the memo holds it."""
    found = _UUIDS.get(text)
    if found is None:
        if len(_UUIDS) >= _TEXTS_MAX:
            _UUIDS.clear()
        found = _UUIDS[text] = UUID(text)
    return found


class _IdsParsedOnce:
    """A (sub)workflow converter whose task maps restore their keys through the memo."""

    def mapping_from_dict(self, mapping, key_class=None, **kwargs):
        if key_class is not UUID:
            return super().mapping_from_dict(mapping, key_class, **kwargs)
        restore = self.registry.restore
        return {_uuid(k): restore(v, **kwargs) for k, v in mapping.items()}


class TaskRestorer(TaskConverter):
    """SpiffWorkflow's TaskConverter restoring the same task with less work: ids through the memo, the parent's data
    copied by a comprehension that does what `DeepMerge.merge({}, parent.data)` does (each key once, a dict, list or
    set value shallow-copied), not copied at all when the delta deletes every key of it, and no restore walk for
    empty internal data. tests/unit/test_restore.py holds restored workflows to SpiffWorkflow's own."""

    def from_dict(self, dct, workflow):
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"]))
        task._parent = _uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        internal = dct["internal_data"]
        task.internal_data = {} if internal.__class__ is dict and not internal else self.registry.restore(internal)
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)

        delta = dct.get("delta")
        parent = task.parent if delta else None
        if parent is not None:
            updates, deletions = delta.get("updates", {}), delta.get("deletions", {})
            if not updates and deletions.__class__ is list and deletions == list(parent.data):
                data = {}  # every key of the parent's deleted (a predicted task: the serializer writes it so)
            else:
                data = {key: copy(value) if isinstance(value, (dict, list, set)) else value
                        for key, value in parent.data.items()}
                data.update(self.registry.restore(updates))
                for key in deletions:
                    if key in data:
                        del data[key]
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


class SubWorkflowRestorer(_IdsParsedOnce, BpmnSubWorkflowConverter):
    """SpiffWorkflow's subprocess converter, its task ids parsed once per text."""


class SpeclessWorkflowConverter(_IdsParsedOnce, BpmnWorkflowConverter):
    """Leaves `spec` and `subprocess_specs` out; on restore the caller puts the parsed spec objects back."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        spec = dct.pop("spec")
        subprocess_specs = dct.pop("subprocess_specs", {})
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer(subworkflow_converter=None, task_converter=None):
    """SpiffWorkflow's serializer with the specless workflow converter, and by default this module's restorers
    (tests pass SpiffWorkflow's own converters to compare)."""
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    config[BpmnSubWorkflow] = subworkflow_converter or SubWorkflowRestorer
    config[Task] = task_converter or TaskRestorer
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()
SERIALIZER_VERSION = SERIALIZER.VERSION
_ENCODER_LOCK = threading.Lock()  # the registry's encoder mode is shared state


def dump_state(workflow):
    """Return the instance state as a JSON string (no spec inside): the very text of `_generic_dump(workflow)`."""
    state = _fast_dump(workflow)
    return _generic_dump(workflow) if state is None else state


def _generic_dump(obj):
    """What SpiffWorkflow's registry writes for `obj` (a workflow, or a part of one); `_fast_dump` is held to it."""
    with _ENCODER_LOCK:
        SERIALIZER.registry._encoder_mode = True
        try:
            return json.dumps(SERIALIZER.to_dict(obj), cls=SERIALIZER._encoder_cls, separators=(",", ":"))
        finally:
            SERIALIZER.registry._encoder_mode = False


def load_state(state, serializer_version, spec, subprocess_specs, script_engine):
    """Rebuild a live workflow from `state` and the already-parsed specs of its definition version."""
    return load_dict(json.loads(state), serializer_version, spec, subprocess_specs, script_engine)


def load_dict(dct, serializer_version, spec, subprocess_specs, script_engine):
    """Rebuild a live workflow from the parsed state `dct` (consumed) and the parsed specs of its definition."""
    dct[SERIALIZER.VERSION_KEY] = serializer_version
    SERIALIZER.migrate(dct)
    dct["spec"] = spec
    dct["subprocess_specs"] = subprocess_specs
    workflow = SERIALIZER.from_dict(dct)
    workflow.script_engine = script_engine
    return workflow


# ---------------------------------------------------------------- the direct path

class _NotPlain(Exception):
    """The state holds a value only the generic serializer knows how to write."""


def _refuse(value):
    raise _NotPlain(type(value).__name__)


# Plain JSON values pass as they are; the generic path converts or drops anything else (datetime, UUID, set,
# callables, BPMN events), so this encoder refuses it. NaN and infinities are refused too: the `==` shortcut
# on task data in _tasks_json is exact only without them.
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_refuse).encode

# Task ids and timestamps come back at every step, and writing them is Python code (UUID.__str__,
# float.__repr__), so their texts are kept by value, the ids by uuid.int since UUID.__hash__ is Python code too.
_UUID_TEXTS = {}
_FLOAT_TEXTS = {}
_DELETIONS = {}  # the delta text of an empty task under a parent with these keys (predicted tasks hold no data)
_TEXTS_MAX = 1 << 14  # each memo is emptied when it reaches this size: both hold a few MB at most


def _remember(texts, key, text):
    if len(texts) >= _TEXTS_MAX:
        texts.clear()
    texts[key] = text
    return text


def _uuid_json(value):
    """JSON text of str(value), as the generic path writes ids."""
    if value.__class__ is not UUID:
        raise _NotPlain(type(value).__name__)
    text = _UUID_TEXTS.get(value.int)
    if text is None:
        text = _remember(_UUID_TEXTS, value.int, f'"{value}"')  # hex digits and dashes: nothing to escape
    return text


def _float_json(value):
    """JSON text of a finite float, as the encoder writes it."""
    text = _FLOAT_TEXTS.get(value)
    if text is None:
        text = float.__repr__(value)
        if value:  # 0.0 == -0.0, but they are written differently
            _remember(_FLOAT_TEXTS, value, text)
    return text


def _scalar_json(value):
    """JSON text of a workflow's flag or name."""
    if value.__class__ not in (str, int, bool, type(None)):
        raise _NotPlain(type(value).__name__)
    return _encode(value)


def _dict_json(value):
    return "{}" if value.__class__ is dict and not value else _encode(value)


_TASK_TYPENAME = json.dumps(SERIALIZER.registry.typenames[Task])
_SUBWORKFLOW_TYPENAME = json.dumps(SERIALIZER.registry.typenames[BpmnSubWorkflow])
_WORKFLOW_TYPENAME = json.dumps(SERIALIZER.registry.typenames[BpmnWorkflow])
_NO_DELTA = '{"updates":{},"deletions":[]}'

# The f-strings below spell out the dicts of SpeclessWorkflowConverter, BpmnSubWorkflowConverter,
# WorkflowConverter and TaskConverter in their key order, with the registry's typename last.


class Parts(NamedTuple):
    """The direct path's text of one (sub)workflow in pieces: what a delta compares and writes.

    `fields` are the texts of the workflow-level fields named by TOP_FIELDS (SUB_FIELDS for a subprocess),
    `tasks` maps each task's key (its id as JSON text) to its body, `subprocesses` maps keys to Parts.
    """

    fields: tuple
    tasks: dict
    subprocesses: dict


TOP_FIELDS = ("data", "correlations", "last_task", "success", "completed", "root", "bpmn_events")
SUB_FIELDS = ("data", "correlations", "last_task", "success", "completed", "root", "parent_task_id", "spec")


def _fast_dump(workflow):
    """The text `_generic_dump(workflow)` would return, or None when the state holds more than plain JSON."""
    parts = state_parts(workflow)
    return None if parts is None else assemble(parts)


def state_parts(workflow):
    """The Parts of `workflow`'s text, or None when the state holds more than plain JSON (see `assemble`)."""
    if workflow.__class__ is not BpmnWorkflow:
        return None
    try:
        subprocesses = {}
        for task_id, sub in workflow.subprocesses.items():
            if sub.__class__ is not BpmnSubWorkflow:
                return None
            fields, tasks = _workflow_parts(sub)
            subprocesses[_uuid_json(task_id)] = Parts(
                fields + (_uuid_json(sub.parent_task_id), _scalar_json(sub.spec.name)), tasks, {})
        events = workflow.bpmn_events
        # A finished process keeps the events it threw (a terminate end event leaves one): few and written once,
        # so the generic serializer writes them.
        events = "[]" if events.__class__ is list and not events else _generic_dump(events)
        fields, tasks = _workflow_parts(workflow)
        return Parts(fields + (events,), tasks, subprocesses)
    except (_NotPlain, ValueError):  # ValueError: NaN, an infinity or a circular reference
        return None


def assemble(parts):
    """The whole state's text from its Parts: exactly what `_generic_dump` writes for the workflow."""
    subprocesses = ",".join(f"{key}:{subprocess_text(sub)}" for key, sub in parts.subprocesses.items())
    return (f'{{{_workflow_text(parts.fields, parts.tasks)},"subprocesses":{{{subprocesses}}},'
            f'"bpmn_events":{parts.fields[6]},"typename":{_WORKFLOW_TYPENAME}}}')


def subprocess_text(sub):
    """The text of one subprocess entry (its value in the state's "subprocesses")."""
    return (f'{{{_workflow_text(sub.fields, sub.tasks)},"parent_task_id":{sub.fields[6]},'
            f'"spec":{sub.fields[7]},"typename":{_SUBWORKFLOW_TYPENAME}}}')


def _workflow_text(fields, tasks):
    """The fields of WorkflowConverter.to_dict in their order, from a (sub)workflow's Parts."""
    data, correlations, last_task, success, completed, root = fields[:6]
    body = ",".join(f"{key}:{text}" for key, text in tasks.items())
    return (f'"data":{data},"correlations":{correlations},"last_task":{last_task},"success":{success},'
            f'"completed":{completed},"tasks":{{{body}}},"root":{root}')


def _workflow_parts(workflow):
    """The texts of WorkflowConverter.to_dict's fields (clean() has nothing to drop where the encoder accepts the
    data) but the tasks, and the tasks' texts by key."""
    last_task = workflow.last_task
    return (
        _dict_json(workflow.data), _dict_json(workflow.correlations),
        _uuid_json(last_task.id) if last_task is not None else "null",
        _scalar_json(workflow.success), _scalar_json(workflow.completed), _uuid_json(workflow.task_tree.id),
    ), _tasks_parts(workflow.tasks)


def _tasks_parts(tasks):
    """TaskConverter.to_dict of each task by key: the root keeps its data, the others their delta to the parent's data."""
    out = {}
    for task_id, task in tasks.items():
        if task.__class__ is not Task:
            raise _NotPlain(type(task).__name__)
        changed, state, name, triggered = task.last_state_change, task.state, task.task_spec.name, task.triggered
        # SpiffWorkflow sets these types only; for them the f-string below writes what the encoder would.
        if not (changed.__class__ is float and changed - changed == 0.0 and state.__class__ is int
                and name.__class__ is str and triggered.__class__ is bool):  # (x - x == 0.0: finite)
            raise _NotPlain("a task field of an unexpected type")
        parent = task.parent
        if parent is None:
            data, delta = _dict_json(task.data), "{}"
        else:
            data, old, new = "{}", parent.data, task.data
            # Most tasks carry their parent's data unchanged. In plain JSON data without NaN, `==` finds no
            # difference exactly when the `!=` of DeepMerge.get_updated_keys finds none. A NaN or a foreign
            # value that is the very object in the parent's data was refused where it entered the state.
            if new == old:
                delta = _NO_DELTA
            elif not new:  # a predicted task holds no data: its delta deletes every key of its parent's
                keys = tuple(old)
                delta = _DELETIONS.get(keys)
                if delta is None:
                    delta = _remember(_DELETIONS, keys, f'{{"updates":{{}},"deletions":{_encode(list(keys))}}}')
            else:
                delta = _encode({
                    "updates": {key: value for key, value in new.items() if key not in old or value != old[key]},
                    "deletions": [key for key in old if key not in new],
                })
        key = _uuid_json(task_id)
        out[key] = (
            f'{{"id":{key if task.id is task_id else _uuid_json(task.id)},'
            f'"parent":{_uuid_json(task._parent) if parent is not None else "null"},'
            f'"children":[{",".join(map(_uuid_json, task._children))}],'
            f'"last_state_change":{_float_json(changed)},"state":{state},"task_spec":{encode_basestring_ascii(name)},'
            f'"triggered":{"true" if triggered else "false"},"internal_data":{_dict_json(task.internal_data)},'
            f'"data":{data},"delta":{delta},"typename":{_TASK_TYPENAME}}}'
        )
    return out
