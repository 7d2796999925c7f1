"""A sandboxed script environment for SpiffWorkflow's `PythonScriptEngine`.

Diagram code (script tasks, gateway conditions, timer expressions, DMN cells, task property expressions)
is written by process owners in a browser, so it is untrusted. SpiffWorkflow's default environment runs
plain eval/exec; this module replaces it.

Promises, for every `evaluate` and `execute` call:

* Code is compiled with RestrictedPython under `SandboxPolicy`: no import, class, global, nonlocal,
  with, yield, try/except*, no name or attribute starting with "_", no eval/exec. Refusals raise
  `SandboxViolation`; source longer than `max_source` raises `SandboxLimitError`.
* Costs are bounded: every loop iteration, function call and lambda call ticks a step budget (`max_steps`);
  ticks and guard calls check a wall-clock limit (`max_seconds`) and the growth of resident memory
  (`max_memory`); `+ * ** << %`, f-strings, star-displays and the amplifying methods check the size of
  their result before computing it (`max_size` elements/characters; integers at most `max_size` bits),
  every other operator and allocating builtin right after. An exceeded budget ends the call with
  `SandboxLimitError`, even if diagram code tries to catch it. RecursionError, MemoryError, SystemExit
  and KeyboardInterrupt raised inside the call become `SandboxLimitError` too: the worker never dies.
* Globals are fresh per call: plain task data (copied), then the trusted helpers, then the guards, with a
  small fixed set of builtins. Diagram code sees nothing else; a name that is a Python builtin but not
  offered raises `SandboxViolation`, any other unknown name `NameError`.
* Attribute access is an allow-list per exact type (a few str/list/dict/set/tuple methods, date/time
  fields, Decimal.quantize). Everything else, including every attribute of a function, is refused.
* `execute` writes back into `context` only new or changed plain data within `max_size` and a nesting
  depth of `MAX_DEPTH`, removes the variables the script deleted, and changes nothing if it fails.
  `evaluate` returns plain data only.

Known residual risk: a single C-level operation on a heavily aliased structure (for example comparing two
lists that share their rows thousands of times) is not interrupted until it returns; the memory check
samples the process's resident size, so other threads' allocations count too. Run workers with an
OS-level time and memory limit as a backstop.
"""
import ast
import builtins
import functools
import itertools
import operator
import os
import re
import sys
import threading
import time as _time
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

__all__ = ["SandboxEnvironment", "SandboxLimitError", "SandboxViolation", "make_script_engine"]

MAX_DEPTH = 20  # nesting depth of data written back or returned
_FILENAME = "<string>"  # SpiffWorkflow looks for this frame name to report the failing line


# ====================================================================== errors


class SandboxLimitError(Exception):
    """A budget was exceeded (steps, time, size, recursion): the call was stopped."""


class SandboxViolation(Exception):
    """Diagram code asked for something it may not have (import, dunder, open, an attribute, ...)."""


class _Halt(BaseException):
    """Internal: a budget is exhausted. A BaseException so `except Exception` in diagram code misses it."""


# ====================================================================== policy (compile time)


def _name(identifier):
    return ast.Name(identifier, ast.Load())


def _call(func, *args):
    return ast.Call(func=_name(func), args=list(args), keywords=[])


def _tick_statement(node):
    return ast.copy_location(ast.Expr(_call("_tick_")), node)


