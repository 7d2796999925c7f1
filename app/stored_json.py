"""The JSON text the app stores: its JSON columns (the database engines' `json_serializer`) and a task's form data.

orjson writes it, compact and in UTF-8 where the standard library writes ", " and ": " and \\u escapes: the same
values in a fifth of the time or less (a ticket's lifecycle stores about thirteen such texts: ten history and
notification details, three tasks' form data). Readers parse it as before (`json.loads`, the databases' JSON types).

Whatever orjson will not write goes to the standard library, which writes it or refuses it as it always did: an
integer beyond 64 bits, nesting deeper than 254 levels, a circular reference, and datetimes and dataclasses
(passed through on purpose: the standard library refuses them). Two differences remain, both for values the
app never stores: a UUID is written as its text rather than refused, and NaN or an infinity as null rather than
as the non-standard literal (which PostgreSQL refuses).
"""
import json

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value):
    """JSON text of `value`, as `json.dumps` gives it but compact and unescaped (see the module docstring)."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)
