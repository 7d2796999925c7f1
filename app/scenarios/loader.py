"""Read a scenario file (YAML or JSON) into a ScenarioFile; every mistake names the file, scenario, step and field.

Format (README "Scenario tests"):

    diagram: quick_response.bpmn          # optional: the diagram beside it with the same stem
    start_at: "2025-03-03T09:00:00+08:00" # optional: when the scenario clock starts (default below)
    staff: {after_sales: engineer1}       # optional: whom pick_assignee(department) answers (null: nobody)
    start: {ticket_type: complaint, ...}  # optional: start data every scenario shares
    answers: {accept_ticket: {...}}       # optional: form data per task id (or form file) when a step gives none
    scenarios:
      - name: satisfied customer
        start: {...}; answers: {...}; staff: {...}; start_at: ...   # each optional, over the file's
        steps:
          - expect: {waiting_at: accept_ticket, assignee: engineer1}
          - complete: accept_ticket
            by: engineer1                 # becomes `completed_by`
            with: {contact_note: ...}     # validated against the task's form
          - advance: 31 minutes           # fires every timer that lapses meanwhile, in due order
          - message: redispatch
            with: {assignee: engineer2, reason: ...}
          - expect: {status: closed, finished: true}
"""
import json
from datetime import datetime, timezone

import yaml

from .durations import parse_duration
from .model import Expectation, Scenario, ScenarioFile, Step

DEFAULT_START_AT = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)  # a Monday, 09:00 in Beijing
SUFFIXES = (".scenarios.yaml", ".scenarios.yml", ".scenarios.json")
_ACTIONS = ("complete", "message", "advance", "expect")
_FILE_KEYS = {"diagram", "start_at", "staff", "start", "answers", "scenarios"}
_SCENARIO_KEYS = {"name", "start_at", "staff", "start", "answers", "steps"}
_STEP_KEYS = set(_ACTIONS) | {"with", "by"}
_EXPECT_KEYS = {"waiting_at", "not_waiting_at", "lane", "assignee", "status", "variables", "filled", "empty",
                "finished", "timers", "passed"}


class ScenarioFormatError(ValueError):
    """A scenario file that cannot be run; `where` names the file, scenario, step and field."""

    def __init__(self, where, message):
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


def is_scenario_file(name):
    return name.endswith(SUFFIXES)


def diagram_of(filename):
    """The diagram a scenario file belongs to by name: quick_response.scenarios.yaml -> quick_response.bpmn."""
    for suffix in SUFFIXES:
        if filename.endswith(suffix):
            return filename[: -len(suffix)] + ".bpmn"
    return ""


def load_scenarios(filename, text):
    """Parse and check `text` (the content of `filename`); raise ScenarioFormatError naming what is wrong."""
    try:
        raw = json.loads(text) if filename.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise ScenarioFormatError(filename, f"not valid {'JSON' if filename.endswith('.json') else 'YAML'}: "
                                            f"{error}") from None
    where = _Where(filename)
    top = _mapping(raw, where, "the file")
    _known(top, _FILE_KEYS, where)
    shared = {
        "start_at": _time(top.get("start_at"), where.field("start_at")) or DEFAULT_START_AT,
        "staff": _strings(top.get("staff", {}), where.field("staff")),
        "start": _mapping(top.get("start", {}), where.field("start"), "start"),
        "answers": _answers(top.get("answers", {}), where.field("answers")),
    }
    items = top.get("scenarios")
    if not isinstance(items, list) or not items:
        raise ScenarioFormatError(str(where.field("scenarios")), "must be a non-empty list of scenarios")
    scenarios, names = [], set()
    for index, item in enumerate(items, 1):
        scenario = _scenario(item, index, where, shared)
        if scenario.name in names:
            raise ScenarioFormatError(str(where.scenario(scenario.name).field("name")), "another scenario has this name")
        names.add(scenario.name)
        scenarios.append(scenario)
    diagram = top.get("diagram", diagram_of(filename))
    if not isinstance(diagram, str) or not diagram.endswith(".bpmn"):
        raise ScenarioFormatError(str(where.field("diagram")), "must name a .bpmn file")
    return ScenarioFile(filename=filename, diagram=diagram, scenarios=tuple(scenarios))


class _Where:
    """file / scenario 'x' / step n / field f, as one readable location."""

    def __init__(self, filename, scenario=None, step=None, field=None):
        self.filename, self._scenario, self._step, self._field = filename, scenario, step, field

    def scenario(self, name):
        return _Where(self.filename, name)

    def step(self, number):
        return _Where(self.filename, self._scenario, number)

    def field(self, name):
        return _Where(self.filename, self._scenario, self._step,
                      f"{self._field}.{name}" if self._field else name)

    def __str__(self):
        parts = [self.filename]
        if self._scenario is not None:
            parts.append(f"scenario '{self._scenario}'")
        if self._step is not None:
            parts.append(f"step {self._step}")
        if self._field:
            parts.append(f"field '{self._field}'")
        return ": ".join(parts)


