"""Move waiting date timers when the process variables they read change, and hold timers while a clock pauses.

SpiffWorkflow evaluates a timer's expression once, when the timer starts waiting, and keeps the result in the
task's internal data (`event_value`); changing a variable afterwards does not move the timer. `apply` writes
new variable values into every unfinished task, then re-evaluates each waiting date timer (`timeDate`) whose
expression reads a changed variable; a timer whose time is the value of a *held* variable waits until
`HELD_UNTIL` (it never fires) until the variable is released. A waiting cycle timer (`timeCycle`) whose
expression reads a changed variable takes the new interval from the start of its current round (the last firing,
or when it started waiting): its next firing moves to that start plus the new interval (a moment already past
fires at the next refresh); the rounds left stay as they were. The held names live in the workflow's own data, so a timer that
starts waiting later during the hold (a loop coming round) is held too (`hold_new_timers`).
"""
import ast
from datetime import datetime, timedelta
from functools import lru_cache

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition, TimeDateEventDefinition, TimerEventDefinition)
from SpiffWorkflow.util.task import TaskState

HELD_KEY = "held_timer_variables"
HELD_UNTIL = "9999-12-31T00:00:00+00:00"


@lru_cache(maxsize=512)
def expression_names(expression):
    """The variable names a diagram expression reads (empty when it does not parse)."""
    try:
        tree = ast.parse(str(expression).strip(), mode="eval")
    except SyntaxError:
        return frozenset()
    return frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))


def _workflows(workflow):
    yield workflow
    yield from workflow.subprocesses.values()


def _date_timers(workflow):
    for task in workflow.event_manager.tasks.values():
        if isinstance(task.task_spec.event_definition, TimeDateEventDefinition) and task.state == TaskState.WAITING:
            yield task


def _cycle_timers(workflow):
    for task in workflow.event_manager.tasks.values():
        if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition) and task.state == TaskState.WAITING:
            yield task


def _recycle(workflow, changed):
    """Give each waiting cycle timer reading a changed variable its new interval from its current round's start."""
    for task in _cycle_timers(workflow):
        expression = task.task_spec.event_definition.expression
        value = task._get_internal_data("event_value")
        if not (expression_names(expression) & changed) or not isinstance(value, dict) or value.get("cycles") == 0:
            continue
        _cycles, _start, interval = TimerEventDefinition.parse_iso_recurring_interval(
            workflow.script_engine.evaluate(task, expression))
        began = datetime.fromisoformat(value["next"]) - timedelta(seconds=value["duration"])
        task._set_internal_data(event_value={**value, "next": (began + interval).isoformat(),
                                             "duration": interval.total_seconds()})


def apply(workflow, values, hold=None):
    """Write `values` into every unfinished task; re-arm or hold the waiting date timers they concern.

    `hold` None keeps the held names as they are; otherwise it replaces them (an empty set releases every held
    timer, which is then evaluated again from the current data).
    """
    for flow in _workflows(workflow):
        for task in flow.tasks.values():
            if task.has_state(TaskState.NOT_FINISHED_MASK):
                task.data.update(values)
    held_before = frozenset(workflow.data.get(HELD_KEY, ()))
    held = held_before if hold is None else frozenset(hold)
    if held:
        workflow.data[HELD_KEY] = sorted(held)
    else:
        workflow.data.pop(HELD_KEY, None)
    changed = frozenset(values)
    for task in _date_timers(workflow):
        expression = task.task_spec.event_definition.expression
        names = expression_names(expression)
        if names & (changed | held_before | held):
            value = workflow.script_engine.evaluate(task, expression)
            task._set_internal_data(event_value=HELD_UNTIL if _is_held(task, names, held, value) else value)
    _recycle(workflow, changed)


def _is_held(task, names, held, value):
    """A timer is held when the time it waits for is the value of a held variable (`next_update_at or
    resolution_due` is held only while it falls back on a held `resolution_due`)."""
    return any(value == task.data.get(name) for name in names & held)


def hold_new_timers(workflow):
    """Hold every waiting date timer whose time is a held variable's value (after a step; cheap when nothing
    is held)."""
    held = workflow.data.get(HELD_KEY)
    if not held:
        return
    held = frozenset(held)
    for task in _date_timers(workflow):
        value = task._get_internal_data("event_value")
        names = expression_names(task.task_spec.event_definition.expression)
        if value != HELD_UNTIL and names & held and _is_held(task, names, held, value):
            task._set_internal_data(event_value=HELD_UNTIL)
