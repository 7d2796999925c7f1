"""The compile policy: which diagram code is accepted, and the cost guards compiled into it.

Code is compiled with RestrictedPython under `SandboxPolicy`: no import, class, global, nonlocal, with,
yield, try/except*, no name or attribute starting with "_", no eval/exec. Refusals raise
`SandboxViolation`; source longer than the limit raises it at deploy (`check_source`) and
`SandboxLimitError` when it runs.
"""
import ast
import functools

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer

from .errors import SandboxLimitError, SandboxViolation

FILENAME = "<string>"  # SpiffWorkflow looks for this frame name to report the failing line
DEFAULT_MAX_SOURCE = 20_000


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
def compile_code(source, mode):
    """Compile `source` ("exec" or "eval") under SandboxPolicy; cached per source string.

    Raises SyntaxError (with lineno) for invalid Python, SandboxViolation for refused code.
    """
    try:
        tree = ast.parse(source, FILENAME, mode)
        compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
        result = compiler(tree, filename=FILENAME, policy=SandboxPolicy)
    except (RecursionError, MemoryError):
        raise SandboxLimitError("the code is nested too deeply") from None
    except (AttributeError, TypeError, ValueError) as error:  # fail closed on code the checker cannot handle
        raise SandboxViolation(f"the code could not be checked: {error}") from None
    if result.errors:
        raise SandboxViolation("; ".join(result.errors))
    return result.code


def check_source(source, mode):
    """Raise SyntaxError or SandboxViolation if `source` would be refused when it runs (for deploy checks)."""
    if len(source) > DEFAULT_MAX_SOURCE:
        raise SandboxViolation(f"the code is longer than {DEFAULT_MAX_SOURCE} characters")
    compile_code(source, mode)

