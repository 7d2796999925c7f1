"""Turn what the engine did in one step into ticket columns, open human tasks and history rows."""
import logging
from datetime import datetime
from typing import NamedTuple, Optional

from flask import current_app
from sqlalchemy import bindparam, insert, select, update

from app import stored_json
from app.auth.models import Department, User
from app.calendar import sla
from app.clock import as_utc, now
from app.extensions import db
from app.fast_statements import FastStatement
from app.notifications import events as notifications
from app.tasks.models import HumanTask

from .models import Ticket, TicketEvent, is_transfer

log = logging.getLogger(__name__)
_tasks = HumanTask.__table__
_tickets = Ticket.__table__
_history = TicketEvent.__table__

# Built once (see engine.runtime). UPDATEs take their SET columns from the parameters' keys.
_UPDATE_TICKET = FastStatement(update(_tickets).where(_tickets.c.id == bindparam("ticket_row_id")))
_INSERT_HISTORY = FastStatement(insert(_history))
_ADD_TRANSFERS = (update(_tickets).where(_tickets.c.id == bindparam("ticket_row_id"))
                  .values(transfer_count=_tickets.c.transfer_count + bindparam("n")))  # rare: plain execute
_INSERT_TASKS = FastStatement(insert(_tasks))
_CANCEL_TASK = FastStatement(update(_tasks).where(_tasks.c.id == bindparam("task_id")))
_SET_TASK_DUE = FastStatement(update(_tasks).where(_tasks.c.id == bindparam("task_row_id")).values(due_at=bindparam("due")))
_HEAD_COLUMNS = (_tickets.c.id, _tickets.c.number, _tickets.c.accepted_at, _tickets.c.first_responded_at,
                 _tickets.c.status)
_HEAD_BY_INSTANCE = FastStatement(
    select(*_HEAD_COLUMNS).where(_tickets.c.process_instance_id == bindparam("instance_id")))
_DEPARTMENT_ID = FastStatement(select(Department.id).where(Department.code == bindparam("code")))
_USER_ID = FastStatement(select(User.id).where(User.username == bindparam("username")))

# process variables mirrored onto ticket columns: variable -> (column, kind)
MIRRORED = {
    "status": ("status", "text"),
    "priority": ("priority", "text"),
    "department": ("department_id", "department"),
    "assignee": ("assignee_id", "user"),
    "owner": ("owner_id", "user"),  # first-contact ownership: the first receiver
    "response_due": ("response_due_at", "time"),
    "resolution_due": ("resolution_due_at", "time"),
    "next_update_at": ("next_update_at", "time"),
    "accepted_at": ("accepted_at", "time"),
    "responded_at": ("responded_at", "time"),
    "resolved_at": ("resolved_at", "time"),
    "closed_at": ("closed_at", "time"),
    "escalated_at": ("escalated_at", "time"),
    "solution": ("solution", "text"),
    "opinion": ("satisfaction", "text"),
    "reopen_count": ("reopen_count", "int"),
}

# the length limit of each mirrored text column (None: unlimited)
_TEXT_LIMITS = {column: getattr(_tickets.c[column].type, "length", None)
                for column, kind in MIRRORED.values() if kind == "text"}

# waiting timers (boundary event id) whose due time is mirrored onto a ticket column; the column keeps the
# last due time after the timer fired or was cancelled, so a lapsed window stays visible until it is re-armed
MIRRORED_TIMERS = {
    "accept_timeout": "accept_due_at",
}
# ... and, after a priority change moved a cycle's interval (app/priority), the cycle timers whose next round goes
# onto a column (otherwise the diagram sets that column itself when the round fires)
MOVED_CYCLE_TIMERS = {
    "progress_timer": "next_update_at",  # after_sales.bpmn: the progress cycle
}

# a new round of handling (a reopen, or "needs adjustment") clears these measured times; the earlier round's
# values and deadlines go into the history
ROUND_TIMES = ("responded_at", "resolved_at")
_ROUND_COLUMNS = ("response_due_at", "resolution_due_at", "responded_at", "resolved_at")
_ROUND_BY_ID = select(*(_tickets.c[c] for c in _ROUND_COLUMNS)).where(_tickets.c.id == bindparam("ticket_row_id"))


def engine():
    """The app's engine (one per process, created by the app factory)."""
    return current_app.extensions["engine"]


UNREAD = "unread"  # a TicketHead field the caller did not read: whoever needs it reads it


class TicketHead(NamedTuple):
    """What `apply_step` needs of a ticket."""

    id: int
    number: str
    accepted_at: Optional[datetime]
    first_responded_at: Optional[datetime]
    status: Optional[str] = None
    created_at: Optional[datetime] = None  # None: read when a step needs it (the working-time measure)
    owner_id: object = UNREAD  # the first receiver as the transaction found it before the step (None: nobody yet)


