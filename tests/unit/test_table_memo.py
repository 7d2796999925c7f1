"""engine.table_memo answers what the decision table answers, for every table of the shipped diagrams and inputs
of every kind, and leaves alone the tables whose outputs may depend on more than a few plain variables."""
import itertools
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

import pytest
from SpiffWorkflow.dmn.specs import BusinessRuleTaskMixin

from app.capabilities import deadline, now_iso
from app.engine import table_memo
from app.engine.definitions import parse_specs
from app.engine.sandbox import make_script_engine

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
HELPERS = {"deadline": deadline, "now_iso": now_iso, "pick_assignee": lambda department: None}
ENGINE = make_script_engine(HELPERS)
ODD = [None, 1, True, 1.0, 0.0, -0.0, "", ["critical"], {"a": 1}]  # besides the values the table names


def tables():
    dmn = {path.name: path.read_text(encoding="utf-8") for path in WORKFLOWS.glob("*.dmn")}
    found = {}
    for bpmn in sorted(WORKFLOWS.glob("*.bpmn")):
        _name, spec, subprocess_specs = parse_specs(bpmn.read_text(encoding="utf-8"), dmn)
        for process in (spec, *subprocess_specs.values()):
            for task_spec in process.task_specs.values():
                if isinstance(task_spec, BusinessRuleTaskMixin):
                    found.setdefault(task_spec.dmnEngine.decision_table.id, task_spec.dmnEngine)
    return found


TABLES = tables()


def literals(table):
    values = set()
    for rule in table.decision_table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs or ():
                if lhs and lhs.startswith('"') and lhs.endswith('"'):
                    values.add(lhs.strip('"'))
    return sorted(values)


def answer(table, data):
    task = SimpleNamespace(data=data, workflow=SimpleNamespace(script_engine=ENGINE))
    try:
        return "ok", table.result(task)
    except Exception as exc:  # noqa: BLE001  the memo must raise what the table raises
        return "error", type(exc)


def test_every_shipped_table_is_memoized():
    assert TABLES and all(table_memo.read_names(t.decision_table) is not None for t in TABLES.values())


@pytest.mark.parametrize("table_id", sorted(TABLES))
def test_the_memo_answers_what_the_table_answers(table_id):
    table = TABLES[table_id]
    names = table_memo.read_names(table.decision_table)
    memo = table_memo.MemoTable(table, names)
    choices = literals(table) + ODD + [table_memo._MISSING]
    checked = 0
    for values in itertools.islice(itertools.product(choices, repeat=len(names)), 3000):
        data = {n: v for n, v in zip(names, values) if v is not table_memo._MISSING}
        data["unrelated"] = "x"
        expected = answer(table, dict(data))
        for _ in range(2):  # a miss, then a hit
            got = answer(memo, dict(data))
            assert got == expected, (data, got, expected)
            if got[0] == "ok":
                assert type(got[1]) is type(expected[1])
                assert [type(v) for v in got[1].values()] == [type(v) for v in expected[1].values()]
                got[1]["changed by the caller"] = 1  # a fresh copy each time: the memo stays as it was
        checked += 1
    assert checked and memo._memo


def rule(inputs, outputs):
    return SimpleNamespace(
        inputEntries=[SimpleNamespace(input=SimpleNamespace(expression=e, label="label"), lhs=[lhs])
                      for e, lhs in inputs],
        outputEntries=[SimpleNamespace(text=text) for text in outputs])


@pytest.mark.parametrize("inputs, outputs, names", [
    ([("urgency", '"high"')], ['"P1"'], ("urgency",)),
    ([("urgency", "> 3")], ["level"], ("level", "urgency")),
    ([("urgency", None)], ['"P1"'], ()),
    ([("len(urgency)", "3")], ['"P1"'], None),  # a call
    ([("urgency", '"high"')], ["now_iso()"], None),
    ([("urgency", "? > 3")], ['"P1"'], None),  # the question mark form
    ([("", '"high"')], ['"P1"'], None),  # no input expression: SpiffWorkflow reads the label's value
    ([("urgency", '"hi')], ['"P1"'], None),  # does not parse
])
def test_what_is_memoized(inputs, outputs, names):
    assert table_memo.read_names(SimpleNamespace(rules=[rule(inputs, outputs)])) == names


def test_a_table_naming_a_helper_is_left_alone():
    table = TABLES["route_by_type_table"]
    spec = SimpleNamespace(task_specs={"t": BusinessRuleTaskMixin.__new__(BusinessRuleTaskMixin)})
    spec.task_specs["t"].dmnEngine = table
    table_memo.memoize(spec, {}, {"ticket_type": len})
    assert spec.task_specs["t"].dmnEngine is table
    table_memo.memoize(spec, {}, HELPERS)
    assert isinstance(spec.task_specs["t"].dmnEngine, table_memo.MemoTable)
    assert spec.task_specs["t"].dmnEngine.decision_table is table.decision_table


def test_outputs_that_are_not_plain_are_not_kept():
    table = SimpleNamespace(result=lambda task: OrderedDict(route={"department": task.data["x"]}))
    memo = table_memo.MemoTable(table, ("x",))
    first = memo.result(SimpleNamespace(data={"x": "a"}))
    first["route"]["department"] = "changed"
    assert memo.result(SimpleNamespace(data={"x": "a"})) == {"route": {"department": "a"}}
    assert not memo._memo