class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython policy that also refuses risky statements and inserts the cost guards.

    Rewrites: every binary operator `a op b` -> `_binop_(op, a, b)`; `x[k] op= v` -> `_inplacevar_`;
    f-strings -> `_fstr_(... _fmt_(value, conversion, spec) ...)`; `[*a, *b]`, `{**a}` -> `_sized_(...)`;
    a `_tick_()` at the start of every while-loop body, function body and lambda (every iteration of a
    for loop or comprehension already ticks in the `_getiter_` guard); a `_reraise_()` at the start of
    every except handler.
    """

    def _refuse(self, node, what):
        """Record the refusal; keep the node so the parent's shape stays intact."""
        self.error(node, f"{what} is not allowed in diagram code.")
        return node

    def _rewriting(self):
        """Rewrites are skipped once an error is recorded: such code is never compiled anyway."""
        return not self.errors

    def visit_Import(self, node):
        return self._refuse(node, "import")

    def visit_ImportFrom(self, node):
        return self._refuse(node, "import")

    def visit_ClassDef(self, node):
        return self._refuse(node, "class")

    def visit_Global(self, node):
        return self._refuse(node, "global")

    def visit_Nonlocal(self, node):
        return self._refuse(node, "nonlocal")

    def visit_TryStar(self, node):
        return self._refuse(node, "try/except*")

    def visit_With(self, node):
        return self._refuse(node, "with")

    def visit_Yield(self, node):
        return self._refuse(node, "yield")

    def visit_YieldFrom(self, node):
        return self._refuse(node, "yield from")

    # ------------------------------------------------------------ roots: fill in locations of new nodes

    def visit_Module(self, node):
        return ast.fix_missing_locations(super().visit_Module(node))

    def visit_Expression(self, node):
        return ast.fix_missing_locations(super().visit_Expression(node))

    # ------------------------------------------------------------ step budget

    def visit_While(self, node):
        node = super().visit_While(node)
        if self._rewriting():
            node.body.insert(0, _tick_statement(node))
        return node

    def visit_FunctionDef(self, node):
        node = super().visit_FunctionDef(node)
        if self._rewriting():
            node.body.insert(0, _tick_statement(node))
        return node

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        if self._rewriting():
            node.body = ast.BoolOp(op=ast.Or(), values=[_call("_tick_"), node.body])  # _tick_() is None
        return node

    def visit_ExceptHandler(self, node):
        node = super().visit_ExceptHandler(node)
        if self._rewriting():
            node.body.insert(0, ast.copy_location(ast.Expr(_call("_reraise_")), node))
        return node

    # ------------------------------------------------------------ size budget

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        if not self._rewriting():
            return node
        symbol = IOPERATOR_TO_STR[type(node.op)][:-1]
        return ast.copy_location(_call("_binop_", ast.Constant(symbol), node.left, node.right), node)

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Subscript):
            return self._augassign_item(node)
        return super().visit_AugAssign(node)  # name -> _inplacevar_, attribute -> refused

    def _augassign_item(self, node):
        """`obj[key] op= value` -> tmp_o = obj; tmp_k = key; _write_(tmp_o)[tmp_k] = _inplacevar_(...)."""
        target = node.target
        if isinstance(target.slice, ast.Slice):
            return self._refuse(node, "augmented assignment to a slice")
            return node
        obj, key, value = self.visit(target.value), self.visit(target.slice), self.visit(node.value)
        if not self._rewriting():
            return node
        tmp_obj, tmp_key = self.gen_tmp_name(), self.gen_tmp_name()
        current = _call("_getitem_", _name(tmp_obj), _name(tmp_key))
        new_value = _call("_inplacevar_", ast.Constant(IOPERATOR_TO_STR[type(node.op)]), current, value)
        store = ast.Subscript(value=_call("_write_", _name(tmp_obj)), slice=_name(tmp_key), ctx=ast.Store())
        statements = [
            ast.Assign(targets=[ast.Name(tmp_obj, ast.Store())], value=obj),
            ast.Assign(targets=[ast.Name(tmp_key, ast.Store())], value=key),
            ast.Assign(targets=[store], value=new_value),
        ]
        return [ast.copy_location(statement, node) for statement in statements]

    def visit_JoinedStr(self, node):
        node = super().visit_JoinedStr(node)
        if not self._rewriting():
            return node
        parts = [self._fstring_part(value) for value in node.values]
        return ast.copy_location(_call("_fstr_", *parts), node)

    @staticmethod
    def _fstring_part(value):
        if not isinstance(value, ast.FormattedValue):
            return value
        spec = value.format_spec if value.format_spec is not None else ast.Constant("")
        return _call("_fmt_", value.value, ast.Constant(value.conversion), spec)

    def visit_List(self, node):
        return self._sized_display(super().visit_List(node))

    def visit_Tuple(self, node):
        return self._sized_display(super().visit_Tuple(node))

    def visit_Set(self, node):
        return self._sized_display(super().visit_Set(node))

    def visit_Dict(self, node):
        node = super().visit_Dict(node)
        if self._rewriting() and any(key is None for key in node.keys):  # {**other}
            return ast.copy_location(_call("_sized_", node), node)
        return node

    def _sized_display(self, node):
        loading = isinstance(getattr(node, "ctx", ast.Load()), ast.Load)
        if self._rewriting() and loading and any(isinstance(item, ast.Starred) for item in node.elts):
            return ast.copy_location(_call("_sized_", node), node)
        return node


