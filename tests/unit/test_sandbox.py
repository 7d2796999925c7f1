"""The diagram-code sandbox: refusals, budgets, ordinary code, isolation, and SpiffWorkflow integration."""
import time
from collections import OrderedDict, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from app.engine.sandbox import SandboxEnvironment, SandboxLimitError, SandboxViolation, make_script_engine


def fake_deadline(duration):
    """A trusted helper: returns an ISO string, like the real `deadline`."""
    return f"2024-01-01T00:00:00+{duration}"


def stop_worker():
    raise SystemExit(3)


def interrupt_worker():
    raise KeyboardInterrupt


HELPERS = {"deadline": fake_deadline, "stop_worker": stop_worker, "interrupt_worker": interrupt_worker}


@pytest.fixture
def env():
    return SandboxEnvironment(HELPERS)


class Ticket:
    """Not plain data: must stay invisible to diagram code."""

    secret = "s3cr3t"


# ====================================================================== refused code and access

REFUSED_EXPRESSIONS = [
    ("__import__('os')", '"__import__" is an invalid variable name'),
    ("open('/etc/passwd')", "'open' is not available in diagram code"),
    ("().__class__.__mro__", '"__class__" is an invalid attribute name'),
    ("().__class__.__bases__[0].__subclasses__()", '"__class__" is an invalid attribute name'),
    ("(lambda: 0).__globals__", '"__globals__" is an invalid attribute name'),
    ("'{0.__class__}'.format(1)", "attribute 'format' of str is not allowed"),
    ("'{x}'.format_map({'x': 1})", "attribute 'format_map' of str is not allowed"),
    ("getattr(1, '__class__')", "'getattr' is not available in diagram code"),
    ("type(1)", "'type' is not available in diagram code"),
    ("vars()", "'vars' is not available in diagram code"),
    ("globals()", "'globals' is not available in diagram code"),
    ("dir(1)", "'dir' is not available in diagram code"),
    ("compile('1', 'f', 'eval')", "'compile' is not available in diagram code"),
    ("eval('1')", "Eval calls are not allowed"),
    ("(x for x in []).gi_frame", '"gi_frame" is a restricted name'),
    ("(x for x in []).gi_code", '"gi_code" is a restricted name'),
    ("deadline.__globals__", '"__globals__" is an invalid attribute name'),
    ("deadline.func_globals", "attribute 'func_globals' of function is not allowed"),
    ("deadline.__wrapped__", '"__wrapped__" is an invalid attribute name'),
    ("__builtins__", '"__builtins__" is an invalid variable name'),
    ("str.mro()", "attribute 'mro' of method is not allowed"),
    ("datetime.now()", "attribute 'now' of type is not allowed"),
    ("d.keys().mapping", "attribute 'mapping' of dict_keys is not allowed"),
    ("items.sort.__self__", '"__self__" is an invalid attribute name'),
    ("(1).real", "attribute 'real' of int is not allowed"),
]


@pytest.mark.parametrize("expression, message", REFUSED_EXPRESSIONS)
def test_refused_expressions(env, expression, message):
    with pytest.raises(SandboxViolation) as caught:
        env.evaluate(expression, {"d": {"a": 1}, "items": [1]})
    assert message in str(caught.value)


REFUSED_SCRIPTS = [
    ("import os", "import is not allowed"),
    ("from os import path", "import is not allowed"),
    ("exec('x=1')", "Exec calls are not allowed"),
    ("class A:\n    pass", "class is not allowed"),
    ("global x\nx = 1", "global is not allowed"),
    ("def f():\n    y = 1\n    def g():\n        nonlocal y\n    return g", "nonlocal is not allowed"),
    ("try:\n    pass\nexcept* ValueError:\n    pass", "try/except* is not allowed"),
    ("with x:\n    pass", "with is not allowed"),
    ("def g():\n    yield 1", "yield is not allowed"),
    ("f = lambda: (yield)", "yield is not allowed"),
    ("x = (yield) + 1", "yield is not allowed"),
    ("match x:\n    case 1:\n        pass", "Match statements are not allowed"),
    ("try:\n    1 / 0\nexcept Exception as e:\n    tb = e.__traceback__", '"__traceback__" is an invalid attribute'),
    ("try:\n    1 / 0\nexcept Exception as e:\n    a = e.args", "attribute 'args' of ZeroDivisionError"),
    ("x = 1\nx.y = 2", "changing a int is not allowed"),
    ("_getattr_ = 1", '"_getattr_" is an invalid variable name'),
]


