"""Diagram code at deploy time: it must compile in the sandbox, must not shadow a capability, and may only read
names something provides (start data, forms, decisions, scripts, messages, capabilities, builtins)."""
import ast
import builtins

from ..sandbox import SandboxLimitError, SandboxViolation, check_source

_BUILTIN_NAMES = frozenset(vars(builtins)) | {"date", "datetime", "timedelta"}


def compile_problem(source, mode, what):
    """Why the sandbox refuses `source` ("exec" for scripts, "eval" for expressions), else None."""
    try:
        check_source(source, mode)
    except SyntaxError as exc:
        line = f" (line {exc.lineno})" if mode == "exec" and exc.lineno else ""
        return f"{what} has a syntax error{line}: {exc.msg}"
    except (SandboxViolation, SandboxLimitError) as exc:
        return f"{what} is refused by the sandbox: {exc}"
    except ValueError as exc:  # e.g. a NUL character
        return f"{what} cannot be compiled: {exc}"
    return None


def parse(source, mode):
    """The ast of code that compiled, or None."""
    try:
        return ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except (SyntaxError, ValueError):
        return None


def assigned_names(tree):
    """Names a script binds at its top level or anywhere (assignments, loop targets, functions, imports...)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def free_names(tree):
    """Names the code reads that it does not bind itself and that are not Python builtins."""
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return read - assigned_names(tree) - _BUILTIN_NAMES


def shadowed_capabilities(tree, capabilities):
    """Capability names a script assigns: the value would be dropped, the capability wins."""
    return sorted(assigned_names(tree) & set(capabilities))
