"""Turn ticket-flow events into notification rows (which carry their e-mail): one multi-row INSERT per event.

Who hears of what:
* assignment: a new task assigned to a user tells that user (never the person whose action assigned it);
* transfer: a new task whose previous namesake on the ticket was held by someone else tells both people;
* escalation: an unassigned supervisor task opened by a lapsed timer tells the supervisors of the ticket's
  department, or every supervisor when that department has none;
* due: an assigned open task due within NOTIFY_DUE_WITHIN_MINUTES tells its assignee, once (`remind_due_tasks`);
* survey_result: ready for the satisfaction survey (not built yet): call `notify` with that kind;
* collaboration: a task of COLLABORATION_STEPS opening (a supporting department's part of a cross-department
  collaboration) sends the collaboration notice (协同处理通知: task, milestone, deadline) to its assignee, or to
  every active member of its department holding its role while it waits in that queue; it replaces the
  assignment note;
* confirm_result: a task of CONFIRM_STEPS opening (the result goes back to the customer) asks the ticket's first
  receiver (its owner, first-contact ownership) to confirm the result, also when their own action opened it.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, exists, insert, select

from app.auth.models import User, user_roles
from app.clock import as_utc, now
from app.extensions import db
from app.fast_statements import FastStatement
from app.tasks.models import HumanTask
from app.tickets.models import Ticket

from .models import Notification

ESCALATION_ROLE = "supervisor"
CONFIRM_STEPS = {"feedback"}  # tasks whose opening asks the ticket's first receiver to confirm the result
COLLABORATION_STEPS = {"support_task"}  # a supporting department's task (the diagrams' collaboration subprocess)

_notes, _tasks, _users, _tickets = Notification.__table__, HumanTask.__table__, User.__table__, Ticket.__table__
_INSERT = FastStatement(insert(_notes))  # once per step that tells someone: built once (app/fast_statements.py)
_USER_ID = select(_users.c.id).where(_users.c.username == bindparam("username"))
_PREVIOUS_HOLDERS = (
    select(_tasks.c.name, _tasks.c.assignee_id)
    .where(_tasks.c.ticket_id == bindparam("ticket_id"), _tasks.c.name.in_(bindparam("names", expanding=True)),
           _tasks.c.id.not_in(bindparam("fresh", expanding=True)), _tasks.c.assignee_id.is_not(None))
    .order_by(_tasks.c.created_at.desc(), _tasks.c.id.desc())
)
# the usual step opens one task: the same read for one name and one fresh id, built once (no expanding IN); only
# the latest holder counts, so one row (a ticket sent round a loop 500 times has 500 earlier namesakes)
_PREVIOUS_HOLDERS_OF_ONE = FastStatement(
    select(_tasks.c.name, _tasks.c.assignee_id)
    .where(_tasks.c.ticket_id == bindparam("ticket_id"), _tasks.c.name == bindparam("name"),
           _tasks.c.id != bindparam("fresh"), _tasks.c.assignee_id.is_not(None))
    .order_by(_tasks.c.created_at.desc(), _tasks.c.id.desc())
    .limit(1)
)
_ROLE_HOLDERS = (
    select(_users.c.id, _users.c.department_id)
    .select_from(_users.join(user_roles, user_roles.c.user_id == _users.c.id))
    .where(user_roles.c.role_code == bindparam("role"), _users.c.active.is_(True))
)
_TICKET_DEPARTMENT = select(_tickets.c.department_id).where(_tickets.c.id == bindparam("ticket_id"))
_TICKET_OWNER = FastStatement(select(_tickets.c.owner_id).where(_tickets.c.id == bindparam("ticket_id")))
_NAMES = select(_users.c.id, _users.c.display_name, _users.c.username).where(
    _users.c.id.in_(bindparam("ids", expanding=True)))


def on_step(ticket, step, rows, *, actor, stamp):
    """Notify who the step's new task rows concern; runs in the step's transaction. Free when nobody is told.

    `ticket` is the TicketHead, `rows` the human_tasks rows just inserted, `actor` the username acting.
    """
    if not rows:
        return
    actor_id = _actor_id(actor)
    collaborating = [row for row in rows if row["name"] in COLLABORATION_STEPS]
    assigned = [row for row in rows if row["assignee_id"] is not None and row["assignee_id"] != actor_id
                and row["name"] not in COLLABORATION_STEPS]
    escalated = []
    if any(finished.timer for finished in step.finished):
        escalated = [row for row in rows if row["assignee_id"] is None and row["role"] == ESCALATION_ROLE]
    confirming = [row for row in rows if row["name"] in CONFIRM_STEPS]
    if not assigned and not escalated and not confirming and not collaborating:
        return
    notes = (_assignments(ticket, step, assigned) + _escalations(ticket, escalated) + _confirmations(ticket, confirming)
             + _collaborations(ticket, collaborating))
    notify(notes, stamp=stamp)


def notify(notes, *, stamp=None):
    """Insert notifications (dicts with user_id, kind, ticket_id, ticket_number, task_id, title, detail) and queue
    their mail; part of the caller's transaction. This is also the entry point for survey results."""
    if not notes:
        return
    stamp = stamp or now()
    mail = "pending" if current_app.config.get("SMTP_HOST") else None
    _INSERT.executemany([
        {"ticket_id": None, "ticket_number": None, "task_id": None, "title": "", "detail": {}, **note,
         "created_at": stamp, "mail_state": mail, "mail_attempts": 0, "mail_next_at": stamp if mail else None}
        for note in notes
    ])


