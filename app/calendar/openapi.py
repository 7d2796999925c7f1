"""The calendar endpoints' part of the OpenAPI document (merged into app/api/openapi.py)."""

_SECURED = [{"bearer": []}]
_HOURS = {"type": "object", "additionalProperties": False,
          "properties": {str(d): {"type": "string"} for d in range(7)},
          "description": "Weekday \"0\" (Monday) … \"6\" (Sunday) -> working periods in local time (Asia/Shanghai), "
                         "e.g. \"09:00-12:00, 13:00-18:00\" (the gap is the lunch break); \"\" = no work"}
_KIND = {"type": "string", "enum": ["holiday", "workday"],
         "description": "holiday: no work that day; workday: a make-up working day (调休上班) with a Monday's hours"}
SCHEMAS = {
    "Calendar": {"type": "object", "required": ["code", "name", "version", "hours", "days"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "version": {"type": "integer", "description": "Bumped on every edit"},
        "hours": _HOURS,
        "days": {"type": "array", "items": {"type": "object", "required": ["date", "kind", "name"], "properties": {
            "date": {"type": "string", "format": "date"}, "kind": _KIND, "name": {"type": "string"}}}}}},
    "CalendarHours": {"type": "object", "required": ["hours"], "additionalProperties": False,
                      "properties": {"hours": _HOURS}},
    "CalendarDay": {"type": "object", "required": ["kind"], "additionalProperties": False, "properties": {
        "kind": _KIND, "name": {"type": "string", "maxLength": 100}}},
    "SlaOutcomes": {"type": "object", "description": (
        "Per window: on_time / breached once met (or once the deadline passed unmet), running or paused (the "
        "status waits for the customer) before; null without a deadline"), "properties": {
        name: {"type": ["string", "null"], "enum": ["on_time", "breached", "running", "paused", None]}
        for name in ("response", "resolution")}},
}


def paths(responses, ok, ref):
    """The calendar paths, built with openapi.py's helpers."""
    code = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "The calendar's code; the shipped one is \"default\""}
    day = {"name": "day", "in": "path", "required": True, "schema": {"type": "string", "format": "date"}}
    body = lambda name: {"required": True, "content": {"application/json": {"schema": ref(name)}}}  # noqa: E731
    after_edit = ok("The calendar after the edit; open tickets' working-time deadlines were recomputed", ref("Calendar"))
    return {
        "/calendars/{code}": {"get": {
            "operationId": "getCalendar", "security": _SECURED, "parameters": [code],
            "summary": "A business calendar: weekly working hours with breaks, holidays and make-up working days (admin)",
            "responses": responses(ok("The calendar", ref("Calendar")), "401", "403", "404")}},
        "/calendars/{code}/hours": {"put": {
            "operationId": "putCalendarHours", "security": _SECURED, "parameters": [code],
            "summary": "Replace the weekly working hours (admin); a weekday left out has none",
            "requestBody": body("CalendarHours"),
            "responses": responses(after_edit, "400", "401", "403", "404", "422")}},
        "/calendars/{code}/days/{day}": {
            "put": {"operationId": "putCalendarDay", "security": _SECURED, "parameters": [code, day],
                    "summary": "Make a date a holiday or a make-up working day (admin)", "requestBody": body("CalendarDay"),
                    "responses": responses(after_edit, "400", "401", "403", "404", "422")},
            "delete": {"operationId": "deleteCalendarDay", "security": _SECURED, "parameters": [code, day],
                       "summary": "Remove a date's holiday or make-up working day (admin); 404 when it has none",
                       "responses": responses(after_edit, "401", "403", "404", "422")}},
    }