def ticket_head(*, instance_id):
    """The TicketHead of the ticket a process instance runs for; None when there is none."""
    row = _HEAD_BY_INSTANCE.first({"instance_id": instance_id})
    return TicketHead(*row) if row is not None else None


def apply_step(ticket, step, *, actor, completed_task_id=None, events=(), columns=None, timer_columns=None,
               inserted=None):
    """Record the step on the ticket: mirrored variables, task rows, history. Runs in the caller's transaction.

    `ticket` is a TicketHead (or a Ticket). `events` are (action, detail) pairs the caller did, written
    to the history before the step's own; `columns` are further ticket columns to set; `timer_columns` mirror more
    waiting timers' due times ({timer id: column}) besides MIRRORED_TIMERS. The ticket row gets one UPDATE.
    `inserted` is the row as this transaction just inserted it ({column: value}, the others NULL): the UPDATE
    leaves out the columns that already hold their value (SQLite rewrites the index entries of every column it
    sets, changed or not).
    """
    stamp = now()
    lookups = _Lookups.current()
    changes = dict(columns or {})
    history = [_event(ticket, stamp, actor, action, detail) for action, detail in events]
    for finished in step.finished:
        for variable, value in finished.changed.items():
            if variable in MIRRORED:
                _mirror(ticket, variable, value, lookups, changes)
        if finished.timer:
            history.append(_event(ticket, stamp, "system", "timer_fired", {"timer": finished.name, "title": finished.title}))
    mirrored = {**MIRRORED_TIMERS, **timer_columns} if timer_columns else MIRRORED_TIMERS
    for timer in step.timers:
        if timer.name in mirrored:
            changes[mirrored[timer.name]] = timer.due_at
    if ticket.accepted_at is not None and any(c in changes and changes[c] is None for c in ROUND_TIMES):
        history.append(_event(ticket, stamp, actor, "new_round", _round_detail(ticket, changes)))
    changes["current_step"] = _sync_tasks(ticket, step, lookups, stamp, completed_task_id, history, actor)
    if ticket.accepted_at is None and changes.get("accepted_at") is not None and "responded_at" not in changes \
            and not any("responded_at" in f.data for f in step.finished):
        changes["responded_at"] = changes["accepted_at"]  # process versions that do not keep responded_at
    if ticket.first_responded_at is None and changes.get("responded_at") is not None:
        # the first response: the acceptance (quick_response), or a later first contact when the diagram sets
        # responded_at itself (service_request)
        changes["first_responded_at"] = changes["responded_at"]
    follow = sla.after_step(ticket, step, stamp=stamp, changes=changes)
    written = changes if inserted is None else {
        column: value for column, value in changes.items() if value != inserted.get(column)}
    if written:
        _UPDATE_TICKET.execute({**written, "ticket_row_id": ticket.id})
    if history:
        _INSERT_HISTORY.executemany(history)
        transfers = sum(is_transfer(e["action"], e["detail"]) for e in history)
        if transfers:
            db.session.connection().execute(_ADD_TRANSFERS, {"ticket_row_id": ticket.id, "n": transfers})
    if follow is not None:
        _follow(ticket, step, changes, follow)


def _follow(ticket, step, changes, follow):
    """Apply what the working-time clock asked after a step (pause: hold the deadline timers; resume: move the
    deadlines and their timers) as one more engine step of the same transaction."""
    head = TicketHead(ticket.id, ticket.number, changes.get("accepted_at", ticket.accepted_at),
                      changes.get("first_responded_at", ticket.first_responded_at),
                      changes.get("status", getattr(ticket, "status", None)), getattr(ticket, "created_at", None))
    follow_up(head, step.instance_id, follow["values"], hold=follow["hold"], columns=follow["columns"],
              events=follow["events"])


def follow_up(head, instance_id, values, *, hold=None, columns=None, events=(), timer_columns=None):
    """Write process variables `values` into the waiting flow (the timers reading them move; `hold` as in
    Engine.update_variables) and record that step on the ticket (`head`, a TicketHead) with `columns`, `events` and
    `timer_columns` (see apply_step); the open tasks show their timers' new due times. Runs in the caller's
    transaction."""
    moved = engine().update_variables(instance_id, values, hold=hold)
    apply_step(head, moved, actor="system", events=events, columns=columns, timer_columns=timer_columns)
    due = _due_by_task(moved)  # the open tasks show their timers' new (or no longer held) due times
    if moved.ready:
        _SET_TASK_DUE.executemany([{"task_row_id": t.id, "due": due.get(t.id)} for t in moved.ready])