def _actor_id(username):
    """The acting user's id (memoised: ids never change); None for "system" and unknown names."""
    memo = current_app.extensions.setdefault("notification_actor_ids", {})
    if username not in memo:
        found = db.session.connection().execute(_USER_ID, {"username": username}).scalar()
        if found is None:
            return None  # not memoised: the user may be created later
        memo[username] = found
    return memo[username]


def _note(ticket, row, user_id, kind, detail=None):
    return {"user_id": user_id, "kind": kind, "ticket_id": ticket.id, "ticket_number": ticket.number,
            "task_id": row["id"], "title": row["title"], "detail": detail or {}}


def _assignments(ticket, step, rows):
    """Assignment notes, or a pair of transfer notes where the task's previous namesake had another holder."""
    if not rows:
        return []
    previous = {}
    if step.version > 1:  # the instance's first step has no earlier tasks to look at
        for name, holder in _previous_holders(ticket, rows):
            previous.setdefault(name, holder)  # newest first: keep the latest holder of each task name
    moved = {r["id"]: previous[r["name"]] for r in rows
             if previous.get(r["name"]) is not None and previous[r["name"]] != r["assignee_id"]}
    names = {}
    if moved:
        ids = set(moved.values()) | {r["assignee_id"] for r in rows if r["id"] in moved}
        names = {i: display or username
                 for i, display, username in db.session.connection().execute(_NAMES, {"ids": sorted(ids)})}
    notes = []
    for row in rows:
        before = moved.get(row["id"])
        if before is None:
            notes.append(_note(ticket, row, row["assignee_id"], "assignment"))
            continue
        detail = {"from": names.get(before, ""), "to": names.get(row["assignee_id"], "")}
        notes.append(_note(ticket, row, row["assignee_id"], "transfer_in", detail))
        notes.append(_note(ticket, row, before, "transfer_out", detail))
    return notes


def _previous_holders(ticket, rows):
    """(task name, assignee id) of the ticket's earlier assigned tasks named as one of `rows`, newest first."""
    if len(rows) == 1:
        return _PREVIOUS_HOLDERS_OF_ONE.execute(
            {"ticket_id": ticket.id, "name": rows[0]["name"], "fresh": rows[0]["id"]}).all()
    return db.session.connection().execute(_PREVIOUS_HOLDERS, {
        "ticket_id": ticket.id, "names": sorted({r["name"] for r in rows}), "fresh": [r["id"] for r in rows]}).all()


def _escalations(ticket, rows):
    """One note per supervisor of the ticket's department (every supervisor when it has none) per task."""
    if not rows:
        return []
    conn = db.session.connection()
    department = conn.execute(_TICKET_DEPARTMENT, {"ticket_id": ticket.id}).scalar()
    notes = []
    for row in rows:
        holders = conn.execute(_ROLE_HOLDERS, {"role": row["role"]}).all()
        department_id = row["department_id"] or department
        chosen = [user_id for user_id, dept in holders if department_id is not None and dept == department_id]
        for user_id in sorted(chosen or {user_id for user_id, _dept in holders}):
            notes.append(_note(ticket, row, user_id, "escalation"))
    return notes


