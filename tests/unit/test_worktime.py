"""Working-time arithmetic: lunch break, overnight, weekend, holiday, make-up working day, exact both ways."""
from datetime import date, datetime, timedelta, timezone

import pytest

from app.calendar.holidays_cn import chinese_days
from app.calendar.worktime import LOCAL, NoWorkingTime, WorkCalendar, parse_duration

H = 3600 * 1_000_000
NINE_TO_SIX = ((9 * H, 12 * H), (13 * H, 18 * H))  # lunch 12:00-13:00


def china_2026():
    weekly = [NINE_TO_SIX] * 5 + [(), ()]
    days = {d: (NINE_TO_SIX if kind == "workday" else ()) for d, kind, _name in chinese_days((2026, 2027))}
    return WorkCalendar("default", 1, weekly, days)


CAL = china_2026()


def at(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL)


def add(start, hours=0, minutes=0):
    return CAL.add(start, timedelta(hours=hours, minutes=minutes)).astimezone(LOCAL)


def test_within_a_morning():
    assert add(at(2026, 12, 1, 9), hours=2) == at(2026, 12, 1, 11)


def test_lunch_break_does_not_count():
    assert add(at(2026, 12, 1, 11), hours=2) == at(2026, 12, 1, 14)
    assert add(at(2026, 12, 1, 12, 20), minutes=30) == at(2026, 12, 1, 13, 30)  # started during lunch
    assert CAL.between(at(2026, 12, 1, 11), at(2026, 12, 1, 14)) == timedelta(hours=2)


def test_overnight_carries_to_the_next_morning():
    assert add(at(2026, 12, 1, 17), hours=2) == at(2026, 12, 2, 10)
    assert add(at(2026, 12, 1, 20), hours=1) == at(2026, 12, 2, 10)  # after hours: the clock starts at 09:00
    assert CAL.between(at(2026, 12, 1, 17), at(2026, 12, 2, 10)) == timedelta(hours=2)


def test_weekend_is_skipped():
    assert add(at(2026, 12, 4, 17), hours=2) == at(2026, 12, 7, 10)  # Friday 17:00 -> Monday 10:00
    assert CAL.between(at(2026, 12, 5, 9), at(2026, 12, 6, 18)) == timedelta(0)


def test_public_holiday_is_skipped():
    # 2026-10-01..07 National Day (Thursday 2026-09-30 is a working day)
    assert add(at(2026, 9, 30, 17), hours=2) == at(2026, 10, 8, 10)
    # New Year's Day 2027 is a Friday
    assert add(at(2026, 12, 31, 17), hours=2) == at(2027, 1, 4, 10)


def test_make_up_working_day_counts():
    # Saturday 2026-10-10 is a make-up working day (调休上班), Sunday 2026-10-11 is not
    assert CAL.is_working(at(2026, 10, 10, 10))
    assert add(at(2026, 10, 9, 17), hours=2) == at(2026, 10, 10, 10)
    # Sunday 2026-01-04 is one too
    assert add(at(2026, 1, 1, 10), hours=1) == at(2026, 1, 4, 10)


def test_between_is_the_inverse_of_add():
    start = at(2026, 9, 29, 15, 17)
    for minutes in (1, 59, 61, 8 * 60, 20 * 60 + 7, 72 * 60):
        due = CAL.add(start, timedelta(minutes=minutes))
        assert CAL.between(start, due) == timedelta(minutes=minutes)
        assert CAL.between(due, start) == -timedelta(minutes=minutes)


def test_exact_to_the_microsecond_and_utc_out():
    start = datetime(2026, 12, 1, 1, 0, 0, 123456, tzinfo=timezone.utc)  # 09:00:00.123456 Shanghai
    due = CAL.add(start, timedelta(hours=3))
    assert due.tzinfo == timezone.utc and due == datetime(2026, 12, 1, 5, 0, 0, 123456, tzinfo=timezone.utc)


def test_a_calendar_without_working_time_is_refused():
    with pytest.raises(NoWorkingTime):
        WorkCalendar("none", 1, [()] * 7, {}).add(at(2026, 1, 5, 9), timedelta(hours=1))


def test_durations_in_working_days():
    assert parse_duration("PT2H", CAL) == timedelta(hours=2)
    assert parse_duration("P1D", CAL) == timedelta(hours=8)  # one working day
    assert parse_duration("P1DT30M", CAL) == timedelta(hours=8, minutes=30)
    assert CAL.add(at(2026, 12, 1, 10), parse_duration("P1D", CAL)).astimezone(LOCAL) == at(2026, 12, 2, 10)
    for bad in ("", "2H", "P1W", "PT", "P1M"):
        with pytest.raises(ValueError):
            parse_duration(bad, CAL)


def test_chinese_days_of_the_package():
    days = {d: kind for d, kind, _name in chinese_days((2026, 2027))}
    assert days[date(2026, 10, 1)] == "holiday" and days[date(2027, 2, 8)] == "holiday"
    assert days[date(2026, 2, 14)] == "workday"  # Spring Festival make-up Saturday


def test_the_wall_clock_takes_the_plain_arithmetic_with_the_same_results():
    """A calendar where every instant works (sla.WALL_CLOCK) adds and measures as the day walk does."""
    import random

    fast = WorkCalendar("", 0, [((0, 86_400_000_000),)] * 7, {})
    walk = WorkCalendar("", 0, [((0, 86_400_000_000),)] * 7, {})
    walk.always = False
    assert fast.always and not WorkCalendar("", 0, [((0, 3_600_000_000),)] * 7, {}).always
    rng = random.Random(7)
    base = datetime(2026, 12, 5, 3, 4, 5, 123456, tzinfo=timezone.utc)
    for _ in range(500):
        a = base + timedelta(microseconds=rng.randint(-10**12, 10**12))
        b = (base + timedelta(microseconds=rng.randint(-10**12, 10**12))).astimezone(LOCAL)
        duration = timedelta(microseconds=rng.randint(0, 10**12))
        assert fast.between(a, b) == walk.between(a, b)
        assert fast.add(a, duration) == walk.add(a, duration)