@pytest.mark.parametrize("script, message", REFUSED_SCRIPTS)
def test_refused_scripts(env, script, message):
    with pytest.raises(SandboxViolation) as caught:
        env.execute(script, {})
    assert message in str(caught.value)


def test_refused_script_leaves_context_unchanged(env):
    context = {"x": 1}
    with pytest.raises(SandboxViolation):
        env.execute("x = 2\nimport os", context)
    assert context == {"x": 1}


# ====================================================================== bounded costs


def assert_limited(call, *args, message="", seconds=2.0):
    started = time.monotonic()
    with pytest.raises(SandboxLimitError) as caught:
        call(*args)
    assert time.monotonic() - started < seconds
    assert message in str(caught.value)


@pytest.mark.parametrize("script", [
    "while True:\n    pass",
    "try:\n    while True:\n        pass\nexcept:\n    pass\ndone = 1",
    "try:\n    while True:\n        pass\nexcept Exception:\n    pass\ndone = 1",
    "def f():\n    try:\n        while True:\n            pass\n    finally:\n        return 1\ndone = f()",
    "for i in range(10):\n    try:\n        while True:\n            pass\n    except:\n        continue\ndone = 1",
    "n = 0\nwhile True:\n    n += 1",
    "f = lambda: f\nwhile f():\n    pass",
])
def test_endless_loops_stop_with_limit_error(env, script):
    context = {}
    assert_limited(env.execute, script, context, message="more than 100000 steps")
    assert context == {}


@pytest.mark.parametrize("expression, message", [
    ("'a' * 10**9", "exceed 100000 elements/characters"),
    ("10**9 * 'a'", "exceed 100000 elements/characters"),
    ("[0] * 10**9", "exceed 100000 elements/characters"),
    ("[[0] * 1000] * 1000", "exceed 100000 elements/characters"),
    ("2 ** 10**8", "integer would exceed 100000 bits"),
    ("1 << 10**9", "integer would exceed 100000 bits"),
    ("list(range(10**9))", "a range would exceed"),
    ("[x for x in range(10**9)]", "a range would exceed"),
    ("'x'.ljust(10**9)", "exceed 100000"),
    ("'x'.zfill(10**9)", "exceed 100000"),
    ("('a' * 1000).replace('a', 'b' * 1000)", "exceed 100000"),
    ("('\\t' * 50000).expandtabs(8)", "exceed 100000"),
    ("','.join(['a' * 1000] * 200)", "exceed 100000"),
    ("f'{1:>999999999}'", "a format width would exceed"),
    ("'%*d' % (10**8, 1)", "'*' widths"),
    ("'%999999999d' % 1", "a % format width would exceed"),
    ("[s] * 20", "exceed 100000"),
    ("str([s, s, s])", "a string would exceed"),
    ("repr([s, s, s])", "a string would exceed"),
    ("'%s' % [[s, s, s]]", "the % format arguments would exceed"),
    ("f'{s}{s}{s}'", "an f-string would exceed"),
    ("[*big, *big]", "exceed 100000"),
    ("int((amount * 10**25000) ** 39)", "a number would exceed"),
    ("(lambda f: f(f))(lambda f: f(f))", "recursion too deep"),
])
def test_amplifying_expressions_are_refused(env, expression, message):
    context = {"s": "x" * 40_000, "big": [0] * 60_000, "amount": Decimal("1.5")}
    assert_limited(env.evaluate, expression, context, message=message)


@pytest.mark.parametrize("script", [
    "s = 'a'\nfor i in range(40):\n    s = s + s",
    "s = 'a'\nfor i in range(40):\n    s += s",
    "items = [1]\nfor i in range(40):\n    items.extend(items)",
    "items = [1]\nfor i in range(40):\n    items = items * 2",
    "d = {'l': [1]}\nfor i in range(40):\n    d['l'] += d['l']",
    "n = 2\nfor i in range(40):\n    n = n * n",
])
def test_doubling_loops_are_refused(env, script):
    assert_limited(env.execute, script, {}, message="would exceed")


@pytest.mark.parametrize("script", [
    "def f(n):\n    return f(n + 1)\nf(0)",
    "f = lambda n: f(n + 1)\nf(0)",
    "def f(n):\n    try:\n        return f(n + 1)\n    except Exception:\n        return 0\nr = f(0)",
])
def test_deep_recursion_is_refused(env, script):
    context = {}
    assert_limited(env.execute, script, context, message="recursion too deep")
    assert context == {}


