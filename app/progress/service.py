"""Progress-table use cases: list a ticket's rows, add a row, update a row. Shared by the ticket page and the API.

Who writes: the ticket's assignee, whoever holds one of its open tasks, supervisors and admins. Everyone who may
see the ticket reads. A closed ticket's table is archived: it is read, never changed (Conflict).
"""
from datetime import date

from sqlalchemy import bindparam, exists, insert, select, update

from app.auth.models import User
from app.calendar.worktime import LOCAL
from app.clock import as_utc, now
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.i18n import _
from app.tasks.models import HumanTask, is_open
from app.tickets.service import get_ticket

from .models import ProgressEntry

FIELDS = ("stage", "owner", "planned_date", "actual_date", "note", "remarks")
LIMITS = {"stage": 100, "note": 2000, "remarks": 500}
_entries, _users = ProgressEntry.__table__, User.__table__
_owners = _users.alias("owner")
_ROWS = (
    select(_entries.c.id, _entries.c.stage, _owners.c.username.label("owner"),
           _owners.c.display_name.label("owner_name"), _entries.c.planned_date, _entries.c.actual_date,
           _entries.c.note, _entries.c.remarks, _entries.c.created_at, _entries.c.updated_at)
    .select_from(_entries.join(_owners, _owners.c.id == _entries.c.owner_id))
    .where(_entries.c.ticket_id == bindparam("ticket_id"))
    .order_by(_entries.c.planned_date, _entries.c.id)
)
_tasks = HumanTask.__table__
_HOLDS_OPEN_TASK = select(exists().where(
    _tasks.c.ticket_id == bindparam("ticket_id"), _tasks.c.assignee_id == bindparam("user_id"),
    is_open(_tasks.c.state)))
_OWNER_BY_USERNAME = select(_users.c.id).where(_users.c.username == bindparam("username"), _users.c.active.is_(True))


def today():
    """The local day (Asia/Shanghai) of the clock."""
    return now().astimezone(LOCAL).date()


def entry_json(row):
    """A progress row as the API shows it (dates as YYYY-MM-DD)."""
    return {"id": row.id, "stage": row.stage, "owner": row.owner, "owner_name": row.owner_name,
            "planned_date": row.planned_date.isoformat(),
            "actual_date": row.actual_date.isoformat() if row.actual_date else None,
            "note": row.note, "remarks": row.remarks or "", "done": row.actual_date is not None,
            "overdue": row.actual_date is None and row.planned_date < today()}


def progress_rows(ticket):
    """The ticket's progress rows (see _ROWS), by planned date."""
    return db.session.connection().execute(_ROWS, {"ticket_id": ticket.id}).all()


def may_edit(ticket, actor):
    """True when `actor` keeps this ticket's progress table: its assignee, a holder of one of its open tasks, a
    supervisor or an admin; never once the ticket is closed."""
    if ticket.status == "closed":
        return False
    if actor.has_role("supervisor", "admin") or ticket.assignee_id == actor.id:
        return True
    return bool(db.session.scalar(_HOLDS_OPEN_TASK, {"ticket_id": ticket.id, "user_id": actor.id}))


def _check_writer(ticket, actor):
    if ticket.status == "closed":
        raise Conflict(_("The request is closed; its progress table is archived and can no longer change."))
    if not may_edit(ticket, actor):
        raise Forbidden(_("Only the request's handler and supervisors keep its progress table."))


def _text(data, field, errors, *, required):
    value = data.get(field)
    if value is None or value == "":
        if required:
            errors[field] = _("This field is required.")
        return ""
    if not isinstance(value, str):
        errors[field] = _("Must be text.")
        return ""
    value = value.strip()
    if required and not value:
        errors[field] = _("Must not be empty.")
    elif len(value) > LIMITS[field]:
        errors[field] = _("Enter at most %(n)s characters.", n=LIMITS[field])
    return value


def _date(data, field, errors, *, required):
    value = data.get(field)
    if value is None or value == "":
        if required:
            errors[field] = _("This field is required.")
        return None
    if isinstance(value, str):
        try:
            if len(value.strip()) == 10:
                return date.fromisoformat(value.strip())
        except ValueError:
            pass
    errors[field] = _("Enter a date as YYYY-MM-DD, e.g. %(example)s.", example=today().isoformat())
    return None