@functools.lru_cache(maxsize=1024)
def _compile(source, mode):
    """Compile `source` ("exec" or "eval") under SandboxPolicy; cached per source string.

    Raises SyntaxError (with lineno) for invalid Python, SandboxViolation for refused code.
    """
    try:
        tree = ast.parse(source, _FILENAME, mode)
        compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
        result = compiler(tree, filename=_FILENAME, policy=SandboxPolicy)
    except (RecursionError, MemoryError):
        raise SandboxLimitError("the code is nested too deeply") from None
    except (AttributeError, TypeError, ValueError) as error:  # fail closed on code the checker cannot handle
        raise SandboxViolation(f"the code could not be checked: {error}") from None
    if result.errors:
        raise SandboxViolation("; ".join(result.errors))
    return result.code


_DEFAULT_MAX_SOURCE = 20_000


def check_source(source, mode):
    """Raise SyntaxError or SandboxViolation if `source` would be refused when it runs (for deploy checks)."""
    if len(source) > _DEFAULT_MAX_SOURCE:
        raise SandboxViolation(f"the code is longer than {_DEFAULT_MAX_SOURCE} characters")
    _compile(source, mode)


# ====================================================================== plain data

_SCALARS = frozenset({str, int, float, bool, type(None), date, datetime, time, timedelta, Decimal})
_CONTAINERS = frozenset({dict, list, tuple, set})
_SEQUENCES = (str, bytes, bytearray, list, tuple)


class _NotPlain(Exception):
    """Internal: a value is not plain data."""


class _TooBig(Exception):
    """Internal: plain data exceeds its size or depth budget."""


def _is_plain_kind(value):
    kind = type(value)
    return kind in _SCALARS or kind in _CONTAINERS or isinstance(value, (date, time))


class _PlainCopier:
    """Deep-copies plain data, refusing anything else, deeper than `max_depth` or larger than `max_units`.

    Units: a str counts its length (at least 1), every other value 1.
    """

    def __init__(self, max_depth=MAX_DEPTH, max_units=None):
        self.max_depth, self.max_units, self.units = max_depth, max_units, 0

    def copy(self, value, depth=0):
        self._count(value)
        kind = type(value)
        if kind in _SCALARS:
            return value
        if kind in _CONTAINERS:
            if depth >= self.max_depth:
                raise _TooBig(f"data nested deeper than {self.max_depth} levels")
            return self._copy_container(value, depth + 1)
        return self._copy_date_subclass(value)

    def _count(self, value):
        self.units += max(1, len(value)) if type(value) is str else 1
        if self.max_units is not None and self.units > self.max_units:
            raise _TooBig(f"data larger than {self.max_units} elements/characters")

    def _copy_container(self, value, depth):
        kind = type(value)
        if kind is dict:
            return {self.copy(k, depth): self.copy(v, depth) for k, v in value.items()}
        return kind(self.copy(item, depth) for item in value)

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
        raise _NotPlain(type(value).__name__)


