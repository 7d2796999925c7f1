"""One process instance run in memory, for scenario tests: no database row, no timer row, nothing sent.

It runs the same specs parsing, sandboxed script engine, engine steps and compaction as `Engine`, from the texts
of a diagram bundle (not from a deployed version), so a scenario exercises the real scripts, conditions, decision
tables and timer expressions. Time is whatever `app.clock.now()` answers (a scenario moves it).
"""
from dataclasses import dataclass

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.errors import Conflict

from .definitions import parse_specs
from .runtime import ReadyTask, WaitingTimer, _find_task, _finished, _ready, _ready_user_tasks, \
    _triggers, _waiting_for_message, _waiting_timers, advance, send_message_event
from .sandbox import make_script_engine


@dataclass(frozen=True)
class Model:
    """A diagram parsed once for any number of simulations."""

    process: str
    spec: object
    subprocess_specs: dict


def parse_model(bpmn_xml, dmn_xml, *, filename=""):
    """Parse a diagram and its decision tables (texts) into a Model; SpiffWorkflow's parse errors propagate."""
    process, spec, subprocess_specs = parse_specs(bpmn_xml, dmn_xml, filename=filename)
    return Model(process, spec, subprocess_specs)


class Simulation:
    """A process instance of a parsed diagram (`parse_model`) held in memory.

    `helpers` are the capabilities diagram code may call. `variables` are the process variables as a ticket
    mirrors them: the start data, then what each finished task changed, in order.
    """

    def __init__(self, model, *, helpers=None):
        self._spec, self._subprocess_specs = model.spec, model.subprocess_specs
        self._script_engine = make_script_engine(helpers or {})
        self.workflow = None
        self.variables = {}
        self.path = []  # ids of the finished tasks that are BPMN elements, in order

    # ------------------------------------------------------------ actions

    def start(self, data):
        """Start the instance with `data` and run it to its first wait."""
        self.workflow = BpmnWorkflow(self._spec, self._subprocess_specs, script_engine=self._script_engine)
        self.workflow.task_tree.data.update(data)
        self.variables = dict(data)
        self._record(advance(self.workflow, lambda: None))

    def complete(self, task_id, data):
        """Complete the ready user task `task_id` with `data` and run on."""
        task = _find_task(self.workflow, task_id)
        if task is None or not task.task_spec.manual or task.state != TaskState.READY:
            raise Conflict("This task is no longer open.")
        finished = []
        before = dict(task.data)

        def run():
            task.data.update(data)
            task.run()
            finished.append(_finished(task, before))

        self._record(advance(self.workflow, run, finished))

    def send_message(self, name, payload):
        """Deliver message `name` with `payload`; Conflict when the instance is not waiting for it."""
        waiting = _waiting_for_message(self.workflow, name)
        definition = waiting.task_spec.event_definition if waiting is not None else _triggers(self.workflow).get(name)
        if definition is None:
            raise Conflict(f"The process is not waiting for the message '{name}'.")
        self._record(advance(self.workflow, lambda: send_message_event(self.workflow, definition, payload)))

    def fire_timers(self):
        """Fire the timers that lapsed by now and run what they release."""
        self._record(advance(self.workflow, self.workflow.refresh_timers))

    # ------------------------------------------------------------ state

    @property
    def completed(self):
        return self.workflow.is_completed()

    def ready(self) -> list[ReadyTask]:
        """The user tasks waiting for a person, in the order the engine lists them."""
        return [_ready(t) for t in _ready_user_tasks(self.workflow)]

    def timers(self) -> list[WaitingTimer]:
        """The timers waiting to fire, with their due times."""
        return _waiting_timers(self.workflow)

    def evaluate(self, expression, data):
        """Evaluate a diagram expression (a task property) against `data` in the sandbox."""
        return self._script_engine.environment.evaluate(expression, dict(data))

    def _record(self, finished):
        for task in finished:
            self.variables.update(task.changed)
            self.path.append(task.name)

