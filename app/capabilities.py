"""Capabilities the diagrams call from scripts and expressions. They compute; the diagram decides the order."""

from sqlalchemy import func, select
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.auth.models import Department, User, user_roles
from app.clock import now
from app.extensions import db
from app.tasks.models import HumanTask


def deadline(duration, start=None):
    """Return the ISO time `duration` (ISO 8601, e.g. "PT2H") after `start` (ISO) or now."""
    base = now() if not start else _parse(start)
    return (base + TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(duration), base)).isoformat()


def now_iso():
    """Return the current time as an ISO string."""
    return now().isoformat()


def pick_assignee(department):
    """Return the username of the active handler in `department` with the fewest open tasks, or None."""
    load = (
        select(HumanTask.assignee_id, func.count().label("open"))
        .where(HumanTask.state == "open")
        .group_by(HumanTask.assignee_id)
        .subquery()
    )
    row = db.session.execute(
        select(User.username)
        .join(Department, User.department_id == Department.id)
        .join(user_roles, user_roles.c.user_id == User.id)
        .outerjoin(load, load.c.assignee_id == User.id)
        .where(Department.code == department, user_roles.c.role_code == "handler", User.active.is_(True))
        .order_by(func.coalesce(load.c.open, 0), User.id)
        .limit(1)
    ).first()
    return row.username if row else None


def _parse(value):
    from datetime import datetime

    return datetime.fromisoformat(value)


HELPERS = {"deadline": deadline, "now_iso": now_iso, "pick_assignee": pick_assignee}
