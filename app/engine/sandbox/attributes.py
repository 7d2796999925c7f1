"""The attribute allow-list: which attributes diagram code may read, per exact type.

A few str/list/dict/set/tuple methods, date/time fields and Decimal.quantize. Everything else, including
every attribute of a function, is refused. Methods that could build a huge value name a checker, called
with the run's budget before the method runs; the result size is checked after every method call.
"""
from datetime import date, datetime, time, timedelta
from decimal import Decimal


def _check_width(run, obj, args, kwargs):
    """ljust/rjust/center/zfill: the width is the result size."""
    run.require_size(args[0] if args else kwargs.get("width", 0))
    return args, kwargs


def _check_expandtabs(run, text, args, kwargs):
    tabsize = args[0] if args else kwargs.get("tabsize", 8)
    if isinstance(tabsize, int):
        run.require_size(len(text) * max(1, tabsize))
    return args, kwargs


def _check_replace(run, text, args, kwargs):
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        old, new = args[0], args[1]
        count = len(text) + 1 if old == "" else text.count(old)
        if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
            count = min(count, args[2])
        run.require_size(len(text) + count * max(0, len(new) - len(old)))
    return args, kwargs


def _materialise(value):
    """A list of `value`'s items. Iterables reachable from diagram code are finite: generators and
    lambdas tick on their own, ranges are capped, the rest is existing data."""
    return value if type(value) is list else list(value)


def _check_join(run, separator, args, kwargs):
    items = _materialise(args[0]) if args else []
    length = sum(len(item) for item in items if isinstance(item, str))
    run.require_size(length + len(separator) * max(0, len(items) - 1))
    return (items,) + args[1:], kwargs


def _check_extend(run, obj, args, kwargs):
    """list.extend / set.update / set.union...: materialise the arguments, then check the total."""
    others = [_materialise(other) for other in args]
    run.require_size(len(obj) + sum(len(other) for other in others))
    return tuple(others), kwargs


def _check_dict_update(run, obj, args, kwargs):
    others = [other if type(other) is dict else _materialise(other) for other in args]
    run.require_size(len(obj) + sum(len(other) for other in others) + len(kwargs))
    return tuple(others), kwargs


def _check_nothing(run, obj, args, kwargs):
    """No precheck: the result size is still checked afterwards (strftime)."""
    return args, kwargs


def _plain(names):
    return dict.fromkeys(names.split())


_DATE_FIELDS = "year month day weekday isoweekday isoformat replace toordinal"
_TIME_FIELDS = "hour minute second microsecond isoformat replace"

ATTRIBUTES = {
    str: {
        **_plain("lower upper strip lstrip rstrip split rsplit splitlines startswith endswith find rfind index "
                 "rindex count isdigit isalpha isalnum isspace islower isupper isnumeric isdecimal istitle title "
                 "capitalize casefold swapcase partition rpartition removeprefix removesuffix"),
        "ljust": _check_width, "rjust": _check_width, "center": _check_width, "zfill": _check_width,
        "replace": _check_replace, "join": _check_join, "expandtabs": _check_expandtabs,
    },
    list: {**_plain("append pop index count sort copy insert remove reverse clear"), "extend": _check_extend},
    dict: {**_plain("get keys values items copy pop setdefault popitem clear"), "update": _check_dict_update},
    set: {
        **_plain("add discard remove pop intersection difference symmetric_difference issubset issuperset "
                 "isdisjoint copy clear intersection_update difference_update"),
        "update": _check_extend, "union": _check_extend, "symmetric_difference_update": _check_extend,
    },
    tuple: _plain("index count"),
    float: _plain("is_integer"),
    date: {**_plain(_DATE_FIELDS), "strftime": _check_nothing},
    datetime: {**_plain(f"{_DATE_FIELDS} {_TIME_FIELDS} date time timestamp"), "strftime": _check_nothing},
    time: {**_plain(_TIME_FIELDS), "strftime": _check_nothing},
    timedelta: _plain("days seconds microseconds total_seconds"),
    Decimal: _plain("quantize"),
}
