"""Run one scenario against a parsed diagram, in memory, on the scenario's own clock."""
import copy
from datetime import datetime, timedelta

from app.clock import scenario_clock
from app.engine import ProcessError, Simulation
from app.engine.definitions import message_form
from app.engine.runtime import message_catcher
from app.errors import Conflict, ValidationFailed
from app.forms_schema import validate_submission

from .checks import assignee_of, check
from .results import ScenarioResult, StepFailed
from .world import World

FIRE_DELAY = timedelta(seconds=1)  # a lapsed timer fires this long after its due time (the timer loop polls)
MAX_FIRINGS = 1000  # per clock move: a timer that re-arms itself forever fails the step instead of hanging


def run_scenario(scenario, model, forms, *, filename):
    """Run `scenario` on `model` (engine.Model) with the batch's `forms` (name -> schema); a ScenarioResult."""
    world = World(scenario.staff)
    simulation = Simulation(model, helpers=world.helpers())
    world.variables = lambda: simulation.variables
    with scenario_clock(scenario.start_at) as clock:
        run = _Run(scenario, simulation, world, clock, forms)
        try:
            run.act(lambda: simulation.start(dict(scenario.start)), "start")
        except StepFailed as failure:
            return ScenarioResult(filename, scenario.name, False, 0, 0, "start", str(failure))
        for step in scenario.steps:
            try:
                run.step(step)
            except StepFailed as failure:
                return ScenarioResult(filename, scenario.name, False, step.number - 1, step.number, step.label,
                                      str(failure))
    return ScenarioResult(filename, scenario.name, True, len(scenario.steps))


class _Run:
    def __init__(self, scenario, simulation, world, clock, forms):
        self.scenario, self.simulation, self.world, self.clock, self.forms = scenario, simulation, world, clock, forms

    def step(self, step):
        if step.kind == "complete":
            self.complete(step)
        elif step.kind == "message":
            self.message(step)
        elif step.kind == "advance":
            self.advance(self.clock.time + step.advance)
        if step.expect is not None:
            problems = check(step.expect, self.simulation)
            if problems:
                raise StepFailed("; ".join(problems))

    def act(self, action, what):
        """Run one engine action; what it refuses or breaks on fails the step."""
        self.world.open_before = {t.name for t in self.simulation.ready()} if self.simulation.workflow else set()
        try:
            action()
        except (ProcessError, Conflict) as error:
            raise StepFailed(f"{what} failed: {error}") from None
        except Exception as error:  # a SpiffWorkflow or sandbox error outside a step
            raise StepFailed(f"{what} failed: {type(error).__name__}: {error}") from None

    def complete(self, step):
        ready = self.simulation.ready()
        task = next((t for t in ready if step.target in (t.name, t.title)), None)
        if task is None:
            raise StepFailed(f"the task {step.target} is not waiting; {_waiting(ready)}")
        data = step.data
        if data is None:  # the scenario's answer for the task id, else for the task's form file
            data = self.scenario.answers.get(task.name, self.scenario.answers.get(task.form or ""))
        if data is None:
            raise StepFailed(f"no answer for {task.name}: give it with 'with' or under 'answers'")
        cleaned = self._validated(data, task.form, f"the answer to {task.name}")
        by = step.by or _default_by(self.simulation, task) or f"{task.lane or 'someone'}-in-scenario"
        self.act(lambda: self.simulation.complete(task.id, {**cleaned, "completed_by": by}), f"completing {task.name}")

    def message(self, step):
        form = message_form(step.target, message_catcher(self.simulation.workflow, step.target))
        payload = self._validated(step.data or {}, form, f"the message {step.target}")
        self.act(lambda: self.simulation.send_message(step.target, payload), f"the message {step.target}")

    def advance(self, target: datetime):
        """Move the clock to `target`, firing each timer that lapses on the way at its due time, in due order."""
        tried = set()
        for _ in range(MAX_FIRINGS):
            due = [t for t in self.simulation.timers()
                   if t.due_at + FIRE_DELAY <= target and (t.task_id, t.due_at) not in tried]
            if not due:
                self.clock.move_to(target)
                return
            first = min(due, key=lambda t: t.due_at)
            tried.add((first.task_id, first.due_at))
            self.clock.move_to(first.due_at + FIRE_DELAY)
            self.act(self.simulation.fire_timers, f"firing the timer {first.name}")
        raise StepFailed(f"timers kept firing: more than {MAX_FIRINGS} within one clock move")

    def _validated(self, data, form_name, what):
        """The data as the form cleans it (defaults, trimmed text); no form, the data as given."""
        schema = self.forms.get(form_name) if form_name else None
        if schema is None:
            return dict(data)
        try:
            return validate_submission(_without_references(schema), data)
        except ValidationFailed as error:
            fields = "; ".join(f"{field}: {message}" for field, message in sorted(error.errors.items()))
            raise StepFailed(f"{what} does not fit the form {form_name}: {fields}") from None


def _waiting(ready):
    names = ", ".join(t.name for t in ready)
    return f"waiting at: {names}" if names else "no task is waiting"


_STRIPPED = {}


def _without_references(schema):
    """The form without its reference checks (x-ref reads users and departments from the database): a scenario
    checks types, required fields, choices and formats only, and never reads the database."""
    key = id(schema)
    cached = _STRIPPED.get(key)
    if cached is not None and cached[0] is schema:
        return cached[1]
    if len(_STRIPPED) > 200:
        _STRIPPED.clear()
    stripped = copy.deepcopy(schema)
    for prop in stripped.get("properties", {}).values():
        if isinstance(prop, dict):
            for keyword in ("x-ref", "x-role", "x-in-department"):
                prop.pop(keyword, None)
    _STRIPPED[key] = (schema, stripped)
    return stripped


def _default_by(simulation, task):
    """Who completes a task when the step names nobody: its assignee, if that is a user name."""
    value = assignee_of(simulation, task)
    return value if value and not value.startswith("<error") else None