def test_wall_clock_limit():
    env = SandboxEnvironment(max_seconds=0.05, max_steps=10**9)
    script = "while True:\n    x = sorted(range(100000), key=lambda i: -i)[0]"
    assert_limited(env.execute, script, {}, message="longer than 0.05 s", seconds=1.0)


@pytest.mark.parametrize("script", [
    "rows = []\nfor i in range(300):\n    rows.append([0] * 90000)",
    "rows = []\nfor i in range(300):\n    rows.append(list(range(90000)))",
    "b = [0] * 90000\nrows = [" + "b[:], " * 300 + "]",
    "b = [0] * 90000\nrows = [" + "b.copy(), " * 300 + "]",
    "d = dict(zip(range(90000), range(90000)))\nrows = [" + "{**d}, " * 60 + "]",
    "d = dict(zip(range(90000), range(90000)))\nrows = []\nfor i in range(60):\n    rows.append(d | {})",
])
def test_memory_growth_is_limited(script):
    env = SandboxEnvironment(max_memory=32 * 2**20, max_steps=10**9, max_seconds=10)
    assert_limited(env.execute, script, {}, message="more than 32 MiB of memory", seconds=5.0)


def test_a_for_loop_iteration_costs_one_step():
    env = SandboxEnvironment(max_steps=1000)
    env.execute("for i in range(990):\n    pass", {})
    assert_limited(env.execute, "for i in range(1010):\n    pass", {}, message="more than 1000 steps")


def test_large_existing_data_can_be_read(env):
    context = {"rows": list(range(150_000))}
    assert env.evaluate("len(rows) + rows[-1]", context) == 299_999
    with pytest.raises(SandboxLimitError):
        env.evaluate("rows[:]", context)


def test_source_length_limit():
    env = SandboxEnvironment(max_source=100)
    with pytest.raises(SandboxLimitError, match="longer than 100 characters"):
        env.evaluate("1 + " * 30 + "1", {})


def test_deeply_nested_source_is_refused(env):
    with pytest.raises((SandboxLimitError, SyntaxError)):
        env.evaluate("(" * 5000 + "1" + ")" * 5000, {})


def test_written_back_data_is_limited_in_total_size(env):
    context = {"keep": 1}
    with pytest.raises(SandboxLimitError, match="larger than 100000"):
        env.execute("a = 'a' * 60000\nb = 'b' * 60000", context)
    assert context == {"keep": 1}


def test_written_back_data_is_limited_in_depth(env):
    with pytest.raises(SandboxLimitError, match="deeper than 20"):
        env.execute("x = []\nfor i in range(30):\n    x = [x]", {})


def test_self_referencing_data_is_refused_at_write_back(env):
    with pytest.raises(SandboxLimitError):
        env.execute("x = [1]\nx.append(x)", {})


@pytest.mark.parametrize("helper", ["stop_worker", "interrupt_worker"])
def test_exit_and_interrupt_become_ordinary_errors(env, helper):
    with pytest.raises(SandboxLimitError, match="raised"):
        env.execute(f"{helper}()", {})
    assert env.evaluate("1 + 1", {}) == 2  # the worker is still fine


def test_budget_is_per_call(env):
    for _ in range(3):
        env.execute("total = 0\nfor i in range(40000):\n    total += i", {})


# ====================================================================== ordinary code works

