"""The live diagram (issue 12 part 6): where the open tickets of a process version wait, and the path one ticket took.

`heatmap` counts per element of a version: the open tickets waiting there, their average waiting time and how
many are past their deadline, in ONE aggregate statement over the open task rows (`human_tasks`: a user task's
wait starts when its row opened, its deadline is the row's `due_at`, the earliest timer attached to it) and the
waiting timers (`timers`) of intermediate timer events (a boundary timer is the deadline of its task, not a
place of its own: its row has no start, so a timer event's average wait is None). No instance is loaded.

`ticket_path` is one ticket's diagram as it ran: the version it runs on, the elements it completed (its task
rows and the timers that fired, from the ticket history) and where it is now (its open tasks, else its waiting
timers). Anyone who may see the ticket may see it.
"""
from functools import lru_cache

from sqlalchemy import DateTime, Integer, bindparam, case, func, literal, null, select, union_all
from sqlalchemy.sql.expression import cast

from app.clock import now
from app.engine import PendingTimer, ProcessDefinition, ProcessInstance
from app.engine.validation.model import parse_xml
from app.extensions import db
from app.reports.queries import duration_seconds
from app.tasks.models import HumanTask
from app.tickets import service as tickets
from app.tickets.models import TicketEvent

from .service import require_owner, version_of

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_tasks = HumanTask.__table__
_timers = PendingTimer.__table__
_inst = ProcessInstance.__table__
_defs = ProcessDefinition.__table__
_events = TicketEvent.__table__


@lru_cache(maxsize=256)
def _boundary_ids(definition_id, bpmn_xml):
    """The ids of the boundary events of a version's diagram (a deployed version never changes)."""
    return frozenset(e.get("id") for e in parse_xml(bpmn_xml).iter(f"{BPMN}boundaryEvent"))


def _heat_statement(dialect, stamp, boundary):
    """One statement: per element name, (name, kind, waiting, avg_wait_seconds, overdue) of the version's open
    task rows and its running instances' intermediate timers."""
    at = literal(stamp, DateTime(timezone=True))
    open_tasks = (
        select(_tasks.c.name.label("element"), literal("task").label("kind"), func.count().label("waiting"),
               func.avg(duration_seconds(dialect, _tasks.c.created_at, at)).label("avg_wait"),
               func.sum(case((_tasks.c.due_at < at, 1), else_=0)).label("overdue"))
        .select_from(_tasks.join(_inst, _inst.c.id == _tasks.c.instance_id))
        .where(_inst.c.definition_id == bindparam("definition_id"), _inst.c.status == "running",
               _tasks.c.state == "open")
        .group_by(_tasks.c.name)
    )
    waiting_timers = (
        select(_timers.c.name.label("element"), literal("timer").label("kind"), func.count().label("waiting"),
               cast(null(), Integer).label("avg_wait"),
               func.sum(case((_timers.c.due_at < at, 1), else_=0)).label("overdue"))
        .select_from(_timers.join(_inst, _inst.c.id == _timers.c.instance_id))
        .where(_inst.c.definition_id == bindparam("definition_id"), _inst.c.status == "running",
               _timers.c.name.not_in(sorted(boundary) or [""]))
        .group_by(_timers.c.name)
    )
    return union_all(open_tasks, waiting_timers)


def heatmap(user, name, version):
    """Per element of version `version` of `name`: {"waiting", "avg_wait_seconds" (None for timer events),
    "overdue", "kind" ("task" or "timer"), "heat" (0..1, waiting / the most waiting anywhere)}; with the
    version's XML and the moment measured (`at`)."""
    require_owner(user)
    definition = version_of(name, version)
    stamp = now()
    boundary = _boundary_ids(definition.id, definition.bpmn_xml)
    statement = _heat_statement(db.session.get_bind().dialect.name, stamp, boundary)
    elements = {}
    for row in db.session.execute(statement, {"definition_id": definition.id}):
        elements[row.element] = {
            "kind": row.kind, "waiting": int(row.waiting), "overdue": int(row.overdue or 0),
            "avg_wait_seconds": None if row.avg_wait is None else round(float(row.avg_wait)),
        }
    most = max((e["waiting"] for e in elements.values()), default=0)
    for entry in elements.values():
        entry["heat"] = round(entry["waiting"] / most, 3) if most else 0
    return {"name": name, "version": version, "at": stamp.isoformat(), "xml": definition.bpmn_xml,
            "elements": elements, "waiting": sum(e["waiting"] for e in elements.values()),
            "overdue": sum(e["overdue"] for e in elements.values())}


_TICKET_DEFINITION = (
    select(_defs.c.name, _defs.c.version, _defs.c.bpmn_xml, _inst.c.status)
    .join(_inst, _inst.c.definition_id == _defs.c.id)
    .where(_inst.c.id == bindparam("instance_id"))
)
_TASKS_BY_STATE = (
    select(_tasks.c.name, _tasks.c.state, func.count().label("times"))
    .where(_tasks.c.ticket_id == bindparam("ticket_id"), _tasks.c.instance_id == bindparam("instance_id"))
    .group_by(_tasks.c.name, _tasks.c.state)
)
_FIRED = select(_events.c.detail).where(_events.c.ticket_id == bindparam("ticket_id"),
                                        _events.c.action == "timer_fired")
_WAITING_TIMERS = select(_timers.c.name).where(_timers.c.instance_id == bindparam("instance_id"))


def ticket_path(number):
    """The diagram of ticket `number` as it ran: {"number", "process", "version", "xml", "status", "completed":
    {element: times}, "current": [element ids]}. NotFound for an unknown ticket."""
    ticket = tickets.get_ticket(number)
    if ticket.process_instance_id is None:
        return {"number": number, "process": None, "version": None, "xml": None, "status": ticket.status,
                "completed": {}, "current": []}
    params = {"ticket_id": ticket.id, "instance_id": ticket.process_instance_id}
    head = db.session.execute(_TICKET_DEFINITION, params).first()
    completed, current = {}, []
    for row in db.session.execute(_TASKS_BY_STATE, params):
        if row.state == "completed":
            completed[row.name] = completed.get(row.name, 0) + row.times
        elif row.state == "open":
            current.append(row.name)
    for (detail,) in db.session.execute(_FIRED, params):
        timer = (detail or {}).get("timer")
        if timer:
            completed[timer] = completed.get(timer, 0) + 1
    if not current and head.status == "running":
        current = sorted({name for (name,) in db.session.execute(_WAITING_TIMERS, params) if name})
    return {"number": number, "process": head.name, "version": head.version, "xml": head.bpmn_xml,
            "status": ticket.status, "completed": completed, "current": sorted(current)}
