"""Change a ticket's priority with a reason; its open deadlines follow the new priority's windows (R3-5).

The BPMN message `reprioritize` carries the change; the diagram decides what it does (service_request.bpmn,
aftersales.bpmn: a non-interrupting event subprocess sets `priority`, runs the windows decision table again and
recomputes the deadlines not met yet from their original start). Python checks who may send it and with what,
sends it, then writes what the diagram decided into the waiting flow (engine `update_variables`: the date timers
reading a changed deadline move, a cycle timer reading a changed cadence takes the new interval), records the
moved deadlines' windows for the working-time clock (app/calendar/sla.py) and a `priority_changed` history event.
"""
from datetime import datetime

from app.calendar import sla
from app.clock import as_utc
from app.errors import Forbidden
from app.extensions import db
from app.forms_schema import validate_submission
from app.i18n import _

from app.tickets.flow import MOVED_CYCLE_TIMERS, TicketHead, apply_step, engine, follow_up
from app.tickets.service import get_ticket, message_form, process_context

REPRIORITIZE = "reprioritize"  # the BPMN message; its payload form is named by the diagram's catching event
PRIORITY_CHANGED = "priority_changed"  # the history action
MESSAGE_VARIABLE = "reprioritize"  # where the diagrams keep the payload (not written back into the flow)


def may_reprioritize(actor):
    """True for supervisors and admins."""
    return actor.has_role("supervisor", "admin")


def reprioritize_form(ticket):
    """The JSON Schema of the `reprioritize` message for this ticket's process version (it lists the priorities that
    process knows), or None when that version has no priority change."""
    if ticket.process_instance_id is None or ticket.status == "closed":
        return None
    return engine().message_schema(ticket.process_instance_id, REPRIORITIZE)


def can_reprioritize(ticket):
    """True while the ticket's process accepts a priority change (open, and its version has the message)."""
    if reprioritize_form(ticket) is None:
        return False
    return REPRIORITIZE in engine().waiting_messages(ticket.process_instance_id)


def change_priority(*, number, actor, data):
    """Give the ticket a new priority with a reason; return the number.

    Payload (the form the ticket's diagram names, e.g. forms/service_request_reprioritize.json):

        {"priority": "<one of the process's priorities>",   required (service_request: critical, urgent, high,
                                                             medium, low; after_sales: P1-P4)
         "reason": "<text>"}                                required; 2..500 characters after trimming

    Any other field is refused (ValidationFailed naming it). Who: supervisors and admins (Forbidden). Conflict
    when the ticket is closed or its process version has no priority change. The deadlines already met do not
    change; the others are recomputed by the diagram from their original start with the new windows, the clock's
    past pauses left out, and the waiting timers move with them. History: `priority_changed` {from, to, reason,
    deadlines}.
    """
    if not may_reprioritize(actor):
        raise Forbidden(_("Only supervisors may change a ticket's priority."))
    ticket = get_ticket(number)
    cannot = _("This ticket runs on a version of its process that cannot change the priority.")
    schema = message_form(ticket, REPRIORITIZE, reprioritize_form(ticket),
                          closed=_("The ticket is closed; its priority can no longer be changed."),
                          no_form=cannot, not_waiting=cannot)
    cleaned = validate_submission(schema, data, process_context(ticket))
    earlier = sla.windows_of(ticket.id)
    previous = ticket.priority
    step = engine().send_message(ticket.process_instance_id, REPRIORITIZE, cleaned)
    decided = {}
    for finished in step.finished:
        decided.update(finished.changed)
    decided.pop(MESSAGE_VARIABLE, None)
    due = {v: _time(decided[v]) for v in sla.WINDOWS if v in decided}
    clocked, windows = sla.rewindow(ticket.id, earlier, due) if due else ({}, [])
    values = {**decided, **{v: d.isoformat() for v, d in clocked.items()}}
    columns = {sla.WINDOWS[v][0]: d for v, d in clocked.items()}
    deadlines = {k: v for k, v in values.items() if k.endswith("_due") or k == "progress_every"}
    event = (PRIORITY_CHANGED, {"from": previous, "to": cleaned["priority"], "reason": cleaned["reason"],
                                "deadlines": deadlines})
    apply_step(ticket, step, actor=actor.username, events=[event])
    sla.replace_windows(windows)  # the step recorded the new deadlines' windows from now: keep their start
    head = TicketHead(ticket.id, ticket.number, ticket.accepted_at, ticket.first_responded_at, ticket.status)
    follow_up(head, step.instance_id, values, columns=columns, timer_columns=MOVED_CYCLE_TIMERS)
    db.session.commit()
    return number


def _time(value):
    try:
        return as_utc(datetime.fromisoformat(str(value))) if value else None
    except ValueError:
        return None
