"""What the spreadsheets hold: a report's tables and ticket lists as (title, header, rows), labels in the
current language, times in the desk's time zone."""
from zoneinfo import ZoneInfo

from flask import current_app

from app.clock import as_utc
from app.i18n import _
from app.tickets import service as tickets
from app.web import display

BATCH = 2000


def _local(value, zone):
    return as_utc(value).astimezone(zone).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _hours(seconds):
    return round(seconds / 3600, 2) if seconds is not None else ""


def _rate(value):
    return round(value * 100, 1) if value is not None else ""


def figure_header():
    return [_("Tickets"), _("Closed"), _("Resolved"), _("Resolution rate (%)"), _("First responses due"),
            _("First responses on time"), _("On-time first-response rate (%)"), _("Average first response (h)"),
            _("Average resolution (h)"), _("Average first response, working time (h)"),
            _("Average resolution, working time (h)"), _("Reopened tickets"), _("Reopens"), _("Transfers")]


def figure_cells(f):
    return [f["tickets"], f["closed"], f["resolved"], _rate(f["resolution_rate"]), f["response_due"],
            f["responded_on_time"], _rate(f["on_time_response_rate"]), _hours(f["avg_response_seconds"]),
            _hours(f["avg_resolution_seconds"]), _hours(f["avg_response_working_seconds"]),
            _hours(f["avg_resolution_working_seconds"]), f["reopened"], f["reopens"], f["transfers"]]


def group_label(group, row):
    if group == "department":
        return display.department_named(row.get("name"), row.get("name_en")) if row["key"] else display.DASH
    return str({"type": display.ticket_type, "urgency": display.urgency, "priority": display.priority,
                "channel": display.channel}[group](row["key"]))


GROUP_TITLES = {"department": "Department", "type": "Type", "urgency": "Urgency", "priority": "Priority",
                "channel": "Channel"}


def report_sheets(result):
    """The report as sheets: per group, per period, the most frequent types, satisfaction."""
    params = result["params"]
    group = params["group"]
    by_group = [[_("All")] + figure_cells(result["summary"])]
    by_group += [[group_label(group, g)] + figure_cells(g) for g in result["groups"]]
    series = [[s["key"]] + figure_cells(s) for s in result["series"]]
    types = [[str(display.ticket_type(t["type"])), t["tickets"]] for t in result["top_types"]]
    satisfaction = [[str(d["title"]), str(d["labels"][value]), d["counts"][value]]
                    for d in result["satisfaction"] for value in d["scale"]]
    return [
        (_("By group"), [_(GROUP_TITLES[group])] + figure_header(), by_group),
        (_("By period"), [_("Period")] + figure_header(), series),
        (_("Problem types"), [_("Type"), _("Tickets")], types),
        (_("Satisfaction"), [_("Dimension"), _("Answer"), _("Answers")], satisfaction),
    ]


def ticket_header():
    return [_("Ticket"), _("Customer number"), _("Customer"), _("Type"), _("Urgency"), _("Priority"), _("Channel"),
            _("Status"),
            _("Department"), _("Assignee"), _("Created"), _("Response due"), _("First response"), _("Resolved"),
            _("Closed"), _("Reopens"), _("Satisfaction")]


def ticket_cells(rows):
    """Spreadsheet rows of ticket rows (tickets.service.TICKET_ROW_COLUMNS), one at a time."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    labels = {}

    def cached(kind, code):
        key = (kind, code)
        if key not in labels:
            labels[key] = str(getattr(display, kind)(code)) if code else ""
        return labels[key]

    for t in rows:
        yield [t.number, t.customer_number, t.customer_name, cached("ticket_type", t.type),
               cached("urgency", t.urgency), cached("priority", t.priority), cached("channel", t.channel), cached("status", t.status),
               str(display.department_named(t.department_name, t.department_name_en)) if t.department_name else "",
               t.assignee_display_name or t.assignee_username or "", _local(t.created_at, zone),
               _local(t.response_due_at, zone), _local(t.first_responded_at, zone), _local(t.resolved_at, zone),
               _local(t.closed_at, zone), t.reopen_count, cached("satisfaction", t.satisfaction)]


def ticket_sheet(rows, title=None):
    return (title or _("Tickets"), ticket_header(), ticket_cells(rows))


def iter_monitor(*, overdue=False, status=None):
    """Every open ticket of the monitor (its filters), fetched in keyset batches: no cap, bounded memory."""
    after = None
    while True:
        rows = tickets.monitor(overdue=overdue, status=status, limit=BATCH, after=after)
        yield from rows
        if len(rows) < BATCH:
            return
        after = rows[-1].id
