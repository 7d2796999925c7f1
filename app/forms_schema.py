"""User-task forms: JSON Schema validation with per-field messages, the valid values of reference fields, formats.

Keywords the forms (forms/*.json) use beyond JSON Schema:

- `x-ref: user | department`: the value is an employee number or a department code. `schema_for` lists the
  values valid here as `oneOf: [{const, title}]`; validation refuses any other.
- `x-role: R` (on a user field): only active users who hold role R.
- `x-in-department: F` (on a user field): the user must belong to the department chosen in field F of the
  form, or, when F is left empty or is not a field of the form, to the process's current value of F.
- `x-future: true` (on a date-time field): the time must lie after now.
- `readOnly`: shown with the task's data, never taken from a submission.

Text is trimmed before it is checked and saved; a text that is only spaces counts as not filled in. Every
`format` a form uses is checked (app/formats.py; deploy refuses a form using a format nobody checks).
"""
import copy
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from jsonschema import Draft202012Validator
from sqlalchemy import exists, select

from app.auth.models import ROLES, Department, User, user_roles
from app.clock import now
from app.errors import ValidationFailed
from app.extensions import db
from app.formats import DATE_TIME_EXAMPLE, FORMAT_CHECKER, parse_date_time
from app.i18n import _, is_english, label
from app.schema_check import checker, quick_valid

# ------------------------------------------------------------------------------------------- page input

def writable_fields(schema):
    """Names of the properties a person fills in (readOnly ones are shown, never taken)."""
    return [k for k, v in schema.get("properties", {}).items() if not v.get("readOnly")]


def coerce_form(schema, form):
    """Turn HTML form strings into the schema's types (booleans, numbers, local date-times to ISO).

    Text is passed on as typed; validation trims it and names what is wrong.
    """
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
            data[name] = _local_to_iso(raw.strip(), tz)
        else:
            data[name] = raw
    return data


_LOCAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?")


def _local_to_iso(raw, tz):
    """A datetime-local value ('2026-12-05T10:00') as an ISO time in `tz`; anything else unchanged (the format
    check then names it)."""
    if not _LOCAL_TIME.fullmatch(raw):
        return raw
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=tz).isoformat()
    except ValueError:
        return raw


# ------------------------------------------------------------------------------------------- validation

def validate_submission(schema, data, context=None):
    """Return the cleaned submission or raise ValidationFailed with one message per field.

    Only the form's writable fields are taken: a field the form does not have is refused, a readOnly one is
    ignored. Text is trimmed; text left empty counts as not filled in. A field left out takes the schema's
    `default` when it declares one. `context` is the process data the form is filled against (e.g. the
    department the ticket is routed to), used by `x-in-department`.
    """
    if not isinstance(data, dict):
        raise ValidationFailed({"data": _("Must be an object of form fields.")})
    properties = schema.get("properties", {})
    errors = {str(k): _("Unknown field.") for k in data if k not in properties}
    allowed = writable_fields(schema)
    cleaned, blank = {}, set()
    for name in allowed:
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                blank.add(name)
                continue
        cleaned[name] = value
    for name in allowed:  # a field left out takes its declared default, as an unticked box does in the page
        if name not in cleaned and "default" in properties[name]:
            cleaned[name] = copy.deepcopy(properties[name]["default"])
    validator, check = _validator(schema)
    if not quick_valid(check, cleaned):  # jsonschema only when something may be wrong: it names what
        for error in validator.iter_errors(cleaned):
            for field, message in _explain(error, blank):
                errors.setdefault(field, message)
    for field, message in _check_future(schema, cleaned, errors).items():
        errors.setdefault(field, message)
    for field, message in _check_references(schema, cleaned, context or {}, errors).items():
        errors.setdefault(field, message)
    if errors:
        raise ValidationFailed(errors)
    for name in allowed:  # times are saved in one spelling the diagrams' timers read
        if properties[name].get("format") == "date-time" and isinstance(cleaned.get(name), str):
            cleaned[name] = parse_date_time(cleaned[name]).isoformat()
    return cleaned


_VALIDATORS = {}  # id(schema) -> (schema, validator, check); deployed forms are long-lived dicts, so ids stay put


def _validator(schema):
    """The jsonschema validator of `schema` and its quick check (app.schema_check), built once per schema object."""
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1:]
    if len(_VALIDATORS) > 1000:
        _VALIDATORS.clear()
    entry = (schema, Draft202012Validator(schema, format_checker=FORMAT_CHECKER), checker(schema))
    _VALIDATORS[id(schema)] = entry
    return entry[1:]


def format_message(fmt):
    """What to tell a person whose input is not of format `fmt`."""
    if fmt == "date-time":
        return _("Enter a valid date and time, e.g. %(example)s.", example=DATE_TIME_EXAMPLE)
    if fmt == "date":
        return _("Enter a date as YYYY-MM-DD.")
    if fmt == "email":
        return _("Enter a valid e-mail address.")
    return _("Invalid format.")


def _explain(error, blank):
    if error.validator == "required":
        missing = [r for r in error.validator_value if r not in (error.instance or {})]
        return [(m, _("Must not be empty.") if m in blank else _("This field is required.")) for m in missing]
    field = str(error.absolute_path[0]) if error.absolute_path else "data"
    if field in blank:  # only spaces were typed: its default ("") failed a rule, so it is empty
        return [(field, _("Must not be empty."))]
    value = error.validator_value
    messages = {
        "minLength": lambda: _("Enter at least %(n)s characters.", n=value),
        "maxLength": lambda: _("Enter at most %(n)s characters.", n=value),
        "oneOf": lambda: _("Choose one of the listed options."),
        "enum": lambda: _("Choose one of the listed options."),
        "const": lambda: _("Choose one of the listed options."),
        "format": lambda: format_message(value),
        "type": lambda: _("Must be of type %(type)s.", type=value),
        "pattern": lambda: _("Does not match the required pattern."),
        "minimum": lambda: _("Must be at least %(n)s.", n=value),
        "maximum": lambda: _("Must be at most %(n)s.", n=value),
    }
    explain = messages.get(error.validator)
    return [(field, explain() if explain else error.message)]


