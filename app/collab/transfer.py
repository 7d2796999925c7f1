"""Transfer a ticket being handled to another department or person (R2-3, 工单转办), and read its transfers.

The BPMN message `transfer` carries the request; the diagram decides what it does (quick_response.bpmn and
service_request.bpmn: a boundary message event on the handling task gives the ticket to the receiver and
reopens the handling task for them). Python checks who may send it and with what, sends it and records it.
"""
from sqlalchemy import bindparam, insert, select, update

from app.auth.models import Department, User
from app.clock import as_utc, now
from app.errors import Forbidden
from app.extensions import db
from app.fast_statements import FastStatement
from app.forms_schema import validate_submission
from app.formats import parse_date_time
from app.i18n import _
from app.tickets.flow import apply_step, engine
from app.tasks.models import HumanTask, is_open
from app.tickets.models import Ticket
from app.tickets.service import get_ticket, message_form, process_context

from .models import TicketTransfer

TRANSFER = "transfer"  # the BPMN message; its payload is described by forms/transfer.json
TRANSFERRED = "transferred"  # the history action of a transfer (the reports count it, app/reports/queries.py)
SUPPORT_TASK = "support_task"  # a supporting department's collaboration task: it stays with its department

_tickets, _transfers, _departments, _users = (Ticket.__table__, TicketTransfer.__table__, Department.__table__,
                                              User.__table__)
_from_users, _to_users, _by = _users.alias("from_user"), _users.alias("to_user"), _users.alias("by_user")
_from_departments, _to_departments = _departments.alias("from_department"), _departments.alias("to_department")
_HANDLER = FastStatement(select(_tickets.c.assignee_id, _tickets.c.department_id)
                         .where(_tickets.c.id == bindparam("ticket_id")))
_INSERT = FastStatement(insert(_transfers))
_tasks = HumanTask.__table__
# the previous handler's other open tasks of the ticket in the handling lane (e.g. a progress update already due)
_HAND_OVER = (update(_tasks).where(
    _tasks.c.ticket_id == bindparam("of_ticket"), is_open(_tasks.c.state),
    _tasks.c.assignee_id == bindparam("from_user_id"), _tasks.c.role.in_(bindparam("lanes", expanding=True)),
    _tasks.c.name != SUPPORT_TASK).values(assignee_id=bindparam("to_user_id"), department_id=bindparam("to_dept")))
_ROWS = FastStatement(
    select(_transfers.c.id, _transfers.c.reason, _transfers.c.expected_at, _transfers.c.created_at,
           _from_users.c.username.label("from_user"), _from_users.c.display_name.label("from_user_name"),
           _from_departments.c.code.label("from_department"), _from_departments.c.name.label("from_department_name"),
           _from_departments.c.name_en.label("from_department_name_en"),
           _to_users.c.username.label("to_user"), _to_users.c.display_name.label("to_user_name"),
           _to_departments.c.code.label("to_department"), _to_departments.c.name.label("to_department_name"),
           _to_departments.c.name_en.label("to_department_name_en"), _by.c.username.label("by"))
    .select_from(_transfers.join(_tickets, _tickets.c.id == _transfers.c.ticket_id)
                 .join(_to_departments, _to_departments.c.id == _transfers.c.to_department_id)
                 .join(_by, _by.c.id == _transfers.c.created_by_id)
                 .outerjoin(_from_users, _from_users.c.id == _transfers.c.from_user_id)
                 .outerjoin(_from_departments, _from_departments.c.id == _transfers.c.from_department_id)
                 .outerjoin(_to_users, _to_users.c.id == _transfers.c.to_user_id))
    .where(_tickets.c.number == bindparam("number"))
    .order_by(_transfers.c.id))


def may_transfer(ticket, actor):
    """True when `actor` may transfer the ticket: its current handler (assignee), a supervisor or an admin."""
    return actor.has_role("supervisor", "admin") or (ticket.assignee_id is not None and ticket.assignee_id == actor.id)


def transfer_form(ticket):
    """The JSON Schema of the `transfer` message for this ticket's process version, or None when that version has
    no transfer (a ticket still running on a diagram version from before transfers existed)."""
    return engine().form(ticket.process_instance_id, f"{TRANSFER}.json") if ticket.process_instance_id else None