ORDINARY_EXPRESSIONS = [
    ("(2 + 3) * 4 - 10 / 4", 17.5),
    ("7 // 2 + 7 % 2 + 2 ** 10", 1028),
    ("1 < 2 <= 2 != 3", True),
    ('urgency == "high"', True),
    ('"now" if urgency == "high" else "later"', "now"),
    ("[x * 2 for x in items if x > 1]", [4, 6]),
    ("{k: v * 10 for k, v in ticket.items() if k == 'count'}", {"count": 20}),
    ("{x % 2 for x in items}", {0, 1}),
    ("name.strip().lower()", "ada lovelace"),
    ("name.split()[-1].upper()", "LOVELACE"),
    ("name.strip().startswith('Ada')", True),
    ("'-'.join(['a', 'b'])", "a-b"),
    ("'a,b'.replace(',', ';')", "a;b"),
    ("len(items)", 3),
    ('ticket["type"]', "incident"),
    ('data.get("a", 1)', 1),
    ('data.get("b", 1)', 2),
    ("sum(items)", 6),
    ("max(items) + min(items) + abs(-1) + round(2.567, 2)", 7.57),
    ("sorted(items, key=lambda x: -x)", [3, 2, 1]),
    ("any(x > 2 for x in items) and all(x > 0 for x in items)", True),
    ("list(zip(items, 'abc'))", [(1, "a"), (2, "b"), (3, "c")]),
    ("[i for i, x in enumerate(items)]", [0, 1, 2]),
    ("int('42') + float('0.5')", 42.5),
    ("str(5) + str(items)", "5[1, 2, 3]"),
    ("f'{name.strip()}-{ticket[\"count\"]:03d}'", "Ada Lovelace-002"),
    ("'%s has %d items' % ('t', 3)", "t has 3 items"),
    ('"PT30M"', "PT30M"),
    ("response_due", "2024-05-01T10:00:00"),
    ('deadline("PT2H")', "2024-01-01T00:00:00+PT2H"),
    ("(opened + timedelta(hours=2)).isoformat()", "2024-05-01T10:00:00"),
    ("(datetime(2024, 5, 2) - opened).total_seconds()", 57600.0),
    ("opened.date().isoformat()", "2024-05-01"),
    ("opened.strftime('%d.%m.%Y')", "01.05.2024"),
    ("opened > datetime(2024, 1, 1)", True),
    ("amount.quantize(cent) * 2", Decimal("25.00")),
    ("(y := 3) + y", 6),
    ("[1, 2, 3][1:]", [2, 3]),
    ("(1, 2) + (3,)", (1, 2, 3)),
    ("[*items, 4]", [1, 2, 3, 4]),
    ("{**data, 'c': 3}", {"b": 2, "c": 3}),
    ("({1, 2} | {3}) - {1}", {2, 3}),
    ("7 >> 1 ^ 1 & 3", 2),
    ("list(reversed(items))", [3, 2, 1]),
    ("tuple(sorted(set(items)))", (1, 2, 3)),
    ("dict(a=1)", {"a": 1}),
    ("None", None),
]

CONTEXT = {
    "urgency": "high",
    "items": [1, 2, 3],
    "name": "  Ada Lovelace ",
    "ticket": {"type": "incident", "count": 2},
    "data": {"b": 2},
    "response_due": "2024-05-01T10:00:00",
    "opened": datetime(2024, 5, 1, 8, 0),
    "amount": Decimal("12.501"),
    "cent": Decimal("0.01"),
}


@pytest.mark.parametrize("expression, expected", ORDINARY_EXPRESSIONS)
def test_ordinary_expressions(env, expression, expected):
    result = env.evaluate(expression, dict(CONTEXT))
    assert result == expected
    assert type(result) is type(expected)


def test_unquoted_duration_is_a_name_error(env):
    with pytest.raises(NameError, match="PT30M"):
        env.evaluate("PT30M", {})


def test_expression_whitespace_is_ignored(env):
    assert env.evaluate('\n  "PT30M"  \n', {}) == "PT30M"


def test_assignment_is_written_back(env):
    context = {"x": 3, "keep": "same"}
    assert env.execute("y = x * 2\nlabel = f'{x}-{y}'", context) is True
    assert context == {"x": 3, "keep": "same", "y": 6, "label": "3-6"}


def test_def_inside_a_script(env):
    context = {"items": [3, 4]}
    env.execute("def double(v):\n    return v * 2\nresult = [double(i) for i in items]", context)
    assert context == {"items": [3, 4], "result": [6, 8]}  # the function itself is not data


def test_for_loop_summing(env):
    context = {"lines": [{"qty": 2, "price": 5}, {"qty": 1, "price": 7}]}
    env.execute("total = 0\nfor line in lines:\n    total += line['qty'] * line['price']", context)
    assert context["total"] == 17


def test_datetime_arithmetic_is_written_back(env):
    context = {"opened": datetime(2024, 5, 1, 8, 0)}
    env.execute("due = opened + timedelta(days=1)\nlate = due < opened", context)
    assert context["due"] == datetime(2024, 5, 2, 8, 0)
    assert context["late"] is False


def test_helper_call_in_a_script(env):
    context = {}
    env.execute('due = deadline("PT2H")', context)
    assert context == {"due": "2024-01-01T00:00:00+PT2H"}


