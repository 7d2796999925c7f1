"""Capabilities the diagrams call from scripts and expressions. They compute; the diagram decides the order."""

from sqlalchemy import bindparam, func, select
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.auth.models import Department, User, user_roles
from app.clock import now
from app.fast_statements import FastStatement
from app.extensions import db
from app.numbering import next_value
from app.tasks.models import HumanTask


def deadline(duration, start=None, calendar=None):
    """Return the ISO time `duration` (ISO 8601, e.g. "PT2H") after `start` (ISO) or now: wall-clock time, or
    working time of business calendar `calendar` (a code such as "default") when one is named."""
    if calendar:
        return working_deadline(duration, start, calendar)
    base = now() if not start else _parse(start)
    return (base + TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(duration), base)).isoformat()


def working_deadline(duration, start=None, calendar="default"):
    """Return the ISO time when `duration` (ISO 8601, e.g. "PT2H"; "P1D" = one working day) of working time
    in business calendar `calendar` has passed after `start` (ISO) or now: lunch breaks, nights, weekends and
    holidays do not count, make-up working days do."""
    from app.calendar.service import add_working_time

    base = now() if not start else _parse(start)
    return add_working_time(base, duration, calendar).isoformat()


def now_iso():
    """Return the current time as an ISO string."""
    return now().isoformat()


def _least_loaded_member():
    """SELECT the username of the active, available member of :department with :role holding the fewest open
    tasks, ties to the lowest id (built once)."""
    open_tasks = (
        select(func.count())
        .where(HumanTask.assignee_id == User.id, HumanTask.state == "open")
        .correlate(User)
        .scalar_subquery()
    )
    return (
        select(User.username)
        .join(Department, User.department_id == Department.id)
        .join(user_roles, user_roles.c.user_id == User.id)
        .where(Department.code == bindparam("department"), user_roles.c.role_code == bindparam("role"),
               User.active.is_(True), User.away.is_(False))
        .order_by(open_tasks, User.id)
        .limit(1)
    )


_LEAST_LOADED = None


def pick_assignee(department, role="handler"):
    """Return the username of the active, available (not away) member of `department` with `role` who holds the
    fewest open tasks, or None (the task then waits in the department's queue for the role).

    Dispatch is serialised per department and role: the counter row `dispatch:<department>:<role>` is locked (a row
    lock on PostgreSQL, the write lock on SQLite) until the caller's transaction commits, so the count sees every
    task an earlier dispatch of the same department wrote, also from other processes.
    """
    global _LEAST_LOADED
    if not department:
        return None
    if _LEAST_LOADED is None:
        _LEAST_LOADED = FastStatement(_least_loaded_member())
    next_value(f"dispatch:{department}:{role}"[:64])
    return _LEAST_LOADED.scalar({"department": department, "role": role})


def _open_task_of_ticket():
    from app.tickets.models import Ticket

    return (
        select(HumanTask.id)
        .join(Ticket, Ticket.id == HumanTask.ticket_id)
        .where(Ticket.number == bindparam("ticket_number"), HumanTask.name == bindparam("task_name"),
               HumanTask.state == "open")
        .limit(1)
    )


_OPEN_TASK = None


def has_open_task(ticket_number, task_name):
    """True when the ticket already has an open task `task_name` (e.g. to not stack a second escalation)."""
    global _OPEN_TASK
    if _OPEN_TASK is None:
        _OPEN_TASK = FastStatement(_open_task_of_ticket())
    return _OPEN_TASK.first({"ticket_number": ticket_number, "task_name": task_name}) is not None


def _handler_of_ticket():
    from app.tickets.models import Ticket

    tickets, users, departments = Ticket.__table__, User.__table__, Department.__table__
    return (
        select(users.c.username.label("assignee"), departments.c.code.label("department"))
        .select_from(tickets.outerjoin(users, users.c.id == tickets.c.assignee_id)
                     .outerjoin(departments, departments.c.id == tickets.c.department_id))
        .where(tickets.c.number == bindparam("ticket_number"))
    )


_HANDLER = None


def ticket_handler(ticket_number):
    """Return {"assignee": username or None, "department": code or None}: who handles the ticket now.

    For a branch of a diagram that cannot see its subprocess's variables: a timer on a subprocess reads the data
    the subprocess started with, so after a transfer inside it (aftersales.bpmn) the progress cycle asks the
    ticket whom its next task goes to."""
    global _HANDLER
    if _HANDLER is None:
        _HANDLER = FastStatement(_handler_of_ticket())
    row = _HANDLER.first({"ticket_number": ticket_number})
    return {"assignee": row.assignee if row else None, "department": row.department if row else None}


def start_process(name, data=None):
    """Start an instance of the newest version of process `name` with `data` (a dict) once the calling step is
    saved, in the same transaction (e.g. the close starts the satisfaction survey). Returns True."""
    from flask import current_app

    current_app.extensions["engine"].start_later(str(name), data if isinstance(data, dict) else {})
    return True


def send_survey(ticket_number):
    """Send the ticket's satisfaction survey to its customer (unless one is already out or answered); return
    {"id": survey id, "expires_at": ISO time the link expires}."""
    from app.surveys.service import send_survey_for_process

    return send_survey_for_process(ticket_number)


def expire_survey(survey_id):
    """Mark survey `survey_id` expired when it is still unanswered; True when it was."""
    from app.surveys.service import expire_survey as expire

    return expire(survey_id)


def _customer_capabilities():
    """The customer processes' capabilities (onboarding and care, see app/customers/processes.py)."""
    from app.customers import processes

    return {"set_customer_status": processes.set_customer_status,
            "save_customer_profile": processes.save_customer_profile,
            "has_agreement": processes.has_agreement, "service_dates": processes.service_dates,
            "care_due": processes.care_due, "open_ticket": processes.open_ticket}


def _parse(value):
    from datetime import datetime

    return datetime.fromisoformat(value)


HELPERS = {"deadline": deadline, "working_deadline": working_deadline, "now_iso": now_iso, "pick_assignee": pick_assignee,
           "has_open_task": has_open_task, "ticket_handler": ticket_handler, "start_process": start_process, "send_survey": send_survey,
           "expire_survey": expire_survey, **_customer_capabilities()}