def can_transfer(ticket):
    """True while the ticket's process waits for a transfer (its handling task is open)."""
    if ticket.process_instance_id is None or ticket.status == "closed" or transfer_form(ticket) is None:
        return False
    return TRANSFER in engine().waiting_messages(ticket.process_instance_id)


def transfer_ticket(*, number, actor, data):
    """Transfer the ticket to another department or person with a reason and an expected time; return the number.

    The `transfer` message's payload (forms/transfer.json; the diagrams store it in the variable `transfer`):

        {"department": "<department code>",            required; an existing department
         "assignee": "<employee number>",               optional; an active user of that department (left out:
                                                        the diagram gives it to the department's least-loaded
                                                        handler, or its queue)
         "reason": "<text>",                            required; 2..500 characters after trimming
         "expected_at": "2026-12-05T10:00:00+08:00"}    required; RFC 3339 with offset, in the future

    Any other field is refused (ValidationFailed naming it). Who: the ticket's current handler, supervisors,
    admins (Forbidden). Conflict when the ticket is closed, when its process version predates transfers, or when
    the process does not wait for a transfer now (before acceptance a supervisor redispatches instead). The
    previous handler keeps reading the ticket and may comment on it (app/collab/comments.py). Recorded as a
    ticket_transfers row and a `transferred` history event; the diagram's new handling task notifies the new
    handler (transfer_in) and the previous one (transfer_out). The previous handler's other open tasks of the
    ticket in the handling lane (a progress update already due) go to the new handler too.
    """
    ticket = get_ticket(number)
    if not may_transfer(ticket, actor):
        raise Forbidden(_("Only the ticket's current handler and supervisors may transfer it."))
    schema = message_form(
        ticket, TRANSFER, transfer_form(ticket),
        closed=_("The ticket is closed; it can no longer be transferred."),
        no_form=_("This ticket runs on an earlier version of its process, which has no transfer; it cannot "
                  "be transferred. Tickets opened from now on can."),
        not_waiting=_("The ticket is not being handled right now, so it cannot be transferred (before "
                      "acceptance a supervisor redispatches it)."))
    cleaned = validate_submission(schema, data, process_context(ticket))
    before = _HANDLER.first({"ticket_id": ticket.id})
    step = engine().send_message(ticket.process_instance_id, TRANSFER, cleaned)
    from_user = ticket.assignee.username if ticket.assignee else None
    apply_step(ticket, step, actor=actor.username, events=[(TRANSFERRED, {
        "message": TRANSFER, "from": from_user, "data": cleaned})])
    after = _HANDLER.first({"ticket_id": ticket.id})
    _hand_over(ticket.id, step, before, after)
    _INSERT.execute({
        "ticket_id": ticket.id, "from_user_id": before.assignee_id, "from_department_id": before.department_id,
        "to_department_id": after.department_id, "to_user_id": after.assignee_id, "reason": cleaned["reason"],
        "expected_at": as_utc(parse_date_time(cleaned["expected_at"])), "created_by_id": actor.id,
        "created_at": now()})
    db.session.commit()
    return number


def _hand_over(ticket_id, step, before, after):
    """Give the previous handler's other open tasks of the ticket in the handling lane (a progress update that was
    already due, say) to the new handler, as the diagram gives the reopened handling task."""
    lanes = sorted({task.lane for task in step.ready if task.name != SUPPORT_TASK and task.lane})
    if not lanes or before.assignee_id is None or before.assignee_id == after.assignee_id:
        return
    db.session.connection().execute(_HAND_OVER, {
        "of_ticket": ticket_id, "from_user_id": before.assignee_id, "lanes": lanes,
        "to_user_id": after.assignee_id, "to_dept": after.department_id})


def transfer_rows(number):
    """The ticket's transfers, oldest first, as rows (from/to user and department, reason, expected_at, by): one
    statement."""
    return _ROWS.execute({"number": number}).all()


def transfer_json(row):
    iso = lambda value: as_utc(value).isoformat() if value else None  # noqa: E731
    return {"id": row.id, "from_user": row.from_user, "from_department": row.from_department,
            "to_user": row.to_user, "to_department": row.to_department, "reason": row.reason,
            "expected_at": iso(row.expected_at), "created_at": iso(row.created_at), "by": row.by}
