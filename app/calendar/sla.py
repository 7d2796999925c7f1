"""The ticket's working-time clock: how each deadline was set (its window), pauses while the ticket waits for
the customer, and recomputing deadlines when a pause ends or the calendar is edited.

The diagram sets the deadline variables (`response_due`, `resolution_due`) with `deadline`/`working_deadline`
and picks the calendar with the process variable `sla_calendar` (empty = the wall clock). After each step,
`after_step` (called by app/tickets/flow.py) records a window for each deadline that changed, and when the status
enters one of the statuses that pause the clock (CLOCK_PAUSE_STATUSES) it opens a pause and holds the timers
that read the deadlines; when the status leaves them it closes the pause and moves the deadlines (and the timers
reading them) later by the working time the pause took.
"""
import functools
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, cast, delete, insert, null, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from app.clock import as_utc
from app.extensions import db
from app.fast_statements import FastStatement
from app.tickets.models import Ticket

from .models import ClockPause, SlaWindow
from .service import work_calendar
from .worktime import WorkCalendar

# deadline variable -> (ticket column, the variable of the time that meets it)
WINDOWS = {
    "response_due": ("response_due_at", "responded_at"),
    "resolution_due": ("resolution_due_at", "resolved_at"),
}
WALL_CLOCK = WorkCalendar("", 0, [((0, 86_400_000_000),)] * 7, {})
_US = timedelta(microseconds=1)

_windows = SlaWindow.__table__
_pauses = ClockPause.__table__
# the statements a ticket step runs, built once (see app/fast_statements.py)
_DELETE_WINDOW = FastStatement(delete(_windows).where(_windows.c.ticket_id == bindparam("t_id"),
                                                      _windows.c.variable == bindparam("variable")))


def _upsert(dialect):
    """Insert window rows, each replacing the ticket's window of the same variable (one statement)."""
    statement = dialect.insert(_windows)
    return FastStatement(statement.on_conflict_do_update(
        index_elements=[_windows.c.ticket_id, _windows.c.variable],
        set_={c: statement.excluded[c] for c in ("calendar_code", "started_at", "working_us")}))


_PUT_WINDOWS = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}
_WINDOWS_OF = FastStatement(select(
    _windows.c.variable, _windows.c.calendar_code, _windows.c.started_at, _windows.c.working_us
).where(_windows.c.ticket_id == bindparam("t_id")))
_CREATED_AT = FastStatement(select(Ticket.__table__.c.created_at).where(Ticket.__table__.c.id == bindparam("t_id")))
_PAUSES_OF = FastStatement(select(_pauses.c.started_at, _pauses.c.ended_at).where(
    _pauses.c.ticket_id == bindparam("t_id")).order_by(_pauses.c.started_at))
# what the working-time measure reads, in one statement: the pauses (variable NULL), then the windows' calendars
_PAUSES_AND_WINDOWS = FastStatement(union_all(
    select(cast(null(), _windows.c.variable.type).label("variable"),
           cast(null(), _windows.c.calendar_code.type).label("calendar_code"),
           _pauses.c.started_at, _pauses.c.ended_at).where(_pauses.c.ticket_id == bindparam("t_id")),
    select(_windows.c.variable, _windows.c.calendar_code, cast(null(), _pauses.c.started_at.type),
           cast(null(), _pauses.c.ended_at.type)).where(_windows.c.ticket_id == bindparam("t_id")),
))
_OPEN_PAUSE = select(_pauses.c.id, _pauses.c.started_at).where(
    _pauses.c.ticket_id == bindparam("t_id"), _pauses.c.ended_at.is_(None))
_CLOSE_PAUSE = update(_pauses).where(_pauses.c.id == bindparam("pause_id"))


def pause_statuses():
    """The ticket statuses that pause the clock (setting CLOCK_PAUSE_STATUSES, comma-separated)."""
    return _statuses(current_app.config.get("CLOCK_PAUSE_STATUSES", "awaiting_customer"))


@functools.lru_cache(maxsize=16)
def _statuses(value):
    return frozenset(s.strip() for s in value.split(",") if s.strip())


def calendar_of(code):
    """The WorkCalendar `code`, or the wall clock (every hour counts) when `code` is empty."""
    return work_calendar(code) if code else WALL_CLOCK


def due_with_pauses(calendar, start, working, pauses):
    """The instant `working` (timedelta) of working time after `start`, the pauses [(start, end or None)] left
    out; None when the clock is paused before the time is used up (the deadline waits for the pause to end)."""
    cursor, remaining = start, working
    for began, ended in pauses:
        if ended is not None and ended <= cursor:
            continue
        began = max(began, cursor)
        run = calendar.between(cursor, began)
        if run >= remaining:
            break
        remaining -= run
        if ended is None:
            return None
        cursor = ended
    return calendar.add(cursor, remaining)


