"""Ticket use cases: open a ticket from a customer (R0-3) and start its process, read it, monitor open ones."""
import os
import uuid
from pathlib import Path

from flask import current_app
from sqlalchemy import and_, bindparam, insert, or_, select
from sqlalchemy.orm import joinedload
from werkzeug.utils import secure_filename

from app.clock import as_utc, now
from app.customers.models import Customer
from app.engine import latest_definition_id
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.forms_schema import validate_submission
from app.extensions import db
from app.fast_statements import FastStatement
from app.i18n import _
from app.numbering import ticket_number

from .flow import TicketHead, apply_step, engine
from .models import CHANNELS, TICKET_TYPES, URGENCIES, Attachment, Ticket, TicketEvent

PROCESS_NAME = "quick_response"
MAX_DESCRIPTION = 4000

_customers, _tickets = Customer.__table__, Ticket.__table__
_CUSTOMER_BY_NUMBER = FastStatement(
    select(_customers.c.id, _customers.c.number).where(_customers.c.number == bindparam("number")))
_INSERT_TICKET = FastStatement(insert(_tickets).returning(_tickets.c.id))


def _validate_new_ticket(data):
    errors = {}
    description = (data.get("description") or "").strip() if isinstance(data.get("description"), str) else ""
    if len(description) < 5:
        errors["description"] = _("Describe the problem objectively and specifically (at least 5 characters).")
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = _("Enter at most %(n)s characters.", n=MAX_DESCRIPTION)
    for field, choices in (("type", TICKET_TYPES), ("urgency", URGENCIES), ("channel", CHANNELS)):
        if not isinstance(data.get(field), str) or data[field] not in choices:
            errors[field] = _("Choose one of the listed options.")
    if not isinstance(data.get("customer_number"), str) or not data.get("customer_number"):
        errors["customer_number"] = _("This field is required.")
    return errors, description


def create_ticket(*, data, actor, files=()):
    """Open a ticket for a customer, store its attachments, start its process; return the ticket number."""
    errors, description = _validate_new_ticket(data)
    customer = None
    if "customer_number" not in errors:
        customer = _CUSTOMER_BY_NUMBER.first({"number": data["customer_number"]})
        if customer is None:
            errors["customer_number"] = _("No customer with this number; create the customer first.")
    if errors:
        raise ValidationFailed(errors)
    definition_id = latest_definition_id(PROCESS_NAME)
    if definition_id is None:
        raise Conflict(_("The process '%(name)s' is not deployed.", name=PROCESS_NAME))
    number = ticket_number()
    ticket_id = _INSERT_TICKET.execute({
        "number": number, "customer_id": customer.id, "type": data["type"], "urgency": data["urgency"],
        "channel": data["channel"], "description": description, "status": "new", "created_by_id": actor.id,
        "created_at": now(), "reopen_count": 0,
    }).scalar_one()
    _store_attachments(ticket_id, files, actor)
    step = engine().start(definition_id, {
        "ticket_number": number,
        "ticket_type": data["type"],
        "urgency": data["urgency"],
        "channel": data["channel"],
        "customer_number": customer.number,
        "description": description,
        "created_by": actor.username,
    })
    created = ("created", {"type": data["type"], "urgency": data["urgency"], "channel": data["channel"]})
    apply_step(TicketHead(ticket_id, number, None, None), step, actor=actor.username, events=[created],
               columns={"process_instance_id": step.instance_id})
    db.session.commit()
    return number


def _store_attachments(ticket_id, files, actor):
    folder = Path(current_app.config["UPLOAD_DIR"])
    for storage in files:
        if not storage or not storage.filename:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        stored = f"{uuid.uuid4().hex}_{secure_filename(storage.filename) or 'file'}"
        path = folder / stored
        storage.save(path)
        db.session.add(Attachment(ticket_id=ticket_id, filename=storage.filename[:255], stored_name=stored,
                                  content_type=storage.mimetype, size=os.path.getsize(path),
                                  uploaded_by_id=actor.id))


REDISPATCH = "redispatch"  # the BPMN message a supervisor sends to move a ticket awaiting acceptance


def redispatch_ticket(*, number, actor, data):
    """Send a ticket that awaits acceptance to another assignee (and department) with a reason; supervisors only.

    The diagram decides what the message does; Conflict when the process is not waiting for it. Returns the
    ticket number.
    """
    if not actor.has_role("supervisor", "admin"):
        raise Forbidden(_("Only supervisors may redispatch a ticket."))
    ticket = get_ticket(number)
    schema = redispatch_form(ticket)
    if schema is None:
        raise Conflict(_("This ticket's process cannot be redispatched."))
    cleaned = validate_submission(schema, data)
    try:
        step = engine().send_message(ticket.process_instance_id, REDISPATCH, cleaned)
    except Conflict as exc:
        raise Conflict(_("The ticket is no longer waiting for acceptance; it cannot be redispatched.")) from exc
    apply_step(ticket, step, actor=actor.username,
               events=[("redispatched", {"message": REDISPATCH, "data": cleaned})])
    db.session.commit()
    return number


def redispatch_form(ticket):
    """The JSON Schema of the redispatch message for this ticket's process version, or None."""
    return engine().form(ticket.process_instance_id, f"{REDISPATCH}.json") if ticket.process_instance_id else None


def can_redispatch(ticket):
    """True while the ticket's process waits for a supervisor's redispatch."""
    if ticket.process_instance_id is None or ticket.status == "closed":
        return False
    return REDISPATCH in engine().waiting_messages(ticket.process_instance_id)


def get_ticket(number):
    """Return the ticket with this number or raise NotFound."""
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
    if ticket is None:
        raise NotFound(_("No ticket with number %(number)s.", number=number))
    return ticket


def ticket_history(ticket):
    return db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.at, TicketEvent.id)
    ).all()


def ticket_attachments(ticket):
    return db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()


def get_attachment(ticket, attachment_id):
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.ticket_id != ticket.id:
        raise NotFound(_("No such attachment."))
    return attachment, Path(current_app.config["UPLOAD_DIR"]) / attachment.stored_name


def monitor(*, overdue=False, status=None, limit=50, after=None):
    """Open tickets, oldest first, for the supervisors' monitor; `overdue` keeps those past a deadline."""
    query = select(Ticket).where(Ticket.closed_at.is_(None), Ticket.status != "closed")
    if status:
        query = query.where(Ticket.status == status)
    if overdue:
        stamp = now()
        query = query.where(or_(
            and_(Ticket.accepted_at.is_(None), Ticket.response_due_at < stamp),
            and_(Ticket.resolved_at.is_(None), Ticket.resolution_due_at < stamp),
            Ticket.next_update_at < stamp,
        ))
    if after:
        query = query.where(Ticket.id > after)
    query = query.options(joinedload(Ticket.customer), joinedload(Ticket.department), joinedload(Ticket.assignee))
    return db.session.scalars(query.order_by(Ticket.id).limit(limit)).all()


def is_overdue(ticket, at=None):
    """True when the ticket is open and past a deadline it has not met."""
    if ticket.status == "closed":
        return False
    at = at or now()
    if ticket.accepted_at is None and ticket.response_due_at and as_utc(ticket.response_due_at) < at:
        return True
    if ticket.resolved_at is None and ticket.resolution_due_at and as_utc(ticket.resolution_due_at) < at:
        return True
    return bool(ticket.next_update_at and as_utc(ticket.next_update_at) < at)
