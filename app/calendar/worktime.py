"""Working-time arithmetic on a compiled calendar (pure: no database). Local time is Asia/Shanghai, UTC+8 all
year (China has no daylight saving time), so a fixed offset is exact and cheap."""
import re
from datetime import date, datetime, time, timedelta, timezone

LOCAL = timezone(timedelta(hours=8), "Asia/Shanghai")
_US = 1_000_000  # microseconds per second: the arithmetic is exact in integer microseconds
_DAY_US = 86_400 * _US
MAX_SEARCH_DAYS = 3 * 366  # a calendar with no working time for three years is refused, not looped over


_DURATION = re.compile(r"P(?:([0-9]+(?:\.[0-9]+)?)D)?(?:T(?:([0-9]+(?:\.[0-9]+)?)H)?(?:([0-9]+(?:\.[0-9]+)?)M)?"
                       r"(?:([0-9]+(?:\.[0-9]+)?)S)?)?")


class NoWorkingTime(ValueError):
    """The calendar has no working time in reach (every weekday empty, or years of holidays)."""


class WorkCalendar:
    """An immutable calendar: `weekly[weekday]` and `days[date]` are sorted ((start_us, end_us), …) in the day.

    `days` overrides the weekday: a holiday maps to (), a make-up working day to its periods.
    """

    __slots__ = ("code", "version", "weekly", "days", "day_us", "always")

    def __init__(self, code, version, weekly, days):
        self.code, self.version = code, version
        self.weekly = tuple(tuple(sorted(p)) for p in weekly)
        self.days = {d: tuple(sorted(p)) for d, p in days.items()}
        totals = [sum(e - s for s, e in p) for p in self.weekly if p]
        self.day_us = max(totals) if totals else 0  # one working day (a "D" in a working duration)
        # every instant is working time (the wall clock): the arithmetic is plain datetime arithmetic
        self.always = not self.days and all(p == ((0, _DAY_US),) for p in self.weekly)

    def periods(self, day):
        """The working periods of local date `day`."""
        found = self.days.get(day)
        return found if found is not None else self.weekly[day.weekday()]

    # ------------------------------------------------------------------ arithmetic

    def add(self, start, duration):
        """The aware UTC instant when `duration` (a timedelta) of working time has passed after `start`."""
        remaining = _us(duration)
        if remaining < 0:
            raise ValueError("duration must not be negative")
        if remaining == 0:
            return start.astimezone(timezone.utc)
        if self.always and start.tzinfo is not None:
            return (start + timedelta(microseconds=remaining)).astimezone(timezone.utc)
        day, offset = _split(start)
        for _ in range(MAX_SEARCH_DAYS):
            for s, e in self.periods(day):
                if offset >= e:
                    continue
                begin = max(offset, s)
                available = e - begin
                if remaining <= available:
                    return _join(day, begin + remaining)
                remaining -= available
            day, offset = day + timedelta(days=1), 0
        raise NoWorkingTime(self.code)

    def between(self, a, b):
        """The working time from `a` to `b` as a timedelta (negative when `b` is before `a`)."""
        if self.always and a.tzinfo is not None and b.tzinfo is not None:
            return b - a
        if b < a:
            return -self.between(b, a)
        day, offset = _split(a)
        end_day, end_offset = _split(b)
        total = 0
        while day <= end_day:
            limit = end_offset if day == end_day else _DAY_US
            for s, e in self.periods(day):
                lo, hi = max(s, offset), min(e, limit)
                if hi > lo:
                    total += hi - lo
            day, offset = day + timedelta(days=1), 0
        return timedelta(microseconds=total)

    def is_working(self, at):
        """True when `at` falls inside a working period."""
        day, offset = _split(at)
        return any(s <= offset < e for s, e in self.periods(day))


def _us(delta):
    return delta // timedelta(microseconds=1)


def _split(at):
    """(local date, microseconds after local midnight) of an aware datetime."""
    local = at.astimezone(LOCAL)
    return local.date(), ((local.hour * 3600 + local.minute * 60 + local.second) * _US + local.microsecond)


def _join(day, offset_us):
    """The aware UTC datetime at `offset_us` after local midnight of `day` (the offset may be a whole day)."""
    return (datetime.combine(day, time(), LOCAL) + timedelta(microseconds=offset_us)).astimezone(timezone.utc)


def parse_duration(text, calendar=None):
    """An ISO 8601 duration ("PT2H", "P1DT4H", "PT30M") as a timedelta of working time.

    A day ("D") is one full working day of `calendar` (8 h for 09:00-12:00, 13:00-18:00); weeks, months and
    years are refused: a working-time window is stated in working days, hours and minutes.
    """
    match = _DURATION.fullmatch(text.strip().upper()) if isinstance(text, str) else None
    if match is None or not any(match.groups()) or (text.strip().upper().endswith("T")):
        raise ValueError(f"not a working-time duration (ISO 8601 like PT2H, P1DT4H): {text!r}")
    days, hours, minutes, seconds = (float(g) if g else 0 for g in match.groups())
    delta = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if days:
        if calendar is None:
            delta += timedelta(days=days)
        else:
            delta += timedelta(microseconds=round(days * calendar.day_us))
    return delta


def dates_between(first: date, last: date):
    """Every date from `first` to `last`, both included."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
