"""Render a user-task form from its JSON Schema: one field description per property, in the current language.

Widgets: enum (`oneOf` of `const`s, or `enum`) -> radios (up to 5 options) or a select; `x-widget: textarea`;
`x-widget: datetime` / `format: date-time` -> datetime-local; boolean -> checkbox; `x-ref: user` / `department`
-> a select of exactly the values `forms_schema.schema_for` lists (what validation and the API accept too);
`readOnly` -> shown from the task data when it has a value (a dotted name reads a nested value), never submitted.
"""
from dataclasses import dataclass, field

from app.auth import service as auth
from app.forms_schema import schema_for
from app.i18n import schema_title
from app.web import display

RADIO_MAX = 5
TRUE_STRINGS = ("on", "true", "1", "yes")


@dataclass
class FormField:
    name: str
    label: str
    help: str = ""
    widget: str = "text"
    required: bool = False
    value: str = ""
    checked: bool = False
    options: list = field(default_factory=list)
    error: str = ""
    text: str = ""  # readOnly fields: the value shown
    maxlength: int | None = None

    @property
    def input_id(self):
        return f"f-{self.name}"

    @property
    def choice_widget(self):
        return self.widget in ("radio", "select")


def _options(prop):
    options = []
    for option in prop.get("oneOf", []) or prop.get("anyOf", []):
        if isinstance(option, dict) and "const" in option:
            options.append((str(option["const"]), schema_title(option) or str(option["const"])))
    if not options and isinstance(prop.get("enum"), list):
        options = [(str(v), str(v)) for v in prop["enum"]]
    return options


def _widget(prop, options):
    if prop.get("type") == "boolean":
        return "checkbox"
    if prop.get("x-ref") in ("user", "department"):
        return "select"
    if options:
        return "radio" if len(options) <= RADIO_MAX else "select"
    if prop.get("x-widget") == "textarea":
        return "textarea"
    if prop.get("x-widget") == "datetime" or prop.get("format") == "date-time":
        return "datetime"
    if prop.get("format") == "date":
        return "date"
    if prop.get("type") in ("integer", "number"):
        return "number"
    return "text"


def read_value(data, name):
    """The value a readOnly field shows: `data[name]`, or for a dotted name ("supporter.task", a multi-instance
    task's item) the nested value; None when absent."""
    if name in data or "." not in name:
        return data.get(name)
    value = data
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def build_fields(schema, *, submitted=None, errors=None, data=None):
    """Field descriptions for the template; `submitted` (request.form) keeps what the person typed.

    `data` is the process data the form is filled against: readOnly fields show it, and reference fields offer
    the choices valid against it.
    """
    errors = errors or {}
    data = data or {}
    schema = schema_for(schema, data)
    required = set(schema.get("required", []))
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        item = FormField(name=name, label=schema_title(prop) or name, help=schema_title(prop, "description"),
                         required=name in required, error=str(errors.get(name, "")))
        if prop.get("readOnly"):
            value = read_value(data, name)
            if value in (None, ""):
                continue  # nothing to show yet (e.g. no reviewer's comment before a review)
            item.widget = "readonly"
            departments = auth.departments() if prop.get("x-ref") == "department" else None
            item.text = display.form_value(prop, value, departments=departments)
            fields.append(item)
            continue
        options = _options(prop)
        item.widget = _widget(prop, options)
        item.maxlength = prop.get("maxLength")
        if submitted is not None:
            raw = submitted.get(name)
            item.checked = raw in TRUE_STRINGS
            item.value = raw if isinstance(raw, str) else ""
        else:
            default = prop.get("default")
            item.checked = default is True
            item.value = "" if default is None or isinstance(default, bool) else str(default)
        if item.widget in ("radio", "select") and item.value and item.value not in {v for v, _ in options}:
            options = options + [(item.value, item.value)]  # keep what was sent, even if not on the list
        item.options = options
        fields.append(item)
    return fields


def general_errors(errors, fields):
    """Messages for keys that are not a field of the form (e.g. 'data')."""
    names = {f.name for f in fields}
    return [str(message) for key, message in (errors or {}).items() if key not in names]
