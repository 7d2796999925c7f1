"""The OpenAPI 3.1 document: the API's contract, including who may see and do what.

Request bodies are closed (`additionalProperties: false`): the API refuses a field they do not list with 422
naming it. The redispatch body is the deployed redispatch form with its current choices (see
app.forms_schema.schema_for), so the document lists the handlers and departments valid today.
"""
from app.calendar import openapi as calendar_api
from app.channels import openapi as channels_api
from app.progress import openapi as progress_api
from app.collab import openapi as collab_api
from app.priority import openapi as priority_api
from app.engine import ProcessDefinition, latest_definition_id
from app.extensions import db
from app.forms_schema import schema_for

ERROR = {"$ref": "#/components/schemas/Error"}
FIELD_ERRORS = {"$ref": "#/components/schemas/FieldErrors"}


def _err(description, schema=ERROR):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ok(description, schema, code="200"):
    return {code: {"description": description, "content": {"application/json": {"schema": schema}}}}


def _responses(ok, *codes):
    texts = {
        "400": ("The body is not valid JSON.", ERROR),
        "401": ("Missing, invalid or expired token, or wrong credentials.", ERROR),
        "403": ("The caller's role may not do this.", ERROR),
        "404": ("No such resource.", ERROR),
        "409": ("The state moved on (task no longer open, held by someone else, concurrent change).", ERROR),
        "422": ("Input broke a rule; one message per field.", FIELD_ERRORS),
        "429": ("Too many failed log-ins of this account or from this address lately; refused, even with the "
                "right password, until the window passes.", ERROR),
    }
    responses = dict(ok)
    for code in codes:
        responses[code] = _err(*texts[code])
    if "429" in responses:
        responses["429"]["headers"] = {"Retry-After": {
            "description": "Seconds until the next attempt is heard.", "schema": {"type": "integer", "minimum": 1}}}
    return responses


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _page(item):
    return {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": _ref(item)},
        "next": {"type": "string", "description": "URL of the next page; absent on the last page."}}}


LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}
AFTER = {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1},
         "description": "Cursor from `next`."}
SECURED = [{"bearer": []}]
DATE_OR_EMPTY = {"type": "string", "anyOf": [{"format": "date"}, {"maxLength": 0}]}  # empty: no bound
STATUS_CODES = ["new", "pending_accept", "processing", "awaiting_customer", "awaiting_review", "feedback", "reopened",
                "closed", "pending_dispatch", "pending_close"]
ENUMS = {
    "type": ["consultation", "complaint", "requirement_change", "after_sales_support", "suggestion", "technical_support",
             "handling", "product_fault"],
    "urgency": ["high", "medium", "low", "normal", "urgent", "critical"],
    "channel": ["phone", "online", "email", "branch", "partner"],
    "industry": ["manufacturing", "finance", "retail", "it", "healthcare", "education", "energy", "logistics",
                 "government", "other"],
}


SERVICE_DATE_NAMES = ("delivery_date", "purchase_date", "contract_start", "contract_end")


