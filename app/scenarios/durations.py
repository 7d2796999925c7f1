"""Clock moves a scenario may ask for: "31 minutes", "2 hours 30 minutes", "1 day", "PT31M", "31分钟"."""
import re
from datetime import timedelta

_UNITS = {
    "s": "seconds", "sec": "seconds", "second": "seconds", "seconds": "seconds", "秒": "seconds",
    "m": "minutes", "min": "minutes", "minute": "minutes", "minutes": "minutes", "分钟": "minutes", "分": "minutes",
    "h": "hours", "hour": "hours", "hours": "hours", "小时": "hours", "时": "hours",
    "d": "days", "day": "days", "days": "days", "天": "days", "日": "days",
    "w": "weeks", "week": "weeks", "weeks": "weeks", "周": "weeks",
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+|秒|分钟|分|小时|时|天|日|周)\s*(?:and\s*)?")
_ISO = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")


def parse_duration(text):
    """The timedelta `text` names; ValueError (with the accepted spellings) when it names none or a negative one."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(_explain(text))
    text = text.strip()
    iso = _ISO.fullmatch(text.upper())
    if iso and text.upper() not in ("P", "PT"):
        weeks, days, hours, minutes, seconds = (int(v or 0) for v in iso.groups())
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    total, position = timedelta(), 0
    for match in _PART.finditer(text):
        if match.start() != position:
            raise ValueError(_explain(text))
        unit = _UNITS.get(match.group(2).lower())
        if unit is None:
            raise ValueError(_explain(text))
        total += timedelta(**{unit: float(match.group(1))})
        position = match.end()
    if position != len(text) or position == 0:
        raise ValueError(_explain(text))
    return total


def _explain(text):
    return (f"{text!r} is not a duration; write e.g. '31 minutes', '2 hours 30 minutes', '1 day' or 'PT31M'")