def _clean(ticket, data, errors, *, existing=None):
    """The row's values from `data` (missing fields keep `existing`'s values on an update); rules per field."""
    unknown = [k for k in data if k not in FIELDS]
    for name in unknown:
        errors[name] = _("Unknown field.")
    adding = existing is None
    values = {}
    for field in ("stage", "note", "remarks"):
        if adding or field in data:
            values[field] = _text(data, field, errors, required=field != "remarks")
    if adding or "owner" in data:
        owner = data.get("owner")
        if owner is None or owner == "":
            values["owner_id"] = None  # the actor, filled in by the caller
        elif not isinstance(owner, str) or db.session.scalar(_OWNER_BY_USERNAME, {"username": owner.strip()}) is None:
            errors["owner"] = _("No active user with this employee number.")
        else:
            values["owner_id"] = db.session.scalar(_OWNER_BY_USERNAME, {"username": owner.strip()})
    created_day = as_utc(ticket.created_at).astimezone(LOCAL).date()
    if adding or "planned_date" in data:
        planned = _date(data, "planned_date", errors, required=True)
        changed = planned is not None and (adding or planned != existing.planned_date)
        if changed and planned < today():
            errors["planned_date"] = _("A planned date must not lie in the past (today is %(today)s).",
                                       today=today().isoformat())
        elif planned is not None:
            values["planned_date"] = planned
    if adding or "actual_date" in data:
        actual = _date(data, "actual_date", errors, required=False)
        if actual is not None and actual > today():
            errors["actual_date"] = _("The actual date must not lie in the future (today is %(today)s).",
                                      today=today().isoformat())
        elif actual is not None and actual < created_day:
            errors["actual_date"] = _("The actual date must not lie before the request was registered (%(day)s).",
                                      day=created_day.isoformat())
        elif "actual_date" not in errors:
            values["actual_date"] = actual
    return values


def add_entry(*, number, actor, data):
    """Add a row to the ticket's progress table; return it as entry_json. ValidationFailed names each bad field:
    stage and note are required (text that is only spaces is empty), the owner an active user (default: the
    actor), the planned date a YYYY-MM-DD not in the past, the actual date (optional) not in the future nor before
    the request was registered."""
    ticket = get_ticket(number)
    _check_writer(ticket, actor)
    errors = {}
    values = _clean(ticket, data if isinstance(data, dict) else {}, errors)
    if errors:
        raise ValidationFailed(errors)
    stamp = now()
    entry_id = db.session.execute(insert(_entries).returning(_entries.c.id), {
        **values, "owner_id": values.get("owner_id") or actor.id, "ticket_id": ticket.id,
        "created_by_id": actor.id, "created_at": stamp}).scalar_one()
    _history(ticket, actor, "progress_added", entry_id, values, stamp)
    db.session.commit()
    return _one(ticket, entry_id)


def update_entry(*, number, entry_id, actor, data):
    """Change fields of a progress row (those sent; e.g. the actual date once a stage is done, the note); return
    it as entry_json. The same rules as add_entry; a planned date already passed may stay as it is."""
    ticket = get_ticket(number)
    entry = db.session.get(ProgressEntry, entry_id) if isinstance(entry_id, int) and 0 < entry_id < 2**53 else None
    if entry is None or entry.ticket_id != ticket.id:
        raise NotFound(_("No such progress entry."))
    _check_writer(ticket, actor)
    errors = {}
    values = _clean(ticket, data if isinstance(data, dict) else {}, errors, existing=entry)
    if errors:
        raise ValidationFailed(errors)
    if "owner_id" in values and values["owner_id"] is None:
        values["owner_id"] = actor.id
    stamp = now()
    db.session.execute(update(_entries).where(_entries.c.id == entry.id),
                       {**values, "updated_by_id": actor.id, "updated_at": stamp})
    _history(ticket, actor, "progress_updated", entry.id, {"stage": entry.stage, **values}, stamp)
    db.session.commit()
    return _one(ticket, entry.id)


def _one(ticket, entry_id):
    return entry_json(next(row for row in progress_rows(ticket) if row.id == entry_id))


def _history(ticket, actor, action, entry_id, values, stamp):
    from app.tickets.models import TicketEvent

    detail = {"entry": entry_id, **{k: (v.isoformat() if isinstance(v, date) else v)
                                    for k, v in values.items() if k != "owner_id"}}
    db.session.execute(insert(TicketEvent.__table__), {"ticket_id": ticket.id, "at": stamp, "actor": actor.username,
                                                       "action": action, "detail": detail})
