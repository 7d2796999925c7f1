"""The notification API: the caller's own notifications, paged newest first, and marking them read."""
from flask import g, jsonify, request, url_for

from app.api import api_bp
from app.api.routes import login_required, page_args
from app.api.serialize import iso
from app.errors import ValidationFailed
from app.i18n import _

from . import service
from .messages import message


def notification_json(note):
    return {"id": note.id, "kind": note.kind, "ticket_number": note.ticket_number, "task_id": note.task_id,
            "title": note.title, "message": message(note._mapping), "created_at": iso(note.created_at),
            "read_at": iso(note.read_at)}


@api_bp.get("/notifications")
@login_required
def list_notifications():
    limit, after = page_args()
    unread = request.args.getlist("unread")
    if len(unread) > 1 or any(v not in ("0", "1") for v in unread):
        raise ValidationFailed({"unread": _("Must be 0 or 1.")})
    unread_only = unread == ["1"]
    found = service.notifications_of(g.user, limit=limit, before=after, unread_only=unread_only)
    body = {"items": [notification_json(n) for n in found], "unread": service.unread_count(g.user)}
    if found and len(found) == limit:
        body["next"] = url_for("api.list_notifications", limit=limit, after=found[-1].id, unread=int(unread_only))
    return jsonify(body)


@api_bp.post("/notifications/<int:notification_id>/read")
@login_required
def read_notification(notification_id):
    service.mark_read(user=g.user, notification_id=notification_id)
    return jsonify(unread=service.unread_count(g.user))


@api_bp.post("/notifications/read-all")
@login_required
def read_all_notifications():
    marked = service.mark_all_read(user=g.user)
    return jsonify(marked=marked, unread=0)
