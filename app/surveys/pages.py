"""The survey pages: the customer's public page behind the link (no log-in) and a supervisor's manual send."""
from flask import flash, redirect, render_template, request, url_for

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.forms_schema import coerce_form
from app.i18n import _, schema_title
from app.web import web_bp
from app.web.auth import me
from app.web.inputs import clean
from app.web.schema_form import build_fields, general_errors

from . import service


@web_bp.route("/survey/<token>", methods=["GET", "POST"])
def survey_page(token):
    """The survey behind its link: the form, a thank-you page after an answer, a polite page when it is closed.
    A forged token is a 404. Shows the ticket's number and type only: nothing about the customer."""
    survey = service.open_survey(token)
    errors, submitted, status = {}, None, 200
    if request.method == "POST" and survey.state == "sent":
        submitted = {key: clean(value) for key, value in request.form.items()}
        try:
            survey = service.submit_survey(token, coerce_form(survey.schema, submitted))
        except ValidationFailed as exc:
            db.session.rollback()
            errors, status = exc.errors, 422
        except Conflict:
            db.session.rollback()
            survey = service.open_survey(token)
            return _closed(survey, 409)
        else:
            return render_template("surveys/thanks.html", survey=survey, just_now=True)
    if survey.state != "sent":
        return _closed(survey, 409 if request.method == "POST" else 200)
    fields = build_fields(survey.schema, submitted=submitted, errors=errors)
    return render_template("surveys/form.html", survey=survey, token=token, fields=fields,
                           general=general_errors(errors, fields), form_title=schema_title(survey.schema),
                           form_help=schema_title(survey.schema, "description")), status


def _closed(survey, status):
    if survey.state == "completed":
        return render_template("surveys/thanks.html", survey=survey, just_now=False), status
    return render_template("surveys/closed.html", survey=survey), status


@web_bp.route("/tickets/<number>/survey", methods=["POST"])
def ticket_survey_send(number):
    """A supervisor sends the survey now, with a reason (the ticket page's form)."""
    from app.web.views import ticket_detail

    reason = clean(request.form.get("reason") or "")
    try:
        service.send_survey_now(number=number, actor=me(), reason=reason)
    except ValidationFailed as exc:
        db.session.rollback()
        return ticket_detail(number, survey_reason=reason, survey_errors=exc.errors, status=422)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("web.ticket_detail", number=number))
    flash(_("The survey of ticket %(number)s was sent.", number=number), "success")
    return redirect(url_for("web.ticket_detail", number=number))