def _confirmations(ticket, rows):
    """One `confirm_result` note to the ticket's first receiver per confirming task; none before an owner exists.

    The owner is the one the ticket had before this step (the step's own ticket UPDATE comes after): a TicketHead
    that brings it (the completion read it with its task) saves the read."""
    if not rows:
        return []
    from app.tickets.flow import UNREAD, TicketHead

    owner = ticket.owner_id if isinstance(ticket, TicketHead) else UNREAD
    if owner == UNREAD:
        owner = _TICKET_OWNER.scalar({"ticket_id": ticket.id})
    return [_note(ticket, row, owner, "confirm_result") for row in rows] if owner is not None else []


_DEPARTMENT_ROLE_HOLDERS = (
    select(_users.c.id)
    .select_from(_users.join(user_roles, user_roles.c.user_id == _users.c.id))
    .where(user_roles.c.role_code == bindparam("role"), _users.c.active.is_(True),
           _users.c.department_id == bindparam("department_id"))
)


def _collaborations(ticket, rows):
    """The collaboration notice per supporting task: to its assignee, else to its department's role holders."""
    import json

    if not rows:
        return []
    conn = db.session.connection()
    notes = []
    for row in rows:
        try:
            supporter = (json.loads(row["form_data"] or "{}") or {}).get("supporter") or {}
        except ValueError:
            supporter = {}
        detail = {key: supporter.get(key) for key in ("task", "milestone", "due_at") if isinstance(supporter, dict)}
        if row["assignee_id"] is not None:
            people = [row["assignee_id"]]
        elif row["department_id"] is not None:
            people = sorted(conn.execute(_DEPARTMENT_ROLE_HOLDERS, {
                "role": row["role"], "department_id": row["department_id"]}).scalars())
        else:
            people = []
        notes += [_note(ticket, row, user_id, "collaboration", detail) for user_id in people]
    return notes


def remind_due_tasks(*, limit=500):
    """Tell each assignee of an open task due within the reminder window, once per task; return how many.

    One range read of the (state, due_at) index; the unique (task, user, kind) index makes a reminder that
    another process wrote first a no-op, so each is written exactly once.
    """
    stamp = now()
    window = timedelta(minutes=current_app.config["NOTIFY_DUE_WITHIN_MINUTES"])
    reminded = exists().where(_notes.c.task_id == _tasks.c.id, _notes.c.user_id == _tasks.c.assignee_id,
                              _notes.c.kind == "due")
    due = db.session.execute(
        select(_tasks.c.id, _tasks.c.title, _tasks.c.assignee_id, _tasks.c.due_at, _tasks.c.ticket_id,
               _tickets.c.number)
        .select_from(_tasks.outerjoin(_tickets, _tickets.c.id == _tasks.c.ticket_id))
        .where(_tasks.c.state == "open", _tasks.c.due_at > stamp, _tasks.c.due_at <= stamp + window,
               _tasks.c.assignee_id.is_not(None), ~reminded)
        .order_by(_tasks.c.due_at).limit(limit)
    ).all()
    if not due:
        db.session.rollback()
        return 0
    mail = "pending" if current_app.config.get("SMTP_HOST") else None
    rows = [{"user_id": r.assignee_id, "kind": "due", "ticket_id": r.ticket_id, "ticket_number": r.number,
             "task_id": r.id, "title": r.title, "detail": {"due_at": as_utc(r.due_at).isoformat()}, "created_at": stamp,
             "mail_state": mail, "mail_attempts": 0, "mail_next_at": stamp if mail else None} for r in due]
    written = len(db.session.execute(_insert_ignoring_duplicates().returning(_notes.c.id), rows).all())
    db.session.commit()
    return written


def _insert_ignoring_duplicates():
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(_notes).on_conflict_do_nothing(index_elements=["task_id", "user_id", "kind"])


__all__ = ["on_step", "notify", "remind_due_tasks"]
