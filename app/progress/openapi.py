"""The progress-table endpoints' part of the OpenAPI document (merged into app/api/openapi.py)."""

_SECURED = [{"bearer": []}]
_DATE = {"type": "string", "format": "date"}
_TEXT = {"stage": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S",
                   "description": "处理阶段, e.g. 资料审核, 方案制定, 协同处理"},
         "owner": {"type": "string", "description": "Employee number of the person responsible (an active user); "
                                                    "default: the caller"},
         "planned_date": {**_DATE, "description": "YYYY-MM-DD; a new or changed planned date must not lie in the past "
                                                  "(Asia/Shanghai)"},
         "actual_date": {"anyOf": [_DATE, {"type": "string", "maxLength": 0}, {"type": "null"}],
                         "description": "YYYY-MM-DD once the stage is done: not in the future, not before the request "
                                        "was registered; empty or null = not done"},
         "note": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "\\S",
                  "description": "处理进展描述"},
         "remarks": {"type": "string", "maxLength": 500, "description": "备注, e.g. what the customer must do"}}
SCHEMAS = {
    "ProgressInput": {"type": "object", "required": ["stage", "planned_date", "note"], "additionalProperties": False,
                      "properties": _TEXT},
    "ProgressUpdate": {"type": "object", "additionalProperties": False, "properties": _TEXT,
                       "description": "Only the fields sent change"},
    "ProgressEntry": {"type": "object", "required": ["id", "stage", "owner", "planned_date", "actual_date", "note",
                                                     "remarks", "done", "overdue"], "properties": {
        "id": {"type": "integer"}, "stage": {"type": "string"}, "owner": {"type": "string"},
        "owner_name": {"type": "string"}, "planned_date": _DATE, "actual_date": {"type": ["string", "null"],
                                                                                 "format": "date"},
        "note": {"type": "string"}, "remarks": {"type": "string"}, "done": {"type": "boolean"},
        "overdue": {"type": "boolean", "description": "Not done and the planned date has passed"}}},
    "Progress": {"type": "object", "required": ["ticket_number", "may_edit", "items"], "properties": {
        "ticket_number": {"type": "string"},
        "may_edit": {"type": "boolean", "description": "Whether the caller keeps this table (the request's handler, a "
                                                       "holder of one of its open tasks, supervisors; not once closed)"},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/ProgressEntry"},
                  "description": "By planned date"}}},
}


def paths(responses, ok, ref):
    """The progress paths, built with openapi.py's helpers."""
    number = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
    entry = {"name": "entry_id", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1}}
    body = lambda name: {"required": True, "content": {"application/json": {"schema": ref(name)}}}  # noqa: E731
    return {
        "/tickets/{number}/progress": {
            "get": {"operationId": "getProgress", "security": _SECURED, "parameters": [number],
                    "summary": "The request's progress table (服务处理进度跟踪表): stage, owner, planned and actual "
                               "date, progress note, remarks (any logged-in user)",
                    "responses": responses(ok("The table", ref("Progress")), "401", "404")},
            "post": {"operationId": "addProgress", "security": _SECURED, "parameters": [number],
                     "summary": "Add a row (the request's handler, a holder of one of its open tasks, supervisors); "
                                "409 once the request is closed",
                     "requestBody": body("ProgressInput"),
                     "responses": responses(ok("Added", ref("ProgressEntry"), "201"),
                                            "400", "401", "403", "404", "409", "422")}},
        "/tickets/{number}/progress/{entry_id}": {"put": {
            "operationId": "updateProgress", "security": _SECURED, "parameters": [number, entry],
            "summary": "Change a row, e.g. its actual date once the stage is done (as for adding); a planned date "
                       "already passed may stay",
            "requestBody": body("ProgressUpdate"),
            "responses": responses(ok("The row", ref("ProgressEntry")), "400", "401", "403", "404", "409", "422")}},
    }
