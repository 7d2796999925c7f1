"""The channel endpoints' part of the OpenAPI document (merged into app/api/openapi.py)."""

PARTNER_KEY = [{"partnerKey": []}]
SECURITY_SCHEMES = {"partnerKey": {"type": "apiKey", "in": "header", "name": "X-Partner-Key", "description": (
    "A partner's key, created by an admin (POST /partner-keys) and shown once; a revoked key is refused at once")}}


def schemas(enums):
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    return {
        "PartnerTicketInput": {
            "type": "object", "additionalProperties": False,
            "required": ["name", "company", "phone", "type", "urgency", "description"],
            "description": "The customer is found by phone, else by e-mail, or registered from these fields",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S",
                         "description": "The contact person"},
                "company": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
                "phone": {"type": "string", "pattern": "^\\s*1[0-9]{10}\\s*$", "description": "11-digit mobile number"},
                "email": {"anyOf": [{"type": "string", "format": "email", "maxLength": 200},
                                    {"type": "string", "pattern": "^\\s*$"}, {"type": "null"}],
                          "description": "Optional"},
                "type": {"type": "string", "enum": enums["type"]},
                "urgency": {"type": "string", "enum": enums["urgency"]},
                "description": {"type": "string", "minLength": 5, "maxLength": 4000, "pattern": "\\S",
                                "description": "Trimmed; at least 5 characters besides surrounding spaces"}}},
        "PartnerTicket": {
            "type": "object", "required": ["number", "status", "type", "urgency", "channel", "customer_number",
                                           "created_at"],
            "properties": {
                "number": {"type": "string", "description": "Numbered by the partner channel's pattern where one "
                                                            "is configured (TICKET_NUMBER_PATTERNS)"},
                "status": {"type": "string"}, "type": {"type": "string"}, "urgency": {"type": "string"},
                "channel": {"type": "string", "enum": ["partner"]}, "customer_number": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"}, "accepted_at": nullable_time,
                "resolved_at": nullable_time, "closed_at": nullable_time}},
        "PartnerKeyInput": {
            "type": "object", "additionalProperties": False, "required": ["partner", "name"], "properties": {
                "partner": {"type": "string", "pattern": "^\\s*[a-zA-Z0-9][a-zA-Z0-9_-]{1,31}\\s*$",
                            "description": "The partner's code (stored in lower case); a partner may hold several keys"},
                "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S",
                         "description": "The partner's name"}}},
        "PartnerKey": {
            "type": "object", "required": ["id", "partner", "name", "prefix", "created_at", "created_by",
                                           "revoked_at", "revoked_by"],
            "properties": {
                "id": {"type": "integer"}, "partner": {"type": "string"}, "name": {"type": "string"},
                "prefix": {"type": "string", "description": "The key's first characters, to tell keys apart"},
                "key": {"type": "string", "description": "The key itself: only in the answer to its creation"},
                "created_at": {"type": "string", "format": "date-time"}, "created_by": {"type": "string"},
                "revoked_at": nullable_time, "revoked_by": {"type": ["string", "null"]}}},
    }


def paths(responses, ok, ref, page, limit, after, secured):
    """The channel paths, built with openapi.py's helpers."""
    key_id = {"name": "key_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
    unauthorized = "Missing, unknown or revoked partner key"
    partner_responses = lambda ok_part, *codes: _with_401(responses(ok_part, *codes), unauthorized)  # noqa: E731
    return {
        "/partner/tickets": {
            "post": {"operationId": "partnerCreateTicket", "security": PARTNER_KEY,
                     "summary": "A partner opens a ticket (channel partner) for its customer; the ticket starts the "
                                "normal flow",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": ref("PartnerTicketInput")}}},
                     "responses": partner_responses(ok("Created", ref("PartnerTicket"), "201"), "400", "409", "422")},
            "get": {"operationId": "partnerListTickets", "security": PARTNER_KEY,
                    "summary": "The tickets this partner opened (through any of its keys), newest first",
                    "parameters": [limit, after],
                    "responses": partner_responses(ok("A page of the partner's tickets", page("PartnerTicket")),
                                                   "422")}},
        "/partner-keys": {
            "get": {"operationId": "listPartnerKeys", "security": secured,
                    "summary": "Every partner key, active ones first (admin)",
                    "responses": responses(ok("The keys", {"type": "object", "required": ["items"], "properties": {
                        "items": {"type": "array", "items": ref("PartnerKey")}}}), "401", "403")},
            "post": {"operationId": "createPartnerKey", "security": secured,
                     "summary": "Create a key for a partner (admin); the answer carries the key, shown this once",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": ref("PartnerKeyInput")}}},
                     "responses": responses(ok("Created", ref("PartnerKey"), "201"), "400", "401", "403", "422")}},
        "/partner-keys/{key_id}/revoke": {"post": {
            "operationId": "revokePartnerKey", "security": secured, "parameters": [key_id],
            "summary": "Revoke a key at once (admin); revoking a revoked key changes nothing",
            "responses": responses(ok("The key", ref("PartnerKey")), "401", "403", "404")}},
    }


def _with_401(responses, description):
    responses["401"] = {"description": description, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Error"}}}}
    return responses
