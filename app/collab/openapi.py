"""The transfer, comment and collaboration endpoints' part of the OpenAPI document (merged into app/api/openapi.py)."""

_SECURED = [{"bearer": []}]
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_NULLABLE = {"type": ["string", "null"]}
_FUTURE = {**_TIME, "description": "RFC 3339 with offset, e.g. 2026-12-05T10:00:00+08:00; must lie in the future"}
SCHEMAS = {
    "TransferInput": {
        "type": "object", "required": ["department", "reason", "expected_at"], "additionalProperties": False,
        "description": "The payload of the BPMN message `transfer` (forms/transfer.json); other fields: 422",
        "properties": {
            "department": {"type": "string", "description": "Code of the receiving department (an existing one)"},
            "assignee": {"type": "string", "minLength": 1, "maxLength": 64,
                         "description": "Employee number of the receiving person: active, of that department. Left "
                                        "out: the department's least-loaded handler (or its queue)"},
            "reason": {"type": "string", "minLength": 2, "maxLength": 500, "pattern": "\\S",
                       "description": "转办原因; trimmed, only spaces is empty"},
            "expected_at": {**_FUTURE, "description": "期望处理时限: " + _FUTURE["description"]}}},
    "Transfer": {"type": "object", "required": ["id", "from_user", "from_department", "to_user", "to_department",
                                                "reason", "expected_at", "created_at", "by"], "properties": {
        "id": {"type": "integer"}, "from_user": _NULLABLE, "from_department": _NULLABLE,
        "to_user": {**_NULLABLE, "description": "Who the diagram gave it to; null: waits in the department's queue"},
        "to_department": {"type": "string"}, "reason": {"type": "string"}, "expected_at": _TIME,
        "created_at": _TIME, "by": {"type": "string", "description": "Who transferred it"}}},
    "Transfers": {"type": "object", "required": ["ticket_number", "items"], "properties": {
        "ticket_number": {"type": "string"},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Transfer"}, "description": "Oldest first"}}},
    "CommentInput": {"type": "object", "required": ["body"], "additionalProperties": False, "properties": {
        "body": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "\\S",
                 "description": "Trimmed; only spaces is empty"}}},
    "Comment": {"type": "object", "required": ["id", "body", "author", "author_name", "created_at"], "properties": {
        "id": {"type": "integer"}, "body": {"type": "string"}, "author": {"type": "string"},
        "author_name": _NULLABLE, "created_at": _TIME}},
    "Comments": {"type": "object", "required": ["ticket_number", "items"], "properties": {
        "ticket_number": {"type": "string"},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Comment"}, "description": "Oldest first"}}},
    "CollaborationInput": {
        "type": "object", "required": ["supporters"], "additionalProperties": False,
        "description": "The payload of the BPMN message `collaborate` (forms/collaborate.json). Errors name an "
                       "item's field as supporters[i].field",
        "properties": {"supporters": {"type": "array", "minItems": 1, "maxItems": 10, "items": {
            "type": "object", "required": ["department", "task", "milestone", "due_at"], "additionalProperties": False,
            "properties": {
                "department": {"type": "string", "description": "Supporting department's code: existing, not the "
                                                                "lead (the ticket's department), each once"},
                "assignee": {"type": "string", "description": "Optional: an active user of that department; left "
                                                              "out: its least-loaded handler (or its queue)"},
                "task": {"type": "string", "minLength": 2, "maxLength": 500, "description": "协同任务"},
                "milestone": {"type": "string", "minLength": 2, "maxLength": 200, "description": "需求节点"},
                "due_at": {**_FUTURE, "description": "完成时限: " + _FUTURE["description"]}}}}}},
    "Supporter": {"type": "object", "required": ["task_id", "department", "assignee", "task", "milestone", "due_at",
                                                 "state", "overdue"], "properties": {
        "task_id": {"type": "string", "description": "The supporting department's task"},
        "department": _NULLABLE, "assignee": {**_NULLABLE, "description": "null: waits in the department's queue"},
        "task": _NULLABLE, "milestone": _NULLABLE, "due_at": _NULLABLE_TIME,
        "state": {"type": "string", "enum": ["open", "completed", "cancelled"]},
        "overdue": {"type": "boolean", "description": "Open and past its deadline"},
        "started_at": _TIME, "completed_at": _NULLABLE_TIME, "completed_by": _NULLABLE}},
    "Collaboration": {"type": "object", "required": ["ticket_number", "lead", "supporters"], "properties": {
        "ticket_number": {"type": "string"},
        "lead": {"type": "object", "description": "The lead department: the ticket's department and handler",
                 "properties": {"department": _NULLABLE, "assignee": _NULLABLE}},
        "supporters": {"type": "array", "items": {"$ref": "#/components/schemas/Supporter"},
                       "description": "Every supporting task so far, oldest first"}}},
}


def paths(responses, ok, ref):
    """The transfer, comment and collaboration paths, built with openapi.py's helpers."""
    number = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
    body = lambda name: {"required": True, "content": {"application/json": {"schema": ref(name)}}}  # noqa: E731
    return {
        "/tickets/{number}/transfer": {"post": {
            "operationId": "transferTicket", "security": _SECURED, "parameters": [number],
            "summary": "Transfer a ticket being handled to another department or person with a reason and an expected "
                       "completion time (the ticket's handler, supervisors). The previous handler keeps reading and "
                       "commenting; the new one is notified. 409 when it is not being handled, is closed, or runs on "
                       "a process version without transfer",
            "requestBody": body("TransferInput"),
            "responses": responses(ok("The ticket after the step", ref("Ticket")),
                                   "400", "401", "403", "404", "409", "422")}},
        "/tickets/{number}/transfers": {"get": {
            "operationId": "listTransfers", "security": _SECURED, "parameters": [number],
            "summary": "The ticket's transfers: from, to, reason, expected completion (any logged-in user)",
            "responses": responses(ok("The transfers", ref("Transfers")), "401", "404")}},
        "/tickets/{number}/comments": {
            "get": {"operationId": "listComments", "security": _SECURED, "parameters": [number],
                    "summary": "The ticket's comments, oldest first (any logged-in user)",
                    "responses": responses(ok("The comments", ref("Comments")), "401", "404")},
            "post": {"operationId": "addComment", "security": _SECURED, "parameters": [number],
                     "summary": "Comment on the ticket: its creator, first receiver and handler, whoever held one of "
                                "its tasks (a previous handler too), a member of the department of one of its open "
                                "tasks, either side of a transfer, supervisors. 409 once it is closed",
                     "requestBody": body("CommentInput"),
                     "responses": responses(ok("Added", ref("Comment"), "201"),
                                            "400", "401", "403", "404", "409", "422")}},
        "/tickets/{number}/collaboration": {
            "get": {"operationId": "getCollaboration", "security": _SECURED, "parameters": [number],
                    "summary": "Who works on what: the lead department and handler, each supporting department's "
                               "person, task, milestone, deadline and state (any logged-in user)",
                    "responses": responses(ok("The collaboration", ref("Collaboration")), "401", "404")},
            "post": {"operationId": "startCollaboration", "security": _SECURED, "parameters": [number],
                     "summary": "The lead (the ticket's handler) or a supervisor asks supporting departments to work "
                                "in parallel: each gets its own task with milestone and deadline and a collaboration "
                                "notice. 409 before acceptance, once closed, or on a process version without it",
                     "requestBody": body("CollaborationInput"),
                     "responses": responses(ok("The collaboration", ref("Collaboration")),
                                            "400", "401", "403", "404", "409", "422")}},
    }
