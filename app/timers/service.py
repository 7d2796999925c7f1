"""Fire lapsed BPMN timers exactly once, even with several app processes on one database.

Each due timer is claimed and fired in one transaction: on PostgreSQL the claim is a row lock taken with
SKIP LOCKED (a crashed node's lock dies with its connection); everywhere the instance's version guard
refuses a second save of the same step, so a lost race rolls back instead of firing twice.
"""
import logging
from datetime import timedelta

from sqlalchemy import select, tuple_, update

from app.clock import as_utc, now
from app.engine import PendingTimer
from app.errors import Conflict
from app.extensions import db
from app.customers.processes import apply_customer_step, customer_head
from app.tickets.flow import apply_step, engine, ticket_head

log = logging.getLogger(__name__)
_timers = PendingTimer.__table__


def fire_due_timers(*, node="local", batch=200):
    """Fire every timer due now, one transaction each; return how many fired."""
    fired = 0
    cursor = None  # (due_at, id) of the last timer tried: each timer gets at most one try per pass
    while True:
        claimed = _claim_next(cursor)
        if claimed is None:
            break
        timer_id, instance_id, due_at = claimed
        cursor = (due_at, timer_id)
        try:
            if _fire(instance_id):
                fired += 1
            db.session.commit()
        except Conflict:
            db.session.rollback()  # another node fired it first
        except Exception:
            db.session.rollback()
            log.exception("timer %s of instance %s failed", timer_id, instance_id)
            _park(timer_id, node)
        if fired >= batch:
            break
    return fired


def _claim_next(cursor):
    stamp = now()
    query = (
        select(_timers.c.id, _timers.c.instance_id, _timers.c.due_at)
        .where(_timers.c.due_at <= stamp,
               (_timers.c.claimed_until.is_(None)) | (_timers.c.claimed_until < stamp))
        .order_by(_timers.c.due_at, _timers.c.id)
        .limit(1)
    )
    if cursor is not None:
        query = query.where(tuple_(_timers.c.due_at, _timers.c.id) > tuple_(*cursor))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = db.session.execute(query).first()
    if row is None:
        db.session.rollback()
        return None
    return row.id, row.instance_id, row.due_at


def _fire(instance_id):
    ticket = ticket_head(instance_id=instance_id)
    customer = customer_head(instance_id=instance_id) if ticket is None else None
    step = engine().fire_timers(instance_id)
    if ticket is not None:
        apply_step(ticket, step, actor="system")
    elif customer is not None:  # an onboarding or care instance: its tasks name the customer
        apply_customer_step(customer, step, actor="system")
    return True


def _park(timer_id, node):
    """A timer whose firing failed waits a minute before the next try, so one bad diagram cannot spin a node."""
    db.session.execute(
        update(_timers).where(_timers.c.id == timer_id)
        .values(claimed_by=f"failed on {node}", claimed_until=now() + timedelta(minutes=1))
    )
    db.session.commit()


def next_due_at():
    """The earliest due time of any pending timer, or None."""
    value = db.session.scalar(select(_timers.c.due_at).order_by(_timers.c.due_at).limit(1))
    db.session.rollback()
    return as_utc(value)