def _check_future(schema, data, errors):
    """Fields marked `x-future` whose (well-formed) time is not after now."""
    found = {}
    at = None
    for name, prop in schema.get("properties", {}).items():
        if prop.get("x-future") and name in data and name not in errors:
            moment = parse_date_time(data[name])
            at = at or now()
            if moment is not None and moment <= at:
                found[name] = _("Must be a time in the future.")
    return found


# ------------------------------------------------------------------------------------ reference fields

def has_references(schema):
    """True when a writable field of the form names users or departments (`x-ref`)."""
    properties = schema.get("properties", {})
    return any(properties[name].get("x-ref") for name in writable_fields(schema))


def _fixed_department(schema, prop, context):
    """The department a user field is bound to whatever the form says: the process's value of its
    `x-in-department` variable when that is not a field of the form; else None."""
    field = prop.get("x-in-department")
    if not field or field in writable_fields(schema):
        return None
    return (context or {}).get(field) or None


def _user_query(role=None, department=None):
    query = (
        select(User.username, User.display_name, Department.code, Department.name, Department.name_en)
        .outerjoin(Department, Department.id == User.department_id)
        .where(User.active.is_(True))
    )
    if role:
        query = query.where(exists().where(user_roles.c.user_id == User.id, user_roles.c.role_code == role))
    if department:
        query = query.where(Department.code == department)
    return query


def _departments():
    return db.session.execute(select(Department.code, Department.name, Department.name_en).order_by(Department.id)).all()


def _user_title(row, english=False):
    person = f"{row.display_name} ({row.username})" if row.display_name and row.display_name != row.username \
        else row.username
    department = (row.name_en or row.name) if english else row.name
    return f"{person} · {department}" if row.code else person


def reference_choices(schema, name, context=None):
    """The values field `name` accepts here, as oneOf entries {const, title, x-title-en[, x-department]}.

    Departments: every department. Users: the active users holding the field's `x-role`, limited to one
    department when `x-in-department` names a process variable rather than a field of the form. None when
    the field is not a reference.
    """
    prop = schema.get("properties", {}).get(name) or {}
    if prop.get("x-ref") == "department":
        return [{"const": row.code, "title": row.name, "x-title-en": row.name_en or row.name} for row in _departments()]
    if prop.get("x-ref") == "user":
        rows = db.session.execute(_user_query(prop.get("x-role"), _fixed_department(schema, prop, context))
                                  .order_by(User.username)).all()
        return [{"const": row.username, "title": _user_title(row), "x-title-en": _user_title(row, english=True),
                 **({"x-department": row.code} if row.code else {})} for row in rows]
    return None


def schema_for(schema, context=None):
    """The form as it is filled here: each writable `x-ref` field lists the values valid against `context`
    (the process data) as `oneOf: [{const, title}]`, and a department field another field depends on defaults to
    the process's current department. The page renders these choices and validation accepts exactly them.

    Returns `schema` itself when it has no reference fields, else a copy.
    """
    if not has_references(schema):
        return schema
    resolved = copy.deepcopy(schema)
    properties = resolved["properties"]
    bound = {properties[n].get("x-in-department") for n in writable_fields(schema)} - {None}
    for name in writable_fields(schema):
        prop = properties[name]
        choices = reference_choices(schema, name, context)
        if choices is None:
            continue
        prop.pop("enum", None)
        if choices:
            prop["oneOf"] = choices
        else:
            prop["enum"] = []
        current = (context or {}).get(name)
        if name in bound and prop.get("x-ref") == "department" and current in {c["const"] for c in choices}:
            prop["default"] = current
    return resolved


def _check_references(schema, data, context, errors):
    """Messages for reference fields whose value is not among `reference_choices` (one query per field)."""
    found = {}
    properties = schema.get("properties", {})
    for kind in ("department", "user"):  # departments first: a user is checked against a valid department
        for name in writable_fields(schema):
            prop, value = properties[name], data.get(name)
            if prop.get("x-ref") != kind or name in errors or not isinstance(value, str) or not value:
                continue
            if kind == "department":
                if db.session.scalar(select(Department.id).where(Department.code == value)) is None:
                    found[name] = _("Choose a department from the list.")
            else:
                message = _user_problem(schema, prop, value, data, context, {**errors, **found})
                if message:
                    found[name] = message
    return found


def _user_problem(schema, prop, username, data, context, errors):
    row = db.session.execute(_user_query().where(User.username == username)).first()
    if row is None:
        return _("No active user with this employee number.")
    role = prop.get("x-role")
    if role and db.session.execute(_user_query(role).where(User.username == username)).first() is None:
        return _("This user does not have the role %(role)s.", role=label(ROLES[role]) if role in ROLES else role)
    field = prop.get("x-in-department")
    if not field:
        return None
    if field in writable_fields(schema) and field in errors:
        return None  # the department itself is wrong; that field says so
    department = data.get(field) if field in writable_fields(schema) else None
    department = department or context.get(field)
    if department and row.code != department:
        name = next(((d.name_en or d.name) if is_english() else d.name for d in _departments() if d.code == department),
                    department)
        return _("This user does not belong to the department %(department)s; choose a user of that department.",
                 department=name)
    return None