def _same(new, old):
    """True if plain `new` equals plain `old` with the same types throughout (cost bounded by `old`)."""
    if type(new) is not type(old):
        return False
    kind = type(old)
    if kind in (list, tuple):
        return len(new) == len(old) and all(_same(a, b) for a, b in zip(new, old))
    if kind is dict:
        return len(new) == len(old) and all(k in old and _same(v, old[k]) for k, v in new.items())
    return new == old


def _children(value):
    kind = type(value)
    if kind in (list, tuple, set, frozenset):
        return value
    if kind is dict:
        return itertools.chain.from_iterable(value.items())
    return None


def _measure(value, cap):
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


# ====================================================================== guards (run time)


class _NullPrinter:
    """`print` in diagram code is accepted and discarded; `printed` is always ""."""

    def __init__(self, _getattr_=None):
        pass

    def _call_print(self, *objects, **kwargs):
        pass

    def __call__(self):
        return ""


class _Builtins(dict):
    """The builtins of one call. A real Python builtin that is not offered raises SandboxViolation."""

    def __missing__(self, name):
        if name in vars(builtins):
            raise SandboxViolation(f"'{name}' is not available in diagram code")
        raise KeyError(name)


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
_EXCEPTIONS = (Exception, ArithmeticError, AssertionError, IndexError, KeyError, LookupError, TypeError,
               ValueError, ZeroDivisionError)