def _schemas():
    nullable_str = {"type": ["string", "null"]}
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "FieldErrors": {"type": "object", "required": ["errors"], "properties": {
            "errors": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "Login": {"type": "object", "required": ["username", "password"], "additionalProperties": False, "properties": {
            "username": {"type": "string", "description": "Employee number"}, "password": {"type": "string"}}},
        "LoginResult": {"type": "object", "required": ["token", "user"], "properties": {
            "token": {"type": "string"},
            "user": {"type": "object", "required": ["username", "roles", "department"], "properties": {
                "username": {"type": "string"}, "roles": {"type": "array", "items": {"type": "string"}},
                "department": nullable_str}}}},
        "CustomerInput": _customer_input(allow_duplicate={"type": "boolean", "default": False, "description": (
            "true creates the customer even when one with the same name and phone exists "
            "(otherwise 409 names the existing customer)")}, onboarding={
            "type": "boolean", "default": False, "description": (
                "true registers a new customer with onboarding: status `onboarding` and the onboarding process "
                "(qualification review, profile, service agreement) starts; false: active at once")}),
        "CustomerUpdate": _customer_input(number={
            "type": "string", "description": "Optional; if sent it must be the customer's number, which never changes"},
            status={"type": "string", "description": "Optional and read-only: if sent it must be the current status "
                                                     "(the onboarding process sets it)"},
            status_reason={"type": ["string", "null"], "description": "Read-only; ignored"}),
        "DuplicateCustomer": {"type": "object", "required": ["error", "existing"], "properties": {
            "error": {"type": "string"},
            "existing": {"type": "string", "description": "Number of the customer with the same name and phone"}}},
        "Customer": {"type": "object", "required": ["number", "name", "industry", "cooperation_start", "contact_person", "phone"],
                     "properties": {
            "number": {"type": "string", "description": "Generated, unique and immutable, e.g. C2026001"},
            "name": {"type": "string"}, "industry": {"type": "string"},
            "cooperation_start": {"type": "string", "format": "date"}, "contact_person": {"type": "string"},
            "phone": {"type": "string"}, "email": nullable_str, "created_at": nullable_time,
            "status": {"type": "string", "enum": ["onboarding", "active", "refused"],
                       "description": "onboarding until the onboarding process activates or refuses the customer"},
            "status_reason": {**nullable_str, "description": "Why the onboarding refused the customer"},
            **{name: {"type": ["string", "null"], "format": "date"} for name in SERVICE_DATE_NAMES},
            "tickets": {"type": "array", "items": _ref("Ticket")}}},
        "Document": {"type": "object", "required": ["id", "filename", "size", "uploaded_at"], "properties": {
            "id": {"type": "integer"}, "filename": {"type": "string"}, "size": {"type": "integer"},
            "uploaded_at": {"type": "string", "format": "date-time"}}},
        "TicketInput": {"type": "object", "required": ["customer_number", "type", "urgency", "description", "channel"],
                        "additionalProperties": False, "properties": {
            "customer_number": {"type": "string", "pattern": "\\S"},
            "type": {"type": "string", "enum": ENUMS["type"]},
            "urgency": {"type": "string", "enum": ENUMS["urgency"]},
            "channel": {"type": "string", "enum": ENUMS["channel"]},
            "description": {"type": "string", "minLength": 5, "maxLength": 4000, "pattern": "\\S",
                            "description": "Trimmed; at least 5 characters besides surrounding spaces"}}},
        "Task": {"type": "object", "required": ["id", "name", "title", "ticket_number", "role", "assignee", "created_at", "due_at"],
                 "properties": {
            "id": {"type": "string"}, "name": {"type": "string", "description": "The BPMN element id"},
            "title": {"type": "string"}, "ticket_number": nullable_str,
            "customer_number": {**nullable_str, "description": "The customer of an onboarding or care task (these "
                                                               "have no ticket)"},
            "role": {"type": "string", "description": "The diagram lane: the role that works the task"},
            "assignee": nullable_str, "state": {"type": "string", "enum": ["open", "completed", "cancelled"]},
            "created_at": {"type": "string", "format": "date-time"},
            "due_at": {**nullable_time, "description": "When the task's earliest timer lapses (the acceptance task: 30 minutes after it opened), else null"},
            "form": {"type": "object", "description": (
                "The task's JSON Schema (only on GET /tasks/{id}). Fields with `x-ref` list the values valid for "
                "this task as `oneOf: [{const, title}]` (users carry `x-department`); a user field with "
                "`x-in-department: F` must belong to the department in field F (else the ticket's current one); "
                "`x-future: true` times must lie after now. Text is trimmed; text that is only spaces is empty.")},
            "data": {"type": "object", "description": "Current process data (only on GET /tasks/{id})"}}},
        "Ticket": {"type": "object", "required": ["number", "status", "type", "urgency", "customer_number", "assignee", "department"],
                   "properties": {
            "number": {"type": "string"}, "status": {"type": "string", "description": "closed once the customer is satisfied"},
            "type": {"type": "string"}, "urgency": {"type": "string"}, "channel": {"type": "string"},
            "priority": {**nullable_str, "description": "The priority the ticket's flow decided (its decision table): "
                                                        "the urgency, a service request's priority or P1-P4"},
            "customer_number": {"type": "string"}, "description": {"type": "string"},
            "customer_status": {**nullable_str, "description": "The customer's status: `onboarding` while its "
                                                               "onboarding is not finished"},
            "assignee": nullable_str, "department": nullable_str, "current_step": nullable_str,
            "created_at": nullable_time, "response_due_at": nullable_time, "resolution_due_at": nullable_time,
            "next_update_at": nullable_time, "accepted_at": nullable_time, "resolved_at": nullable_time,
            "accept_due_at": {**nullable_time, "description": "End of the current 30-minute acceptance window (kept after it lapsed)"},
            "responded_at": {**nullable_time, "description": "The current round's response; a reopen clears it and resolved_at and sets new deadlines"},
            "closed_at": nullable_time, "escalated_at": nullable_time, "reopen_count": {"type": "integer"},
            "satisfaction": nullable_str, "sla": _ref("SlaOutcomes"),
            "owner": {**nullable_str, "description": "The first receiver (who accepted first): follows the ticket to "
                                                     "its end and confirms its result"},
            "owner_confirmed_at": {**nullable_time, "description": "When the first receiver confirmed the result"},
            "process": {"type": ["object", "null"], "properties": {"name": {"type": "string"}, "version": {"type": "integer"}}},
            "open_tasks": {"type": "array", "items": _ref("Task")},
            "history": {"type": "array", "items": {"type": "object", "required": ["at", "actor", "action", "detail"], "properties": {
                "at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
                "action": {"type": "string"}, "detail": {"type": "object"}}}}}},
        "Redispatch": _redispatch(),
        "SurveySend": {"type": "object", "required": ["reason"], "additionalProperties": False, "properties": {
            "reason": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S",
                       "description": "Why the survey is sent by hand"}}},
        "Surveys": {"type": "object", "required": ["ticket_number", "items"], "properties": {
            "ticket_number": {"type": "string"},
            "items": {"type": "array", "description": "Newest first", "items": {
                "type": "object", "required": ["id", "status", "link", "sent_at", "expires_at", "completed_at",
                                               "sent_by", "reason", "mailed", "answers", "comment"], "properties": {
                    "id": {"type": "integer"},
                    "status": {"type": "string", "enum": ["sent", "completed", "expired", "revoked"]},
                    "link": {**nullable_str, "description": "Path of the public survey page while it is open"},
                    "sent_at": {"type": "string", "format": "date-time"},
                    "expires_at": {"type": "string", "format": "date-time"}, "completed_at": nullable_time,
                    "sent_by": {"type": "string", "description": "\"system\" for the diagram's send, else the username"},
                    "reason": nullable_str, "mailed": {"type": "boolean"},
                    "answers": {"type": ["object", "null"], "description": "The fields of the survey form"},
                    "comment": nullable_str}}}}},
        "Confirmation": {"type": "object", "additionalProperties": False, "properties": {
            "note": {"type": "string", "maxLength": 500, "description": "Optional; kept in the history"}}},
        "AwayInput": {"type": "object", "required": ["away"], "additionalProperties": False, "properties": {
            "away": {"type": "boolean", "description": "true: the automatic dispatch gives the caller nothing new"}}},
        "Away": {"type": "object", "required": ["username", "away"], "properties": {
            "username": {"type": "string"}, "away": {"type": "boolean"}}},
        "Completion": {"type": "object", "additionalProperties": False, "properties": {"data": {
            "type": "object", "description": "The fields of the task's form (`form` of GET /tasks/{id}); a field the "
                                             "form does not have answers 422 naming it, readOnly fields are ignored"}}},
        "Notification": {"type": "object", "required": ["id", "kind", "ticket_number", "task_id", "title", "message",
                                                        "created_at", "read_at"], "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": ["assignment", "escalation", "due", "transfer_in", "transfer_out",
                                                "survey_result", "survey_invitation", "confirm_result",
                                                "collaboration"]},
            "ticket_number": nullable_str, "task_id": nullable_str,
            "title": {"type": "string", "description": "The task's title"},
            "message": {"type": "string", "description": "What happened, in the caller's language"},
            "created_at": {"type": "string", "format": "date-time"}, "read_at": nullable_time}},
        "Notifications": {"type": "object", "required": ["items", "unread"], "properties": {
            "items": {"type": "array", "items": _ref("Notification")},
            "unread": {"type": "integer", "minimum": 0, "description": "The caller's unread notifications in all"},
            "next": {"type": "string", "description": "URL of the next (older) page; absent on the last page."}}},
        **_report_schemas(),
        "Unread": {"type": "object", "required": ["unread"], "properties": {
            "unread": {"type": "integer", "minimum": 0}, "marked": {"type": "integer", "minimum": 0}}},
    }


