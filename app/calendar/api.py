"""The calendar API (admin only): read a calendar, replace its weekly hours, add or remove a dated day."""
from flask import jsonify

from app.api import api_bp
from app.api.routes import json_body, login_required, roles_required
from app.errors import ValidationFailed
from app.i18n import _

from . import service

ADMINS = ("admin",)


@api_bp.get("/calendars/<code>")
@login_required
@roles_required(*ADMINS)
def get_calendar(code):
    return jsonify(service.describe(code))


@api_bp.put("/calendars/<code>/hours")
@login_required
@roles_required(*ADMINS)
def put_calendar_hours(code):
    body = json_body(fields={"hours"})
    hours = body.get("hours")
    if not isinstance(hours, dict) or any(not isinstance(v, str) for v in hours.values()) or \
            set(hours) - {str(d) for d in range(7)}:
        raise ValidationFailed({"hours": _("An object from weekday \"0\" (Monday) to \"6\" (Sunday) to text like "
                                           "\"09:00-12:00, 13:00-18:00\".")})
    service.set_hours(code=code, hours=hours)
    return jsonify(service.describe(code))


@api_bp.put("/calendars/<code>/days/<day>")
@login_required
@roles_required(*ADMINS)
def put_calendar_day(code, day):
    body = json_body(fields={"kind", "name"})
    errors = {}
    if not isinstance(body.get("kind"), str):
        errors["kind"] = _("Choose holiday or make-up working day.")
    if "name" in body and not isinstance(body["name"], str):
        errors["name"] = _("Must be text.")
    if errors:
        raise ValidationFailed(errors)
    service.put_day(code=code, day=day, kind=body["kind"], name=body.get("name", ""))
    return jsonify(service.describe(code))


@api_bp.delete("/calendars/<code>/days/<day>")
@login_required
@roles_required(*ADMINS)
def delete_calendar_day(code, day):
    service.remove_day(code=code, day=day)
    return jsonify(service.describe(code))