class _MemoryProbe:
    """Resident memory of this process in bytes, or None where it cannot be read.

    Reads /proc/self/statm through a descriptor kept open per process (pread is thread-safe); elsewhere
    falls back to the peak RSS from getrusage.
    """

    _lock = threading.Lock()
    _fd, _pid = None, None
    _page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    @classmethod
    def rss(cls):
        fd = cls._descriptor()
        if fd is not None:
            try:
                return int(os.pread(fd, 64, 0).split()[1]) * cls._page
            except (OSError, ValueError, IndexError):
                pass
        return cls._peak_rss()

    @classmethod
    def _descriptor(cls):
        if cls._pid != os.getpid():  # not yet opened, or opened before a fork (it would read the parent)
            with cls._lock:
                if cls._pid != os.getpid():
                    cls._reopen()
        return cls._fd

    @classmethod
    def _reopen(cls):
        if cls._fd is not None:
            os.close(cls._fd)
        try:
            cls._fd = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            cls._fd = None
        cls._pid = os.getpid()

    @staticmethod
    def _peak_rss():
        try:
            import resource
        except ImportError:
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class _Run:
    """Budgets and guard functions for one evaluate/execute call.

    Any exceeded budget raises `_Halt` and stays tripped: later ticks, except handlers and the call
    boundary raise it again, so diagram code cannot swallow it. Besides every tick, every guard call is
    a sample point: every `_SAMPLE_EVERY`-th sample also checks the wall clock and the memory growth, so
    straight-line code without loops is bounded too.
    """

    _SAMPLE_EVERY = 16

    def __init__(self, env):
        self.max_steps, self.max_size = env.max_steps, env.max_size
        self.max_digits = max(1, int(env.max_size * 0.30103))  # decimal digits of a max_size-bit integer
        self.max_seconds, self.max_memory = env.max_seconds, env.max_memory
        self.steps = self.samples = 0
        self.halted = None
        self.deadline = _time.monotonic() + self.max_seconds
        self.memory_baseline = None  # taken by start(), right before the code runs

    def start(self):
        """Start the clock and take the memory baseline (again right before the code runs)."""
        self.deadline = _time.monotonic() + self.max_seconds
        self.memory_baseline = _MemoryProbe.rss()

    # ------------------------------------------------------------ budgets

    def halt(self, reason):
        if self.halted is None:
            self.halted = reason
        raise _Halt(self.halted)

    def tick(self):
        """Count one step; halt when the step budget, the wall clock or the memory budget is used up."""
        self.steps += 1
        if self.halted is not None:
            raise _Halt(self.halted)
        if self.steps > self.max_steps:
            self.halt(f"the script ran more than {self.max_steps} steps")
        if _time.monotonic() > self.deadline:
            self.halt(f"the script ran longer than {self.max_seconds} s")
        self.sample()

    def sample(self):
        """Called by every guard: now and then check the wall clock and the memory growth."""
        self.samples += 1
        if self.samples % self._SAMPLE_EVERY:
            return
        if self.halted is not None:
            raise _Halt(self.halted)
        if _time.monotonic() > self.deadline:
            self.halt(f"the script ran longer than {self.max_seconds} s")
        if self.memory_baseline is not None:
            grown = (_MemoryProbe.rss() or 0) - self.memory_baseline
            if grown > self.max_memory:
                self.halt(f"the script used more than {self.max_memory // 2**20} MiB of memory")

    def require_size(self, size, what="a value"):
        if isinstance(size, int) and size > self.max_size:
            self.halt(f"{what} would exceed {self.max_size} elements/characters")

    def require_bits(self, bits):
        if bits > self.max_size:
            self.halt(f"an integer would exceed {self.max_size} bits")

    def check_number(self, value):
        """Refuse Decimals whose integer form would be huge (int() of 1E+999999 takes seconds)."""
        if type(value) is Decimal and value.is_finite() and value.adjusted() > self.max_digits:
            self.halt(f"a number would exceed {self.max_digits} digits")

    def check_result(self, value):
        self.sample()
        if isinstance(value, (str, bytes, bytearray, list, tuple, dict, set, frozenset)):
            self.require_size(len(value))
        return value

    def measure(self, value):
        return _measure(value, self.max_size)

    # ------------------------------------------------------------ RestrictedPython guards

    def reraise(self):
        """First statement of every except handler: limits and fatal errors are not catchable."""
        error = sys.exc_info()[1]
        if isinstance(error, (RecursionError, MemoryError)) and self.halted is None:
            self.halted = "recursion too deep" if isinstance(error, RecursionError) else "out of memory"
        if self.halted is not None:
            raise _Halt(self.halted)

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
        allowed = _ATTRIBUTES.get(type(obj), {})
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

    # ------------------------------------------------------------ builtins needing a budget

    def safe_str(self, *args, **kwargs):
        value = args[0] if args else kwargs.get("object", "")
        self.require_size(self.measure(value), "a string")
        return self.check_result(str(*args, **kwargs))

    def safe_repr(self, value):
        self.require_size(self.measure(value), "a string")
        return self.check_result(repr(value))

    def safe_int(self, *args, **kwargs):
        if args:
            self.check_number(args[0])
        result = int(*args, **kwargs)
        self.require_bits(result.bit_length())
        return result

    def safe_round(self, number, ndigits=None):
        """round(5, -10**8) would compute 10**10**8: the digits are limited like integers."""
        self.check_number(number)
        if isinstance(ndigits, int) and abs(ndigits) > self.max_digits:
            self.halt(f"round() to more than {self.max_digits} digits")
        return round(number, ndigits)

    def safe_range(self, *args):
        result = range(*args)
        try:
            length = len(result)
        except OverflowError:
            length = self.max_size + 1
        self.require_size(length, "a range")
        return result

    def safe_sum(self, iterable, /, start=0):
        total = start
        for item in iterable:
            total = self.binop("+", total, item)
        return total

    def _allocating(self, factory):
        """dict/list/set/sorted/tuple: the result is size-checked and counts as a sample point."""
        def build(*args, **kwargs):
            return self.check_result(factory(*args, **kwargs))

        build.__name__ = factory.__name__
        return build

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

    def make_builtins(self):
        """The fixed builtins: no type, getattr, vars, open, eval, exec, compile, __import__, globals, ..."""
        offered = {
            "abs": abs, "all": all, "any": any, "bool": bool, "chr": chr, "divmod": divmod,
            "enumerate": enumerate, "filter": filter, "float": float, "len": len, "map": map, "max": max,
            "min": min, "ord": ord, "reversed": reversed, "zip": zip,
            "date": date, "datetime": datetime, "timedelta": timedelta,
            "int": self.safe_int, "range": self.safe_range, "repr": self.safe_repr, "round": self.safe_round,
            "str": self.safe_str, "sum": self.safe_sum,
        }
        offered.update((kind.__name__, self._allocating(kind)) for kind in (dict, list, set, sorted, tuple))
        offered.update((error.__name__, error) for error in _EXCEPTIONS)
        return _Builtins(offered)


