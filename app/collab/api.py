"""The API of transfers, comments and collaboration (see app/collab/openapi.py)."""
from flask import g, jsonify

from app.api import api_bp
from app.api.routes import _ticket_detail, json_body, login_required
from app.tickets.service import ticket_row

from . import collaboration, comments, transfer


@api_bp.post("/tickets/<number>/transfer")
@login_required
def transfer_ticket(number):
    transfer.transfer_ticket(number=number, actor=g.user, data=json_body())
    return jsonify(_ticket_detail(number))


@api_bp.get("/tickets/<number>/transfers")
@login_required
def list_transfers(number):
    ticket, _tasks = ticket_row(number)
    return jsonify({"ticket_number": ticket.number,
                    "items": [transfer.transfer_json(row) for row in transfer.transfer_rows(number)]})


@api_bp.get("/tickets/<number>/comments")
@login_required
def list_comments(number):
    _ticket_id, rows = comments.comments_of(number)
    return jsonify({"ticket_number": number, "items": [comments.comment_json(row) for row in rows]})


@api_bp.post("/tickets/<number>/comments")
@login_required
def add_comment(number):
    body = json_body(fields=set(comments.FIELDS))
    return jsonify(comments.add_comment(number=number, actor=g.user, data=body)), 201


@api_bp.get("/tickets/<number>/collaboration")
@login_required
def get_collaboration(number):
    ticket, _tasks = ticket_row(number)
    return jsonify(collaboration.collaboration_json(ticket, collaboration.collaboration_rows(number)))


@api_bp.post("/tickets/<number>/collaboration")
@login_required
def start_collaboration(number):
    collaboration.start_collaboration(number=number, actor=g.user, data=json_body(fields={"supporters"}))
    ticket, _tasks = ticket_row(number)
    return jsonify(collaboration.collaboration_json(ticket, collaboration.collaboration_rows(number)))
