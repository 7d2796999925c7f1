"""Form files (JSON Schema per user task or message): valid JSON, a valid schema, sound `required` and references."""
import json

from jsonschema import Draft202012Validator

_COMBINATORS = ("allOf", "anyOf", "oneOf")
_BRANCHES = ("if", "then", "else")


def read_form(text):
    """(schema, problems) of a form file's text; problems are (json path, message) pairs."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [("", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
    return schema, check_schema(schema)


def check_schema(schema, ref_kinds=None, roles=None):
    """(json path, message) for everything wrong in a form schema.

    Paths name the keyword at fault, e.g. "properties.urgency.type". `ref_kinds` are the `x-ref` values the
    application resolves and `roles` the `x-role` values it knows (None: not checked).
    """
    problems = []
    seen = set()
    for error in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema):
        path = _path(error.absolute_path)
        if path not in seen:
            seen.add(path)
            problems.append((path, f"not a valid JSON Schema: {_best(error).message}"))
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


def _best(error):
    """The most specific cause of a meta-schema error (anyOf/oneOf errors hide it in their context)."""
    while error.context:
        error = min(error.context, key=lambda e: (len(e.absolute_path), len(e.message)))
    return error