class Follow(dict):
    """What `after_step` asks of the caller: the variables to set in the process (`values`), the timers to hold
    (`hold`, None = unchanged), the ticket columns and history events that go with them."""


def after_step(ticket, step, *, stamp, changes):
    """Record the windows of changed deadlines and handle a status entering or leaving a pausing status.

    Returns None, or a Follow the caller applies through the engine (app/tickets/flow.py does)."""
    data = step.finished[-1].data if step.finished else {}
    code = data.get("sla_calendar") or None
    _measure_working(ticket, changes, code)
    set_by_diagram = {v for f in step.finished for v in f.changed if v in WINDOWS}
    if set_by_diagram:  # deadlines this module moved keep the window they were set from
        _record_windows(ticket, changes, code, stamp, set_by_diagram)
    old, new = getattr(ticket, "status", None), changes.get("status")
    if new is None or new == old:
        return None
    paused = pause_statuses()
    if new in paused and old not in paused:
        return _pause(ticket, new, stamp, step)
    if old in paused and new not in paused:
        return _resume(ticket, data, code, stamp, step)
    return None


# a measured time -> the column that keeps the working time from the ticket's creation to it
MEASURED = {"first_responded_at": "response_working_seconds", "resolved_at": "resolution_working_seconds"}
_WINDOW_OF_MEASURE = {"response_working_seconds": "response_due", "resolution_working_seconds": "resolution_due"}


def _measure_working(ticket, changes, code):
    """Set the working-time columns for the first response and the resolution this step records: the time from
    the ticket's creation in the calendar of the window it meets (else `code`; the wall clock without one), the
    clock's pauses left out."""
    met = {column: as_utc(changes[m]) for m, column in MEASURED.items() if changes.get(m) is not None}
    if not met:
        return
    created = getattr(ticket, "created_at", None) or _CREATED_AT.scalar({"t_id": ticket.id})
    if created is None:
        return
    created = as_utc(created)
    rows = _PAUSES_AND_WINDOWS.execute({"t_id": ticket.id}).all()
    windows = {r.variable: r.calendar_code for r in rows if r.variable is not None}
    pauses = sorted(((as_utc(r.started_at), as_utc(r.ended_at)) for r in rows if r.variable is None),
                    key=lambda pause: pause[0])  # oldest first, as _pauses_of
    for column, at in met.items():
        # the calendar of the window this time meets, as the diagram chose it; else the process's sla_calendar
        window = _WINDOW_OF_MEASURE[column]
        calendar = calendar_of(windows[window] if window in windows else code)
        working = calendar.between(created, at)
        for began, ended in pauses:
            began, ended = max(began, created), min(ended or at, at)
            if began < ended:
                working -= calendar.between(began, ended)
        changes[column] = max(int(working.total_seconds()), 0)


def _pauses_of(ticket_id):
    """[(started, ended or None)] of the ticket's clock pauses, in UTC, oldest first."""
    return [(as_utc(s), as_utc(e) if e is not None else None) for s, e in _PAUSES_OF.execute({"t_id": ticket_id}).all()]


