"""The builtins offered to diagram code: a small fixed set, the allocating ones within the call's budget.

Not offered: type, getattr, vars, open, eval, exec, compile, __import__, globals, ... A real Python
builtin that is not offered raises `SandboxViolation`.
"""
import builtins
from datetime import date, datetime, timedelta

from .errors import SandboxViolation

_EXCEPTIONS = (Exception, ArithmeticError, AssertionError, IndexError, KeyError, LookupError, TypeError,
               ValueError, ZeroDivisionError)


class _Builtins(dict):
    """The builtins of one call. A real Python builtin that is not offered raises SandboxViolation."""

    def __missing__(self, name):
        if name in vars(builtins):
            raise SandboxViolation(f"'{name}' is not available in diagram code")
        raise KeyError(name)


def make_builtins(run):
    """The fixed builtins of one call, bound to its budget `run` (a guards.Run)."""
    budgeted = _Budgeted(run)
    offered = {
        "abs": abs, "all": all, "any": any, "bool": bool, "chr": chr, "divmod": divmod,
        "enumerate": enumerate, "filter": filter, "float": float, "len": len, "map": map, "max": max,
        "min": min, "ord": ord, "reversed": reversed, "zip": zip,
        "date": date, "datetime": datetime, "timedelta": timedelta,
        "int": budgeted.safe_int, "range": budgeted.safe_range, "repr": budgeted.safe_repr,
        "round": budgeted.safe_round, "str": budgeted.safe_str, "sum": budgeted.safe_sum,
    }
    offered.update((kind.__name__, budgeted.allocating(kind)) for kind in (dict, list, set, sorted, tuple))
    offered.update((error.__name__, error) for error in _EXCEPTIONS)
    return _Builtins(offered)


class _Budgeted:
    """The builtins that need the call's budget; offered as bound methods (none of their attributes is
    readable from diagram code)."""

    def __init__(self, run):
        self.run = run

    def safe_str(self, *args, **kwargs):
        value = args[0] if args else kwargs.get("object", "")
        self.run.require_size(self.run.measure(value), "a string")
        return self.run.check_result(str(*args, **kwargs))

    def safe_repr(self, value):
        self.run.require_size(self.run.measure(value), "a string")
        return self.run.check_result(repr(value))

    def safe_int(self, *args, **kwargs):
        if args:
            self.run.check_number(args[0])
        result = int(*args, **kwargs)
        self.run.require_bits(result.bit_length())
        return result

    def safe_round(self, number, ndigits=None):
        """round(5, -10**8) would compute 10**10**8: the digits are limited like integers."""
        self.run.check_number(number)
        if isinstance(ndigits, int) and abs(ndigits) > self.run.max_digits:
            self.run.halt(f"round() to more than {self.run.max_digits} digits")
        return round(number, ndigits)

    def safe_range(self, *args):
        result = range(*args)
        try:
            length = len(result)
        except OverflowError:
            length = self.run.max_size + 1
        self.run.require_size(length, "a range")
        return result

    def safe_sum(self, iterable, /, start=0):
        total = start
        for item in iterable:
            total = self.run.binop("+", total, item)
        return total

    def allocating(self, factory):
        """dict/list/set/sorted/tuple: the result is size-checked and counts as a sample point."""
        def build(*args, **kwargs):
            return self.run.check_result(factory(*args, **kwargs))

        build.__name__ = factory.__name__
        return build
