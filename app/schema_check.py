"""A quick verdict on plain JSON data against a form's JSON Schema, for the keywords the forms use.

Form validation (app.forms_schema) asks `quick_valid` first and runs jsonschema only when the answer is not a
plain yes: jsonschema's validator costs about a tenth of a millisecond per form even when nothing is wrong, more
than the rest of the task's bookkeeping. jsonschema stays the authority and the one that explains errors:

- a schema with any keyword not listed in `_KEYWORDS` (or annotations) is never judged here (`checker` is None);
- data holding anything but dict, list, str, int, float, bool and None is never judged here;
- for everything else the verdict follows jsonschema's Draft 2020-12 rules exactly (integers include floats
  with no fraction, booleans are not numbers and `true` is not `1`, `pattern` searches, formats go through the
  same FormatChecker); tests/unit/test_schema_check.py holds it to jsonschema's verdict on every shipped form.
"""
import re

from app.formats import FORMAT_CHECKER

_PLAIN_SCALARS = (str, int, float, bool, type(None))
_ANNOTATIONS = {"$schema", "$comment", "title", "description", "default", "readOnly", "writeOnly", "examples",
                "then", "else"}  # then/else are read by "if"; without an "if" they do nothing


class _Unsupported(Exception):
    """A schema or a value this module does not judge: leave it to jsonschema."""


def checker(schema):
    """A function telling whether plain data is valid against `schema`, or None when the schema uses keywords
    this module does not know."""
    try:
        return _compile(schema)
    except _Unsupported:
        return None


def quick_valid(check, instance):
    """True when `check` (from `checker`) finds `instance` valid; False when it is invalid, or holds values this
    module does not judge (the caller then asks jsonschema)."""
    if check is None or not _plain(instance):
        return False
    return check(instance)


def _plain(value):
    cls = value.__class__
    if cls is dict:
        return all(k.__class__ is str and _plain(v) for k, v in value.items())
    if cls is list:
        return all(_plain(v) for v in value)
    return cls in _PLAIN_SCALARS


def _compile(node):
    if node.__class__ is not dict:
        raise _Unsupported(node)  # boolean schemas and the like
    checks = []
    for key, argument in node.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        make = _KEYWORDS.get(key)
        if make is None:
            raise _Unsupported(key)
        checks.append(make(argument, node))
    if len(checks) == 1:
        return checks[0]

    def check(value):
        for one in checks:
            if not one(value):
                return False
        return True

    return check


# ------------------------------------------------------------------------------------------- keywords

_TYPES = {
    "string": lambda v: v.__class__ is str,
    "integer": lambda v: v.__class__ is int or (v.__class__ is float and v.is_integer()),
    "number": lambda v: v.__class__ is int or v.__class__ is float,
    "boolean": lambda v: v.__class__ is bool,
    "null": lambda v: v is None,
    "object": lambda v: v.__class__ is dict,
    "array": lambda v: v.__class__ is list,
}


def _type(argument, _node):
    names = [argument] if argument.__class__ is str else argument
    if names.__class__ is not list or any(n not in _TYPES for n in names):
        raise _Unsupported(argument)
    tests = [_TYPES[n] for n in names]
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(test(v) for test in tests)


def _properties(argument, _node):
    if argument.__class__ is not dict:
        raise _Unsupported(argument)
    compiled = [(name, _compile(sub)) for name, sub in argument.items()]

    def check(value):
        if value.__class__ is dict:
            for name, sub in compiled:
                if name in value and not sub(value[name]):
                    return False
        return True

    return check


def _additional_properties(argument, node):
    if "patternProperties" in node:
        raise _Unsupported("patternProperties")
    named = node.get("properties", {})
    if argument is False:
        return lambda v: v.__class__ is not dict or all(name in named for name in v)
    sub = _compile(argument)
    return lambda v: v.__class__ is not dict or all(sub(item) for name, item in v.items() if name not in named)


def _required(argument, _node):
    if argument.__class__ is not list or any(n.__class__ is not str for n in argument):
        raise _Unsupported(argument)
    return lambda v: v.__class__ is not dict or all(name in v for name in argument)


def _if(argument, node):
    condition = _compile(argument)
    then = _compile(node["then"]) if "then" in node else None
    otherwise = _compile(node["else"]) if "else" in node else None

    def check(value):
        branch = then if condition(value) else otherwise
        return branch is None or branch(value)

    return check


def _subschemas(argument):
    if argument.__class__ is not list or not argument:
        raise _Unsupported(argument)
    return [_compile(sub) for sub in argument]


def _all_of(argument, _node):
    subs = _subschemas(argument)
    return lambda v: all(sub(v) for sub in subs)


def _any_of(argument, _node):
    subs = _subschemas(argument)
    return lambda v: any(sub(v) for sub in subs)


def _one_of(argument, _node):
    subs = _subschemas(argument)
    return lambda v: sum(1 for sub in subs if sub(v)) == 1


def _scalar(argument):
    if argument.__class__ not in _PLAIN_SCALARS:
        raise _Unsupported(argument)
    return argument


def _equal(value, expected):
    """jsonschema's `equal` for a scalar `expected`: strings by ==, booleans only equal booleans."""
    if value is expected:
        return True
    if value.__class__ is bool or expected.__class__ is bool:
        return False  # `value is expected` already matched the same boolean
    return value == expected


def _const(argument, _node):
    expected = _scalar(argument)
    return lambda v: _equal(v, expected)


def _enum(argument, _node):
    if argument.__class__ is not list:
        raise _Unsupported(argument)
    expected = [_scalar(e) for e in argument]
    return lambda v: any(_equal(v, e) for e in expected)


def _length(compare):
    def make(argument, _node):
        if argument.__class__ is not int:
            raise _Unsupported(argument)
        return lambda v: v.__class__ is not str or compare(len(v), argument)
    return make


def _pattern(argument, _node):
    if argument.__class__ is not str:
        raise _Unsupported(argument)
    search = re.compile(argument).search
    return lambda v: v.__class__ is not str or search(v) is not None


def _format(argument, _node):
    if argument.__class__ is not str:
        raise _Unsupported(argument)
    return lambda v: FORMAT_CHECKER.conforms(v, argument)


def _bound(compare):
    def make(argument, _node):
        if argument.__class__ not in (int, float):
            raise _Unsupported(argument)
        return lambda v: not (v.__class__ is int or v.__class__ is float) or compare(v, argument)
    return make


def _items(argument, node):
    if "prefixItems" in node:
        raise _Unsupported("prefixItems")
    sub = _compile(argument)
    return lambda v: v.__class__ is not list or all(sub(item) for item in v)


def _item_count(compare):
    def make(argument, _node):
        if argument.__class__ is not int:
            raise _Unsupported(argument)
        return lambda v: v.__class__ is not list or compare(len(v), argument)
    return make


_KEYWORDS = {
    "type": _type, "properties": _properties, "additionalProperties": _additional_properties,
    "required": _required, "if": _if,
    "allOf": _all_of, "anyOf": _any_of, "oneOf": _one_of, "const": _const, "enum": _enum,
    "minLength": _length(lambda n, limit: n >= limit), "maxLength": _length(lambda n, limit: n <= limit),
    "pattern": _pattern, "format": _format,
    "minimum": _bound(lambda v, limit: not v < limit), "maximum": _bound(lambda v, limit: not v > limit),
    "items": _items,
    "minItems": _item_count(lambda n, limit: n >= limit), "maxItems": _item_count(lambda n, limit: n <= limit),
}