def _record_windows(ticket, changes, code, stamp, variables):
    set_now = {v: as_utc(changes[c]) for v, (c, _m) in WINDOWS.items() if c in changes and v in variables}
    if not set_now:
        return
    cleared = [{"t_id": ticket.id, "variable": v} for v, due in sorted(set_now.items()) if due is None]
    if cleared:
        _DELETE_WINDOW.executemany(cleared)
    calendar = calendar_of(code)
    replace_windows([{"ticket_id": ticket.id, "variable": v, "calendar_code": code, "started_at": stamp,
                      "working_us": max(calendar.between(stamp, due), timedelta(0)) // _US}
                     for v, due in set_now.items() if due is not None])


def _pause(ticket, status, stamp, step):
    conn = db.session.connection()
    if conn.execute(_OPEN_PAUSE, {"t_id": ticket.id}).first() is None:
        conn.execute(insert(_pauses), {"ticket_id": ticket.id, "status": status, "started_at": stamp})
    follow = Follow(values={}, hold=sorted(WINDOWS), columns={},
                    events=[("clock_paused", {"status": status})])
    return None if step.completed else follow


def _resume(ticket, data, code, stamp, step):
    conn = db.session.connection()
    row = conn.execute(_OPEN_PAUSE, {"t_id": ticket.id}).first()
    if row is None:
        return None
    calendar = calendar_of(code)
    paused = calendar.between(as_utc(row.started_at), stamp)
    conn.execute(_CLOSE_PAUSE, {"pause_id": row.id, "ended_at": stamp,
                                "paused_seconds": int(paused.total_seconds())})
    values, columns = _recomputed(ticket.id, data, calendar, paused, stamp)
    events = [("clock_resumed", {"paused_working_seconds": int(paused.total_seconds()),
                                 **{c: v.isoformat() for c, v in columns.items()}})]
    if step.completed:
        return None
    return Follow(values={k: v.isoformat() for k, v in values.items()}, hold=(), columns=columns, events=events)


def _recomputed(ticket_id, data, calendar, paused, stamp):
    """{variable: new due}, {column: new due} for the deadlines not met yet, from their windows and pauses."""
    windows = {r.variable: r for r in _WINDOWS_OF.execute({"t_id": ticket_id}).all()}
    pauses = _pauses_of(ticket_id)
    values, columns = {}, {}
    for variable, (column, met) in WINDOWS.items():
        current = _time(data.get(variable))
        if current is None or data.get(met):
            continue
        window = windows.get(variable)
        if window is not None:
            due = due_with_pauses(calendar_of(window.calendar_code), as_utc(window.started_at),
                                  window.working_us * _US, pauses)
        elif paused is not None:  # set before windows were recorded: move it by the paused working time
            due = calendar.add(current, paused)
        else:
            continue
        if due is not None and abs(due - current) >= timedelta(seconds=1):
            values[variable], columns[column] = due, due
    return values, columns


def _time(value):
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def open_windows_of_calendar(code):
    """[(ticket id, number, instance id, status, accepted_at, first_responded_at)] of open tickets whose windows
    use calendar `code`."""
    from app.tickets.models import Ticket

    tickets = Ticket.__table__
    return db.session.connection().execute(
        select(tickets.c.id, tickets.c.number, tickets.c.process_instance_id, tickets.c.status,
               tickets.c.accepted_at, tickets.c.first_responded_at)
        .where(tickets.c.closed_at.is_(None),
               tickets.c.id.in_(select(_windows.c.ticket_id).where(_windows.c.calendar_code == code)))
        .order_by(tickets.c.id)).all()


def recompute_for_calendar(code):
    """Recompute the deadlines not met yet of every open ticket whose windows use calendar `code` (after an
    edit), move their timers, and return how many tickets changed. Runs in the caller's transaction."""
    from app.tickets import flow

    changed = 0
    for ticket_id, number, instance_id, status, accepted_at, first_responded_at in open_windows_of_calendar(code):
        if instance_id is None or status in pause_statuses():
            continue  # a paused ticket's deadlines are computed when the pause ends
        data = flow.engine().process_data(instance_id)
        values, columns = _recomputed(ticket_id, data, None, None, None)
        if not values:
            continue
        head = flow.TicketHead(ticket_id, number, accepted_at, first_responded_at, status)
        step = flow.engine().update_variables(instance_id, {k: v.isoformat() for k, v in values.items()})
        flow.apply_step(head, step, actor="system", columns=columns,
                        events=[("deadlines_recomputed", {"calendar": code,
                                                          **{c: v.isoformat() for c, v in columns.items()}})])
        changed += 1
    return changed


def windows_of(ticket_id):
    """{deadline variable: (calendar code, started_at UTC)} of the ticket's recorded windows."""
    return {r.variable: (r.calendar_code, as_utc(r.started_at)) for r in _WINDOWS_OF.execute({"t_id": ticket_id}).all()}


def rewindow(ticket_id, earlier, due):
    """After a priority change: the deadlines in `due` ({variable: new due, UTC}) keep the start of their earlier
    window (`earlier`, from `windows_of` before the change) with the new working duration, and the clock's ended
    pauses are left out again. Returns ({variable: due} as the clock puts them (a deadline waiting for an open
    pause keeps the diagram's value), the window rows to record with `replace_windows` once the step is applied,
    so later pauses and calendar edits keep working)."""
    rows, moved = [], {}
    pauses = _pauses_of(ticket_id)
    for variable, new_due in due.items():
        if variable not in WINDOWS or new_due is None:
            continue
        code, started = earlier.get(variable, (None, None))
        if started is None:
            continue  # no earlier window (an older ticket): the step recorded one from now
        calendar = calendar_of(code)
        working = max(calendar.between(started, new_due), timedelta(0))
        rows.append({"ticket_id": ticket_id, "variable": variable, "calendar_code": code, "started_at": started,
                     "working_us": working // _US})
        clocked = due_with_pauses(calendar, started, working, pauses)
        moved[variable] = clocked if clocked is not None else new_due
    return moved, rows


def replace_windows(rows):
    """Record window rows (a step's new windows, or `rewindow`'s) in place of the ticket's windows of the same
    variables: one upsert."""
    if rows:
        _PUT_WINDOWS[db.engine.dialect.name].executemany(rows)
