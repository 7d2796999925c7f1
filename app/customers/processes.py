"""Customer processes: new-customer onboarding (workflows/onboarding.bpmn, R3-1) and proactive care
(workflows/care.bpmn, R0-9).

Services here start them and turn their engine steps into human-task rows that name the customer instead of a
ticket; the capabilities their diagrams call (status, profile, agreement, care timer dates, opening a ticket)
are defined here and registered in app/capabilities.py. The order of the steps is the diagrams'.
"""
from datetime import date, datetime, time
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import bindparam, event, or_, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.clock import now
from app.engine import ProcessInstance, latest_definition_id
from app.engine.retime import HELD_UNTIL
from app.errors import Conflict
from app.extensions import db
from app.i18n import _
from app.tickets.flow import _CANCEL_TASK, _INSERT_TASKS, _Lookups, _due_by_task, _property, engine, form_data_json

from .models import CUSTOMER_STATUSES, SERVICE_DATES, Customer, CustomerDocument

ONBOARDING = "customer_onboarding"  # the process id in workflows/onboarding.bpmn
CARE = "customer_care"  # the process id in workflows/care.bpmn
CARE_HOUR = time(9, 0)  # a care timer computed from a date fires at this local time of its day
NEVER = HELD_UNTIL  # a care timer whose date is not known yet waits until then (it never fires)

_customers, _instances = Customer.__table__, ProcessInstance.__table__
_HEAD = select(_customers.c.id, _customers.c.number).where(or_(
    _customers.c.onboarding_instance_id == bindparam("instance_id"),
    _customers.c.care_instance_id == bindparam("instance_id")))
_BY_NUMBER = select(_customers).where(_customers.c.number == bindparam("number"))
_QUEUE_KEY = "customer_ticket_queue"


class CustomerHead(NamedTuple):
    """What `apply_customer_step` needs of a customer."""

    id: int
    number: str


def customer_head(*, instance_id):
    """The CustomerHead of the customer an onboarding or care instance runs for; None when there is none."""
    row = db.session.connection().execute(_HEAD, {"instance_id": instance_id}).first()
    return CustomerHead(*row) if row is not None else None


# ------------------------------------------------------------------------------------------ services

def start_onboarding(customer, actor):
    """Start the onboarding process for a customer just registered (flushed, status "onboarding"), in the
    caller's transaction. Conflict when the process is not deployed."""
    definition_id = latest_definition_id(ONBOARDING)
    if definition_id is None:
        raise Conflict(_("The process '%(name)s' is not deployed.", name=ONBOARDING))
    step = engine().start(definition_id, {"customer_number": customer.number, "registered_by": actor.username})
    customer.onboarding_instance_id = step.instance_id
    db.session.flush()
    apply_customer_step(CustomerHead(customer.id, customer.number), step, actor=actor.username)


def sync_care(customer, changed, actor):
    """After a customer's service dates changed (`changed`: the names), in the caller's transaction: a running
    care instance gets the new dates and its waiting timers are computed again (re-timed, see
    app/engine/retime.py); without a running one (none yet, or every care step of the earlier one done) a new
    care instance starts when any service date is set."""
    if not changed:
        return
    dates = service_dates_of(customer)
    instance_id = customer.care_instance_id
    status = None
    if instance_id is not None:
        status = db.session.connection().execute(
            select(_instances.c.status).where(_instances.c.id == instance_id)).scalar()
    head = CustomerHead(customer.id, customer.number)
    if status == "running":
        step = engine().update_variables(instance_id, {"service": dates})
        apply_customer_step(head, step, actor=actor)
        return
    if not any(dates.values()):
        return
    definition_id = latest_definition_id(CARE)
    if definition_id is None:
        return  # care is optional: an installation without the diagram keeps the dates only
    step = engine().start(definition_id, {"customer_number": customer.number})
    customer.care_instance_id = step.instance_id
    db.session.flush()
    apply_customer_step(head, step, actor=actor)


def service_dates_of(customer):
    """{date name: ISO date or None} of a customer row or Customer."""
    return {name: (getattr(customer, name).isoformat() if getattr(customer, name) else None)
            for name in SERVICE_DATES}


