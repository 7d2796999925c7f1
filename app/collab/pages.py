"""The ticket page's transfer, collaboration and comment sections, and the posts they send."""
from flask import flash, redirect, request, url_for

from app.auth import service as auth
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.forms_schema import coerce_form, reference_choices
from app.i18n import _, schema_title
from app.tickets import service as tickets
from app.web import display, web_bp
from app.web.auth import me
from app.web.inputs import clean
from app.web.schema_form import build_fields

from . import collaboration, comments, transfer

SUPPORT_ROWS = 3  # empty supporter rows the page offers (rows left empty are ignored)
ITEM_FIELDS = ("department", "assignee", "task", "milestone", "due_at")
_TIME = {"properties": {"due_at": {"type": "string", "format": "date-time"}}}  # a datetime-local input


def collab_panel(ticket, form=None):
    """What the ticket page shows: the transfer form (for who may transfer while it can be), the transfers, the
    lead and supporters with their tasks, milestones, deadlines and state, the collaboration form, the comments.

    `form` after a refused post: {"kind": "transfer" | "collaboration" | "comment", "values": ..., "errors": ...}.
    """
    form = form or {}
    actor = me()
    kind, values, errors = form.get("kind"), form.get("values") or {}, form.get("errors") or {}
    transfer_form = None
    if transfer.may_transfer(ticket, actor) and transfer.can_transfer(ticket):
        schema = transfer.transfer_form(ticket)
        transfer_form = {
            "title": schema_title(schema), "help": schema_title(schema, "description"),
            "fields": build_fields(schema, submitted=values if kind == "transfer" else None,
                                   errors=errors if kind == "transfer" else {},
                                   data=tickets.process_context(ticket)),
            "open": kind == "transfer"}
    collaborate_form = None
    if transfer.may_transfer(ticket, actor) and collaboration.can_collaborate(ticket):
        lead = ticket.department.code if ticket.department else None
        collaborate_form = {
            "rows": range(SUPPORT_ROWS), "posted": values if kind == "collaboration" else {},
            "errors": errors if kind == "collaboration" else {}, "open": kind == "collaboration",
            "departments": [(d.code, display.department_named(d.name, d.name_en))
                            for d in auth.departments() if d.code != lead],
            "people": [(c["const"], schema_title(c)) for c in reference_choices(
                {"properties": {"p": {"x-ref": "user"}}}, "p") or []]}
    rows = collaboration.collaboration_rows(ticket.number)
    return {
        "transfer": transfer_form,
        "transfers": transfer.transfer_rows(ticket.number),
        "lead": {"department": ticket.department, "assignee": ticket.assignee},
        "supporters": [collaboration.supporter_json(r) | {
            "department_label": display.department_named(r.department_name, r.department_name_en),
            "person": display.person_named(r.assignee_name, r.assignee)} for r in rows],
        "collaborate": collaborate_form,
        "comments": comments.comment_rows(ticket.id),
        "may_comment": comments.may_comment(ticket, actor),
        "comment": {"body": values.get("body", "") if kind == "comment" else "",
                    "errors": errors if kind == "comment" else {}},
    }


def _refused(number, kind, values, errors):
    from app.web.views import ticket_detail

    db.session.rollback()
    return ticket_detail(number, collab_form={"kind": kind, "values": values, "errors": errors}, status=422)


def _conflict(number, exc):
    db.session.rollback()
    flash(exc.message, "error")
    return redirect(url_for("web.ticket_detail", number=number))


@web_bp.route("/tickets/<number>/transfer", methods=["POST"])
def ticket_transfer(number):
    ticket = tickets.get_ticket(number)
    schema = transfer.transfer_form(ticket) or {"properties": {}}
    submitted = {key: clean(value) for key, value in request.form.items() if key != "csrf_token"}
    try:
        transfer.transfer_ticket(number=number, actor=me(), data=coerce_form(schema, submitted))
    except ValidationFailed as exc:
        return _refused(number, "transfer", submitted, exc.errors)
    except Conflict as exc:
        return _conflict(number, exc)
    flash(_("Ticket %(number)s was transferred.", number=number), "success")
    return redirect(url_for("web.ticket_detail", number=number))


@web_bp.route("/tickets/<number>/collaboration", methods=["POST"])
def ticket_collaborate(number):
    tickets.get_ticket(number)
    posted = {key: clean(value) for key, value in request.form.items() if key.startswith("supporters-")}
    supporters = []
    for index in range(SUPPORT_ROWS):
        item = {field: (posted.get(f"supporters-{index}-{field}") or "").strip() for field in ITEM_FIELDS}
        if not any(item.values()):
            continue
        item = {k: v for k, v in item.items() if v}
        if item.get("due_at"):
            item["due_at"] = coerce_form(_TIME, {"due_at": item["due_at"]})["due_at"]  # local time -> ISO
        supporters.append((index, item))
    data = {"supporters": [item for _index, item in supporters]}
    try:
        collaboration.start_collaboration(number=number, actor=me(), data=data)
    except ValidationFailed as exc:
        # the service numbers the rows it was given; the page names the row the person filled in
        rows = [index for index, _item in supporters]
        errors = {_page_key(key, rows): message for key, message in exc.errors.items()}
        return _refused(number, "collaboration", posted, errors)
    except Conflict as exc:
        return _conflict(number, exc)
    flash(_("The supporting departments were notified."), "success")
    return redirect(url_for("web.ticket_detail", number=number, _anchor="collaboration"))


def _page_key(key, rows):
    """'supporters[1].task' -> 'supporters-<page row>-task'; other keys unchanged."""
    if key.startswith("supporters[") and "]." in key:
        head, field = key[len("supporters["):].split("].", 1)
        if head.isdigit() and int(head) < len(rows):
            return f"supporters-{rows[int(head)]}-{field}"
    return key


@web_bp.route("/tickets/<number>/comments", methods=["POST"])
def ticket_comment(number):
    values = {"body": clean(request.form.get("body") or "")}
    try:
        comments.add_comment(number=number, actor=me(), data=values)
    except ValidationFailed as exc:
        return _refused(number, "comment", values, exc.errors)
    except Conflict as exc:
        return _conflict(number, exc)
    flash(_("Comment added."), "success")
    return redirect(url_for("web.ticket_detail", number=number, _anchor="comments"))
