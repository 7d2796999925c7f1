"""The format checkers forms rely on: RFC 3339 date-times with an offset, calendar dates, e-mail addresses."""
from datetime import datetime, timedelta, timezone

import pytest
from jsonschema import Draft202012Validator

from app.formats import FORMAT_CHECKER, FORMATS, parse_date_time, unchecked_formats


@pytest.mark.parametrize("value, expected", [
    ("2026-12-05T10:00:00+08:00", datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)),
    ("2026-12-05T02:00:00Z", datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)),
    ("2026-12-05t02:00:00z", datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)),
    ("2026-12-05T02:00:00.5-00:30", datetime(2026, 12, 5, 2, 30, 0, 500000, tzinfo=timezone.utc)),
    ("2026-12-05T02:00:00.123456789Z", datetime(2026, 12, 5, 2, 0, 0, 123456, tzinfo=timezone.utc)),
])
def test_rfc3339_date_times_parse(value, expected):
    parsed = parse_date_time(value)
    assert parsed == expected and parsed.tzinfo is not None


@pytest.mark.parametrize("value", [
    "2026/12/05 10:00", "明天下午", "2026-12-05T10:00", "2026-12-05T10:00:00", "2026-12-05 10:00:00+08:00",
    "2026-12-05", "2026-02-30T10:00:00Z", "2026-12-05T24:00:00Z", "2026-12-05T10:60:00Z",
    "2026-12-05T10:00:00+24:00", "2026-12-05T10:00:00+08:60", "2026-12-05T10:00:00+0800",
    "2026-12-05T10:00:00+08:00\n", " 2026-12-05T10:00:00Z", "２０２６-12-05T10:00:00Z", "", 20261205,
])
def test_malformed_date_times_are_refused(value):
    assert parse_date_time(value) is None
    if isinstance(value, str):
        assert not FORMATS["date-time"](value)


@pytest.mark.parametrize("value, ok", [
    ("2026-12-05", True), ("2024-02-29", True), ("2026-02-29", False), ("2026/12/05", False),
    ("2026-12-5", False), ("2026-12-05\n", False), ("2026-12-05T00:00:00Z", False),
])
def test_dates(value, ok):
    assert FORMATS["date"](value) is ok


@pytest.mark.parametrize("value, ok", [
    ("zhou@jinggong.example.cn", True), ("a@b.c", True), ("no-at.example.cn", False), ("a b@c.d", False),
    ("a@b.c\n", False), ("a@b", False), ("a@@b.cn", False),
])
def test_email(value, ok):
    assert FORMATS["email"](value) is ok


def test_validation_uses_the_checkers_and_leaves_other_types_to_type():
    validator = Draft202012Validator({"type": "object", "properties": {
        "at": {"type": "string", "format": "date-time"}, "day": {"format": "date"}}}, format_checker=FORMAT_CHECKER)
    assert [e.validator for e in validator.iter_errors({"at": "明天下午"})] == ["format"]
    assert [e.validator for e in validator.iter_errors({"at": 5})] == ["type"]
    assert list(validator.iter_errors({"at": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat(),
                                        "day": 3})) == []


def test_unchecked_formats_are_found_anywhere_in_a_schema():
    schema = {"properties": {"a": {"format": "date-time"}, "b": {"format": "uri"}},
              "then": {"properties": {"c": {"format": "ipv4"}}}, "allOf": [{"format": "email"}]}
    assert unchecked_formats(schema) == ["ipv4", "uri"]
    assert unchecked_formats({"properties": {"a": {"format": "date"}}}) == []
