"""Evaluate a deployed decision table on its own, outside any diagram (e.g. which flow a new ticket starts).

Every deployed version carries all of workflows/*.dmn as they were at its deploy (see definitions.Bundle), so the
newest version that holds a decision has its newest text: changing a table is an edit of the .dmn file and a
deploy, nothing else. Parsed tables are kept per definition version.
"""
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


class DecisionError(Exception):
    """A decision table could not be parsed or evaluated against the given data."""


class Decisions:
    """{decision id: the newest deployed table}, refreshed when a newer definition version is deployed."""

    def __init__(self, script_engine):
        self.script_engine = script_engine
        self._tables = {}  # (newest definition id, decision id) -> DMNEngine or None

    def decide(self, decision_id, data):
        """The outputs ({name: value}) of the first matching rule of the newest deployed table `decision_id`
        evaluated against `data`; {} when no rule matches; None when no deployed version has the table."""
        newest = _NEWEST_ID.scalar({})
        if newest is None:
            return None
        key = (newest, decision_id)
        if key not in self._tables:
            self._tables = {k: v for k, v in self._tables.items() if k[0] == newest}
            self._tables[key] = self._load(decision_id)
        table = self._tables[key]
        if table is None:
            return None
        task = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=self.script_engine))
        try:
            return dict(table.result(task))
        except (SpiffWorkflowException, ValueError, TypeError, NameError) as exc:
            raise DecisionError(f"decision {decision_id!r}: {exc}") from exc

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
                        return parser.get_engine(decision_id, None)
                except (ValidationException, SpiffWorkflowException, ValueError) as exc:
                    raise DecisionError(f"decision {decision_id!r} in {name}: {exc}") from exc
        return None
