"""The report API: figures as JSON, the tickets behind a figure, CSV/Excel downloads, customer import/export."""
from functools import wraps

from flask import jsonify, request, url_for

from app.api import api_bp
from app.api.routes import QUERY_PARAMETERS, login_required, page_args, roles_required
from app.api.serialize import ticket_json
from app.auth import access
from app.errors import ValidationFailed
from app.i18n import _

from . import customer_sheet, export, service, sheets

REPORT_ARGS = {"start", "end", "granularity", "group", "basis", "department", "type", "urgency", "priority",
               "channel"}
FIGURE_ARGS = {"figure", "bucket", "value", "answer"}
QUERY_PARAMETERS.update({
    "api.report": REPORT_ARGS,
    "api.report_preset": {"date", "department", "type", "urgency", "priority", "channel"},
    "api.report_tickets": REPORT_ARGS | FIGURE_ARGS | {"limit", "after"},
    "api.report_export": REPORT_ARGS | {"format"},
    "api.report_tickets_export": REPORT_ARGS | FIGURE_ARGS | {"format"},
    "api.tickets_export": {"overdue", "format"},
})


def no_empty_arguments(view):
    """A query argument that is sent must hold a value (the pages send empty ones for "all"; the API does not).
    Checked after the log-in and role checks."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        empty = {name: _("Must not be empty.") for name, value in request.args.items(multi=True) if not value.strip()}
        if empty:
            raise ValidationFailed(empty)
        return view(*args, **kwargs)

    return wrapper


def _json(result):
    params = result["params"]
    return {**result, "params": {**params, "start": params["start"].isoformat(), "end": params["end"].isoformat()}}


def _format():
    fmt = request.args.get("format", "csv")
    if fmt not in export.FORMATS:
        raise ValidationFailed({"format": _("Choose one of: %(values)s.", values="csv, xlsx")})
    return fmt


@api_bp.get("/reports")
@login_required
@roles_required(*access.SUPERVISORS)
@no_empty_arguments
def report():
    return jsonify(_json(service.report(service.parse_params(request.args))))


@api_bp.get("/reports/<any(daily, weekly, monthly):preset>")
@login_required
@roles_required(*access.SUPERVISORS)
@no_empty_arguments
def report_preset(preset):
    defaults = service.preset_params(preset, request.args)
    filters = {k: v for k, v in request.args.items() if k != "date"}
    return jsonify(_json(service.report(service.parse_params(filters, defaults))))


@api_bp.get("/reports/tickets")
@login_required
@roles_required(*access.SUPERVISORS)
@no_empty_arguments
def report_tickets():
    limit, after = page_args()
    params = service.parse_params(request.args)
    figure_args = service.parse_figure(request.args)
    found = service.figure_tickets(params, figure_args, after=after, limit=limit)
    body = {"items": [ticket_json(t, brief=True) for t in found]}
    if found and len(found) == limit:
        args = {k: v for k, v in request.args.items() if k not in ("after", "limit")}
        body["next"] = url_for("api.report_tickets", **args, limit=limit, after=found[-1].id)
    return jsonify(body)


@api_bp.get("/reports/export")
@login_required
@roles_required(*access.SUPERVISORS)
@no_empty_arguments
def report_export():
    fmt = _format()
    params = service.parse_params(request.args)
    result = service.report(params)
    return export.response(fmt, f"report-{params['start'].isoformat()}-{params['end'].isoformat()}",
                           sheets.report_sheets(result))


@api_bp.get("/reports/tickets/export")
@login_required
@roles_required(*access.SUPERVISORS)
@no_empty_arguments
def report_tickets_export():
    fmt = _format()
    params = service.parse_params(request.args)
    figure_args = service.parse_figure(request.args)
    return export.response(fmt, f"tickets-{figure_args[0]}",
                           [sheets.ticket_sheet(service.iter_figure_tickets(params, figure_args))])


@api_bp.get("/exports/tickets")
@login_required
@roles_required(*access.SUPERVISORS)
@no_empty_arguments
def tickets_export():
    fmt = _format()
    overdue = request.args.getlist("overdue")
    if len(overdue) > 1 or any(v not in ("0", "1") for v in overdue):
        raise ValidationFailed({"overdue": _("Must be 0 or 1.")})
    return export.response(fmt, "open-tickets", [sheets.ticket_sheet(sheets.iter_monitor(overdue=overdue == ["1"]))])


@api_bp.get("/exports/customers")
@login_required
@roles_required(*access.FRONT_DESK)
def customers_export():
    return export.response("xlsx", "customers", [(_("Customers"), customer_sheet.header(),
                                                  customer_sheet.iter_customer_rows())])


@api_bp.post("/imports/customers")
@login_required
@roles_required(*access.FRONT_DESK)
def customers_import():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed({"file": _("Choose an Excel file (.xlsx) to import.")})
    return jsonify(customer_sheet.import_customers(upload.stream))