def _customer_input(**extra):
    return {"type": "object", "required": ["name", "industry", "cooperation_start", "contact_person", "phone"],
            "additionalProperties": False, "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
        "industry": {"type": "string", "enum": ENUMS["industry"]},
        "cooperation_start": {"type": "string", "format": "date",
                              "description": "YYYY-MM-DD, from 1900-01-01 to today (Asia/Shanghai)"},
        "contact_person": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"},
        "phone": {"type": "string", "pattern": "^1[0-9]{10}$", "description": "11-digit mobile number"},
        "email": {"anyOf": [{"type": "string", "format": "email", "maxLength": 200},
                            {"type": "string", "pattern": "^\\s*$"}, {"type": "null"}],
                  "description": "An e-mail address; empty or null for none"},
        **{name: {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "pattern": "^\\s*$"},
                            {"type": "null"}],
                  "description": "Service date YYYY-MM-DD (1900-01-01 to 2199-12-31; the contract may not end before "
                                 "it starts); empty or null clears it, absent keeps it. Proactive care is timed from "
                                 "these dates; a change re-times the care reminders still waiting"}
           for name in SERVICE_DATE_NAMES},
        **extra}}


def _report_schemas():
    count = {"type": "integer", "minimum": 0}
    rate = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
    seconds = {"type": ["integer", "null"], "description": "Wall-clock seconds from creation"}
    figures = {
        "tickets": count, "closed": count, "resolved": count,
        "response_due": {**count, "description": "Tickets whose first response was due (responded, or deadline passed)"},
        "responded_on_time": {**count, "description": "First response at or before the response deadline"},
        "on_time_response_rate": rate, "resolution_rate": rate,
        "avg_response_seconds": seconds, "avg_resolution_seconds": seconds,
        "reopened": {**count, "description": "Tickets reopened at least once"},
        "reopens": {**count, "description": "Reopens in all"},
        "transfers": {**count, "description": "Transfers by the handler, redispatches and reassignments after a lapsed acceptance window"},
    }
    keyed = {"type": "object", "required": ["key", *figures], "properties": {
        "key": {"type": ["string", "null"], "description": "The period's first day (YYYY-MM-DD) or the group's code"},
        "name": {"type": ["string", "null"]}, "name_en": {"type": ["string", "null"]}, **figures}}
    return {
        "Figures": {"type": "object", "required": list(figures), "properties": figures},
        "Report": {"type": "object", "required": ["params", "summary", "series", "groups", "top_types", "satisfaction"],
                   "properties": {
            "params": {"type": "object"},
            "summary": _ref("Figures"),
            "series": {"type": "array", "items": keyed, "description": "Per day, ISO week or month (desk time zone)"},
            "groups": {"type": "array", "items": keyed, "description": "Per department, type, urgency or channel"},
            "top_types": {"type": "array", "items": {"type": "object", "properties": {
                "type": {"type": "string"}, "tickets": count}}},
            "satisfaction": {"type": "array", "items": {"type": "object", "properties": {
                "dimension": {"type": "string"}, "scale": {"type": "array"},
                "counts": {"type": "object", "additionalProperties": count}}}}}},
        "ImportResult": {"type": "object", "required": ["created", "updated"], "properties": {
            "created": count, "updated": count}},
    }