# ====================================================================== attribute allow-list


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

_ATTRIBUTES = {
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


# ====================================================================== environment


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Runs diagram code under RestrictedPython with bounded cost and fresh, plain-data globals.

    `helpers` are trusted functions offered to diagram code by name; they can be called but none of their
    attributes can be read. Each call gets `max_steps` ticks, `max_seconds` of wall-clock time and
    `max_memory` bytes of growth of the process's resident memory; values are limited to `max_size`
    elements/characters (integers to `max_size` bits); sources to `max_source` characters.
    """

    def __init__(self, helpers=None, *, max_steps=100_000, max_seconds=1.0, max_size=100_000, max_source=_DEFAULT_MAX_SOURCE,
                 max_memory=128 * 2**20):
        helpers = dict(helpers or {})
        _validate_helpers(helpers)
        super().__init__(helpers)
        self.helpers = helpers
        self.max_steps, self.max_seconds = max_steps, max_seconds
        self.max_size, self.max_source, self.max_memory = max_size, max_source, max_memory

    def evaluate(self, expression, context, external_context=None):
        """Return the plain-data value of `expression`; `context` is not modified."""
        found = self._trivial_value(expression, context)
        if found is not None:
            return found[0]
        code = self._compile(expression.strip() if isinstance(expression, str) else expression, "eval")
        run = _Run(self)
        namespace, _visible = self._namespace(run, context, external_context or {})
        result = self._invoke(run, eval, code, namespace)
        return self._export({"the result": result}, "the expression result")["the result"]

    def execute(self, script, context, external_context=None):
        """Run `script`; write its new/changed plain variables into `context`, drop deleted ones; True."""
        code = self._compile(script, "exec")
        run = _Run(self)
        external_context = external_context or {}
        namespace, visible = self._namespace(run, context, external_context)
        self._invoke(run, exec, code, namespace)
        self._write_back(namespace, visible, context, external_context)
        return True

    def _trivial_value(self, expression, context):
        """(value,) of a quoted literal or of a bare name of plain scalar task data (most task properties,
        timer durations and many conditions), which need no sandboxed run; None for everything else."""
        if not isinstance(expression, str) or len(expression) > self.max_source:
            return None
        shape = _trivial_shape(expression.strip())
        if shape is None:
            return None
        kind, value = shape
        if kind == "literal":
            return (value,)
        if value in self.helpers or value not in context:
            return None  # helpers shadow data; unknown names take the full path (and its error)
        found = context[value]
        if type(found) not in _SCALARS or (type(found) is str and len(found) > self.max_size):
            return None
        return (found,)

    # ------------------------------------------------------------ steps of a call

    def _compile(self, source, mode):
        if not isinstance(source, str):
            raise TypeError(f"diagram code must be a string, not {type(source).__name__}")
        if len(source) > self.max_source:
            raise SandboxLimitError(f"the code is longer than {self.max_source} characters")
        return _compile(source, mode)

    def _namespace(self, run, context, external_context):
        """Fresh globals: plain data (external, then task data), helpers, guards; and the data names."""
        namespace, visible = {}, set()
        for source, is_context in ((external_context, False), (context, True)):
            for name, value in source.items():
                if not _is_data_name(name):
                    continue
                if type(value) in _SCALARS:  # immutable: shared as is (what the copier would return)
                    namespace[name] = value
                    if is_context:
                        visible.add(name)
                    continue
                try:
                    namespace[name] = _PlainCopier().copy(value)
                except (_NotPlain, _TooBig):
                    namespace.pop(name, None)
                    visible.discard(name)
                    continue
                if is_context:
                    visible.add(name)
        namespace.update(self.helpers)
        visible.difference_update(self.helpers)
        namespace.update(run.guards())
        namespace["__builtins__"] = run.make_builtins()
        return namespace, visible

    @staticmethod
    def _invoke(run, runner, code, namespace):
        """Run the code; budget, recursion, memory and exit errors become SandboxLimitError."""
        run.start()
        try:
            result = runner(code, namespace)
        except _Halt as error:
            raise SandboxLimitError(str(error)).with_traceback(error.__traceback__) from None
        except RecursionError as error:
            raise SandboxLimitError("recursion too deep").with_traceback(error.__traceback__) from None
        except MemoryError as error:
            raise SandboxLimitError("out of memory").with_traceback(error.__traceback__) from None
        except (SystemExit, KeyboardInterrupt) as error:
            raise SandboxLimitError(f"the script raised {type(error).__name__}") from None
        except Exception as error:
            if run.halted is not None:
                raise SandboxLimitError(run.halted).with_traceback(error.__traceback__) from None
            raise
        if run.halted is not None:
            raise SandboxLimitError(run.halted)
        return result

    def _write_back(self, namespace, visible, context, external_context):
        """Apply new/changed plain variables and deletions to `context`, all or nothing."""
        candidates = {
            name: value for name, value in namespace.items()
            if _is_data_name(name) and name not in self.helpers and _is_plain_kind(value)
            and (name in visible or name not in external_context)
            and not (name in visible and _same(value, context[name]))
        }
        updates = self._export(candidates, "the script's variables")
        for name in visible - namespace.keys():
            context.pop(name, None)
        context.update(updates)

    def _export(self, values, what):
        """Plain copies of `values` within max_size (in total) and MAX_DEPTH."""
        copier = _PlainCopier(MAX_DEPTH, self.max_size)
        exported = {}
        for name, value in values.items():
            try:
                exported[name] = copier.copy(value)
            except _NotPlain as error:
                raise SandboxViolation(f"'{name}' holds a {error} value, which is not plain data") from None
            except _TooBig as error:
                raise SandboxLimitError(f"{what}: {error}") from None
        return exported


@functools.lru_cache(maxsize=1024)
def _trivial_shape(source):
    """("literal", value) for a str/int/float/bool/None constant, ("name", name) for a bare data name, else None."""
    try:
        body = ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError):
        return None
    if isinstance(body, ast.Constant) and type(body.value) in (str, int, float, bool, type(None)):
        if type(body.value) is str and len(body.value) > _DEFAULT_MAX_SOURCE:
            return None
        return ("literal", body.value)
    if isinstance(body, ast.Name) and _is_data_name(body.id):
        return ("name", body.id)
    return None


def _is_data_name(name):
    return isinstance(name, str) and name.isidentifier() and not name.startswith("_")


def _validate_helpers(helpers):
    for name, helper in helpers.items():
        if not _is_data_name(name):
            raise ValueError(f"helper name {name!r} must be an identifier not starting with '_'")
        if not callable(helper):
            raise ValueError(f"helper {name!r} must be callable")


def make_script_engine(helpers=None, **limits):
    """A PythonScriptEngine whose environment is SandboxEnvironment(helpers, **limits)."""
    return PythonScriptEngine(environment=SandboxEnvironment(helpers, **limits))
