"""The `format`s forms may use and how each is checked (JSON Schema leaves formats unchecked unless told).

jsonschema checks `date-time` only with optional extras installed; these checkers need nothing and are the
ones validation uses. A form using a format not listed here is refused at deploy (`unchecked_formats`).
"""
import re
from datetime import date, datetime

from jsonschema import FormatChecker

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DATE_TIME_EXAMPLE = "2026-12-05T10:00:00+08:00"


def parse_date_time(value):
    """The aware datetime an RFC 3339 date-time string (offset required) names, or None when it is not one."""
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        return None
    text = value.upper()
    if "." in text:  # Python takes at most 6 fraction digits
        head, _dot, rest = text.partition(".")
        digits = re.match(r"[0-9]+", rest).group()
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits):]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_date(value):
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


FORMATS = {
    "date-time": lambda value: parse_date_time(value) is not None,
    "date": _is_date,
    "email": lambda value: bool(EMAIL.fullmatch(value)),
}
FORMAT_CHECKER = FormatChecker(formats=())
for _name, _check in FORMATS.items():
    # formats apply to strings only: other types are the `type` keyword's business
    FORMAT_CHECKER.checks(_name)(lambda value, check=_check: not isinstance(value, str) or check(value))


def unchecked_formats(schema):
    """The `format` values used anywhere in `schema` that validation does not check (deploy refuses them)."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("format"), str) and node["format"] not in FORMATS:
                found.add(node["format"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return sorted(found)
