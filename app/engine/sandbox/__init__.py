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
* Globals are fresh per call: plain task data (copied; a dict or list subclass becomes a plain dict or
  list with its content, anything else that is not plain data is left out), then the trusted helpers, then the guards, with a
  small fixed set of builtins. Diagram code sees nothing else; a name that is a Python builtin but not
  offered raises `SandboxViolation`, any other unknown name `NameError`.
* Attribute access is an allow-list per exact type (a few str/list/dict/set/tuple methods, date/time
  fields, Decimal.quantize). Everything else, including every attribute of a function, is refused.
* `execute` writes back into `context` only new or changed plain data within `max_size` and a nesting
  depth of `MAX_DEPTH`, removes the variables the script deleted, and changes nothing if it fails.
  `evaluate` returns plain data only.

The package, one module per job: `policy` (what compiles, and the guards compiled in), `values` (plain
data: the copier, its size and depth limits), `budget` (steps, time, memory, sizes of one call),
`guards` (the run-time guards), `attributes` (the attribute allow-list), `safe_builtins` (the builtins
offered), `runner` (`SandboxEnvironment`, `make_script_engine`), `errors`.

Known residual risk: a single C-level operation on a heavily aliased structure (for example comparing two
lists that share their rows thousands of times) is not interrupted until it returns; the memory check
samples the process's resident size, so other threads' allocations count too. Run workers with an
OS-level time and memory limit as a backstop.
"""
from .errors import SandboxLimitError, SandboxViolation
from .policy import check_source
from .runner import SandboxEnvironment, make_script_engine

__all__ = ["SandboxEnvironment", "SandboxLimitError", "SandboxViolation", "check_source", "make_script_engine"]
