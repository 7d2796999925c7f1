"""The channel endpoints: partners open and list their tickets with X-Partner-Key; admins manage the keys."""
from flask import g, jsonify, request, url_for

from app.api import api_bp
from app.api.routes import QUERY_PARAMETERS, json_body, login_required, page_args, paged

from . import partners, service

QUERY_PARAMETERS.update({"api.partner_tickets": {"limit", "after"}})
KEY_HEADER = "X-Partner-Key"


def _iso(value):
    return value.isoformat() if value else None


def partner_ticket_json(row):
    return {"number": row.number, "status": row.status, "type": row.type, "urgency": row.urgency,
            "channel": row.channel, "customer_number": row.customer_number, "created_at": _iso(row.created_at),
            "accepted_at": _iso(row.accepted_at), "resolved_at": _iso(row.resolved_at),
            "closed_at": _iso(row.closed_at)}


def key_json(row, key=None):
    body = {"id": row.id, "partner": row.partner, "name": row.name, "prefix": row.prefix,
            "created_at": _iso(row.created_at), "created_by": row.created_by, "revoked_at": _iso(row.revoked_at),
            "revoked_by": row.revoked_by}
    if key is not None:
        body["key"] = key
    return body


@api_bp.post("/partner/tickets")
def partner_create_ticket():
    partner = partners.partner_for(request.headers.get(KEY_HEADER))
    row = partners.create_partner_ticket(partner=partner, data=json_body(service.FIELDS))
    return jsonify(partner_ticket_json(row)), 201


@api_bp.get("/partner/tickets")
def partner_tickets():
    partner = partners.partner_for(request.headers.get(KEY_HEADER))
    limit, after = page_args()
    found = partners.partner_tickets(partner=partner, limit=limit, after=after)
    return jsonify(paged([partner_ticket_json(r) for r in found], limit, "api.partner_tickets",
                         found[-1].id if found else None))


@api_bp.get("/partner-keys")
@login_required
def list_partner_keys():
    return jsonify({"items": [key_json(r) for r in partners.list_keys(actor=g.user)]})


@api_bp.post("/partner-keys")
@login_required
def create_partner_key():
    body = json_body(("partner", "name"))
    row, key = partners.create_key(actor=g.user, partner=body.get("partner"), name=body.get("name"))
    return jsonify(key_json(row, key)), 201, {"Location": url_for("api.list_partner_keys")}


@api_bp.post("/partner-keys/<int:key_id>/revoke")
@login_required
def revoke_partner_key(key_id):
    return jsonify(key_json(partners.revoke_key(actor=g.user, key_id=key_id)))
