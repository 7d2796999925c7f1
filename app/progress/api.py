"""The progress-table API: read a ticket's table, add a row, change a row."""
from flask import g, jsonify

from app.api import api_bp
from app.api.routes import json_body, login_required
from app.tickets.service import get_ticket

from . import service


@api_bp.get("/tickets/<number>/progress")
@login_required
def get_progress(number):
    ticket = get_ticket(number)
    return jsonify({"ticket_number": ticket.number, "may_edit": service.may_edit(ticket, g.user),
                    "items": [service.entry_json(row) for row in service.progress_rows(ticket)]})


@api_bp.post("/tickets/<number>/progress")
@login_required
def add_progress(number):
    body = json_body(fields=set(service.FIELDS))
    return jsonify(service.add_entry(number=number, actor=g.user, data=body)), 201


@api_bp.put("/tickets/<number>/progress/<int:entry_id>")
@login_required
def update_progress(number, entry_id):
    body = json_body(fields=set(service.FIELDS))
    return jsonify(service.update_entry(number=number, entry_id=entry_id, actor=g.user, data=body))
