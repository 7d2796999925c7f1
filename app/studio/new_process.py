"""A new process: one a process owner opened from a file and has not deployed yet. Its draft is a StudioDraft row
with base version 0; until its first deploy the studio edits it against a stand-in of a deployed version (no
diagram of its own, the decision tables every deployed process may call, no scenarios). Its first deploy makes
version 1, from the file `<process id>.bpmn`."""
from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.engine import ProcessDefinition
from app.extensions import db

NEW = 0  # the base version of a new process's draft


@dataclass
class NewProcess:
    """Stands in for the newest version of a process not deployed yet (what the studio's use cases read)."""

    name: str
    filename: str
    bpmn_xml: str
    dmn_xml: dict
    version: int = NEW
    content_hash: str = None
    scenarios: dict = field(default_factory=dict)
    forms: dict = field(default_factory=dict)


def filename_of(name):
    """The file a new process is deployed from."""
    return f"{name}.bpmn"


def is_new(draft):
    return draft is not None and draft.base_version == NEW


def stand_in(draft):
    return NewProcess(name=draft.name, filename=filename_of(draft.name), bpmn_xml=draft.bpmn_xml or "",
                      dmn_xml=shared_tables())


_NEWEST_IDS = select(func.max(ProcessDefinition.id)).group_by(ProcessDefinition.name)


def shared_tables():
    """{file name: DMN XML} of the decision tables a new process may call: those of every process's newest version
    (the most recently deployed text of a file wins)."""
    rows = db.session.execute(
        select(ProcessDefinition.dmn_xml).where(ProcessDefinition.id.in_(_NEWEST_IDS))
        .order_by(ProcessDefinition.deployed_at, ProcessDefinition.id)).scalars()
    tables = {}
    for dmn in rows:
        tables.update(dmn or {})
    return tables
