"""Instance state as JSON without the spec: the spec is stored once per definition version.

SpiffWorkflow's upgrade migrations expect the full dict, so the serializer version is recorded per
instance and SpiffWorkflow is pinned in requirements.txt.
"""
import json
import threading

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
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
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _uuid(value):
    from uuid import UUID

    return UUID(value)


def _make_serializer():
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _make_serializer()
SERIALIZER_VERSION = SERIALIZER.VERSION
_ENCODER_LOCK = threading.Lock()  # the registry's encoder mode is shared state


def dump_state(workflow):
    """Return the instance state as a JSON string (no spec inside)."""
    with _ENCODER_LOCK:
        SERIALIZER.registry._encoder_mode = True
        try:
            return json.dumps(SERIALIZER.to_dict(workflow), cls=SERIALIZER._encoder_cls, separators=(",", ":"))
        finally:
            SERIALIZER.registry._encoder_mode = False


def load_state(state, serializer_version, spec, subprocess_specs, script_engine):
    """Rebuild a live workflow from `state` and the already-parsed specs of its definition version."""
    dct = json.loads(state, cls=SERIALIZER.json_decoder_cls)
    dct[SERIALIZER.VERSION_KEY] = serializer_version
    SERIALIZER.migrate(dct)
    dct["spec"] = spec
    dct["subprocess_specs"] = subprocess_specs
    workflow = SERIALIZER.from_dict(dct)
    workflow.script_engine = script_engine
    return workflow
