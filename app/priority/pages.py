"""The ticket page's priority-change form (supervisors) and the post it sends; the timeline lines of a change."""
from flask import flash, redirect, request, url_for

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.forms_schema import coerce_form
from app.i18n import _, _l, schema_title
from app.tickets import service as tickets
from app.web import display, web_bp
from app.web.auth import me
from app.web.inputs import clean
from app.web.schema_form import build_fields

from . import service

# deadline variables a priority change reports -> their label on the ticket page
DEADLINE_LABELS = {
    "response_due": _l("New first-contact deadline"),
    "plan_due": _l("New handling-plan deadline"),
    "progress_every": _l("Progress updates every"),
}


def priority_panel(ticket, form=None):
    """The change-priority form for a supervisor while the ticket's process accepts it, else None. `form` after a
    refused post: {"values": ..., "errors": ...}."""
    if not service.may_reprioritize(me()) or not service.can_reprioritize(ticket):
        return None
    form = form or {}
    schema = service.reprioritize_form(ticket)
    return {"title": schema_title(schema), "help": schema_title(schema, "description"),
            "fields": build_fields(schema, submitted=form.get("values"), errors=form.get("errors") or {},
                                   data={"priority": ticket.priority}),
            "open": bool(form.get("errors"))}


def timeline_lines(ticket, detail):
    """(label, value) lines of a `priority_changed` history event: from, to, reason, the new deadlines."""
    schema = service.reprioritize_form(ticket) or {}
    prop = (schema.get("properties") or {}).get("priority", {})
    lines = [(_("Previous priority"), display.form_value(prop, detail.get("from")) if detail.get("from") else display.DASH),
             (_("New priority"), display.form_value(prop, detail.get("to"))),
             (_("Reason"), detail.get("reason") or "")]
    for variable, value in (detail.get("deadlines") or {}).items():
        if variable in DEADLINE_LABELS:
            shown = value if variable == "progress_every" else display.localtime(value)
            lines.append((str(DEADLINE_LABELS[variable]), shown))
    return lines


@web_bp.route("/tickets/<number>/priority", methods=["POST"])
def ticket_priority(number):
    from app.web.views import ticket_detail

    ticket = tickets.get_ticket(number)
    schema = service.reprioritize_form(ticket) or {"properties": {}}
    submitted = {key: clean(value) for key, value in request.form.items() if key != "csrf_token"}
    try:
        service.change_priority(number=number, actor=me(), data=coerce_form(schema, submitted))
    except ValidationFailed as exc:
        db.session.rollback()
        return ticket_detail(number, priority_form={"values": submitted, "errors": exc.errors}, status=422)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("web.ticket_detail", number=number))
    flash(_("The priority of ticket %(number)s was changed; its open deadlines follow the new priority.",
            number=number), "success")
    return redirect(url_for("web.ticket_detail", number=number))
