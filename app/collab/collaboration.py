"""Cross-department collaboration (R3-4, R0-4, 协同处理): one lead department (the ticket's current department and
handler) and supporting departments working in parallel, each with its own task, milestone and deadline.

The BPMN message `collaborate` starts it; the diagrams' non-interrupting event subprocess `collaboration` turns
the supporters into a multi-instance user task SUPPORT_TASK (one task per supporting department, due at its
deadline), whose opening sends each the collaboration notice (app/notifications/events.py). The lead keeps
handling the ticket meanwhile. Who works on what is read back from those task rows.
"""
import json

from sqlalchemy import bindparam, select

from app.auth.models import Department, User
from app.clock import as_utc, now
from app.errors import Conflict, Forbidden, ValidationFailed
from app.extensions import db
from app.forms_schema import validate_submission
from app.formats import DATE_TIME_EXAMPLE, parse_date_time
from app.i18n import _
from app.tasks.models import HumanTask
from app.tickets.flow import apply_step, engine
from app.tickets.models import Ticket
from app.tickets.service import get_ticket, message_form, process_context

from .transfer import may_transfer

COLLABORATE = "collaborate"  # the BPMN message; its payload is described by forms/collaborate.json
SUPPORT_TASK = "support_task"  # the multi-instance user task of the diagrams' collaboration subprocess
ITEM_FIELDS = ("department", "assignee", "task", "milestone", "due_at")
MAX_SUPPORTERS = 10
LIMITS = {"task": 500, "milestone": 200}

_tasks, _tickets, _departments, _users = HumanTask.__table__, Ticket.__table__, Department.__table__, User.__table__
_assignees, _finishers = _users.alias("assignee"), _users.alias("finisher")
_ROWS = (
    select(_tasks.c.id, _tasks.c.state, _tasks.c.created_at, _tasks.c.due_at, _tasks.c.completed_at,
           _tasks.c.form_data, _departments.c.code.label("department"), _departments.c.name.label("department_name"),
           _departments.c.name_en.label("department_name_en"), _assignees.c.username.label("assignee"),
           _assignees.c.display_name.label("assignee_name"), _finishers.c.username.label("completed_by"))
    .select_from(_tasks.join(_tickets, _tickets.c.id == _tasks.c.ticket_id)
                 .outerjoin(_departments, _departments.c.id == _tasks.c.department_id)
                 .outerjoin(_assignees, _assignees.c.id == _tasks.c.assignee_id)
                 .outerjoin(_finishers, _finishers.c.id == _tasks.c.completed_by_id))
    .where(_tickets.c.number == bindparam("number"), _tasks.c.name == SUPPORT_TASK)
    .order_by(_tasks.c.created_at, _tasks.c.id)
)


def collaborate_form(ticket):
    """The JSON Schema of the `collaborate` message for this ticket's process version, or None (a version from
    before collaboration existed)."""
    return engine().form(ticket.process_instance_id, f"{COLLABORATE}.json") if ticket.process_instance_id else None


def can_collaborate(ticket):
    """True when the ticket is being handled (accepted, not closed) and its process waits for `collaborate`."""
    if ticket.process_instance_id is None or ticket.status == "closed" or ticket.accepted_at is None:
        return False
    if collaborate_form(ticket) is None:
        return False
    return COLLABORATE in engine().waiting_messages(ticket.process_instance_id)


def start_collaboration(*, number, actor, data):
    """Ask supporting departments to work on the ticket in parallel with its lead department; return the number.

    The `collaborate` message's payload (forms/collaborate.json; the diagrams store it in `collaborate`):

        {"supporters": [                                  1..10 items, one per supporting department
            {"department": "<department code>",           required; existing, not the lead, not twice
             "assignee": "<employee number>",             optional; an active user of that department (left
                                                          out: the department's least-loaded handler, or its queue)
             "task": "<text>",                            required; 2..500 characters after trimming
             "milestone": "<text>",                       required; 2..200 characters (需求节点)
             "due_at": "2026-12-05T18:00:00+08:00"}]}     required; RFC 3339 with offset, in the future

    Errors name the item's field as "supporters[i].field"; other fields are refused. Who: the lead (the
    ticket's current handler), supervisors, admins (Forbidden). Conflict when the ticket is closed or not yet
    accepted, or when its process version predates collaboration. Recorded as a `collaboration_started` history
    event; each supporter's task opens with its deadline as due time and the collaboration notice.
    """
    ticket = get_ticket(number)
    if not may_transfer(ticket, actor):
        raise Forbidden(_("Only the ticket's current handler (the lead) and supervisors may start a collaboration."))
    not_handled = _("The ticket is not being handled yet; accept it before asking other departments to help.")
    schema = message_form(
        ticket, COLLABORATE, collaborate_form(ticket),
        closed=_("The ticket is closed; no collaboration can start."),
        no_form=_("This ticket runs on an earlier version of its process, which has no collaboration; "
                  "tickets opened from now on have it."),
        not_waiting=not_handled)
    if ticket.accepted_at is None:
        raise Conflict(not_handled)
    supporters = clean_supporters(ticket, data)
    cleaned = validate_submission(schema, {"supporters": supporters}, process_context(ticket))
    step = engine().send_message(ticket.process_instance_id, COLLABORATE, cleaned)
    lead = ticket.department.code if ticket.department else None
    apply_step(ticket, step, actor=actor.username, events=[("collaboration_started", {
        "message": COLLABORATE, "lead": lead, "lead_assignee": ticket.assignee.username if ticket.assignee else None,
        "supporters": cleaned["supporters"]})])
    db.session.commit()
    return number


