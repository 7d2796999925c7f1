"""Form files (JSON Schema per user task or message): valid JSON, a valid schema, sound `required` and references."""
import json

from jsonschema import Draft202012Validator

from app.formats import FORMATS

_COMBINATORS = ("allOf", "anyOf", "oneOf")
_BRANCHES = ("if", "then", "else")


_META = Draft202012Validator(Draft202012Validator.META_SCHEMA)


def read_form(text):
    """(schema, problems) of a form file's text: problems are (json path, message) pairs when it is not JSON."""
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [("", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]


def check_schema(schema, ref_kinds=None, roles=None):
    """(json path, message) for everything wrong in a form schema.

    Paths name the keyword at fault, e.g. "properties.urgency.type". `ref_kinds` are the `x-ref` values the
    application resolves and `roles` the `x-role` values it knows (None: not checked).
    """
    problems = []
    seen = set()
    for error in _META.iter_errors(schema):
        path = _path(error.absolute_path)
        if path not in seen:
            seen.add(path)
            problems.append((path, f"not a valid JSON Schema: {_explain(error)}"))
    if problems or not isinstance(schema, dict):
        return problems or [("", "a form must be a JSON object")]
    properties = schema.get("properties", {})
    problems += _check_required(schema, set(properties), "")
    for name, prop in properties.items():
        if not isinstance(prop, dict):
            continue
        kind = prop.get("x-ref")
        if kind is not None and ref_kinds is not None and kind not in ref_kinds:
            problems.append((f"properties.{name}.x-ref",
                             f"refers to an unknown kind {kind!r} (known: {', '.join(sorted(ref_kinds))})"))
        role = prop.get("x-role")
        if role is not None and roles is not None and role not in roles:
            problems.append((f"properties.{name}.x-role",
                             f"names an unknown role {role!r} (known: {', '.join(sorted(roles))})"))
    problems += _check_formats(schema, "")
    return problems


def _check_formats(node, path):
    """Every `format` must be one that form validation checks (app.formats), or input would pass unchecked."""
    problems = []
    if isinstance(node, dict):
        value = node.get("format")
        if isinstance(value, str) and value not in FORMATS:
            problems.append((f"{path}format", f"format {value!r} is not checked; use one of {', '.join(sorted(FORMATS))}"))
        for key, child in node.items():
            problems += _check_formats(child, f"{path}{key}.")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            problems += _check_formats(child, f"{path}{index}.")
    return problems


def _check_required(schema, names, prefix):
    """`required` must name properties of the form (top level, or of the same if/then/else/allOf branch)."""
    problems = []
    local_names = names | set((schema.get("properties") or {}).keys())
    for required in schema.get("required") or []:
        if required not in local_names:
            problems.append((f"{prefix}required", f"requires {required!r}, which is not in the form's properties"))
    for key in _BRANCHES:
        if isinstance(schema.get(key), dict):
            problems += _check_required(schema[key], names, f"{prefix}{key}.")
    for key in _COMBINATORS:
        for index, branch in enumerate(schema.get(key) or []):
            if isinstance(branch, dict):
                problems += _check_required(branch, names, f"{prefix}{key}.{index}.")
    return problems


def _path(parts):
    return ".".join(str(p) for p in parts)


_TYPES = "array, boolean, integer, null, number, object, string"


def _explain(error):
    """A readable reason for a meta-schema error (anyOf/oneOf errors hide the specific cause in their context)."""
    if error.absolute_path and error.absolute_path[-1] == "type" and error.validator == "anyOf":
        return f"{error.instance!r} is not a JSON type: use one of {_TYPES}, or a list of them"
    if error.context:
        cause = min(error.context, key=lambda e: (len(e.absolute_path), len(e.message)))
        return f"{error.message} (for example: {cause.message})"
    return error.message
