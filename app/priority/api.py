"""POST /tickets/{number}/priority (see app/priority/openapi.py)."""
from flask import g, jsonify

from app.api import api_bp
from app.api.routes import _ticket_detail, json_body, login_required

from .service import change_priority


@api_bp.post("/tickets/<number>/priority")
@login_required
def reprioritize_ticket(number):
    change_priority(number=number, actor=g.user, data=json_body())
    return jsonify(_ticket_detail(number))
