"""One place that maps domain errors and HTTP errors to the API's JSON error shapes."""
from flask import jsonify
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from app.api import api_bp
from app.errors import DomainError, TooManyAttempts, ValidationFailed
from app.extensions import db


@api_bp.errorhandler(DomainError)
def domain_error(error):
    db.session.rollback()
    if isinstance(error, ValidationFailed):
        return jsonify(errors=error.errors), 422
    if isinstance(error, TooManyAttempts):
        return jsonify(error=error.message), error.status, {"Retry-After": str(error.retry_after)}
    return jsonify(error=error.message, **getattr(error, "details", {})), error.status


@api_bp.errorhandler(HTTPException)
def http_error(error):
    response = jsonify(error=error.description or error.name)
    response.status_code = error.code or 500
    for name, value in error.get_headers():
        if name.lower() != "content-type":  # keeps Allow on 405, WWW-Authenticate, Retry-After
            response.headers[name] = value
    return response


@api_bp.errorhandler(DataError)
def data_error(error):
    """Input that passed validation but the database still refused (a safety net, never a 500)."""
    db.session.rollback()
    return jsonify(errors={"body": "The database refused a value (too long or malformed)."}), 422


@api_bp.errorhandler(Exception)
def unexpected(error):
    db.session.rollback()
    from flask import current_app

    current_app.logger.exception("unhandled API error")
    return jsonify(error="Internal error"), 500
