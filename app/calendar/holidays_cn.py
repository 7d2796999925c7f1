"""China's public holidays and make-up working days from the `holidays` package (pinned in requirements.txt).

The package carries the State Council's schedule (holidays and 调休 make-up working days) for the years it
was published for, and the statutory holidays alone for a later year; an admin adds the make-up days of
such a year in the calendar page once they are announced.
"""
from datetime import date


def chinese_days(years):
    """[(date, kind, name)] for `years`: kind "holiday" or "workday" (a make-up working day)."""
    import holidays

    found = {}
    for year in years:
        table = holidays.China(years=year, language="zh_CN")
        for day, name in table.items():
            found[day] = (day, "holiday", name[:100])
        for day in getattr(table, "weekend_workdays", ()):
            if day.year == year:
                found[day] = (day, "workday", "调休上班")
    return [found[d] for d in sorted(found)]


def default_years(today: date):
    """This year and the next one."""
    return (today.year, today.year + 1)
