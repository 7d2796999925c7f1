"""Report use cases (R1-6, R2-6): the figures of a period, the tickets behind a figure, the seed's preset views.

One function per use case, shared by the pages, the API and the exports. Input arrives as strings (query
arguments); `parse_params` checks them and raises ValidationFailed naming the field.
"""
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.auth import access
from app.clock import now
from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import _
from app.tickets.models import CHANNELS, PRIORITIES, TICKET_TYPES, URGENCIES
from app.tickets.service import TICKET_ROW_COLUMNS, TICKET_ROW_FROM

from . import queries, satisfaction
from .queries import GRANULARITIES, GROUPS, T

MAX_DAYS = 731  # two years per report
FILTERS = {"type": TICKET_TYPES, "urgency": URGENCIES, "priority": PRIORITIES, "channel": CHANNELS}
FIGURES = ("tickets", "closed", "resolved", "unresolved", "responded_on_time", "responded_late", "reopened",
           "transferred", "satisfaction")
PRESETS = ("daily", "weekly", "monthly")
BATCH = 2000


def require_reader(user):
    """Reports are for supervisors (managers) and admins."""
    access.require_role(user, access.SUPERVISORS)


def _tz():
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def local_today():
    return now().astimezone(ZoneInfo(_tz())).date()


def _date(args, name, default, errors):
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
        errors[name] = _("Enter a date as YYYY-MM-DD.")
        return default
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors[name] = _("Enter a date as YYYY-MM-DD.")
        return default
    if not FIRST_DAY <= value <= LAST_DAY:  # a month or a time zone away from the calendar's ends still computes
        errors[name] = _("Enter a date from %(first)s to %(last)s.", first=FIRST_DAY.isoformat(),
                         last=LAST_DAY.isoformat())
        return default
    return value


FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)  # the dates a report may name


def preset_params(preset, args):
    """The arguments of a seed-001 preset view around the date `date` (default today).

    daily: the tickets closed that day, archived by type (with priority, resolution time, satisfaction);
    weekly: the ISO week's tickets per day, by type (frequent problems, resolution time, satisfaction);
    monthly: the month's tickets per day, by department (response on time, resolution rate, satisfaction).
    """
    errors = {}
    day = _date(args, "date", local_today(), errors)
    if errors:
        raise ValidationFailed(errors)
    if preset == "daily":
        return {"start": day, "end": day, "granularity": "day", "group": "type", "basis": "closed"}
    if preset == "weekly":
        monday = day - timedelta(days=day.weekday())
        return {"start": monday, "end": monday + timedelta(days=6), "granularity": "day", "group": "type",
                "basis": "created"}
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return {"start": first, "end": last, "granularity": "day", "group": "department", "basis": "created"}


def parse_params(args, defaults=None):
    """Checked report parameters from query arguments: start, end (local dates, inclusive), granularity, group,
    basis and the filters department, type, urgency, priority, channel. Raise ValidationFailed naming each bad field."""
    defaults = defaults or {}
    errors = {}
    today = local_today()
    end = _date(args, "end", defaults.get("end", today), errors)
    start = _date(args, "start", defaults.get("start", end - timedelta(days=29)), errors)
    if not errors and start > end:
        errors["end"] = _("The end date must not be before the start date.")
    elif not errors and (end - start).days >= MAX_DAYS:
        errors["end"] = _("A report covers at most %(n)s days.", n=MAX_DAYS)
    params = {"start": start, "end": end}
    for name, allowed, default in (("granularity", GRANULARITIES, "day"), ("group", tuple(GROUPS), "department"),
                                   ("basis", ("created", "closed"), "created")):
        value = (args.get(name) or "").strip() or defaults.get(name, default)
        if value not in allowed:
            errors[name] = _("Choose one of: %(values)s.", values=", ".join(allowed))
        params[name] = value
    filters = {}
    for name, mapping in FILTERS.items():
        value = (args.get(name) or "").strip()
        if value and value not in mapping:
            errors[name] = _("Choose one of: %(values)s.", values=", ".join(mapping))
        elif value:
            filters[name] = value
    department = (args.get("department") or "").strip()
    if department:
        found = queries.department_id(db.session.connection(), department)
        if found is None:
            errors["department"] = _("No department with code %(code)s.", code=department)
        filters["department"] = department
    params["filters"] = filters
    if errors:
        raise ValidationFailed(errors)
    return params


def scope_of(params):
    """The Scope (queries.Scope) of checked parameters: local dates become a UTC range."""
    zone = ZoneInfo(_tz())
    start = datetime.combine(params["start"], time(), zone).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(params["end"] + timedelta(days=1), time(), zone).astimezone(ZoneInfo("UTC"))
    filters = dict(params["filters"])
    conn = db.session.connection()
    if "department" in filters:
        filters["department"] = queries.department_id(conn, filters["department"])
    return queries.Scope(dialect=conn.dialect.name, start=start, end=end, basis=params["basis"], filters=filters,
                         tzname=_tz(), granularity=params["granularity"], now=now())


SUMMED = ("tickets", "closed", "resolved", "response_due", "responded_on_time", "responses", "response_seconds",
          "resolution_seconds", "response_working_seconds", "working_responses", "resolution_working_seconds",
          "working_resolutions", "reopened", "reopens", "transfers",
          *(f"opinion_{opinion}" for opinion in queries.OPINIONS))


def _add(cells, key, values):
    cell = cells.setdefault(key, dict.fromkeys(SUMMED, 0))
    for name, value in values.items():
        cell[name] += value or 0


