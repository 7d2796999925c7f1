"""User-task forms: JSON Schema validation with per-field messages, and references to users and departments."""
import copy
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select

from app.auth.models import Department, User
from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import _

_FORMAT_CHECKER = FormatChecker()


def writable_fields(schema):
    """Names of the properties a person fills in (readOnly ones are shown, never taken)."""
    return [k for k, v in schema.get("properties", {}).items() if not v.get("readOnly")]


def coerce_form(schema, form):
    """Turn HTML form strings into the schema's types (booleans, numbers, local date-times to ISO)."""
    data = {}
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    for name in writable_fields(schema):
        prop = schema["properties"][name]
        kind = prop.get("type")
        raw = form.get(name)
        if kind == "boolean":
            data[name] = raw in ("on", "true", "1", "yes")
            continue
        if raw is None or raw == "":
            continue
        if kind in ("integer", "number"):
            try:
                data[name] = int(raw) if kind == "integer" else float(raw)
            except ValueError:
                data[name] = raw  # validation names the field
        elif prop.get("format") == "date-time":
            data[name] = _local_to_iso(raw, tz)
        else:
            data[name] = raw.strip()
    return data


def _local_to_iso(raw, tz):
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.isoformat()


def validate_submission(schema, data):
    """Return the cleaned submission or raise ValidationFailed with one message per field.

    Only the form's writable fields are taken; one left out takes the schema's `default` when it declares one.
    """
    if not isinstance(data, dict):
        raise ValidationFailed({"data": _("Must be an object of form fields.")})
    allowed = writable_fields(schema)
    cleaned = {k: v for k, v in data.items() if k in allowed}
    for name in allowed:  # a field left out takes its declared default, as an unticked box does in the page
        if name not in cleaned and "default" in schema["properties"][name]:
            cleaned[name] = copy.deepcopy(schema["properties"][name]["default"])
    errors = {}
    for error in _validator(schema).iter_errors(cleaned):
        for field, message in _explain(error, schema):
            errors.setdefault(field, message)
    for field, message in _check_references(schema, cleaned).items():
        errors.setdefault(field, message)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


_VALIDATORS = {}  # id(schema) -> (schema, validator); deployed forms are long-lived dicts, so ids stay put


def _validator(schema):
    """The compiled validator of `schema`, built once per schema object."""
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    if len(_VALIDATORS) > 1000:
        _VALIDATORS.clear()
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


def _explain(error, schema):
    if error.validator == "required":
        missing = [r for r in error.validator_value if r not in (error.instance or {})]
        return [(m, _("This field is required.")) for m in missing]
    field = str(error.absolute_path[0]) if error.absolute_path else "data"
    value = error.validator_value
    messages = {
        "minLength": lambda: _("Enter at least %(n)s characters.", n=value),
        "maxLength": lambda: _("Enter at most %(n)s characters.", n=value),
        "oneOf": lambda: _("Choose one of the listed options."),
        "enum": lambda: _("Choose one of the listed options."),
        "const": lambda: _("Choose one of the listed options."),
        "format": lambda: _("Enter a valid date and time.") if value == "date-time" else _("Invalid format."),
        "type": lambda: _("Must be of type %(type)s.", type=value),
        "pattern": lambda: _("Does not match the required pattern."),
        "minimum": lambda: _("Must be at least %(n)s.", n=value),
        "maximum": lambda: _("Must be at most %(n)s.", n=value),
    }
    explain = messages.get(error.validator)
    return [(field, explain() if explain else error.message)]


def _check_references(schema, data):
    errors = {}
    for name, prop in schema.get("properties", {}).items():
        value = data.get(name)
        if not value or not isinstance(value, str):
            continue
        if prop.get("x-ref") == "user":
            user = db.session.scalar(select(User).where(User.username == value, User.active.is_(True)))
            role = prop.get("x-role")
            if user is None:
                errors[name] = _("No active user with this employee number.")
            elif role and not user.has_role(role):
                errors[name] = _("This user does not have the role %(role)s.", role=role)
        elif prop.get("x-ref") == "department":
            if db.session.scalar(select(Department.id).where(Department.code == value)) is None:
                errors[name] = _("Choose a department from the list.")
    return errors