def apply_customer_step(customer, step, *, actor, completed_task_id=None):
    """Record a customer process's step: cancel the user tasks it closed, open rows for its new ones (linked to
    the customer, no ticket), then open the tickets its care tasks asked for. Runs in the caller's transaction."""
    stamp = now()
    lookups = _Lookups.current()
    gone = step.previously_ready - {t.id for t in step.ready} - {completed_task_id}
    if gone:
        _CANCEL_TASK.executemany([{"task_id": i, "state": "cancelled", "completed_at": stamp} for i in sorted(gone)])
    due = _due_by_task(step)
    rows = []
    for task in step.ready:
        if task.id in step.previously_ready:
            continue
        assignee, department = _property(task, "assignee"), _property(task, "department")
        rows.append({
            "id": task.id, "instance_id": step.instance_id, "ticket_id": None, "customer_id": customer.id,
            "name": task.name, "title": task.title[:200], "role": task.lane,
            "department_id": lookups.department_id(department) if department else None,
            "assignee_id": lookups.user_id(assignee) if assignee else None,
            "form": task.form, "state": "open", "created_at": stamp, "due_at": due.get(task.id),
            "form_data": form_data_json(task.data),
        })
    if rows:
        _INSERT_TASKS.executemany(rows)
    _open_queued_tickets()


# ------------------------------------------------------------------------------------ capabilities

def set_customer_status(customer_number, status, reason=None):
    """Set the customer's status (onboarding, active, refused) with an optional reason; returns the status."""
    if status not in CUSTOMER_STATUSES:
        raise ValueError(f"unknown customer status {status!r} (known: {', '.join(CUSTOMER_STATUSES)})")
    text = str(reason).strip()[:500] if reason else None
    done = db.session.connection().execute(
        update(_customers).where(_customers.c.number == customer_number)
        .values(status=status, status_reason=text, updated_at=now())).rowcount
    if done != 1:
        raise ValueError(f"no customer {customer_number!r}")
    return status


PROFILE_FIELDS = ("registered_address", "credit_code", "billing_contact", "billing_phone")


def save_customer_profile(customer_number, profile):
    """Keep the onboarding's profile details (PROFILE_FIELDS of `profile`, text) with the customer; True."""
    clean = {k: str(v).strip()[:500] for k, v in dict(profile or {}).items() if k in PROFILE_FIELDS and v}
    db.session.connection().execute(
        update(_customers).where(_customers.c.number == customer_number).values(profile=clean, updated_at=now()))
    return True


def has_agreement(customer_number):
    """True when a service agreement file has been uploaded for the customer."""
    found = db.session.connection().execute(
        select(CustomerDocument.id).join(Customer, Customer.id == CustomerDocument.customer_id)
        .where(Customer.number == customer_number, CustomerDocument.kind == "agreement").limit(1)).first()
    return found is not None


def service_dates(customer_number):
    """The customer's service dates {delivery_date, purchase_date, contract_start, contract_end} (ISO or None)."""
    row = db.session.connection().execute(_BY_NUMBER, {"number": customer_number}).first()
    if row is None:
        raise ValueError(f"no customer {customer_number!r}")
    return service_dates_of(row)


def care_due(day, duration):
    """The time a care timer fires: `duration` (ISO 8601, e.g. "P7D"; "-P30D" counts back) after the date `day`
    (ISO), at CARE_HOUR local time; NEVER (it waits) while the date is not known."""
    if not day:
        return NEVER
    text = str(duration).strip()
    sign = -1 if text.startswith("-") else 1
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    base = datetime.combine(date.fromisoformat(str(day)[:10]), CARE_HOUR, tzinfo=zone)
    # a month counts the days of the months from `day` on (backwards too: "-P1M" before 31 March is 28/29 Feb)
    delta = TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(text.lstrip("-+")), base)
    return (base + sign * delta).isoformat()


def open_ticket(customer_number, ticket_type, urgency, description, requested_by, channel="phone"):
    """Open a ticket for the customer once the calling step is saved, in the same transaction (a care task
    asking for one); `requested_by` is the employee number who asked. Returns True."""
    db.session.info.setdefault(_QUEUE_KEY, []).append({
        "customer_number": str(customer_number), "type": ticket_type, "urgency": urgency,
        "description": description, "channel": channel, "requested_by": str(requested_by)})
    return True


def _open_queued_tickets():
    """Open the tickets `open_ticket` queued during this step (the ticket service, in the same transaction)."""
    from app.tickets.service import open_ticket as open_one

    for request in db.session.info.pop(_QUEUE_KEY, None) or []:
        actor = db.session.scalar(select(User).where(User.username == request.pop("requested_by")))
        if actor is None:
            raise ValueError("open_ticket: requested_by names no employee")
        open_one(data=request, actor=actor)


@event.listens_for(Session, "after_rollback")
def _drop_queued_tickets(session):
    session.info.pop(_QUEUE_KEY, None)