def test_item_changes_and_deletions_are_written_back(env):
    context = {"counts": {"n": 1}, "log": ["a"], "gone": 1, "stays": 2}
    env.execute("counts['n'] += 1\nlog.append('b')\nlog += ['c']\ndel gone", context)
    assert context == {"counts": {"n": 2}, "log": ["a", "b", "c"], "stays": 2}


def test_tuple_unpacking_and_raising(env):
    context = {"pairs": [("a", 1), ("b", 2)]}
    env.execute("first, second = pairs\nnames = [k for k, v in pairs]", context)
    assert context["first"] == ("a", 1)
    assert context["names"] == ["a", "b"]
    with pytest.raises(ValueError, match="no assignee"):
        env.execute("raise ValueError('no assignee')", context)


def test_print_is_accepted_and_discarded(env):
    context = {}
    env.execute("print('debug', 1)\nx = 1", context)
    assert context == {"x": 1}


def test_script_can_handle_its_own_errors(env):
    context = {"d": {}}
    env.execute("try:\n    v = d['missing']\nexcept KeyError:\n    v = 'default'", context)
    assert context["v"] == "default"


# ====================================================================== isolation


def test_script_cannot_overwrite_a_helper_for_the_next_call(env):
    context = {}
    env.execute("deadline = lambda d: 'hacked'\nresult = deadline('PT1H')", context)
    assert "deadline" not in context
    assert env.evaluate('deadline("PT2H")', {}) == "2024-01-01T00:00:00+PT2H"


def test_data_cannot_replace_a_helper(env):
    assert env.evaluate('deadline("PT2H")', {"deadline": "data"}) == "2024-01-01T00:00:00+PT2H"


@pytest.mark.parametrize("value", [lambda: 1, Ticket(), Ticket, object(), b"bytes", [Ticket()]])
def test_non_plain_data_is_invisible(env, value):
    with pytest.raises(NameError):
        env.evaluate("thing", {"thing": value})
    context = {"thing": value}
    env.execute("other = 1", context)
    assert context["thing"] is value


class Labels(dict):
    """A custom dict subclass in task data: a server object's method must not come with it."""

    def secret(self):
        return "s3cr3t"


class Rows(list):
    """A custom list subclass in task data."""


DICT_AND_LIST_SUBCLASSES = [
    (OrderedDict([("b", 1), ("a", [2, 3])]), {"b": 1, "a": [2, 3]}),
    (defaultdict(list, {"x": [1]}), {"x": [1]}),
    (Labels(vip=True), {"vip": True}),
    (Rows([1, {"k": Rows([2])}]), [1, {"k": [2]}]),
    ({"nested": OrderedDict(a=Rows([1]))}, {"nested": {"a": [1]}}),
]


@pytest.mark.parametrize("value, plain", DICT_AND_LIST_SUBCLASSES)
def test_dict_and_list_subclasses_keep_their_content_as_plain_data(env, value, plain):
    seen = env.evaluate("thing", {"thing": value})
    assert seen == plain
    assert _types(seen) == _types(plain)  # plain dict and list all the way down
    context = {"thing": value}
    env.execute("copy = thing", context)
    assert context["copy"] == plain and _types(context["copy"]) == _types(plain)


def _types(value):
    if isinstance(value, dict):
        return (type(value), {k: _types(v) for k, v in value.items()})
    if isinstance(value, list):
        return (type(value), [_types(item) for item in value])
    return type(value)


def test_a_dict_subclass_brings_no_methods(env):
    with pytest.raises(SandboxViolation, match="attribute 'secret' of dict is not allowed"):
        env.evaluate("labels.secret()", {"labels": Labels(vip=True)})
    assert env.evaluate("labels.get('vip')", {"labels": Labels(vip=True)}) is True


def test_a_subclass_holding_server_objects_is_still_invisible(env):
    for value in (OrderedDict(ticket=Ticket()), Rows([Ticket()]), Labels(f=lambda: 1)):
        with pytest.raises(NameError):
            env.evaluate("thing", {"thing": value})
        context = {"thing": value}
        env.execute("other = 1", context)
        assert context["thing"] is value


def test_script_changes_to_a_subclass_value_are_written_back_as_plain_data(env):
    context = {"counts": defaultdict(int, {"a": 1}), "rows": Rows([1])}
    env.execute("counts['b'] = 2\nrows.append(2)", context)
    assert context == {"counts": {"a": 1, "b": 2}, "rows": [1, 2]}
    assert type(context["counts"]) is dict and type(context["rows"]) is list