def clean_supporters(ticket, data):
    """The supporters of a `collaborate` request, trimmed and checked; ValidationFailed names each bad field."""
    if not isinstance(data, dict):
        raise ValidationFailed({"data": _("Must be an object of form fields.")})
    errors = {str(k): _("Unknown field.") for k in data if k != "supporters"}
    items = data.get("supporters")
    if items is None or items == []:
        errors["supporters"] = _("Name at least one supporting department.")
        raise ValidationFailed(errors)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        errors["supporters"] = _("Must be a list of supporting departments, each an object.")
        raise ValidationFailed(errors)
    if len(items) > MAX_SUPPORTERS:
        errors["supporters"] = _("At most %(n)s supporting departments.", n=MAX_SUPPORTERS)
        raise ValidationFailed(errors)
    departments = {row.code: row.id for row in db.session.execute(select(_departments.c.code, _departments.c.id))}
    lead = ticket.department.code if ticket.department else None
    seen, cleaned = set(), []
    for index, item in enumerate(items):
        where = f"supporters[{index}]"
        for key in item:
            if key not in ITEM_FIELDS:
                errors[f"{where}.{key}"] = _("Unknown field.")
        value = {}
        department = _text(item, "department", where, errors, required=True)
        if department and department not in departments:
            errors[f"{where}.department"] = _("Choose a department from the list.")
        elif department and department == lead:
            errors[f"{where}.department"] = _("This is the lead department; choose a supporting department.")
        elif department and department in seen:
            errors[f"{where}.department"] = _("This department is named twice; name each supporting department once.")
        elif department:
            seen.add(department)
            value["department"] = department
        assignee = _text(item, "assignee", where, errors, required=False)
        if assignee:
            problem = _assignee_problem(assignee, departments.get(department))
            if problem:
                errors[f"{where}.assignee"] = problem
            else:
                value["assignee"] = assignee
        for field in ("task", "milestone"):
            text = _text(item, field, where, errors, required=True)
            if text and len(text) < 2:
                errors[f"{where}.{field}"] = _("Enter at least %(n)s characters.", n=2)
            elif text and len(text) > LIMITS[field]:
                errors[f"{where}.{field}"] = _("Enter at most %(n)s characters.", n=LIMITS[field])
            elif text:
                value[field] = text
        due = _text(item, "due_at", where, errors, required=True)
        if due:
            moment = parse_date_time(due)
            if moment is None:
                errors[f"{where}.due_at"] = _("Enter a valid date and time, e.g. %(example)s.",
                                              example=DATE_TIME_EXAMPLE)
            elif moment <= now():
                errors[f"{where}.due_at"] = _("Must be a time in the future.")
            else:
                value["due_at"] = moment.isoformat()
        cleaned.append(value)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _text(item, field, where, errors, *, required):
    value = item.get(field)
    if value is None or value == "":
        if required:
            errors[f"{where}.{field}"] = _("This field is required.")
        return ""
    if not isinstance(value, str):
        errors[f"{where}.{field}"] = _("Must be text.")
        return ""
    value = value.strip()
    if not value and required:
        errors[f"{where}.{field}"] = _("Must not be empty.")
    return value


def _assignee_problem(username, department_id):
    row = db.session.execute(select(_users.c.department_id).where(
        _users.c.username == username, _users.c.active.is_(True))).first()
    if row is None:
        return _("No active user with this employee number.")
    if department_id is not None and row.department_id != department_id:
        return _("This user does not belong to the chosen department; choose a user of that department.")
    return None


def collaboration_rows(number):
    """The supporting departments' tasks of the ticket, oldest collaboration first and within one in the order the
    supporters were named (tasks of one step share their creation time): one statement."""
    rows = db.session.connection().execute(_ROWS, {"number": number}).all()
    return sorted(rows, key=lambda row: (row.created_at, _position(row)))


def _position(row):
    """Where the row's supporter stands in its collaboration's list (a multi-instance task's data holds both)."""
    try:
        data = json.loads(row.form_data or "{}") or {}
        return data.get("supporters", []).index(data.get("supporter"))
    except (ValueError, AttributeError, TypeError):
        return 0


def supporter_json(row, at=None):
    """A supporting task as the API shows it: department, person, task, milestone, deadline, state."""
    try:
        supporter = (json.loads(row.form_data or "{}") or {}).get("supporter") or {}
    except ValueError:
        supporter = {}
    due = as_utc(row.due_at) if row.due_at else None
    at = at or now()
    iso = lambda value: as_utc(value).isoformat() if value else None  # noqa: E731
    return {"task_id": row.id, "department": row.department, "assignee": row.assignee,
            "task": supporter.get("task"), "milestone": supporter.get("milestone"), "due_at": iso(due),
            "state": row.state, "overdue": row.state == "open" and due is not None and due < at,
            "started_at": iso(row.created_at), "completed_at": iso(row.completed_at),
            "completed_by": row.completed_by}


def collaboration_json(ticket_row, rows):
    """The lead (the ticket's department and handler) and the supporters with their tasks and state."""
    at = now()
    return {"ticket_number": ticket_row.number,
            "lead": {"department": ticket_row.department_code, "assignee": ticket_row.assignee_username},
            "supporters": [supporter_json(row, at) for row in rows]}
