"""The channel pages: the public intake page with its confirmation and status pages (no log-in), and the admin's
partner key page."""
from flask import flash, redirect, render_template, request, session, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from app.errors import NotFound, TooManyAttempts, ValidationFailed
from app.extensions import db
from app.i18n import _, label
from app.tickets.models import TICKET_TYPES, URGENCIES
from app.web import display, web_bp
from app.web.auth import PUBLIC_ENDPOINTS, me
from app.web.inputs import clean

from . import partners, service

PUBLIC_ENDPOINTS.update({"web.intake", "web.intake_done", "web.intake_status"})  # the customer has no log-in
RECEIPT = "intake_receipt"  # the session key that carries number and secret to the confirmation page, once


def _choices(mapping):
    return [(code, label(pair)) for code, pair in mapping.items()]


def intake_form(values, errors, status=200, notice=None, headers=None):
    return render_template(
        "channels/intake.html", values=values, errors=errors, notice=notice, types=_choices(TICKET_TYPES),
        urgencies=_choices(URGENCIES), urgency_hints={k: str(v) for k, v in display.URGENCY_HINTS.items()},
        limits=service.LIMITS,
    ), status, headers or {}


def too_large():
    """A field past the form size limit cannot be read: the form comes back empty, saying why."""
    return intake_form({f: "" for f in service.FIELDS}, {"description": _(
        "The text was far too long to be read. Describe the problem in at most %(n)s characters.",
        n=service.LIMITS["description"])}, 413)


@web_bp.route("/intake", methods=["GET", "POST"])
def intake():
    """The public request form: a customer opens an online ticket without logging in (rate limited per address)."""
    values, errors = {f: "" for f in service.FIELDS}, {}
    if request.method == "GET":
        return intake_form(values, errors)
    try:
        values = {f: clean(request.form.get(f) or "") for f in service.FIELDS}
    except RequestEntityTooLarge:
        return too_large()
    try:
        number, secret = service.submit_intake(values, address=request.remote_addr)
    except ValidationFailed as exc:
        db.session.rollback()
        return intake_form(values, exc.errors, 422)
    except TooManyAttempts as exc:
        db.session.rollback()
        return intake_form(values, {}, 429, notice=exc.message, headers={"Retry-After": str(exc.retry_after)})
    session[RECEIPT] = {"number": number, "secret": secret}
    return redirect(url_for("web.intake_done"))


@web_bp.route("/intake/done")
def intake_done():
    """The confirmation: the ticket number and the secret, shown once (a reload shows the status form)."""
    receipt = session.pop(RECEIPT, None)
    if not receipt:
        return redirect(url_for("web.intake_status"))
    return render_template("channels/intake_done.html", receipt=receipt)


@web_bp.route("/intake/status", methods=["GET", "POST"])
def intake_status():
    """The customer follows an online ticket with its number and secret; a wrong secret and an unknown number get
    the same answer."""
    values = {"number": clean(request.values.get("number") or "").strip()[:64], "secret": ""}
    errors, found, status = {}, None, 200
    if request.method == "POST":
        values["secret"] = clean(request.form.get("secret") or "").strip()[:64]
        for field in ("number", "secret"):
            if not values[field]:
                errors[field] = _("This field is required.")
        if errors:
            status = 422
        else:
            try:
                found = service.intake_status(values["number"], values["secret"])
            except NotFound as exc:
                errors["general"], status = exc.message, 404
    return render_template("channels/status.html", values=values, errors=errors, found=found,
                           step_label=_step_label), status


def _step_label(step):
    if step["action"] == "created":
        return _("Request received")
    return step["title"] or str(display.ACTIONS.get(step["action"], step["action"]))


# ---------------------------------------------------------------------------------------------- partner keys

@web_bp.route("/admin/partner-keys", methods=["GET", "POST"])
def partner_keys():
    """The admin's partner keys: create one (shown once), list them, revoke one."""
    values, errors, created, status = {"partner": "", "name": ""}, {}, None, 200
    if request.method == "POST":
        values = {"partner": clean(request.form.get("partner") or ""), "name": clean(request.form.get("name") or "")}
        try:
            created = partners.create_key(actor=me(), partner=values["partner"], name=values["name"])
        except ValidationFailed as exc:
            db.session.rollback()
            errors, status = exc.errors, 422
        else:
            values = {"partner": "", "name": ""}
    keys = partners.list_keys(actor=me())
    return render_template("channels/partner_keys.html", keys=keys, values=values, errors=errors,
                           created=created), status


@web_bp.route("/admin/partner-keys/<int:key_id>/revoke", methods=["POST"])
def partner_key_revoke(key_id):
    row = partners.revoke_key(actor=me(), key_id=key_id)
    flash(_("The key %(prefix)s… of %(partner)s is revoked; it stops working at once.", prefix=row.prefix,
            partner=row.name), "success")
    return redirect(url_for("web.partner_keys"))