def _scenario(item, index, where, shared):
    item = _mapping(item, where.field(f"scenarios[{index}]"), "a scenario")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioFormatError(str(where.field(f"scenarios[{index}].name")), "every scenario needs a name")
    here = where.scenario(name.strip())
    _known(item, _SCENARIO_KEYS, here)
    steps = item.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ScenarioFormatError(str(here.field("steps")), "must be a non-empty list of steps")
    return Scenario(
        name=name.strip(),
        start={**shared["start"], **_mapping(item.get("start", {}), here.field("start"), "start")},
        answers={**shared["answers"], **_answers(item.get("answers", {}), here.field("answers"))},
        staff={**shared["staff"], **_strings(item.get("staff", {}), here.field("staff"))},
        start_at=_time(item.get("start_at"), here.field("start_at")) or shared["start_at"],
        steps=tuple(_step(raw, number, here.step(number)) for number, raw in enumerate(steps, 1)),
    )


def _step(raw, number, where):
    raw = _mapping(raw, where, "a step")
    _known(raw, _STEP_KEYS, where)
    actions = [k for k in _ACTIONS[:3] if k in raw]
    if len(actions) > 1:
        raise ScenarioFormatError(str(where), f"one action per step, not {' and '.join(actions)}")
    if not actions and "expect" not in raw:
        raise ScenarioFormatError(str(where), "needs one of complete, message, advance or expect")
    kind = actions[0] if actions else "expect"
    for key in ("with", "by"):
        if key in raw and kind not in ("complete", "message"):
            raise ScenarioFormatError(str(where.field(key)), "only goes with complete or message")
    expect = _expectation(raw["expect"], where.field("expect")) if "expect" in raw else None
    if kind == "advance":
        try:
            duration = parse_duration(raw["advance"])
        except ValueError as error:
            raise ScenarioFormatError(str(where.field("advance")), str(error)) from None
        return Step(number, kind, advance=duration, expect=expect)
    if kind == "expect":
        return Step(number, kind, expect=expect)
    target = _name(raw[kind], where.field(kind))
    data = _mapping(raw["with"], where.field("with"), "with") if "with" in raw else None
    by = raw.get("by", "")
    if not isinstance(by, str):
        raise ScenarioFormatError(str(where.field("by")), "must be a user name")
    return Step(number, kind, target=target, data=data, by=by, expect=expect)


def _expectation(raw, where):
    raw = _mapping(raw, where, "expect")
    if not raw:
        raise ScenarioFormatError(str(where), "expects nothing; name at least one of " + ", ".join(sorted(_EXPECT_KEYS)))
    _known(raw, _EXPECT_KEYS, where)
    values = {}
    for key in ("waiting_at", "not_waiting_at", "filled", "empty", "timers", "passed"):
        if key in raw:
            values[key] = _names(raw[key], where.field(key))
    for key in ("lane", "assignee") :
        if key in raw and not raw.get("waiting_at"):
            raise ScenarioFormatError(str(where.field(key)), "needs waiting_at: the task(s) it is about")
    if "lane" in raw:
        values["lane"] = _name(raw["lane"], where.field("lane"))
    if "assignee" in raw:
        if raw["assignee"] is not None and not isinstance(raw["assignee"], str):
            raise ScenarioFormatError(str(where.field("assignee")), "must be a user name or null (nobody)")
        values["assignee"] = raw["assignee"]
    if "status" in raw:
        values["status"] = raw["status"]
    if "variables" in raw:
        values["variables"] = _mapping(raw["variables"], where.field("variables"), "variables")
    if "finished" in raw:
        if not isinstance(raw["finished"], bool):
            raise ScenarioFormatError(str(where.field("finished")), "must be true or false")
        values["finished"] = raw["finished"]
    return Expectation(**values)


# ---------------------------------------------------------------- small checks

def _mapping(value, where, what):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ScenarioFormatError(str(where), f"{what} must be a mapping of names to values")
    return value


def _known(mapping, allowed, where):
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ScenarioFormatError(str(where.field(unknown[0])),
                                  f"unknown field; allowed here: {', '.join(sorted(allowed))}")


def _name(value, where):
    if not isinstance(value, str) or not value.strip():
        raise ScenarioFormatError(str(where), "must be a non-empty name")
    return value.strip()


def _names(value, where):
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ScenarioFormatError(str(where), "must be a name or a non-empty list of names")
    return tuple(_name(item, where) for item in items)


def _strings(value, where):
    mapping = _mapping(value, where, "staff")
    for key, item in mapping.items():
        if item is not None and (not isinstance(item, str) or not item):
            raise ScenarioFormatError(str(where.field(key)), "must be a user name, or null for nobody")
    return dict(mapping)


def _answers(value, where):
    mapping = _mapping(value, where, "answers")
    for task, answer in mapping.items():
        _mapping(answer, where.field(task), "an answer")
    return dict(mapping)


def _time(value, where):
    if value is None:
        return None
    if isinstance(value, datetime):  # YAML reads an unquoted time itself
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise ScenarioFormatError(str(where), f"{value!r} is not an ISO time such as "
                                                  "2025-03-03T09:00:00+08:00") from None
    if parsed.tzinfo is None:
        raise ScenarioFormatError(str(where), "needs a time zone, e.g. 2025-03-03T09:00:00+08:00")
    return parsed.astimezone(timezone.utc)
