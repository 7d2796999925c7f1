"""Ticket use cases: open a ticket from a customer (R0-3) and start its process, read it, monitor open ones."""
import os
import uuid
from pathlib import Path

from flask import current_app
from sqlalchemy import and_, bindparam, insert, or_, select
from werkzeug.utils import secure_filename

from app.auth.models import Department, User
from app.clock import as_utc, now
from app.customers.models import Customer
from app.engine import DecisionError, latest_definition_id
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.forms_schema import validate_submission
from app.extensions import db
from app.fast_statements import FastStatement
from app.i18n import _
from app.numbering import ticket_number

from app.tasks.models import HumanTask, is_open

from .flow import TicketHead, apply_step, engine
from .models import CHANNELS, TICKET_TYPES, URGENCIES, Attachment, Ticket, TicketEvent

PROCESS_NAME = "quick_response"  # what a new ticket starts when the flow-selection table decides nothing
FLOW_DECISION = "flow_by_ticket"  # workflows/flow_by_ticket.dmn: ticket type and channel -> the process to start
MAX_DESCRIPTION = 4000
INPUT_FIELDS = ("customer_number", "type", "urgency", "description", "channel")  # what a new ticket is made of

_customers, _tickets = Customer.__table__, Ticket.__table__
_CUSTOMER_BY_NUMBER = FastStatement(
    select(_customers.c.id, _customers.c.number).where(_customers.c.number == bindparam("number")))
_INSERT_TICKET = FastStatement(insert(_tickets).returning(_tickets.c.id))

# What ticket lists and the API show of a ticket, as one row: its columns, its customer's number and name, its
# department's code and names, its assignee's username and display name, its first receiver (owner).
_departments, _assignees = Department.__table__, User.__table__.alias("assignee")
_owners = User.__table__.alias("owner")
_events = TicketEvent.__table__
TICKET_ROW_COLUMNS = (
    _tickets.c.id, _tickets.c.number, _tickets.c.status, _tickets.c.type, _tickets.c.urgency, _tickets.c.priority,
    _tickets.c.channel,
    _tickets.c.description, _tickets.c.current_step, _tickets.c.department_id, _tickets.c.assignee_id,
    _tickets.c.created_at, _tickets.c.response_due_at, _tickets.c.resolution_due_at, _tickets.c.next_update_at,
    _tickets.c.accepted_at, _tickets.c.first_responded_at, _tickets.c.responded_at, _tickets.c.accept_due_at,
    _tickets.c.resolved_at, _tickets.c.closed_at,
    _tickets.c.escalated_at, _tickets.c.reopen_count, _tickets.c.solution, _tickets.c.satisfaction,
    _tickets.c.process_instance_id,
    _customers.c.number.label("customer_number"), _customers.c.name.label("customer_name"),
    _customers.c.status.label("customer_status"),
    _departments.c.code.label("department_code"), _departments.c.name.label("department_name"),
    _departments.c.name_en.label("department_name_en"),
    _assignees.c.username.label("assignee_username"), _assignees.c.display_name.label("assignee_display_name"),
    _owners.c.username.label("owner_username"), _tickets.c.owner_confirmed_at,
)
TICKET_ROW_FROM = (
    _tickets.join(_customers, _customers.c.id == _tickets.c.customer_id)
    .outerjoin(_departments, _departments.c.id == _tickets.c.department_id)
    .outerjoin(_assignees, _assignees.c.id == _tickets.c.assignee_id)
    .outerjoin(_owners, _owners.c.id == _tickets.c.owner_id)
)
# the ticket's row once per open task it has (task_* columns; NULL when it has none), oldest task first
_open, _task_assignees = HumanTask.__table__.alias("open_task"), User.__table__.alias("task_assignee")
_TICKET_WITH_OPEN_TASKS = FastStatement(
    select(
        *TICKET_ROW_COLUMNS, _open.c.id.label("task_id"), _open.c.name.label("task_name"),
        _open.c.title.label("task_title"), _open.c.role.label("task_role"), _open.c.state.label("task_state"),
        _open.c.created_at.label("task_created_at"), _open.c.due_at.label("task_due_at"),
        _task_assignees.c.username.label("task_assignee_username"),
    )
    .select_from(
        TICKET_ROW_FROM.outerjoin(_open, and_(_open.c.ticket_id == _tickets.c.id, is_open(_open.c.state)))
        .outerjoin(_task_assignees, _task_assignees.c.id == _open.c.assignee_id)
    )
    .where(_tickets.c.number == bindparam("number"))
    .order_by(_open.c.created_at, _open.c.id)
)
_HISTORY_ROWS = FastStatement(
    select(_events.c.at, _events.c.actor, _events.c.action, _events.c.detail)
    .where(_events.c.ticket_id == bindparam("ticket_id")).order_by(_events.c.at, _events.c.id)
)


