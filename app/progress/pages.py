"""The ticket page's progress section: the table, and for its keepers a form to add a row and one per row."""
from flask import flash, redirect, request, url_for

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.i18n import _
from app.tickets.service import get_ticket
from app.web import web_bp
from app.web.auth import me
from app.web.inputs import clean

from . import service


def progress_panel(ticket, form=None):
    """What the ticket page shows of the progress table: rows, whether the viewer keeps it, the add form's values
    and errors (`form`: {"entry": None or row id, "values": ..., "errors": ...} after a refused post)."""
    form = form or {}
    rows = service.progress_rows(ticket)
    return {"rows": [service.entry_json(row) for row in rows], "may_edit": service.may_edit(ticket, me()),
            "entry": form.get("entry"), "posted": form.get("values") or {}, "errors": form.get("errors") or {},
            "today": service.today().isoformat()}


def _posted(fields):
    return {name: clean(request.form.get(name) or "") for name in fields if name in request.form}


def _refused(number, entry, values, errors):
    from app.web.views import ticket_detail

    db.session.rollback()
    return ticket_detail(number, progress_form={"entry": entry, "values": values, "errors": errors}, status=422)


@web_bp.route("/tickets/<number>/progress", methods=["POST"])
def progress_add(number):
    values = _posted(service.FIELDS)
    try:
        service.add_entry(number=number, actor=me(), data=values)
    except ValidationFailed as exc:
        return _refused(number, None, values, exc.errors)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("web.ticket_detail", number=number))
    flash(_("Progress entry added."), "success")
    return redirect(url_for("web.ticket_detail", number=number, _anchor="progress"))


@web_bp.route("/tickets/<number>/progress/<int:entry_id>", methods=["POST"])
def progress_update(number, entry_id):
    get_ticket(number)
    values = _posted(service.FIELDS)
    try:
        service.update_entry(number=number, entry_id=entry_id, actor=me(), data=values)
    except ValidationFailed as exc:
        return _refused(number, entry_id, values, exc.errors)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("web.ticket_detail", number=number))
    flash(_("Progress entry saved."), "success")
    return redirect(url_for("web.ticket_detail", number=number, _anchor="progress"))
