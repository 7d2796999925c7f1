"""The run-time guards RestrictedPython-compiled diagram code calls: iteration, items, attributes,
operators, f-strings and displays, each within the call's budgets."""
import operator
import re

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from .attributes import ATTRIBUTES
from .budget import Budget
from .errors import SandboxViolation

_OPERATORS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "**": operator.pow, "<<": operator.lshift, ">>": operator.rshift, "|": operator.or_,
    "^": operator.xor, "&": operator.and_, "@": operator.matmul,
}
_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand,
    "@=": operator.imatmul,
}
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_CONVERSIONS = {ord("s"): str, ord("r"): repr, ord("a"): ascii}
_WRITABLE = (dict, list)
_SUBSCRIPTABLE = frozenset({dict, list, tuple, str, range})
_SEQUENCES = (str, bytes, bytearray, list, tuple)


class _NullPrinter:
    """`print` in diagram code is accepted and discarded; `printed` is always ""."""

    def __init__(self, _getattr_=None):
        pass

    def _call_print(self, *objects, **kwargs):
        pass

    def __call__(self):
        return ""


class Run(Budget):
    """Budgets and guard functions for one evaluate/execute call.

    Besides every tick, every guard call is a sample point of the budgets, so straight-line code without
    loops is bounded too.
    """

    def getiter(self, obj):
        """Every item taken from a for loop, comprehension or unpacking costs one step."""
        return self._counted(iter(obj))

    def _counted(self, iterator):
        for item in iterator:
            self.tick()
            yield item

    def guarded_getitem(self, obj, key):
        if type(obj) not in _SUBSCRIPTABLE:
            raise SandboxViolation(f"subscripting a {type(obj).__name__} is not allowed")
        if type(key) is slice:  # a slice is a new object: check its size
            return self.check_result(obj[key])
        self.sample()
        return obj[key]

    def guarded_write(self, obj):
        if type(obj) not in _WRITABLE:
            raise SandboxViolation(f"changing a {type(obj).__name__} is not allowed")
        return obj

    def guarded_getattr(self, obj, name):
        self.sample()
        allowed = ATTRIBUTES.get(type(obj), {})
        if name not in allowed:
            raise SandboxViolation(f"attribute '{name}' of {type(obj).__name__} is not allowed")
        value = getattr(obj, name)
        checker = allowed[name]
        return value if checker is None else self._checked_method(obj, value, checker)

    def _checked_method(self, obj, method, checker):
        def call(*args, **kwargs):
            args, kwargs = checker(self, obj, args, kwargs)
            return self.check_result(method(*args, **kwargs))

        return call

    def apply(self, func, *args, **kwargs):
        self.require_size(len(args) + len(kwargs), "the call arguments")
        self.sample()
        return func(*args, **kwargs)

    # ------------------------------------------------------------ operators

    def binop(self, symbol, left, right):
        self._precheck(symbol, left, right)
        return self.check_result(_OPERATORS[symbol](left, right))

    def inplacevar(self, op, left, right):
        self._precheck(op[:-1], left, right)
        return self.check_result(_INPLACE[op](left, right))

    def _precheck(self, symbol, left, right):
        """Refuse before computing when `left symbol right` would be too large."""
        ints = isinstance(left, int) and isinstance(right, int)
        if symbol == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            self.require_size(len(left) + len(right))
        elif symbol == "*":
            self._precheck_multiply(left, right, ints)
        elif symbol == "**" and ints and right > 0 and abs(left) > 1:
            self.require_bits(left.bit_length() * right)
        elif symbol == "<<" and ints and right > 0:
            self.require_bits(left.bit_length() + right)
        elif symbol == "%" and isinstance(left, str):
            self._precheck_percent(left, right)

    def _precheck_multiply(self, left, right, ints):
        if ints:
            self.require_bits(left.bit_length() + right.bit_length())
            return
        sequence, count = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(sequence, _SEQUENCES) and isinstance(count, int) and count > 0:
            if isinstance(sequence, (str, bytes, bytearray)):
                self.require_size(len(sequence) * count)
            else:
                self.require_size(1 + (self.measure(sequence) - 1) * count)

    def _precheck_percent(self, template, args):
        for match in _PERCENT_FIELD.finditer(template):
            for number in match.groups():
                if number == "*":
                    self.halt("'*' widths in % formatting are not allowed")
                if number and (len(number) > 9 or int(number) > self.max_size):
                    self.require_size(self.max_size + 1, "a % format width")
        values = args.values() if type(args) is dict else args if type(args) is tuple else (args,)
        for value in values:
            self.check_number(value)
        self.require_size(self.measure(args), "the % format arguments")

    # ------------------------------------------------------------ f-strings and displays

    def fmt(self, value, conversion, spec):
        """One `{value!conversion:spec}` of an f-string."""
        self.require_size(self.measure(value), "a formatted value")
        if conversion in _CONVERSIONS:
            value = self.check_result(_CONVERSIONS[conversion](value))
        self.check_number(value)
        for number in _DIGITS.findall(spec):
            if len(number) > 9 or int(number) > self.max_size:
                self.require_size(self.max_size + 1, "a format width")
        return self.check_result(format(value, spec))

    def fstr(self, *parts):
        self.require_size(sum(len(part) for part in parts), "an f-string")
        return "".join(parts)

    def sized(self, value):
        return self.check_result(value)

    # ------------------------------------------------------------ namespace

    def guards(self):
        """The names RestrictedPython-compiled code calls; all start with "_" so data cannot shadow them."""
        return {
            "_getattr_": self.guarded_getattr, "_getitem_": self.guarded_getitem,
            "_write_": self.guarded_write, "_getiter_": self.getiter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
            "_inplacevar_": self.inplacevar, "_apply_": self.apply, "_print_": _NullPrinter,
            "_print": _NullPrinter(),  # expressions use print without the module-level `_print = _print_()`
            "_tick_": self.tick, "_reraise_": self.reraise, "_binop_": self.binop, "_fmt_": self.fmt,
            "_fstr_": self.fstr, "_sized_": self.sized,
        }
