"""JSON shapes of customers, tickets and tasks, as the OpenAPI document describes them."""
from app.clock import as_utc
from app.tickets.flow import engine


def iso(value):
    return as_utc(value).isoformat() if value is not None else None


def customer_json(customer):
    return {
        "number": customer.number,
        "name": customer.name,
        "industry": customer.industry,
        "cooperation_start": customer.cooperation_start.isoformat(),
        "contact_person": customer.contact_person,
        "phone": customer.phone,
        "email": customer.email,
        "created_at": iso(customer.created_at),
    }


def task_json(task):
    return {
        "id": task.id,
        "name": task.name,
        "title": task.title,
        "ticket_number": task.ticket.number if task.ticket else None,
        "role": task.role,
        "assignee": task.assignee.username if task.assignee else None,
        "state": task.state,
        "created_at": iso(task.created_at),
        "due_at": iso(task.due_at),
    }


def ticket_json(ticket, brief=False):
    from app.tasks.service import open_tasks_of
    from app.tickets.service import ticket_history

    body = {
        "number": ticket.number,
        "status": ticket.status,
        "type": ticket.type,
        "urgency": ticket.urgency,
        "channel": ticket.channel,
        "customer_number": ticket.customer.number,
        "description": ticket.description,
        "assignee": ticket.assignee.username if ticket.assignee else None,
        "department": ticket.department.code if ticket.department else None,
        "current_step": ticket.current_step,
        "created_at": iso(ticket.created_at),
        "response_due_at": iso(ticket.response_due_at),
        "resolution_due_at": iso(ticket.resolution_due_at),
        "next_update_at": iso(ticket.next_update_at),
        "accepted_at": iso(ticket.accepted_at),
        "resolved_at": iso(ticket.resolved_at),
        "closed_at": iso(ticket.closed_at),
        "escalated_at": iso(ticket.escalated_at),
        "reopen_count": ticket.reopen_count,
        "satisfaction": ticket.satisfaction,
    }
    if brief:
        return body
    definition = engine().definition_of(ticket.process_instance_id) if ticket.process_instance_id else None
    body["process"] = {"name": definition.name, "version": definition.version} if definition else None
    body["open_tasks"] = [task_json(t) for t in open_tasks_of(ticket)]
    body["history"] = [
        {"at": iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail} for e in ticket_history(ticket)
    ]
    return body


ROW_FIELDS = ("number", "status", "type", "urgency", "channel", "customer_number", "description", "assignee",
              "department", "current_step", "reopen_count", "satisfaction")
ROW_TIMES = ("created_at", "response_due_at", "resolution_due_at", "next_update_at", "accepted_at", "resolved_at",
             "closed_at", "escalated_at")


def ticket_row_json(row):
    """The brief ticket shape from a row of the ticket search (app.tickets.search.COLUMNS)."""
    body = {name: getattr(row, name) for name in ROW_FIELDS}
    body.update({name: iso(getattr(row, name)) for name in ROW_TIMES})
    return body
