"""Evaluate a deployed decision table on its own, outside any diagram (e.g. which flow a new ticket starts).

Every deployed version carries all of workflows/*.dmn as they were at its deploy (see definitions.Bundle), so the
newest version that holds a decision has its newest text: changing a table is an edit of the .dmn file and a
deploy, nothing else. Parsed tables are kept per definition version.
"""
import re
from types import SimpleNamespace

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import func, select

from app.extensions import db
from app.fast_statements import FastStatement

from .models import ProcessDefinition

_NEWEST_ID = FastStatement(select(func.max(ProcessDefinition.id)))
_BY_AGE = select(ProcessDefinition.id, ProcessDefinition.dmn_xml).order_by(ProcessDefinition.id.desc())
_CALL = re.compile(r"[\w)\]]\s*\(")  # a name, call or subscript followed by "(": an expression that calls something
_MEMO_SIZE = 1024


class DecisionError(Exception):
    """A decision table could not be parsed or evaluated against the given data."""


class Decisions:
    """{decision id: the newest deployed table}, refreshed when a newer definition version is deployed."""

    def __init__(self, script_engine):
        self.script_engine = script_engine
        self._tables = {}  # (newest definition id, decision id) -> DMNEngine or None
        self._memo = {}  # (newest definition id, decision id, data items) -> outputs of a table that calls nothing

    def decide(self, decision_id, data):
        """The outputs ({name: value}) of the first matching rule of the newest deployed table `decision_id`
        evaluated against `data`; {} when no rule matches; None when no deployed version has the table.

        A table whose expressions call nothing (no helper, no function: its outputs depend on `data` alone) is
        evaluated once per newest version and plain input values; later calls answer from that memo.
        """
        newest = _NEWEST_ID.scalar({})
        if newest is None:
            return None
        key = (newest, decision_id)
        if key not in self._tables:
            self._tables = {k: v for k, v in self._tables.items() if k[0] == newest}
            self._tables[key] = self._load(decision_id)
            self._memo.clear()
        table = self._tables[key]
        if table is None:
            return None
        memo_key = _memo_key(key, data) if table.calls_nothing else None
        if memo_key is not None and memo_key in self._memo:
            return dict(self._memo[memo_key])
        task = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=self.script_engine))
        try:
            outputs = dict(table.result(task))
        except (SpiffWorkflowException, ValueError, TypeError, NameError) as exc:
            raise DecisionError(f"decision {decision_id!r}: {exc}") from exc
        if memo_key is not None and all(_plain(v) for v in outputs.values()):
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[memo_key] = dict(outputs)
        return outputs

    @staticmethod
    def _load(decision_id):
        for row in db.session.execute(_BY_AGE).yield_per(4):
            for name, text in (row.dmn_xml or {}).items():
                if f'id="{decision_id}"' not in text:
                    continue
                parser = BpmnDmnParser()
                try:
                    parser.add_dmn_str(text.encode(), filename=name)
                    if decision_id in parser.dmn_parsers:
                        table = parser.get_engine(decision_id, None)
                        table.calls_nothing = _calls_nothing(table.decision_table)
                        return table
                except (ValidationException, SpiffWorkflowException, ValueError) as exc:
                    raise DecisionError(f"decision {decision_id!r} in {name}: {exc}") from exc
        return None


def _calls_nothing(decision_table):
    """True when no expression of the table (inputs, input entries, output entries) calls anything."""
    texts = [i.expression or "" for i in decision_table.inputs]
    for rule in decision_table.rules:
        texts += [e or "" for entry in rule.inputEntries for e in (entry.lhs or [])]
        texts += [entry.text or "" for entry in rule.outputEntries]
    return not any(_CALL.search(text) for text in texts)


def _plain(value):
    return value is None or isinstance(value, (str, int, float, bool))


def _memo_key(key, data):
    """(newest, decision id, sorted data items) when every value is plain (hashable and immutable), else None."""
    if not all(_plain(v) for v in data.values()):
        return None
    return (*key, tuple(sorted(data.items())))
