"""Plain data: what task data diagram code may see and write back, copied and measured within limits.

Plain data is str, int, float, bool, None, date, datetime, time, timedelta, Decimal, and dict, list,
tuple and set of plain data. A dict or list subclass (OrderedDict, defaultdict, ...)
is plain data too: it is copied as a plain dict or list with its content (what its own `items()` or
iteration yields). Date/time subclasses become their plain base type. Anything else is not plain data.
"""
import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal

MAX_DEPTH = 20  # nesting depth of data written back or returned

SCALARS = frozenset({str, int, float, bool, type(None), date, datetime, time, timedelta, Decimal})
CONTAINERS = frozenset({dict, list, tuple, set})


class NotPlain(Exception):
    """Internal: a value is not plain data."""


class TooBig(Exception):
    """Internal: plain data exceeds its size or depth budget."""


def is_plain_kind(value):
    """True if `value` is of a plain type (its content is checked when it is copied)."""
    kind = type(value)
    return kind in SCALARS or kind in CONTAINERS or isinstance(value, (dict, list, date, time))


class PlainCopier:
    """Deep-copies plain data, refusing anything else, deeper than `max_depth` or larger than `max_units`.

    Units: a str counts its length (at least 1), every other value 1.
    """

    def __init__(self, max_depth=MAX_DEPTH, max_units=None):
        self.max_depth, self.max_units, self.units = max_depth, max_units, 0

    def copy(self, value, depth=0):
        self._count(value)
        kind = type(value)
        if kind in SCALARS:
            return value
        if kind in CONTAINERS or isinstance(value, (dict, list)):
            if depth >= self.max_depth:
                raise TooBig(f"data nested deeper than {self.max_depth} levels")
            return self._copy_container(value, depth + 1)
        return self._copy_date_subclass(value)

    def _count(self, value):
        self.units += max(1, len(value)) if type(value) is str else 1
        if self.max_units is not None and self.units > self.max_units:
            raise TooBig(f"data larger than {self.max_units} elements/characters")

    def _copy_container(self, value, depth):
        """A dict or list (or a subclass of either: it becomes the plain type), tuple or set."""
        if isinstance(value, dict):
            return {self.copy(k, depth): self.copy(v, depth) for k, v in value.items()}
        if isinstance(value, list):
            return [self.copy(item, depth) for item in value]
        return type(value)(self.copy(item, depth) for item in value)

    @staticmethod
    def _copy_date_subclass(value):
        """Date/time subclasses (e.g. from clock-faking libraries) become the plain base type."""
        if isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                            value.microsecond, value.tzinfo, fold=value.fold)
        if isinstance(value, date):
            return date(value.year, value.month, value.day)
        if isinstance(value, time):
            return time(value.hour, value.minute, value.second, value.microsecond, value.tzinfo, fold=value.fold)
        raise NotPlain(type(value).__name__)


def same(new, old):
    """True if plain `new` equals plain `old` with the same types throughout (cost bounded by `old`)."""
    if type(new) is not type(old):
        return False
    kind = type(old)
    if kind in (list, tuple):
        return len(new) == len(old) and all(same(a, b) for a, b in zip(new, old))
    if kind is dict:
        return len(new) == len(old) and all(k in old and same(v, old[k]) for k, v in new.items())
    return new == old


def _children(value):
    kind = type(value)
    if kind in (list, tuple, set, frozenset):
        return value
    if kind is dict:
        return itertools.chain.from_iterable(value.items())
    return None


def measure(value, cap):
    """Size of `value` in units (containers count their elements deeply), counting stops above `cap`.

    Iterative and cycle-safe: at most `cap` + 1 elements are visited.
    """
    total, stack = 0, [iter((value,))]
    while stack:
        for item in stack[-1]:
            total += max(1, len(item)) if type(item) is str else 1
            if total > cap:
                return total
            children = _children(item)
            if children is not None:
                stack.append(iter(children))
                break
        else:
            stack.pop()
    return total



def is_data_name(name):
    """True for names diagram code may see as data: identifiers not starting with "_"."""
    return isinstance(name, str) and name.isidentifier() and not name.startswith("_")