def _query(name, schema, description=None):
    param = {"name": name, "in": "query", "schema": schema}
    if description:
        param["description"] = description
    return param


DATE = {"type": "string", "format": "date"}
REPORT_PARAMETERS = [
    _query("start", DATE, "First local day (YYYY-MM-DD); default 29 days before `end`"),
    _query("end", DATE, "Last local day, inclusive; default today; at most 731 days after `start`"),
    _query("granularity", {"type": "string", "enum": ["day", "week", "month"]}),
    _query("group", {"type": "string", "enum": ["department", "type", "urgency", "channel"]}),
    _query("basis", {"type": "string", "enum": ["created", "closed"]}, "Count tickets by creation or closing time"),
    _query("department", {"type": "string"}, "Department code"),
    _query("type", {"type": "string", "enum": ENUMS["type"]}),
    _query("urgency", {"type": "string", "enum": ENUMS["urgency"]}),
    _query("channel", {"type": "string", "enum": ENUMS["channel"]}),
]
FIGURE_PARAMETERS = [
    _query("figure", {"type": "string", "enum": ["tickets", "closed", "resolved", "unresolved", "responded_on_time",
                                                 "responded_late", "reopened", "transferred", "satisfaction"]}),
    _query("bucket", DATE, "Only the period starting this day (a `series` key)"),
    _query("value", {"type": "string"}, "Only this value of the `group` dimension (a `groups` key)"),
    _query("answer", {"type": "string"}, "With figure=satisfaction: dimension:value, e.g. opinion:unsatisfied"),
]
FORMAT = _query("format", {"type": "string", "enum": ["csv", "xlsx"], "default": "csv"})
SPREADSHEET = {"200": {"description": "The file, streamed (no row cap)", "content": {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string",
                                                                                        "format": "binary"}}}}}
