"""The decision memo (app/engine/decisions.py): only tables whose expressions call nothing answer from it."""
from pathlib import Path

from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from app.engine.decisions import _calls_nothing, _memo_key

TABLE = Path(__file__).resolve().parents[2] / "workflows" / "flow_by_ticket.dmn"


def _table(text):
    parser = BpmnDmnParser()
    parser.add_dmn_str(text.encode(), filename="flow_by_ticket.dmn")
    return parser.get_engine("flow_by_ticket", None).decision_table


def test_the_shipped_flow_table_calls_nothing():
    assert _calls_nothing(_table(TABLE.read_text(encoding="utf-8")))


def test_a_table_calling_a_helper_is_not_memoised():
    text = TABLE.read_text(encoding="utf-8").replace("<text>\"after_sales\"</text>", "<text>now_iso()</text>", 1)
    assert not _calls_nothing(_table(text))
    text = TABLE.read_text(encoding="utf-8").replace("<text>channel</text>", "<text>str(channel)</text>", 1)
    assert not _calls_nothing(_table(text))


def test_only_plain_inputs_make_a_key():
    assert _memo_key((1, "d"), {"b": "x", "a": None}) == (1, "d", (("a", None), ("b", "x")))
    assert _memo_key((1, "d"), {"a": ["x"]}) is None
