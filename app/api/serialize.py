"""JSON shapes of customers, tickets and tasks, as the OpenAPI document describes them.

Each takes a row as the services' read functions return it (customers.service.CUSTOMER_COLUMNS,
tickets.service.TICKET_ROW_COLUMNS, tasks.service task rows): plain values, nothing loads while serialising.
"""
from datetime import timezone
from operator import attrgetter, itemgetter

from sqlalchemy import Row

from app.customers.models import SERVICE_DATES
from app.tasks.service import TASK_ROW_KEYS
from app.calendar.outcome import window_outcomes
from app.tickets.flow import engine


def iso(value):
    """ISO 8601 in UTC (naive values, as SQLite returns them, are UTC); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.isoformat() + "+00:00"  # the text of value.replace(tzinfo=timezone.utc).isoformat()
    return value.astimezone(timezone.utc).isoformat()


def customer_json(customer):
    """A customer row (or Customer) as JSON."""
    return {
        "number": customer.number,
        "name": customer.name,
        "industry": customer.industry,
        "cooperation_start": customer.cooperation_start.isoformat(),
        "contact_person": customer.contact_person,
        "phone": customer.phone,
        "email": customer.email,
        "created_at": iso(customer.created_at),
        "status": customer.status,
        "status_reason": customer.status_reason,
        **{name: _day(getattr(customer, name)) for name in SERVICE_DATES},
    }


def _day(value):
    return value.isoformat() if value is not None else None


# a task row's values by position (one C call per row: reading nine attributes of a Row by name costs more)
_TASK_VALUES = itemgetter(*(TASK_ROW_KEYS.index(key) for key in (
    "id", "name", "title", "ticket_number", "role", "assignee_username", "state", "created_at", "due_at")))


_TASK_ATTRIBUTES = attrgetter(
    "id", "name", "title", "ticket_number", "role", "assignee_username", "state", "created_at", "due_at")


def task_json(task):
    """A task row (see tasks.service.task_row: its columns begin with TASK_ROW_KEYS), or an object with those
    attributes, as JSON."""
    if isinstance(task, (Row, tuple)):  # a Core row or a FastStatement's named tuple
        body = _task_body(*_TASK_VALUES(task))
        body["customer_number"] = task[_CUSTOMER_INDEX]
    else:
        body = _task_body(*_TASK_ATTRIBUTES(task))
        body["customer_number"] = getattr(task, "task_customer_number", None)
    return body


# a task of a customer process (onboarding, care) names its customer instead of a ticket
_CUSTOMER_INDEX = TASK_ROW_KEYS.index("task_customer_number")


def _task_body(task_id, name, title, ticket_number, role, assignee, state, created_at, due_at):
    return {
        "id": task_id,
        "name": name,
        "title": title,
        "ticket_number": ticket_number,
        "role": role,
        "assignee": assignee,
        "state": state,
        "created_at": iso(created_at),
        "due_at": iso(due_at),
    }


def ticket_json(ticket, brief=False, open_tasks=()):
    """A ticket row as JSON; unless `brief`, with its process version, its `open_tasks` (rows of task_* columns,
    as tickets.service.ticket_row gives them) and its history (one statement)."""
    from app.tickets.service import history_rows

    body = {
        "number": ticket.number,
        "status": ticket.status,
        "type": ticket.type,
        "urgency": ticket.urgency,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "customer_number": ticket.customer_number,
        # "onboarding" while the customer's onboarding runs (the ticket page shows a banner), else its status
        "customer_status": getattr(ticket, "customer_status", None),
        "description": ticket.description,
        "assignee": ticket.assignee_username,
        "owner": ticket.owner_username,
        "owner_confirmed_at": iso(ticket.owner_confirmed_at),
        "department": ticket.department_code,
        "current_step": ticket.current_step,
        "created_at": iso(ticket.created_at),
        "response_due_at": iso(ticket.response_due_at),
        "resolution_due_at": iso(ticket.resolution_due_at),
        "next_update_at": iso(ticket.next_update_at),
        "accept_due_at": iso(ticket.accept_due_at),
        "accepted_at": iso(ticket.accepted_at),
        "responded_at": iso(ticket.responded_at),
        "resolved_at": iso(ticket.resolved_at),
        "closed_at": iso(ticket.closed_at),
        "escalated_at": iso(ticket.escalated_at),
        "reopen_count": ticket.reopen_count,
        "satisfaction": ticket.satisfaction,
        "sla": window_outcomes(ticket),
    }
    if brief:
        return body
    definition = engine().definition_of(ticket.process_instance_id) if ticket.process_instance_id else None
    body["process"] = {"name": definition.name, "version": definition.version} if definition else None
    body["open_tasks"] = [
        _task_body(t.task_id, t.task_name, t.task_title, ticket.number, t.task_role, t.task_assignee_username,
                   t.task_state, t.task_created_at, t.task_due_at)
        for t in open_tasks
    ]
    body["history"] = [
        {"at": iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail} for e in history_rows(ticket.id)
    ]
    return body


ROW_FIELDS = ("number", "status", "type", "urgency", "priority", "channel", "customer_number", "description", "assignee",
              "department", "current_step", "reopen_count", "satisfaction")
ROW_TIMES = ("created_at", "response_due_at", "resolution_due_at", "next_update_at", "accepted_at", "resolved_at",
             "closed_at", "escalated_at")


def ticket_row_json(row):
    """The brief ticket shape from a row of the ticket search (app.tickets.search.COLUMNS)."""
    body = {name: getattr(row, name) for name in ROW_FIELDS}
    body.update({name: iso(getattr(row, name)) for name in ROW_TIMES})
    return body
