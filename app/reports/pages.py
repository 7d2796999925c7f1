"""The report pages (supervisors and admins): the report with its filters, KPI tiles, charts (ECharts served by
the app) and tables; the seed's daily archive, weekly review and monthly report as preset views; the tickets
behind each figure; CSV/Excel downloads of every report and ticket list; customer import and export."""
from flask import flash, redirect, render_template, request, url_for

from app.auth import access
from app.errors import ValidationFailed
from app.i18n import _, label
from app.tickets.models import CHANNELS, PRIORITIES, STATUSES, TICKET_TYPES, URGENCIES
from app.web import display, web_bp
from app.web.auth import me

from . import customer_sheet, export, service, sheets
from .queries import GRANULARITIES, GROUPS

PAGE = 50
PRESET_TITLES = {"daily": "Daily archive", "weekly": "Weekly review", "monthly": "Monthly report"}


def query_of(params):
    """The query arguments that reproduce `params` (for links and downloads)."""
    args = {"start": params["start"].isoformat(), "end": params["end"].isoformat(),
            "granularity": params["granularity"], "group": params["group"], "basis": params["basis"]}
    args.update(params["filters"])
    return args


def _choices(mapping):
    return [(code, label(pair)) for code, pair in mapping.items()]


def _departments():
    from sqlalchemy import select

    from app.auth.models import Department
    from app.extensions import db

    rows = db.session.execute(select(Department.code, Department.name, Department.name_en).order_by(Department.id))
    return [(r.code, display.department_named(r.name, r.name_en)) for r in rows]


def _render_report(preset=None):
    service.require_reader(me())
    errors, result, params = {}, None, None
    try:
        defaults = service.preset_params(preset, request.args) if preset else None
        params = service.parse_params(_filters_only() if preset else request.args, defaults)
        result = service.report(params)
    except ValidationFailed as exc:
        errors = exc.errors
    args = query_of(params) if params else {}

    def figure_url(figure="tickets", **extra):
        return url_for("web.report_tickets", **args, figure=figure, **{k: v for k, v in extra.items() if v is not None})

    return render_template(
        "reports/report.html", result=result, params=params, errors=errors, args=args, preset=preset,
        preset_title=_(PRESET_TITLES[preset]) if preset else None, figure_url=figure_url,
        form=request.args, granularities=GRANULARITIES, groups=tuple(GROUPS),
        types=_choices(TICKET_TYPES), urgencies=_choices(URGENCIES), priorities=_choices(PRIORITIES), channels=_choices(CHANNELS),
        departments=_departments(), group_label=sheets.group_label,
        chart=_chart_data(result) if result else None), (400 if errors else 200)


def _filters_only():
    return {k: v for k, v in request.args.items() if k in ("department", "type", "urgency", "priority", "channel")}


def _chart_data(result):
    """What the charts draw, in the page's language (read by reports.js)."""
    group = result["params"]["group"]
    return {
        "series": {"keys": [s["key"] for s in result["series"]],
                   "tickets": [s["tickets"] for s in result["series"]],
                   "resolved": [s["resolved"] for s in result["series"]],
                   "on_time": [None if s["on_time_response_rate"] is None else round(s["on_time_response_rate"] * 100, 1)
                               for s in result["series"]]},
        "groups": {"labels": [sheets.group_label(group, g) for g in result["groups"]],
                   "tickets": [g["tickets"] for g in result["groups"]],
                   "resolved": [g["resolved"] for g in result["groups"]]},
        "types": [{"name": str(display.ticket_type(t["type"])), "value": t["tickets"]} for t in result["top_types"]],
        "satisfaction": [{"dimension": d["dimension"], "title": d["title"],
                          "labels": [str(d["labels"][v]) for v in d["scale"]],
                          "counts": [d["counts"][v] for v in d["scale"]]} for d in result["satisfaction"]],
        "labels": {"tickets": _("Tickets"), "resolved": _("Resolved"), "on_time": _("On-time first-response rate (%)")},
    }


@web_bp.get("/reports")
def reports():
    return _render_report()


@web_bp.get("/reports/<any(daily, weekly, monthly):preset>")
def report_preset(preset):
    return _render_report(preset)


def _report_params():
    """Checked parameters of a download or drill-down, or a 400 page naming the problem."""
    service.require_reader(me())
    return service.parse_params(request.args)


@web_bp.get("/reports/export.<any(csv, xlsx):fmt>")
def report_export(fmt):
    params = _report_params()
    result = service.report(params)
    name = f"report-{params['start'].isoformat()}-{params['end'].isoformat()}"
    return export.response(fmt, name, sheets.report_sheets(result))


@web_bp.get("/reports/tickets")
def report_tickets():
    params = _report_params()
    figure_args = service.parse_figure(request.args)
    after = request.args.get("after", "")
    after = int(after) if after.isdigit() and len(after) < 16 else None
    rows = service.figure_tickets(params, figure_args, after=after, limit=PAGE)
    args = {k: v for k, v in request.args.items() if k not in ("after", "lang")}
    next_url = url_for("web.report_tickets", **args, after=rows[-1].id) if len(rows) == PAGE else None
    return render_template("reports/tickets.html", rows=rows, args=args, next_url=next_url, params=params,
                           report_args=query_of(params),
                           figure=figure_args[0], bucket=figure_args[1], value=figure_args[2],
                           answer=figure_args[3], first_page=after is None)


@web_bp.get("/reports/tickets/export.<any(csv, xlsx):fmt>")
def report_tickets_export(fmt):
    params = _report_params()
    figure_args = service.parse_figure(request.args)
    return export.response(fmt, f"tickets-{figure_args[0]}", [sheets.ticket_sheet(service.iter_figure_tickets(params, figure_args))])


@web_bp.get("/monitor/export.<any(csv, xlsx):fmt>")
def monitor_export(fmt):
    access.require_role(me(), access.SUPERVISORS)
    overdue = request.args.get("overdue") in ("1", "true", "on")
    status = request.args.get("status") or None
    if status not in STATUSES:
        status = None
    return export.response(fmt, "open-tickets", [sheets.ticket_sheet(sheets.iter_monitor(overdue=overdue, status=status))])


@web_bp.get("/customers/export.xlsx")
def customers_export():
    access.require_role(me(), access.FRONT_DESK)
    return export.response("xlsx", "customers", [(_("Customers"), customer_sheet.header(),
                                                  customer_sheet.iter_customer_rows())])


@web_bp.route("/customers/import", methods=["GET", "POST"])
def customers_import():
    access.require_role(me(), access.FRONT_DESK)
    errors = {}
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors = {"file": _("Choose an Excel file (.xlsx) to import.")}
        else:
            try:
                done = customer_sheet.import_customers(upload.stream)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                flash(_("Imported: %(created)s customers created, %(updated)s updated.", **done), "success")
                return redirect(url_for("web.customer_list"))
    return render_template("reports/customer_import.html", errors=errors, columns=customer_sheet.header()), (
        422 if errors else 200)
