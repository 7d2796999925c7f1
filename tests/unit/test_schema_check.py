"""app.schema_check's verdict is jsonschema's, on every shipped form and on data made to hit each rule's edges."""
import json
import math
import random
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from app.formats import FORMAT_CHECKER
from app.schema_check import checker, quick_valid

FORMS = sorted((Path(__file__).resolve().parents[2] / "forms").glob("*.json"))
SCALARS = ["", " ", "a", "ab", "  ab  ", "x" * 2001, "x" * 4001, "处理中", "processing", "awaiting_review",
           "unsatisfied", "duplicate", "on_the_spot", "not_accepted", "return", "2026-12-05T10:00:00+08:00",
           "2026/12/05 10:00", "明天下午", "2026-12-05", "a@b.cn", 0, 1, -1, 2, 5, 6, 1.0, 1.5, math.nan, True, False,
           None, [], ["complaint"], {}, {"a": 1}]

PATTERN_SAMPLES = {"^[0-9A-HJ-NPQRTUWXY]{18}$": "91310000123456789X", "^1[0-9]{10}$": "13800138000"}


def _values_of(prop):
    """Values worth trying for one property: its own constants and enum members, its default, and SCALARS."""
    found = list(SCALARS)
    for option in prop.get("oneOf", []):
        if "const" in option:
            found += [option["const"]] * 4
    found += prop.get("enum", []) * 4
    if "default" in prop:
        found.append(prop["default"])
    if prop.get("type") == "array":
        consts = [o["const"] for o in prop.get("items", {}).get("oneOf", []) if "const" in o]
        found += [consts[:1], consts[:2], consts[:1] * 2] * 3 if consts else [["x"]]
    return found


def _good(prop, rng):
    """A value that meets the property's own rules (so whole instances are valid often enough)."""
    options = [o["const"] for o in prop.get("oneOf", []) if "const" in o] + prop.get("enum", [])
    if options:
        return rng.choice(options)
    kind = prop.get("type")
    if kind == "boolean":
        return rng.choice([True, False])
    if kind in ("integer", "number"):
        return rng.randint(int(prop.get("minimum", 0)), int(prop.get("maximum", 10)))
    if kind == "object":
        return {name: _good(sub, rng) for name, sub in prop.get("properties", {}).items() if rng.random() < 0.9}
    if kind == "array":
        items = prop.get("items", {})
        consts = [o["const"] for o in items.get("oneOf", []) if "const" in o]
        if consts:
            return rng.sample(consts, min(len(consts), rng.randint(1, 2)))
        return [_good(items, rng) for _ in range(rng.randint(1, 2))]
    if prop.get("format") == "date-time":
        return "2099-12-05T10:00:00+08:00"
    if prop.get("format") == "date":
        return "2026-12-05"
    if prop.get("format") == "email":
        return "a@b.cn"
    return PATTERN_SAMPLES.get(prop.get("pattern"), "已处理，客户确认")


def _instances(schema, rng, count):
    properties = schema.get("properties", {})
    for _ in range(count):
        instance = {}
        for name, prop in properties.items():
            roll = rng.random()
            if roll < 0.6:
                instance[name] = _good(prop, rng)
            elif roll < 0.9:
                instance[name] = rng.choice(_values_of(prop))
        yield instance


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.name)
def test_every_shipped_form_is_judged_as_jsonschema_judges_it(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    check = checker(schema)
    assert check is not None, f"{path.name} uses a keyword app.schema_check does not know"
    validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    rng = random.Random(path.name)
    valid_seen = 0
    for instance in _instances(schema, rng, 400):
        expected = validator.is_valid(instance)
        got = quick_valid(check, instance)
        if got:
            assert expected, (path.name, instance)
        has_nan = any(isinstance(v, float) and math.isnan(v) for v in instance.values())
        if not has_nan:
            assert got == expected, (path.name, instance)
        valid_seen += expected
    # the random data reaches both verdicts (a form with only read-only fields is valid whatever is sent)
    assert valid_seen > 0


def test_rule_edges_match_jsonschema():
    schemas = [
        {"type": "integer"}, {"type": "number"}, {"type": ["string", "null"]}, {"const": 1}, {"const": True},
        {"enum": [0, "0", False, None]}, {"minimum": 1}, {"maximum": 1.5}, {"minLength": 2}, {"maxLength": 2},
        {"pattern": "\\S"}, {"format": "date-time"}, {"format": "email"}, {"items": {"type": "string"}},
        {"minItems": 1, "maxItems": 2}, {"oneOf": [{"const": 1}, {"type": "integer"}]},
        {"anyOf": [{"const": "a"}, {"minLength": 3}]}, {"allOf": [{"minLength": 1}, {"maxLength": 1}]},
        {"if": {"const": 1}, "then": {"type": "integer"}, "else": {"type": "string"}},
        {"required": ["a"], "properties": {"a": {"type": "boolean"}}},
    ]
    values = [0, 1, 1.0, 1.5, 2, -3, True, False, None, "", "0", "a", "ab", "abc", "  ", "é", [], ["a"], ["a", 1],
              ["a", "b", "c"], {}, {"a": True}, {"a": 1}, "2026-12-05T10:00:00Z", "2026-12-05 10:00", "x@y.z"]
    for schema in schemas:
        check = checker(schema)
        validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
        for value in values:
            assert quick_valid(check, value) == validator.is_valid(value), (schema, value)


def test_unknown_keywords_and_values_are_left_to_jsonschema():
    assert checker({"type": "object", "patternProperties": {"^a": {}}}) is None
    assert checker({"properties": {"a": True}}) is None  # a boolean schema
    assert checker({"const": [1, 2]}) is None
    check = checker({"type": "string"})

    class Text(str):
        pass

    assert quick_valid(check, "plain") is True
    assert quick_valid(check, Text("a str subclass")) is False  # not judged: jsonschema decides
    assert quick_valid(None, "anything") is False