def test_a_helper_returning_a_subclass_gives_plain_data(env):
    env = SandboxEnvironment({"ordered": lambda: OrderedDict(a=Rows([1]))})
    assert env.evaluate("ordered()", {}) == {"a": [1]}
    context = {}
    env.execute("got = ordered()", context)
    assert context == {"got": {"a": [1]}} and type(context["got"]) is dict


def test_private_keys_are_invisible_and_kept(env):
    context = {"_secret": 1}
    with pytest.raises(SandboxViolation):
        env.evaluate("_secret", context)
    env.execute("x = 1", context)
    assert context == {"_secret": 1, "x": 1}


def test_evaluate_does_not_modify_the_context(env):
    context = {"items": [1]}
    assert env.evaluate("items.append(2) or items", context) == [1, 2]
    assert context == {"items": [1]}


def test_evaluate_returns_plain_data_only(env):
    with pytest.raises(SandboxViolation, match="not plain data"):
        env.evaluate("lambda: 1", {})
    with pytest.raises(SandboxViolation, match="not plain data"):
        env.evaluate("(x for x in [1])", {})


def test_non_plain_values_are_not_written_back(env):
    context = {}
    env.execute("f = lambda: 1\ng = (x for x in [1])\nd = dict\nx = 1", context)
    assert context == {"x": 1}
    with pytest.raises(SandboxViolation, match="'holder' holds a function"):
        env.execute("holder = {'f': lambda: 1}", context)


def test_failed_script_changes_nothing(env):
    context = {"x": 1, "y": 1}
    with pytest.raises(ZeroDivisionError):
        env.execute("x = 2\ndel y\n1 / 0", context)
    assert context == {"x": 1, "y": 1}


def test_external_context_is_readable_not_written(env):
    assert env.evaluate("dmninputexpr < 5", {}, {"dmninputexpr": 3}) is True
    context = {}
    env.execute("shared = shared + 1\nown = shared", context, {"shared": 1})
    assert context == {"own": 2}


def test_invalid_helpers_are_rejected():
    with pytest.raises(ValueError):
        SandboxEnvironment({"_hidden": fake_deadline})
    with pytest.raises(ValueError):
        SandboxEnvironment({"not_callable": 1})


# ====================================================================== SpiffWorkflow integration

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Sandboxed" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="Double" name="Double">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="Gate" default="small">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>big</bpmn:outgoing><bpmn:outgoing>small</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:scriptTask id="MarkBig"><bpmn:incoming>big</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>path = "big"</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="MarkSmall"><bpmn:incoming>small</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>path = "small"</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="EndBig"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="EndSmall"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Double"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Double" targetRef="Gate"/>
    <bpmn:sequenceFlow id="big" sourceRef="Gate" targetRef="MarkBig">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">y &gt; 5 and urgency == "high"
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="Gate" targetRef="MarkSmall"/>
    <bpmn:sequenceFlow id="f3" sourceRef="MarkBig" targetRef="EndBig"/>
    <bpmn:sequenceFlow id="f4" sourceRef="MarkSmall" targetRef="EndSmall"/>
  </bpmn:process>
