"""Business calendars: read (compiled and cached per calendar version), compute working time, edit.

Every process keeps the compiled calendar it last read; it re-reads the calendar's `version` column at most every
`CALENDAR_CACHE_SECONDS` (an edit in this process takes effect here at once), so an admin's edit reaches every
process within that time and a deadline computation costs microseconds, not a query.
"""
import re
import time
from datetime import date

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select, update

from app.clock import now
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.i18n import _

from .models import DAY_KINDS, BusinessCalendar, CalendarDay, WorkingPeriod
from .worktime import WorkCalendar, parse_duration

DEFAULT = "default"
_calendars = BusinessCalendar.__table__
_periods = WorkingPeriod.__table__
_days = CalendarDay.__table__
_VERSION = select(_calendars.c.id, _calendars.c.version).where(_calendars.c.code == bindparam("code"))
_PERIODS = select(_periods.c.weekday, _periods.c.start_minute, _periods.c.end_minute).where(
    _periods.c.calendar_id == bindparam("calendar_id"))
_DAYS = select(_days.c.day, _days.c.kind, _days.c.name).where(_days.c.calendar_id == bindparam("calendar_id"))
_BUMP = update(_calendars).where(_calendars.c.id == bindparam("calendar_id")).values(
    version=_calendars.c.version + 1, updated_at=bindparam("stamp"))
_RANGE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])\s*-\s*([01]?[0-9]|2[0-4]):([0-5][0-9])")


# ------------------------------------------------------------------ reading

def work_calendar(code=DEFAULT):
    """The compiled WorkCalendar `code` (cached per version); NotFound when there is no such calendar."""
    cache = current_app.extensions.setdefault("work_calendars", {})
    entry = cache.get(code)
    clock = time.monotonic()
    if entry is not None and clock - entry[1] < current_app.config.get("CALENDAR_CACHE_SECONDS", 2):
        return entry[0]
    row = db.session.connection().execute(_VERSION, {"code": code}).first()
    if row is None:
        raise NotFound(_("There is no business calendar '%(code)s'.", code=code))
    if entry is not None and entry[0].version == row.version:
        cache[code] = (entry[0], clock)
        return entry[0]
    compiled = _compile(code, row.id, row.version)
    cache[code] = (compiled, clock)
    return compiled


def _compile(code, calendar_id, version):
    conn = db.session.connection()
    weekly = [[] for _day in range(7)]
    for weekday, start, end in conn.execute(_PERIODS, {"calendar_id": calendar_id}):
        weekly[weekday].append((start * 60_000_000, end * 60_000_000))
    makeup = weekly[0]  # a make-up working day keeps the hours of a Monday
    days = {day: (makeup if kind == "workday" else ()) for day, kind, _name in
            conn.execute(_DAYS, {"calendar_id": calendar_id})}
    return WorkCalendar(code, version, weekly, days)


def forget_cached(code=None):
    """Drop this process's compiled copy of `code` (all when None): the next computation reads it again."""
    cache = current_app.extensions.setdefault("work_calendars", {})
    if code is None:
        cache.clear()
    else:
        cache.pop(code, None)


def add_working_time(start, duration, calendar=DEFAULT):
    """The aware UTC instant `duration` (timedelta, or ISO text such as "PT2H") of working time after `start`."""
    compiled = work_calendar(calendar) if isinstance(calendar, str) else calendar
    if isinstance(duration, str):
        duration = parse_duration(duration, compiled)
    return compiled.add(start, duration)


def working_time_between(a, b, calendar=DEFAULT):
    """The working time (timedelta) from `a` to `b` in `calendar`; negative when `b` is before `a`."""
    compiled = work_calendar(calendar) if isinstance(calendar, str) else calendar
    return compiled.between(a, b)


# ------------------------------------------------------------------ the admin's view and edits

def calendar_codes():
    """[(code, name)] of every calendar."""
    return [tuple(r) for r in db.session.execute(
        select(_calendars.c.code, _calendars.c.name).order_by(_calendars.c.code))]


def describe(code=DEFAULT):
    """The calendar as the admin page and the API show it: hours per weekday as text, and its dated days."""
    row = _row(code)
    hours = {w: [] for w in range(7)}
    for weekday, start, end in db.session.connection().execute(
            _PERIODS.order_by(_periods.c.weekday, _periods.c.start_minute), {"calendar_id": row.id}):
        hours[weekday].append(f"{_hhmm(start)}-{_hhmm(end)}")
    days = [{"date": d.isoformat(), "kind": k, "name": n} for d, k, n in db.session.connection().execute(
        _DAYS.order_by(_days.c.day), {"calendar_id": row.id})]
    return {"code": row.code, "name": row.name, "version": row.version,
            "hours": {str(w): ", ".join(v) for w, v in hours.items()}, "days": days}