def _validate_new_ticket(data):
    """Return (errors, trimmed description, trimmed customer number) for new-ticket input."""
    errors = {}
    raw = data.get("description")
    description = raw.strip() if isinstance(raw, str) else ""
    if isinstance(raw, str) and raw and not description:
        errors["description"] = _("Must not be empty.")
    elif len(description) < 5:
        errors["description"] = _("Describe the problem objectively and specifically (at least 5 characters).")
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = _("Enter at most %(n)s characters.", n=MAX_DESCRIPTION)
    for field, choices in (("type", TICKET_TYPES), ("urgency", URGENCIES), ("channel", CHANNELS)):
        if not isinstance(data.get(field), str) or data[field] not in choices:
            errors[field] = _("Choose one of the listed options.")
    customer_number = data.get("customer_number")
    customer_number = customer_number.strip() if isinstance(customer_number, str) else None
    if not customer_number:
        errors["customer_number"] = _("Must not be empty.") if customer_number == "" and data["customer_number"] \
            else _("This field is required.")
    return errors, description, customer_number


def _size(storage):
    """The size in bytes of an uploaded file, without reading it into memory."""
    stream = storage.stream
    position = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


def attachment_error(files):
    """A message naming the first attachment that is empty or larger than MAX_UPLOAD_BYTES, else None."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    for storage in files:
        if not storage or not storage.filename:
            continue
        size = _size(storage)
        if size == 0:
            return _("“%(name)s” is empty; choose a file with content.", name=storage.filename)
        if size > limit:
            return _("“%(name)s” is %(size)s; each file may be at most %(limit)s.", name=storage.filename,
                     size=file_size(size), limit=file_size(limit))
    return None


def file_size(size):
    """'512 B', '3.4 KB', '20 MB' (1 KB = 1024 B; whole numbers without a decimal)."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{int(size)} B"


def create_ticket(*, data, actor, files=(), commit=True, process=None):
    """Open a ticket for a customer, store its attachments, start its process; return the ticket number.

    `process` names the process to start (e.g. "service_request"); None lets the decision table FLOW_DECISION
    pick it from the ticket's type and channel (see `flow_for`).
    The ticket number follows the pattern configured for that process (TICKET_NUMBER_PATTERNS).
    Attachments must not be empty nor larger than MAX_UPLOAD_BYTES each (ValidationFailed on `attachments`).
    Text is trimmed; text that is only spaces counts as empty. With `commit=False` the caller's use case commits
    (a channel keeps its own rows in the same transaction).
    """
    number = open_ticket(data=data, actor=actor, files=files, process=process)
    if commit:
        db.session.commit()
    return number


def open_ticket(*, data, actor, files=(), process=None):
    """`create_ticket` in the caller's transaction (no commit), e.g. a care task of a customer process opening a
    ticket as part of its step."""
    errors, description, customer_number = _validate_new_ticket(data)
    files = list(files or ())
    problem = attachment_error(files)
    if problem:
        errors["attachments"] = problem
    customer = None
    if "customer_number" not in errors:
        customer = _CUSTOMER_BY_NUMBER.first({"number": customer_number})
        if customer is None:
            errors["customer_number"] = _("No customer with this number; create the customer first.")
    if errors:
        raise ValidationFailed(errors)
    process = process or flow_for(data["type"], data["channel"])
    definition_id = latest_definition_id(process)
    if definition_id is None:
        raise Conflict(_("The process '%(name)s' is not deployed.", name=process))
    number = ticket_number(process, data["channel"])
    created_at = now()
    row = {
        "number": number, "customer_id": customer.id, "type": data["type"], "urgency": data["urgency"],
        "priority": data["urgency"],
        "channel": data["channel"], "description": description, "status": "new", "created_by_id": actor.id,
        "created_at": created_at, "reopen_count": 0, "transfer_count": 0,  # every defaulted column: no Core fallback
    }
    ticket_id = _INSERT_TICKET.execute(row).scalar_one()
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
    apply_step(TicketHead(ticket_id, number, None, None, created_at=created_at), step, actor=actor.username,
               events=[created], columns={"process_instance_id": step.instance_id}, inserted=row)
    return number


def flow_for(ticket_type, channel):
    """The process a new ticket of this type and channel starts: the newest deployed flow_by_ticket.dmn decides
    (a table edit and a deploy change it); PROCESS_NAME when no table is deployed or no rule names a process."""
    try:
        decided = engine().decide(FLOW_DECISION, {"ticket_type": ticket_type, "channel": channel})
    except DecisionError as exc:
        raise Conflict(_("The flow-selection table cannot be evaluated: %(problem)s", problem=str(exc))) from exc
    process = (decided or {}).get("process")
    return process if isinstance(process, str) and process else PROCESS_NAME


def store_upload(storage):
    """Save an uploaded file under UPLOAD_DIR with a unique name; return (stored name, size in bytes)."""
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4().hex}_{secure_filename(storage.filename) or 'file'}"
    path = folder / stored
    storage.save(path)
    return stored, os.path.getsize(path)


