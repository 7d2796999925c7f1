"""The runner: `SandboxEnvironment`, the SpiffWorkflow script environment that runs diagram code.

Each call compiles the code under the policy, builds fresh globals (plain task data, helpers, guards,
builtins), runs it within the budgets and hands back plain data only.
"""
import ast
import functools

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from .errors import Halt, SandboxLimitError, SandboxViolation
from .guards import Run
from .policy import DEFAULT_MAX_SOURCE, compile_code
from .safe_builtins import make_builtins
from .values import MAX_DEPTH, SCALARS, NotPlain, PlainCopier, TooBig, is_data_name, is_plain_kind, same


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Runs diagram code under RestrictedPython with bounded cost and fresh, plain-data globals.

    `helpers` are trusted functions offered to diagram code by name; they can be called but none of their
    attributes can be read. Each call gets `max_steps` ticks, `max_seconds` of wall-clock time and
    `max_memory` bytes of growth of the process's resident memory; values are limited to `max_size`
    elements/characters (integers to `max_size` bits); sources to `max_source` characters.
    """

    def __init__(self, helpers=None, *, max_steps=100_000, max_seconds=1.0, max_size=100_000, max_source=DEFAULT_MAX_SOURCE,
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
        run = Run(self)
        namespace, _visible = self._namespace(run, context, external_context or {})
        result = self._invoke(run, eval, code, namespace)
        return self._export({"the result": result}, "the expression result")["the result"]

    def execute(self, script, context, external_context=None):
        """Run `script`; write its new/changed plain variables into `context`, drop deleted ones; True."""
        code = self._compile(script, "exec")
        run = Run(self)
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
        if type(found) not in SCALARS or (type(found) is str and len(found) > self.max_size):
            return None
        return (found,)

    # ------------------------------------------------------------ steps of a call

    def _compile(self, source, mode):
        if not isinstance(source, str):
            raise TypeError(f"diagram code must be a string, not {type(source).__name__}")
        if len(source) > self.max_source:
            raise SandboxLimitError(f"the code is longer than {self.max_source} characters")
        return compile_code(source, mode)

    def _namespace(self, run, context, external_context):
        """Fresh globals: plain data (external, then task data), helpers, guards; and the data names."""
        namespace, visible = {}, set()
        for source, is_context in ((external_context, False), (context, True)):
            for name, value in source.items():
                if not is_data_name(name):
                    continue
                if type(value) in SCALARS:  # immutable: shared as is (what the copier would return)
                    namespace[name] = value
                    if is_context:
                        visible.add(name)
                    continue
                try:
                    namespace[name] = PlainCopier().copy(value)
                except (NotPlain, TooBig):
                    namespace.pop(name, None)
                    visible.discard(name)
                    continue
                if is_context:
                    visible.add(name)
        namespace.update(self.helpers)
        visible.difference_update(self.helpers)
        namespace.update(run.guards())
        namespace["__builtins__"] = make_builtins(run)
        return namespace, visible

    @staticmethod
    def _invoke(run, runner, code, namespace):
        """Run the code; budget, recursion, memory and exit errors become SandboxLimitError."""
        run.start()
        try:
            result = runner(code, namespace)
        except Halt as error:
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
            if is_data_name(name) and name not in self.helpers and is_plain_kind(value)
            and (name in visible or name not in external_context)
            and not (name in visible and same(value, context[name]))
        }
        updates = self._export(candidates, "the script's variables")
        for name in visible - namespace.keys():
            context.pop(name, None)
        context.update(updates)

    def _export(self, values, what):
        """Plain copies of `values` within max_size (in total) and MAX_DEPTH."""
        copier = PlainCopier(MAX_DEPTH, self.max_size)
        exported = {}
        for name, value in values.items():
            try:
                exported[name] = copier.copy(value)
            except NotPlain as error:
                raise SandboxViolation(f"'{name}' holds a {error} value, which is not plain data") from None
            except TooBig as error:
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
        if type(body.value) is str and len(body.value) > DEFAULT_MAX_SOURCE:
            return None
        return ("literal", body.value)
    if isinstance(body, ast.Name) and is_data_name(body.id):
        return ("name", body.id)
    return None


def _validate_helpers(helpers):
    for name, helper in helpers.items():
        if not is_data_name(name):
            raise ValueError(f"helper name {name!r} must be an identifier not starting with '_'")
        if not callable(helper):
            raise ValueError(f"helper {name!r} must be callable")


def make_script_engine(helpers=None, **limits):
    """A PythonScriptEngine whose environment is SandboxEnvironment(helpers, **limits)."""
    return PythonScriptEngine(environment=SandboxEnvironment(helpers, **limits))