def _figures(cell):
    """Summed cells as the report's figures with the derived rates and averages (None with nothing to divide)."""
    tickets, due = cell["tickets"], cell["response_due"]
    return {
        "tickets": tickets, "closed": cell["closed"], "resolved": cell["resolved"],
        "response_due": due, "responded_on_time": cell["responded_on_time"],
        "on_time_response_rate": round(cell["responded_on_time"] / due, 4) if due else None,
        "resolution_rate": round(cell["resolved"] / tickets, 4) if tickets else None,
        "avg_response_seconds": round(cell["response_seconds"] / cell["responses"]) if cell["responses"] else None,
        "avg_resolution_seconds": round(cell["resolution_seconds"] / cell["resolved"]) if cell["resolved"] else None,
        "avg_response_working_seconds": _mean(cell["response_working_seconds"], cell["working_responses"]),
        "avg_resolution_working_seconds": _mean(cell["resolution_working_seconds"], cell["working_resolutions"]),
        "reopened": cell["reopened"], "reopens": cell["reopens"], "transfers": cell["transfers"],
    }


def _mean(total, count):
    return round(total / count) if count else None


def report(params):
    """The figures of a period: totals, a series per time bucket, a table per group, the most frequent types,
    satisfaction per dimension. The database aggregates (one GROUP BY pass over the period's tickets, one over
    their survey answers); the service only adds up the cells it answers."""
    scope = scope_of(params)
    conn = db.session.connection()
    group = params["group"]
    total, series, groups, types = {}, {}, {}, {}
    for row in queries.cube(conn, scope, group):
        values = {name: row._mapping[name] for name in SUMMED if name in row._mapping}
        for cells, key in ((total, None), (series, row.bucket), (groups, row.key), (types, row.type)):
            _add(cells, key, values)
    summary = _figures(total.get(None) or dict.fromkeys(SUMMED, 0))
    series_rows = [{"key": key, **_figures(series[key])} for key in sorted(series)]
    group_rows = [{"key": key, **_figures(groups[key])} for key in sorted(groups, key=lambda k: (k is None, k))]
    if group == "department":
        names = queries.department_names(conn, [g["key"] for g in group_rows])
        for g in group_rows:
            code, name, name_en = names.get(g["key"], (None, None, None))
            g.update(key=code, name=name, name_en=name_en)
    ranked = sorted(((key, cell["tickets"]) for key, cell in types.items() if cell["tickets"]),
                    key=lambda item: (-item[1], item[0]))
    return {
        "params": params, "summary": summary, "series": series_rows, "groups": group_rows,
        "top_types": [{"type": key, "tickets": n} for key, n in ranked],
        "satisfaction": satisfaction.distribution(conn, scope, opinions=_opinions(total.get(None))),
    }


def _opinions(cell):
    """{opinion: tickets} of the feedback step's opinion, from the cube's totals."""
    return {opinion: (cell or {}).get(f"opinion_{opinion}", 0) for opinion in queries.OPINIONS}


def parse_figure(args):
    """The figure a drill-down asks for: (figure, bucket, group value, satisfaction (dimension, value))."""
    errors = {}
    figure = (args.get("figure") or "tickets").strip()
    if figure not in FIGURES:
        errors["figure"] = _("Choose one of: %(values)s.", values=", ".join(FIGURES))
    bucket_key = (args.get("bucket") or "").strip() or None
    if bucket_key is not None:
        _date(args, "bucket", None, errors)
    group_value = (args.get("value") or "").strip() or None
    answer = None
    if figure == "satisfaction":
        dimension, _sep, value = (args.get("answer") or "").partition(":")
        if satisfaction.figure_condition(dimension, value) is None:
            errors["answer"] = _("Unknown satisfaction answer.")
        answer = (dimension, value)
    if errors:
        raise ValidationFailed(errors)
    return figure, bucket_key, group_value, answer


def _figure_conditions(params, scope, figure, bucket_key, group_value, answer):
    stamp = queries._naive_utc(scope.now, scope.dialect)
    conditions = list(scope.conditions())
    if bucket_key is not None:
        conditions.append(scope.bucket() == bucket_key)
    if group_value is not None:
        group = params["group"]
        if group == "department":
            group_value = queries.department_id(db.session.connection(), group_value)
        conditions.append(GROUPS[group] == group_value if group_value is not None else GROUPS[group].is_(None))
    chosen = {
        "tickets": None,
        "closed": T.c.closed_at.is_not(None),
        "resolved": T.c.resolved_at.is_not(None),
        "unresolved": T.c.resolved_at.is_(None),
        "responded_on_time": T.c.first_responded_at <= T.c.response_due_at,
        "responded_late": (T.c.response_due_at.is_not(None)
                           & (((T.c.first_responded_at.is_not(None)) & (T.c.first_responded_at > T.c.response_due_at))
                              | (T.c.first_responded_at.is_(None) & (T.c.response_due_at < stamp)))),
        "reopened": T.c.reopen_count > 0,
        "transferred": queries.transferred(),
        "satisfaction": satisfaction.figure_condition(*answer) if answer else None,
    }[figure]
    if chosen is not None:
        conditions.append(chosen)
    return conditions


def figure_tickets(params, figure_args, *, after=None, limit=None):
    """The tickets behind one figure as rows (tickets.service.TICKET_ROW_COLUMNS) by id, after id `after`."""
    scope = scope_of(params)
    conditions = _figure_conditions(params, scope, *figure_args)
    if after is not None:
        conditions.append(T.c.id > after)
    query = select(*TICKET_ROW_COLUMNS).select_from(TICKET_ROW_FROM).where(*conditions).order_by(T.c.id)
    if limit is not None:
        query = query.limit(limit)
    return db.session.connection().execute(query).all()


def iter_figure_tickets(params, figure_args, batch=BATCH):
    """Every ticket behind a figure, fetched in keyset batches of `batch` (no cap, bounded memory)."""
    after = None
    while True:
        rows = figure_tickets(params, figure_args, after=after, limit=batch)
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id
