"""The priority-change endpoint's part of the OpenAPI document (merged into app/api/openapi.py)."""

_SECURED = [{"bearer": []}]
SCHEMAS = {
    "PriorityInput": {
        "type": "object", "required": ["priority", "reason"], "additionalProperties": False,
        "description": "The payload of the BPMN message `reprioritize`, validated by the form the ticket's diagram "
                       "names (forms/service_request_reprioritize.json, forms/aftersales_reprioritize.json); other "
                       "fields: 422",
        "properties": {
            "priority": {"type": "string", "description": "A priority the ticket's process knows: service requests "
                                                         "critical, urgent, high, medium, low; after-sales P1-P4. "
                                                         "Another value: 422 on `priority`"},
            "reason": {"type": "string", "minLength": 2, "maxLength": 500, "pattern": "\\S",
                       "description": "调整原因; trimmed, only spaces is empty"}}},
}


def paths(responses, ok, ref):
    """The priority-change path, built with openapi.py's helpers."""
    number = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/tickets/{number}/priority": {"post": {
            "operationId": "changeTicketPriority", "security": _SECURED, "parameters": [number],
            "summary": "Supervisors: change an open ticket's priority with a reason. The diagram runs its windows "
                       "table again; the deadlines not met yet are recomputed from their original start (the clock's "
                       "pauses left out) and the waiting timers move; met deadlines stay. History: "
                       "`priority_changed` {from, to, reason, deadlines}. 409 when the ticket is closed or its "
                       "process version cannot change the priority",
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("PriorityInput")}}},
            "responses": responses(ok("The ticket after the change", ref("Ticket")),
                                   "400", "401", "403", "404", "409", "422")}},
    }