def _store_attachments(ticket_id, files, actor):
    for storage in files:
        if not storage or not storage.filename:
            continue
        stored, size = store_upload(storage)
        db.session.add(Attachment(ticket_id=ticket_id, filename=storage.filename[:255], stored_name=stored,
                                  content_type=storage.mimetype, size=size, uploaded_by_id=actor.id))


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
    if not can_redispatch(ticket):  # before the payload: it is checked against the state the ticket waits in
        raise Conflict(_("The ticket is no longer waiting for acceptance; it cannot be redispatched."))
    cleaned = validate_submission(schema, data, process_context(ticket))
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


def message_form(ticket, message, schema, *, closed, no_form, not_waiting):
    """`schema` (the payload form of BPMN `message` for this ticket's process version) when the ticket is open and
    its process waits for the message now; otherwise Conflict with the caller's text: `closed` for a closed ticket,
    `no_form` for a version without the message, `not_waiting` when the process does not wait for it now."""
    if ticket.status == "closed":
        raise Conflict(closed)
    if schema is None:
        raise Conflict(no_form)
    if message not in engine().waiting_messages(ticket.process_instance_id):
        raise Conflict(not_waiting)
    return schema


def process_context(ticket):
    """The process data a message form is filled against: the department the ticket is routed to, its assignee."""
    return {"department": ticket.department.code if ticket.department else None,
            "assignee": ticket.assignee.username if ticket.assignee else None}


def can_redispatch(ticket):
    """True while the ticket's process waits for a supervisor's redispatch."""
    if ticket.process_instance_id is None or ticket.status == "closed":
        return False
    return REDISPATCH in engine().waiting_messages(ticket.process_instance_id)


def ticket_row(number):
    """(the ticket as a row, see TICKET_ROW_COLUMNS; its open tasks as rows of task_* columns, oldest first),
    read in one statement, or raise NotFound."""
    rows = _TICKET_WITH_OPEN_TASKS.execute({"number": number}).all()
    if not rows:
        raise NotFound(_("No ticket with number %(number)s.", number=number))
    return rows[0], [row for row in rows if row.task_id is not None]


_CUSTOMER_TICKET_ROWS = (
    select(*TICKET_ROW_COLUMNS).select_from(TICKET_ROW_FROM)
    .where(_tickets.c.customer_id == bindparam("customer_id")).order_by(_tickets.c.created_at.desc())
)


def customer_ticket_rows(customer_id):
    """A customer's tickets as rows (see TICKET_ROW_COLUMNS), newest first."""
    return db.session.connection().execute(_CUSTOMER_TICKET_ROWS, {"customer_id": customer_id}).all()


def history_rows(ticket_id):
    """The ticket's history as rows (at, actor, action, detail), oldest first."""
    return _HISTORY_ROWS.execute({"ticket_id": ticket_id}).all()


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
    """Open tickets as rows (see TICKET_ROW_COLUMNS), oldest first, for the supervisors' monitor; `overdue` keeps
    those past a deadline.

    Past a deadline: the 30-minute acceptance window lapsed without acceptance (a reassign task waits), or the
    current round's response or resolution deadline passed unmet, or the promised next update is due.
    """
    shape = (bool(status), bool(overdue), bool(after))
    query = _MONITOR_STATEMENTS.get(shape)
    if query is None:
        query = _MONITOR_STATEMENTS[shape] = _monitor_statement(*shape)
    return db.session.connection().execute(query, {
        "status": status, "stamp": now(), "after": after, "limit": limit}).all()


_MONITOR_STATEMENTS = {}  # (status?, overdue?, after?) -> the monitor's statement, built once per shape


def _monitor_statement(status, overdue, after):
    query = select(*TICKET_ROW_COLUMNS).select_from(TICKET_ROW_FROM).where(
        _tickets.c.closed_at.is_(None), _tickets.c.status != "closed")
    if status:
        query = query.where(_tickets.c.status == bindparam("status"))
    if overdue:
        stamp = bindparam("stamp")
        query = query.where(or_(
            and_(_tickets.c.accepted_at.is_(None), _tickets.c.accept_due_at < stamp),
            and_(_tickets.c.responded_at.is_(None), _tickets.c.response_due_at < stamp),
            and_(_tickets.c.resolved_at.is_(None), _tickets.c.resolution_due_at < stamp),
            _tickets.c.next_update_at < stamp,
        ))
    if after:
        query = query.where(_tickets.c.id > bindparam("after"))
    return query.order_by(_tickets.c.id).limit(bindparam("limit"))


def is_overdue(ticket, at=None):
    """True when the ticket is open and past a deadline it has not met."""
    if ticket.status == "closed":
        return False
    at = at or now()
    if ticket.accepted_at is None and ticket.accept_due_at and as_utc(ticket.accept_due_at) < at:
        return True
    if ticket.responded_at is None and ticket.response_due_at and as_utc(ticket.response_due_at) < at:
        return True
    if ticket.resolved_at is None and ticket.resolution_due_at and as_utc(ticket.resolution_due_at) < at:
        return True
    return bool(ticket.next_update_at and as_utc(ticket.next_update_at) < at)
