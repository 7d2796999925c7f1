"""Error pages in the layout: one handler maps every DomainError raised under a page; HTTP errors get a page too."""
from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.errors import DomainError, Unauthorized, ValidationFailed
from app.extensions import db, login_manager
from app.i18n import _
from app.web import web_bp


def _title(status):
    titles = {
        400: _("Bad request"),
        401: _("Please log in"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("File too large"),
        422: _("Invalid input"),
    }
    return titles.get(status, _("Something went wrong"))


def error_page(status, message, errors=None):
    return render_template("error.html", status=status, title=_title(status), message=message,
                           errors=errors or {}), status


@web_bp.errorhandler(DomainError)
def domain_error(error):
    db.session.rollback()
    if isinstance(error, Unauthorized):
        return login_manager.unauthorized()
    errors = error.errors if isinstance(error, ValidationFailed) else None
    message = _("Please correct the input.") if isinstance(error, ValidationFailed) else error.message
    return error_page(error.status, message, errors)


@web_bp.errorhandler(CSRFError)
def csrf_error(error):
    return error_page(400, _("The form has expired. Go back, reload the page and submit again."))


@web_bp.errorhandler(HTTPException)
def http_error(error):
    return error_page(error.code or 500, _http_message(error))


def _http_message(error):
    messages = {
        404: _("There is no such page."),
        405: _("This page cannot be used that way."),
        413: _("The upload is too large."),
    }
    return messages.get(error.code, error.description or error.name)


@web_bp.app_errorhandler(404)
@web_bp.app_errorhandler(405)
def unmatched(error):
    """URLs no route matched: the layout's page, or the API's JSON shape under /api/."""
    headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else {}
    if request.path.startswith("/api/"):
        return jsonify(error=error.description or error.name), error.code, headers
    body, status = error_page(error.code, _http_message(error))
    return body, status, headers
