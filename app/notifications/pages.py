"""The notification pages: the list under the bell, marking one or all read; the bell's count in every page."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.i18n import _
from app.web import web_bp
from app.web.auth import me, safe_next

from . import service
from .messages import kind_label, message

PAGE = 50


@web_bp.app_context_processor
def bell():
    """`unread_notifications()` for the layout's bell: one indexed count, only when a page shows it."""
    def unread_notifications():
        return service.unread_count(current_user) if current_user.is_authenticated else 0

    return {"unread_notifications": unread_notifications}


@web_bp.route("/notifications")
def notifications():
    user = me()
    unread_only = request.args.get("unread") == "1"
    before = request.args.get("before", "")
    before = int(before) if before.isdigit() and len(before) < 16 else None
    items = service.notifications_of(user, limit=PAGE, before=before, unread_only=unread_only)
    rows = [{"note": n, "message": message(n._mapping)} for n in items]
    next_url = None
    if len(items) == PAGE:
        next_url = url_for("web.notifications", before=items[-1].id, unread="1" if unread_only else None)
    return render_template("notifications/list.html", rows=rows, next_url=next_url, unread_only=unread_only,
                           kind_label=kind_label)


@web_bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
def notification_read(notification_id):
    service.mark_read(user=me(), notification_id=notification_id)
    return redirect(safe_next(request.form.get("next")) or url_for("web.notifications"))


@web_bp.route("/notifications/read-all", methods=["POST"])
def notifications_read_all():
    changed = service.mark_all_read(user=me())
    flash(_("%(n)s notifications marked as read.", n=changed), "success")
    return redirect(url_for("web.notifications"))