def _due_by_task(step):
    """{user task id: the earliest due time of the timers attached to it}."""
    due = {}
    for timer in step.timers:
        for task_id in timer.attached_to:
            due[task_id] = min(due.get(task_id, timer.due_at), timer.due_at)
    return due


def _round_detail(ticket, changes):
    """The earlier round's deadlines and measured times, and the new round's deadlines (ISO strings)."""
    row = db.session.connection().execute(_ROUND_BY_ID, {"ticket_row_id": ticket.id}).first()
    previous = {c: _iso(v) for c, v in zip(_ROUND_COLUMNS, row)} if row is not None else {}
    return {"previous": previous,
            "response_due_at": _iso(changes.get("response_due_at", previous.get("response_due_at"))),
            "resolution_due_at": _iso(changes.get("resolution_due_at", previous.get("resolution_due_at")))}


def _iso(value):
    if value is None or isinstance(value, str):
        return value
    return as_utc(value).isoformat()


def _event(ticket, at, actor, action, detail):
    return {"ticket_id": ticket.id, "at": at, "actor": actor, "action": action, "detail": detail}


def _mirror(ticket, variable, value, lookups, changes):
    """Put one process variable into `changes` for its ticket column; a value of the wrong type is logged and skipped."""
    column, kind = MIRRORED[variable]
    try:
        if kind in ("department", "user"):
            if value is not None and not isinstance(value, str):
                raise ValueError(value)
            value = (lookups.department_id if kind == "department" else lookups.user_id)(value) if value else None
        elif kind == "time":
            value = _time(value)
        elif kind == "int":
            value = int(value or 0)
        elif value is not None:
            value = str(value)
            limit = _TEXT_LIMITS[column]
            if limit and len(value) > limit:
                raise ValueError(value)
    except (TypeError, ValueError):
        log.warning("ticket %s: process variable %s=%r cannot go into %s", ticket.number, variable, value, column)
        return
    changes[column] = value


def _time(value):
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def _sync_tasks(ticket, step, lookups, stamp, completed_task_id, history, actor):
    open_ids = step.previously_ready  # the task rows are written with the state, so they match it
    ready_ids = {t.id for t in step.ready}
    gone = open_ids - ready_ids - {completed_task_id}
    if gone:
        _CANCEL_TASK.executemany([{"task_id": i, "state": "cancelled", "completed_at": stamp} for i in sorted(gone)])
    due = _due_by_task(step)
    fresh = [t for t in step.ready if t.id not in open_ids]
    rows = []
    for task in fresh:
        assignee = _property(task, "assignee")
        department = _property(task, "department")
        rows.append(
            {
                "id": task.id,
                "instance_id": step.instance_id,
                "ticket_id": ticket.id,
                "name": task.name,
                "title": task.title[:200],
                "role": task.lane,
                "department_id": lookups.department_id(department) if department else None,
                "assignee_id": lookups.user_id(assignee) if assignee else None,
                "form": task.form,
                "state": "open",
                "created_at": stamp,
                "due_at": due.get(task.id) or _time(_property(task, "due")),
                "form_data": form_data_json(task.data),
            }
        )
        history.append(_event(ticket, stamp, actor, "task_opened", {"task": task.name, "title": task.title, "role": task.lane, "assignee": assignee}))
    if rows:
        _INSERT_TASKS.executemany(rows)
        notifications.on_step(ticket, step, rows, actor=actor, stamp=stamp)
    return ("、".join(t.title for t in step.ready) or None)


def form_data_json(data):
    """The data a task's form shows (no "_" variables) as JSON text; None when it holds more than plain JSON."""
    try:
        return stored_json.dumps({k: v for k, v in data.items() if not str(k).startswith("_")})
    except (TypeError, ValueError):
        return None


def _property(task, name):
    expression = task.properties.get(name)
    if not expression:
        return None
    value = engine().evaluate(expression, task.data)
    return value if isinstance(value, str) and value else None


class _Lookups:
    """Department code -> id and username -> id; ids never change, so the app keeps one memo."""

    def __init__(self):
        self._departments, self._users = {}, {}

    @classmethod
    def current(cls):
        extensions = current_app.extensions
        found = extensions.get("id_lookups")
        return found if found is not None else extensions.setdefault("id_lookups", cls())

    def department_id(self, code):
        if code not in self._departments:
            found = _DEPARTMENT_ID.scalar({"code": code})
            if found is None:
                return None  # not memoised: the department may be created later
            self._departments[code] = found
        return self._departments[code]

    def user_id(self, username):
        if username not in self._users:
            found = _USER_ID.scalar({"username": username})
            if found is None:
                return None
            self._users[username] = found
        return self._users[username]
