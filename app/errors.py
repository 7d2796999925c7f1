"""Domain errors raised by services; one handler per interface maps them to HTTP or to form messages."""


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status = 400

    def __init__(self, message, *, errors=None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class ValidationFailed(DomainError):
    """Input broke a rule; `errors` maps each field to its message."""

    status = 422

    def __init__(self, errors, message="Validation failed"):
        super().__init__(message, errors=errors)


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    """The state changed under the caller (a task already completed, a version moved on)."""

    status = 409


class Unauthorized(DomainError):
    status = 401


class TooManyAttempts(DomainError):
    """Too many failed log-ins lately; `retry_after` is how many seconds until the next attempt is heard."""

    status = 429

    def __init__(self, message, *, retry_after):
        super().__init__(message)
        self.retry_after = retry_after