def set_hours(*, code=DEFAULT, hours):
    """Replace the weekly working hours. `hours` maps weekday "0" (Monday) … "6" to text like
    "09:00-12:00, 13:00-18:00" (the gap is the lunch break; empty = no work). Returns the new version."""
    row = _row(code)
    periods, errors = [], {}
    for weekday in range(7):
        text = hours.get(str(weekday), hours.get(weekday, ""))
        try:
            periods += [{"calendar_id": row.id, "weekday": weekday, "start_minute": s, "end_minute": e}
                        for s, e in parse_periods(text)]
        except ValueError as exc:
            errors[f"hours.{weekday}"] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    conn = db.session.connection()
    conn.execute(delete(_periods).where(_periods.c.calendar_id == row.id))
    if periods:
        conn.execute(insert(_periods), periods)
    return _edited(row)


def put_day(*, code=DEFAULT, day, kind, name=""):
    """Add or replace the dated exception of `day`: kind "holiday" or "workday" (a make-up working day)."""
    row = _row(code)
    errors = {}
    parsed = _date(day)
    if parsed is None:
        errors["date"] = _("Enter a date as YYYY-MM-DD.")
    if kind not in DAY_KINDS:
        errors["kind"] = _("Choose holiday or make-up working day.")
    name = (name or "").strip()
    if len(name) > 100:
        errors["name"] = _("At most %(n)s characters.", n=100)
    if errors:
        raise ValidationFailed(errors)
    conn = db.session.connection()
    conn.execute(delete(_days).where(_days.c.calendar_id == row.id, _days.c.day == parsed))
    conn.execute(insert(_days), {"calendar_id": row.id, "day": parsed, "kind": kind, "name": name})
    return _edited(row)


def remove_day(*, code=DEFAULT, day):
    """Remove the dated exception of `day`; NotFound when the calendar has none that day."""
    row = _row(code)
    parsed = _date(day)
    if parsed is None:
        raise ValidationFailed({"date": _("Enter a date as YYYY-MM-DD.")})
    gone = db.session.connection().execute(
        delete(_days).where(_days.c.calendar_id == row.id, _days.c.day == parsed)).rowcount
    if not gone:
        raise NotFound(_("The calendar has no entry on %(day)s.", day=parsed.isoformat()))
    return _edited(row)


def import_chinese_days(*, code=DEFAULT, years):
    """Add China's holidays and make-up working days of `years` from the holidays package (existing dates stay)."""
    from .holidays_cn import chinese_days

    row = _row(code)
    conn = db.session.connection()
    existing = {d for (d,) in conn.execute(select(_days.c.day).where(_days.c.calendar_id == row.id))}
    rows = [{"calendar_id": row.id, "day": d, "kind": k, "name": n}
            for d, k, n in chinese_days(years) if d not in existing]
    if rows:
        conn.execute(insert(_days), rows)
    _edited(row)
    return len(rows)


def _edited(row):
    """Bump the version, drop this process's copy and recompute what depends on the calendar."""
    db.session.connection().execute(_BUMP, {"calendar_id": row.id, "stamp": now()})
    forget_cached(row.code)
    from .sla import recompute_for_calendar

    recompute_for_calendar(row.code)
    db.session.commit()
    return row.version + 1


def _row(code):
    row = db.session.connection().execute(
        select(_calendars.c.id, _calendars.c.code, _calendars.c.name, _calendars.c.version)
        .where(_calendars.c.code == code)).first()
    if row is None:
        raise NotFound(_("There is no business calendar '%(code)s'.", code=code))
    return row


def parse_periods(text):
    """[(start_minute, end_minute)] from "09:00-12:00, 13:00-18:00"; ValueError naming the rule broken."""
    text = (text or "").strip()
    if not text:
        return []
    found = []
    for piece in re.split(r"[,，;；\s]+(?=[0-9])", text):
        match = _RANGE.fullmatch(piece.strip().rstrip(",，;；"))
        if match is None:
            raise ValueError(_("Write periods as HH:MM-HH:MM separated by commas, e.g. 09:00-12:00, 13:00-18:00."))
        h1, m1, h2, m2 = map(int, match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start or end > 24 * 60:
            raise ValueError(_("A period must end after it starts, by 24:00 at the latest."))
        found.append((start, end))
    found.sort()
    for (s1, e1), (s2, _e2) in zip(found, found[1:]):
        if s2 < e1:
            raise ValueError(_("Periods must not overlap."))
    return found


def _hhmm(minutes):
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _date(value):
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def working_delta(duration, calendar=DEFAULT):
    """`duration` ISO text as a working-time timedelta in `calendar` (a day is one full working day)."""
    return parse_duration(duration, work_calendar(calendar))