</bpmn:definitions>
"""


def run_bpmn(script, data):
    parser = BpmnParser()
    parser.add_bpmn_str(BPMN.replace("{script}", script).encode())
    workflow = BpmnWorkflow(parser.get_spec("Sandboxed"), script_engine=make_script_engine(HELPERS))
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    workflow.do_engine_steps()
    return workflow


@pytest.mark.parametrize("x, path", [(3, "big"), (2, "small")])
def test_bpmn_script_task_and_gateway(x, path):
    workflow = run_bpmn("y = x * 2", {"x": x, "urgency": "high"})
    assert workflow.is_completed()
    assert workflow.data["y"] == x * 2
    assert workflow.data["path"] == path


def test_bpmn_refused_script_fails_as_workflow_task_exception():
    with pytest.raises(WorkflowTaskException) as caught:
        run_bpmn("y = __import__('os')", {"x": 1, "urgency": "high"})
    assert caught.value.error_type == "SandboxViolation"
    assert isinstance(caught.value.__context__, SandboxViolation)


def test_bpmn_endless_script_fails_as_workflow_task_exception():
    with pytest.raises(WorkflowTaskException) as caught:
        run_bpmn("while True:\n    pass", {"x": 1, "urgency": "high"})
    assert caught.value.error_type == "SandboxLimitError"


def test_bpmn_condition_name_error_is_wrapped():
    with pytest.raises(WorkflowTaskException) as caught:
        run_bpmn("z = 1", {"x": 1, "urgency": "high"})  # the condition reads y, which does not exist
    assert caught.value.error_type == "NameError"


DMN_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="Definitions_2" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Decide" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="Rule" camunda:decisionRef="priority_decision">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Rule"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Rule" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
"""

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dmn" name="DRD"
             namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="priority_decision" name="Priority">
    <decisionTable id="table" hitPolicy="UNIQUE">
      <input id="in_urgency" label="Urgency">
        <inputExpression id="ie1" typeRef="string"><text>urgency</text></inputExpression>
      </input>
      <input id="in_users" label="Users">
        <inputExpression id="ie2" typeRef="integer"><text>len(users)</text></inputExpression>
      </input>
      <output id="out_priority" label="Priority" name="priority" typeRef="string"/>
      <rule id="r1">
        <inputEntry id="r1i1"><text>"high"</text></inputEntry>
        <inputEntry id="r1i2"><text>&gt;= 10</text></inputEntry>
        <outputEntry id="r1o1"><text>"P1"</text></outputEntry>
      </rule>
      <rule id="r2">
        <inputEntry id="r2i1"><text>"high"</text></inputEntry>
        <inputEntry id="r2i2"><text>0 &lt; ? &lt; 10</text></inputEntry>
        <outputEntry id="r2o1"><text>"P" + str(1 + 1)</text></outputEntry>
      </rule>
      <rule id="r3">
        <inputEntry id="r3i1"><text></text></inputEntry>
        <inputEntry id="r3i2"><text></text></inputEntry>
        <outputEntry id="r3o1"><text>"P3"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


@pytest.mark.parametrize("urgency, users, priority", [("high", 12, "P1"), ("high", 3, "P2"), ("low", 3, "P3")])
def test_dmn_decision_table_through_the_sandbox(urgency, users, priority):
    parser = CamundaParser()
    parser.add_bpmn_str(DMN_BPMN.encode())
    parser.add_dmn_str(DMN.encode())
    workflow = BpmnWorkflow(parser.get_spec("Decide"), script_engine=make_script_engine())
    workflow.get_tasks(state=TaskState.READY)[0].data.update({"urgency": urgency, "users": ["u"] * users})
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["priority"] == priority


def test_make_script_engine_uses_the_sandbox():
    engine = make_script_engine(HELPERS)
    assert isinstance(engine.environment, SandboxEnvironment)
    assert engine.environment.helpers == HELPERS


# ---------------------------------------------------------------- trivial expressions take a short cut


@pytest.mark.parametrize("expression, expected", [
    ('"PT30M"', "PT30M"), ("42", 42), ("True", True), ("None", None), (" assignee ", "engineer1"),
    ("count", 3), ("when", datetime(2024, 1, 1, 8, 0)),
])
def test_literals_and_bare_names_give_what_the_full_path_gives(env, expression, expected):
    context = {"assignee": "engineer1", "count": 3, "when": datetime(2024, 1, 1, 8, 0)}
    assert env.evaluate(expression, context) == expected
    assert env._trivial_value(expression, context) is not None  # it did take the short cut


def test_short_cut_keeps_the_full_paths_rules(env):
    # a helper shadows data of the same name, as in the full namespace (and a function is not plain data)
    assert env._trivial_value("deadline", {"deadline": "x"}) is None
    with pytest.raises(SandboxViolation):
        env.evaluate("deadline", {"deadline": "x"})
    # an unknown name still fails the way the full path fails
    with pytest.raises(NameError):
        env.evaluate("missing", {})
    # names starting with "_" are refused, not read
    with pytest.raises(Exception):
        env.evaluate("_secret", {"_secret": "s"})
    # containers are copied by the full path, so a caller never gets the task's own list
    tags = ["a"]
    value = env.evaluate("tags", {"tags": tags})
    assert value == tags and value is not tags
    # oversized text is still refused
    small = SandboxEnvironment({}, max_size=10)
    with pytest.raises(SandboxLimitError):
        small.evaluate("note", {"note": "x" * 11})
