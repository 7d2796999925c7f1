"""Decision tables in diagrams (business rule tasks) that depend on a few plain variables, answered from a memo.

SpiffWorkflow evaluates a business rule task's table rule by rule: each input entry is parsed twice and run in
the sandbox against a fresh copy of the task's data; a new ticket runs two tables. Most tables read a variable or
two (`ticket_type`, `urgency`) and call nothing, so their outputs follow from those values alone.

`memoize(spec, subprocess_specs, helpers)` wraps such a table of a parsed process version in `MemoTable`: the
outputs are kept per the values of the variables its expressions name, when all of them are plain scalars in
the task's data and so are all the outputs (one level, no dotted output names). Anything else runs the table as
before: a table that calls anything, names a helper, uses `?`, has an input without an expression or text it
cannot parse; a named variable that is missing or not a plain scalar; a failing evaluation (never kept). A hit
answers a fresh copy of the first run's outputs, as the table would answer them again.
"""
import ast
import re
from collections import OrderedDict

from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin

_CALL = re.compile(r"[\w)\]]\s*\(")  # a name, call or subscript followed by "(": an expression that calls something
_SCALARS = (str, int, float, bool, type(None))
_MEMO_SIZE = 1024


def memoize(spec, subprocess_specs, helpers):
    """Wrap the memoizable tables of the business rule tasks of a parsed process version (in place)."""
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            if isinstance(task_spec, BusinessRuleTaskMixin) and not isinstance(task_spec.dmnEngine, MemoTable):
                names = read_names(task_spec.dmnEngine.decision_table)
                if names is not None and not set(names).intersection(helpers):
                    task_spec.dmnEngine = MemoTable(task_spec.dmnEngine, names)


def read_names(decision_table):
    """The sorted variable names the table's expressions read, or None when its outputs may depend on more (a call,
    `?`, text that does not parse as the engine would join it)."""
    texts = []
    for rule in decision_table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs or ():
                if lhs is None:
                    continue
                expression = entry.input.expression
                if "?" in lhs or not expression:  # no expression: SpiffWorkflow reads the value under the label
                    return None
                texts.append(f"({expression}) == ({lhs})" if _parses(lhs) else expression + lhs)
        texts += [entry.text for entry in rule.outputEntries if getattr(entry, "text", None)]
    names = set()
    for text in texts:
        if _CALL.search(text):
            return None
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            return None
        names.update(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))
    return tuple(sorted(names))


def _parses(text):
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


class MemoTable:
    """A DMNEngine whose `result` is kept per the values of the variables its table reads."""

    def __init__(self, table, names):
        self.table, self.names = table, names
        self._memo = {}

    def __getattr__(self, name):  # decision_table, decide, evaluate... as the wrapped DMNEngine has them
        return getattr(self.table, name)

    def result(self, task):
        """The outputs of the table for the task's data: `DMNEngine.result`, from the memo when it may."""
        data = task.data
        key = []
        for name in self.names:
            value = data.get(name, _MISSING)
            kind = value.__class__
            if kind not in _SCALARS:
                return self.table.result(task)
            key.append((kind, value.hex() if kind is float else value))  # 1 == 1.0 == True, 0.0 == -0.0
        key = tuple(key)
        kept = self._memo.get(key)
        if kept is not None:
            return kept[0](kept[1])
        outputs = self.table.result(task)
        if all(v.__class__ in _SCALARS for v in outputs.values()):
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = (outputs.__class__ if outputs.__class__ in (dict, OrderedDict) else dict,
                               tuple(outputs.items()))
        return outputs


_MISSING = object()  # its class is not a scalar's: a missing variable runs the table (and its error)