XLSX = {"200": {"description": "The workbook", "content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string",
                                                                                        "format": "binary"}}}}}


def _report_paths():
    report = _responses(_ok("The report", _ref("Report")), "401", "403", "422")
    return {
        "/reports": {"get": {
            "operationId": "report", "security": SECURED, "parameters": REPORT_PARAMETERS,
            "summary": "Report figures of a period (supervisor, admin): totals, per period, per group, the most "
                       "frequent problem types, satisfaction; aggregated by the database",
            "responses": report}},
        "/reports/{preset}": {"get": {
            "operationId": "reportPreset", "security": SECURED,
            "parameters": [{"name": "preset", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": ["daily", "weekly", "monthly"]}},
                           _query("date", DATE, "Any day of the period; default today"),
                           *REPORT_PARAMETERS[5:]],
            "summary": "The daily archive (tickets closed that day, by type), weekly review (the ISO week per day, by "
                       "type) or monthly report (the month per day, by department) (supervisor, admin)",
            "responses": _responses(_ok("The report", _ref("Report")), "401", "403", "404", "422")}},
        "/reports/tickets": {"get": {
            "operationId": "reportTickets", "security": SECURED,
            "parameters": [*REPORT_PARAMETERS, *FIGURE_PARAMETERS, LIMIT, AFTER],
            "summary": "The tickets behind one figure of a report, by id (supervisor, admin)",
            "responses": _responses(_ok("A page of tickets", _page("Ticket")), "401", "403", "422")}},
        "/reports/export": {"get": {
            "operationId": "reportExport", "security": SECURED, "parameters": [*REPORT_PARAMETERS, FORMAT],
            "summary": "The report as CSV (per group) or Excel (per group, per period, types, satisfaction)",
            "responses": _responses(SPREADSHEET, "401", "403", "422")}},
        "/reports/tickets/export": {"get": {
            "operationId": "reportTicketsExport", "security": SECURED,
            "parameters": [*REPORT_PARAMETERS, *FIGURE_PARAMETERS, FORMAT],
            "summary": "Every ticket behind a figure as CSV or Excel, streamed, no row cap (supervisor, admin)",
            "responses": _responses(SPREADSHEET, "401", "403", "422")}},
        "/exports/tickets": {"get": {
            "operationId": "exportTickets", "security": SECURED,
            "parameters": [{"name": "overdue", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}}, FORMAT],
            "summary": "Every open ticket of the monitor as CSV or Excel, streamed, no row cap (supervisor, admin)",
            "responses": _responses(SPREADSHEET, "401", "403", "422")}},
        "/exports/customers": {"get": {
            "operationId": "exportCustomers", "security": SECURED,
            "summary": "Every customer as Excel in the customer table's layout (客户编号, 客户名称, 行业类型, 合作起始时间, "
                       "联系人, 联系方式, 邮箱) (agent, supervisor, admin)",
            "responses": _responses(XLSX, "401", "403")}},
        "/customers/{number}/agreement": {"post": {
            "operationId": "uploadCustomerAgreement", "security": SECURED,
            "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
            "summary": "Upload the customer's signed service agreement (agent, supervisor, admin): PDF, JPEG or PNG, "
                       "not empty, at most MAX_UPLOAD_BYTES; the onboarding's upload step checks that one is on file",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary", "description": "The signed agreement"}}}}}},
            "responses": _responses(_ok("Uploaded", _ref("Document"), "201"), "401", "403", "404", "422")}},
        "/imports/customers": {"post": {
            "operationId": "importCustomers", "security": SECURED,
            "summary": "Import customers from Excel in the export's layout (agent, supervisor, admin): a row without a "
                       "number creates a customer, a row with one updates it. Every row is checked first; if any "
                       "fails, nothing is saved and 422 names each problem as `row N: column`",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary", "description": "An .xlsx workbook"}}}}}},
            "responses": _responses(_ok("Imported", _ref("ImportResult")), "401", "403", "422")}},
    }


