"""The admin's calendar page: weekly working hours with breaks, holidays and make-up working days."""
from flask import flash, redirect, render_template, request, url_for

from app.auth import access
from app.errors import ValidationFailed
from app.i18n import _, label
from app.web import web_bp
from app.web.auth import me
from app.web.inputs import clean

from . import service
from .models import DAY_KINDS, WEEKDAYS

ADMINS = ("admin",)


def _code():
    return clean(request.values.get("code") or service.DEFAULT)[:32]


def _page(code, *, hour_values=None, day_values=None, errors=None, status=200):
    calendar = service.describe(code)
    return render_template(
        "calendar/edit.html", calendar=calendar, codes=service.calendar_codes(),
        weekdays=[(str(i), label(pair)) for i, pair in enumerate(WEEKDAYS)],
        kinds=[(k, label(pair)) for k, pair in DAY_KINDS.items()], kind_label=lambda k: label(DAY_KINDS[k]),
        hour_values=hour_values or calendar["hours"], day_values=day_values or {}, errors=errors or {},
    ), status


@web_bp.route("/admin/calendar")
def calendar_edit():
    access.require_role(me(), ADMINS)
    return _page(_code())


@web_bp.route("/admin/calendar/hours", methods=["POST"])
def calendar_hours():
    access.require_role(me(), ADMINS)
    code = _code()
    hours = {str(d): clean(request.form.get(f"hours_{d}") or "") for d in range(7)}
    try:
        service.set_hours(code=code, hours=hours)
    except ValidationFailed as exc:
        errors = {f"hours_{k.split('.')[-1]}": v for k, v in exc.errors.items()}
        return _page(code, hour_values=hours, errors=errors, status=422)
    flash(_("Working hours saved; open tickets' deadlines were recomputed."), "success")
    return redirect(url_for("web.calendar_edit", code=code))


@web_bp.route("/admin/calendar/days", methods=["POST"])
def calendar_day_add():
    access.require_role(me(), ADMINS)
    code = _code()
    values = {name: clean(request.form.get(name) or "") for name in ("date", "kind", "name")}
    try:
        service.put_day(code=code, day=values["date"], kind=values["kind"], name=values["name"])
    except ValidationFailed as exc:
        return _page(code, day_values=values, errors=exc.errors, status=422)
    flash(_("%(day)s saved; open tickets' deadlines were recomputed.", day=values["date"]), "success")
    return redirect(url_for("web.calendar_edit", code=code))


@web_bp.route("/admin/calendar/days/remove", methods=["POST"])
def calendar_day_remove():
    access.require_role(me(), ADMINS)
    code = _code()
    day = clean(request.form.get("date") or "")
    try:
        service.remove_day(code=code, day=day)
    except ValidationFailed as exc:
        return _page(code, errors=exc.errors, status=422)
    flash(_("%(day)s removed; open tickets' deadlines were recomputed.", day=day), "success")
    return redirect(url_for("web.calendar_edit", code=code))


@web_bp.route("/admin/calendar/import", methods=["POST"])
def calendar_import():
    access.require_role(me(), ADMINS)
    code = _code()
    year = clean(request.form.get("year") or "")
    if not (year.isdigit() and 2000 <= int(year) <= 2100):
        return _page(code, errors={"year": _("Enter a year from 2000 to 2100.")}, day_values={"year": year},
                     status=422)
    added = service.import_chinese_days(code=code, years=(int(year),))
    flash(_("%(n)s days of %(year)s added from the public holiday schedule.", n=added, year=year), "success")
    return redirect(url_for("web.calendar_edit", code=code))
