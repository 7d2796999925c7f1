"""Timer expressions: each must evaluate to an ISO 8601 date (timeDate), duration (timeDuration) or cycle (timeCycle)."""
import ast
import re
from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .model import NS, local, text_of

TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
_ISO_LIKE = re.compile(r"^(R\d*/)?(P(?!$)|\d{4}-\d{2}-\d{2})", re.ASCII)


def timer_specification(event_definition):
    """(kind, expression text) of a timerEventDefinition element; kind is None when it has none."""
    for child in event_definition:
        if isinstance(child.tag, str) and local(child) in TIMER_KINDS:
            return local(child), text_of(child)
    return None, ""


def check_timer_expression(kind, expression, now):
    """Return why the `kind` timer expression cannot work, else None.

    A quoted literal is checked fully (parsed; a duration or cycle interval must be positive, a cycle must
    repeat, a date must lie after `now`); any other expression is only compiled (it reads process data).
    """
    source = (expression or "").strip()
    if not source:
        return "the timer expression is empty: write an ISO 8601 value in quotes, e.g. \"PT30M\", or a variable name"
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        return f"the timer expression {source!r} is not valid: {exc.msg}"
    if isinstance(node, ast.Name) and _ISO_LIKE.match(node.id):
        return f'the timer expression {source} must be quoted: write "{node.id}"'
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Name):
        return f"the timer duration {source} is negative: a timer cannot wait a negative time"
    if not isinstance(node, ast.Constant):
        return None
    if not isinstance(node.value, str):
        return f"the timer expression {source!r} must be an ISO 8601 string in quotes"
    value = node.value.strip()
    if not value:
        return "the timer expression is an empty string: write an ISO 8601 value, e.g. \"PT30M\""
    return _check_literal(kind, value, now)


def _check_literal(kind, value, now):
    if value.startswith("-"):
        return f"the timer duration {value!r} is negative: a timer cannot wait a negative time"
    try:
        if kind == "timeCycle":
            return _check_cycle(value)
        parsed = TimerEventDefinition.parse_time_or_duration(value)
    except Exception:
        return f"the timer expression {value!r} is not a valid ISO 8601 {_WHAT[kind]}"
    if kind == "timeDuration":
        if isinstance(parsed, datetime):
            return f"{value!r} is a date, but a timeDuration needs a duration such as \"PT30M\" (or use timeDate)"
        return _check_positive(value, parsed, now)
    if not isinstance(parsed, datetime):
        return f"{value!r} is a duration, but a timeDate needs a date and time (or use timeDuration)"
    if parsed <= now:
        return f"the timer date {value} is already past: it would fire at once"
    return None


_WHAT = {"timeDate": "date and time", "timeDuration": "duration", "timeCycle": "cycle (e.g. \"R3/PT1H\")"}


def _check_positive(value, parsed, now):
    delta = TimerEventDefinition.get_timedelta_from_start(dict(parsed), now)
    if delta <= timedelta(0):
        return f"the timer duration {value!r} is zero: a timer must wait a positive time"
    return None


def _check_cycle(value):
    if not value.upper().startswith("R"):
        raise ValueError("a cycle starts with R")
    cycles, _start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
    if cycles == 0:
        return f"the timer cycle {value!r} repeats zero times: it would never fire"
    if duration <= timedelta(0):
        return f"the timer cycle {value!r} has a zero interval"
    return None


def timer_definitions(node):
    """The timerEventDefinition elements of a node."""
    return node.element.findall("bpmn:timerEventDefinition", NS)


def utc_now(clock):
    """`clock()` as an aware UTC datetime."""
    value = clock()
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