REDISPATCH_FORM = ("quick_response", "redispatch.json")  # the process and its message form the endpoint sends


def _redispatch():
    """The redispatch body: the newest deployed redispatch form with today's choices, closed to other fields."""
    process, form_name = REDISPATCH_FORM
    definition_id = latest_definition_id(process)
    form = db.session.get(ProcessDefinition, definition_id).forms.get(form_name) if definition_id else None
    if not form:
        return {"type": "object", "required": ["assignee", "reason"], "additionalProperties": False, "properties": {
            "assignee": {"type": "string", "description": "Username of a handler"},
            "department": {"type": "string", "description": "Department code (optional)"},
            "reason": {"type": "string", "minLength": 2, "maxLength": 500}}}
    body = {k: v for k, v in schema_for(form).items() if k != "$schema"}
    body["additionalProperties"] = False
    body["description"] = body.get("x-description-en") or body.get("description", "")
    return body


def openapi_document():
    """Return the OpenAPI document for /api/v1."""
    number = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
    task_id = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}
    body = lambda name: {"required": True, "content": {"application/json": {"schema": _ref(name)}}}  # noqa: E731
    return {
        "openapi": "3.1.0",
        "info": {"title": "Service desk API", "version": "1.0.0", "description": (
            "Customer-service quick-response desk. Log in with POST /login and send the token as "
            "`Authorization: Bearer <token>`. Roles: agent, handler, supervisor, owner, admin. "
            "Errors are {\"error\": message} (400, 401, 403, 404, 409, 429) or {\"errors\": {field: message}} (422).")},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           **channels_api.SECURITY_SCHEMES},
                       "schemas": {**_schemas(), **calendar_api.SCHEMAS, **channels_api.schemas(ENUMS),
                                   **progress_api.SCHEMAS, **collab_api.SCHEMAS,
                                   **priority_api.SCHEMAS}},
        "paths": {
            "/login": {"post": {"operationId": "login", "summary": "Exchange employee number and password for a token",
                                "requestBody": body("Login"),
                                "responses": _responses(_ok("Logged in", _ref("LoginResult")), "400", "401", "422", "429")}},
            "/customers": {
                "get": {"operationId": "searchCustomers", "security": SECURED,
                        "summary": "Fuzzy search by number, name, phone or contact person (any logged-in user)",
                        "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}, LIMIT, AFTER],
                        "responses": _responses(_ok("A page of customers", _page("Customer")), "401", "422")},
                "post": {"operationId": "createCustomer", "security": SECURED,
                         "summary": "Create a customer (agent, supervisor, admin); the number is generated",
                         "requestBody": body("CustomerInput"),
                         "description": "409 when a customer with the same name and phone exists, unless "
                                        "`allow_duplicate` is true.",
                         "responses": {**_responses(_ok("Created", _ref("Customer"), "201"), "400", "401", "403", "422"),
                                       "409": _err("A customer with the same name and phone exists.",
                                                   _ref("DuplicateCustomer"))}}},
            "/customers/{number}": {
                "get": {"operationId": "getCustomer", "security": SECURED, "parameters": [number],
                        "summary": "A customer with its tickets (any logged-in user)",
                        "responses": _responses(_ok("The customer", _ref("Customer")), "401", "404")},
                "put": {"operationId": "updateCustomer", "security": SECURED, "parameters": [number],
                        "summary": "Edit a customer (agent, supervisor, admin); the number cannot change",
                        "requestBody": body("CustomerUpdate"),
                        "responses": _responses(_ok("Updated", _ref("Customer")), "400", "401", "403", "404", "422")}},
            "/tickets": {
                "post": {"operationId": "createTicket", "security": SECURED,
                         "summary": "Open a ticket for a customer and start its process (agent, supervisor, admin)",
                         "requestBody": body("TicketInput"),
                         "responses": _responses(_ok("Created", _ref("Ticket"), "201"), "400", "401", "403", "409", "422")},
                "get": {"operationId": "listTickets", "security": SECURED,
                        "summary": "Tickets (agent, supervisor, admin). Without a search filter: the open tickets, "
                                   "oldest first (the monitor). With number, customer, created_from, created_to or "
                                   "status: every ticket matching all of them, closed ones too, newest first (R2-4). "
                                   "overdue=1 keeps open tickets past a deadline in both",
                        "description": "Past a deadline: the 30-minute acceptance window lapsed unaccepted (a reassign "
                                       "task waits), the current round's response or resolution deadline passed unmet, "
                                       "or the promised next update is due.",
                        "parameters": [
                            {"name": "overdue", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}},
                            {"name": "number", "in": "query", "schema": {"type": "string", "maxLength": 200},
                             "description": "The ticket number or its beginning, e.g. SR20261201 (any case)"},
                            {"name": "customer", "in": "query", "schema": {"type": "string", "maxLength": 200},
                             "description": "A customer number, or words of the customer's number, name, phone or "
                                            "contact person (every word must match, as in GET /customers?q=)"},
                            {"name": "created_from", "in": "query", "schema": DATE_OR_EMPTY,
                             "description": "First creation day, YYYY-MM-DD in China Standard Time (included)"},
                            {"name": "created_to", "in": "query", "schema": DATE_OR_EMPTY,
                             "description": "Last creation day, YYYY-MM-DD in China Standard Time (included); "
                                            "not before created_from"},
                            {"name": "status", "in": "query",
                             "schema": {"type": "string", "enum": ["", *STATUS_CODES]}},
                            LIMIT, AFTER],
                        "responses": _responses(_ok("A page of tickets", _page("Ticket")), "401", "403", "422")}},
            "/tickets/{number}": {"get": {"operationId": "getTicket", "security": SECURED, "parameters": [number],
                                          "summary": "A ticket with its process version, open tasks and full history",
                                          "responses": _responses(_ok("The ticket", _ref("Ticket")), "401", "404")}},
            "/tickets/{number}/redispatch": {"post": {
                "operationId": "redispatchTicket", "security": SECURED, "parameters": [number],
                "summary": "Supervisors: send a ticket that awaits acceptance to another assignee (and department) "
                           "with a reason; the new assignee gets a fresh 30-minute window. 409 once it was accepted",
                "requestBody": body("Redispatch"),
                "responses": _responses(_ok("The ticket after the step", _ref("Ticket")),
                                        "400", "401", "403", "404", "409", "422")}},
            "/tickets/{number}/survey": {
                "get": {"operationId": "getTicketSurvey", "security": SECURED, "parameters": [number],
                        "summary": "The ticket's satisfaction surveys: state, link, answers (any logged-in user)",
                        "responses": _responses(_ok("The surveys", _ref("Surveys")), "401", "404")},
                "post": {"operationId": "sendTicketSurvey", "security": SECURED, "parameters": [number],
                         "summary": "Supervisors: send the closed ticket's survey now, with a reason; a survey still "
                                    "out is replaced. 409 when the ticket is open or its survey was answered",
                         "requestBody": body("SurveySend"),
                         "responses": _responses(_ok("Sent", _ref("Surveys"), "201"),
                                                 "400", "401", "403", "404", "409", "422")}},
            "/tickets/{number}/confirm": {"post": {
                "operationId": "confirmTicketResult", "security": SECURED, "parameters": [number],
                "summary": "The ticket's first receiver confirms its result (once it awaits feedback or is closed); "
                           "403 for anyone else, 409 before the result or when confirmed already",
                "requestBody": body("Confirmation"),
                "responses": _responses(_ok("The ticket", _ref("Ticket")), "400", "401", "403", "404", "409", "422")}},
            "/pool": {"get": {
                "operationId": "ticketPool", "security": SECURED,
                "summary": "Supervisors: open tickets nobody has accepted yet (unassigned, or awaiting acceptance), "
                           "oldest first; redispatch them with POST /tickets/{number}/redispatch",
                "parameters": [LIMIT, AFTER],
                "responses": _responses(_ok("A page of tickets", _page("Ticket")), "401", "403", "422")}},
            "/me/away": {"post": {
                "operationId": "setAway", "security": SECURED,
                "summary": "Mark yourself away (no new tickets are dispatched to you; tasks you hold stay yours) or "
                           "available again",
                "requestBody": body("AwayInput"),
                "responses": _responses(_ok("The caller's availability", _ref("Away")), "400", "401", "422")}},
            "/tasks": {"get": {"operationId": "listTasks", "security": SECURED,
                               "summary": "Open tasks the caller may work on: assigned to them, or unassigned in one of "
                                          "their roles (handlers: only their department's; supervisors: any department)",
                               "parameters": [LIMIT, {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
                               "responses": _responses(_ok("A page of tasks", _page("Task")), "401", "422")}},
            "/tasks/{task_id}": {"get": {"operationId": "getTask", "security": SECURED, "parameters": [task_id],
                                         "summary": "A task with its form (JSON Schema) and current data; visible to whoever may "
                                                    "work it, and to supervisors",
                                         "responses": _responses(_ok("The task", _ref("Task")), "401", "403", "404")}},
            "/tasks/{task_id}/claim": {"post": {"operationId": "claimTask", "security": SECURED, "parameters": [task_id],
                                                "summary": "Take an unassigned task. Claiming a task you already hold answers 200 "
                                                           "again; a task held by someone else answers 409",
                                                "responses": _responses(_ok("Claimed", _ref("Task")), "401", "403", "404", "409")}},
            "/tasks/{task_id}/complete": {"post": {"operationId": "completeTask", "security": SECURED, "parameters": [task_id],
                                                   "summary": "Submit the task's form; completing an unassigned task claims it. "
                                                              "409 when the task is no longer open",
                                                   "requestBody": body("Completion"),
                                                   "responses": _responses(_ok(
                                                       "The ticket after the step (the customer, for a task of an "
                                                       "onboarding or care process)",
                                                       {"oneOf": [_ref("Ticket"), _ref("Customer")]}),
                                                                           "400", "401", "403", "404", "409", "422")}},
            "/notifications": {"get": {
                "operationId": "listNotifications", "security": SECURED,
                "summary": "The caller's own notifications (new tasks, escalations, due reminders, transfers), newest "
                           "first; unread=1 keeps the unread ones",
                "parameters": [LIMIT, AFTER, {"name": "unread", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}}],
                "responses": _responses(_ok("A page of notifications", _ref("Notifications")), "401", "422")}},
            "/notifications/{notification_id}/read": {"post": {
                "operationId": "readNotification", "security": SECURED,
                "parameters": [{"name": "notification_id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 0}}],
                "summary": "Mark one of the caller's notifications read (again: no change); anyone else's is 404",
                "responses": _responses(_ok("The caller's unread count", _ref("Unread")), "401", "404")}},
            "/notifications/read-all": {"post": {
                "operationId": "readAllNotifications", "security": SECURED,
                "summary": "Mark every unread notification of the caller read",
                "responses": _responses(_ok("How many were marked; none are left unread", _ref("Unread")), "401")}},
            **calendar_api.paths(_responses, _ok, _ref),
            **progress_api.paths(_responses, _ok, _ref),
            **collab_api.paths(_responses, _ok, _ref),
            **priority_api.paths(_responses, _ok, _ref),
            **_report_paths(),
            **channels_api.paths(_responses, _ok, _ref, _page, LIMIT, AFTER, SECURED),
            "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document",
                                      "responses": {"200": {"description": "The OpenAPI document",
                                                            "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
    }
