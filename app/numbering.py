"""Human-readable numbers (customers C2026001, tickets SR20261201001) from counters taken under a row lock.

Ticket numbers follow a pattern per (process, channel) (R1-1, R2-1, R3-2), set by TICKET_NUMBER_PATTERNS: the
first rule whose process and channel match (``*`` matches any) gives a Python format string with the fields
``date`` (the local day), ``channel_code`` (CHANNEL_CODES) and ``seq`` (the counter), e.g. ``SR{date:%Y%m%d}{seq:03d}``.
``{seq}`` comes last: the text before it is the counter's name, so numbers sharing a prefix share one daily counter
and never repeat. Past 999 a ``{seq:03d}`` simply grows a fourth digit (SR20261201999 -> SR202612011000): no
duplicate and no error; the ticket number's unique index is the last guard.
"""
import functools
import string

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError

from app.clock import now
from app.customers.models import Sequence
from app.extensions import db
from app.fast_statements import FastStatement

_seq = Sequence.__table__
_BUMP = update(_seq).where(_seq.c.name == bindparam("counter")).values(value=_seq.c.value + 1).returning(_seq.c.value)
_FAST_BUMP = FastStatement(_BUMP)
_CREATE = insert(_seq)
DEFAULT_TICKET_PATTERN = "SR{date:%Y%m%d}{seq:03d}"
_FIELDS = {"date", "seq", "channel_code"}
_COUNTER_MAX = 64 - len("ticket:")


def next_value(name):
    """Return the next value of counter `name`; the row stays locked until the caller's transaction ends.

    On PostgreSQL the UPDATE locks the counter's row; on SQLite the UPDATE opens the write transaction, so
    another process waits (busy timeout) until this one commits. Either way no two transactions get one value.
    """
    value = _FAST_BUMP.scalar({"counter": name})
    if value is not None:
        return value
    conn = db.session.connection()
    try:
        with conn.begin_nested():
            conn.execute(_CREATE, {"name": name, "value": 1})
        return 1
    except IntegrityError:  # another transaction created the counter first
        return conn.execute(_BUMP, {"counter": name}).scalar_one()


def customer_number():
    """C + year + a yearly counter of at least three digits, e.g. C2026001 (R0-8)."""
    year = now().astimezone(_display_tz()).year
    return f"C{year}{next_value(f'customer:{year}'):03d}"


def ticket_number(process="*", channel="*"):
    """The next ticket number of the pattern configured for (process, channel), e.g. SR20261201001 (R1-1)."""
    from flask import current_app

    pattern = pattern_for(current_app.config.get("TICKET_NUMBER_PATTERNS") or (), process, channel)
    prefix_format, seq_spec = split_pattern(pattern)
    values = {"date": now().astimezone(_display_tz()),
              "channel_code": (current_app.config.get("CHANNEL_CODES") or {}).get(channel, channel or "")}
    prefix = prefix_format.format(**values)
    return prefix + format(next_value(f"ticket:{prefix}"), seq_spec)


def pattern_for(rules, process, channel):
    """The pattern of the first rule (process, channel, pattern) matching; `*` in a rule matches anything."""
    for rule_process, rule_channel, pattern in rules:
        if rule_process in ("*", process) and rule_channel in ("*", channel):
            return pattern
    return DEFAULT_TICKET_PATTERN


@functools.lru_cache(maxsize=64)
def split_pattern(pattern):
    """(the format string before `{seq}`, seq's format spec); ValueError naming the rule a pattern breaks.
    Kept per pattern: a ticket's number asks for it."""
    parts = list(string.Formatter().parse(pattern))
    fields = [field for _text, field, _spec, _conv in parts if field is not None]
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise ValueError(f"{pattern!r}: unknown field {unknown[0]!r} (use date, channel_code, seq)")
    if fields.count("seq") != 1 or not parts or parts[-1][1] != "seq":
        raise ValueError(f"{pattern!r}: {{seq}} must appear once, at the end")
    spec = parts[-1][2] or "d"
    format(1, spec)  # ValueError for a spec an integer cannot take
    prefix = "".join(_escape(text) + ("{" + field + (":" + fmt if fmt else "") + "}" if field else "")
                     for text, field, fmt, _conv in parts[:-1]) + _escape(parts[-1][0])
    return prefix, spec


def _escape(text):
    return text.replace("{", "{{").replace("}", "}}")


def check_patterns(rules, channel_codes):
    """Raise ValueError with a message when a configured rule or its numbers would not fit (run on start)."""
    from datetime import datetime

    for rule in rules:
        if len(rule) != 3:
            raise ValueError(f"TICKET_NUMBER_PATTERNS: {rule!r}: a rule is [process, channel, pattern]")
        prefix, spec = split_pattern(rule[2])
        sample = prefix.format(date=datetime(2026, 12, 31), channel_code=max(channel_codes.values() or [""], key=len))
        if len(sample) > _COUNTER_MAX or len(sample + format(99999, spec)) > 32:
            raise ValueError(f"TICKET_NUMBER_PATTERNS: {rule[2]!r}: numbers would be longer than 32 characters")


def _display_tz():
    from zoneinfo import ZoneInfo

    from flask import current_app

    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
