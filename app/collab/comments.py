"""The ticket's comment area (评论区): the people who work or worked on a ticket talk there (R2-3).

Who writes: the ticket's creator, its first receiver (owner) and current handler, whoever held one of its tasks
(so a previous handler keeps commenting after a transfer, and a supporting department's person during a
collaboration), a member of the department of one of its open tasks, either side of one of its transfers,
supervisors and admins. Everyone who may see the ticket reads. A closed ticket's comments are archived (Conflict).
"""
from sqlalchemy import bindparam, exists, insert, or_, select

from app.auth.models import User
from app.clock import as_utc, now
from app.errors import Conflict, Forbidden, ValidationFailed
from app.extensions import db
from app.fast_statements import FastStatement
from app.i18n import _
from app.tasks.models import HumanTask
from app.tickets.models import Ticket
from app.tickets.service import get_ticket

from .models import TicketComment, TicketTransfer

FIELDS = ("body",)
MAX_BODY = 2000

_comments, _tasks, _transfers, _users, _tickets = (TicketComment.__table__, HumanTask.__table__,
                                                   TicketTransfer.__table__, User.__table__, Ticket.__table__)
_INSERT = FastStatement(insert(_comments).returning(_comments.c.id))
_ROWS = (
    select(_comments.c.id, _comments.c.body, _comments.c.created_at, _users.c.username.label("author"),
           _users.c.display_name.label("author_name"))
    .select_from(_comments.join(_users, _users.c.id == _comments.c.author_id))
    .where(_comments.c.ticket_id == bindparam("ticket_id"))
    .order_by(_comments.c.id)
)
_TICKET_ID = FastStatement(select(_tickets.c.id).where(_tickets.c.number == bindparam("number")))
_INVOLVED = FastStatement(select(or_(
    exists().where(_tasks.c.ticket_id == bindparam("ticket_id"), or_(
        _tasks.c.assignee_id == bindparam("user_id"),
        (_tasks.c.state == "open") & (_tasks.c.department_id == bindparam("department_id")))),
    exists().where(_transfers.c.ticket_id == bindparam("ticket_id"), or_(
        _transfers.c.from_user_id == bindparam("user_id"), _transfers.c.to_user_id == bindparam("user_id"))),
)))


def may_comment(ticket, actor):
    """True when `actor` may write in the ticket's comment area (see the module's docstring); one statement at
    most. False once the ticket is closed."""
    if ticket.status == "closed":
        return False
    if actor.has_role("supervisor", "admin") or actor.id in (ticket.created_by_id, ticket.owner_id,
                                                              ticket.assignee_id):
        return True
    return bool(_INVOLVED.scalar({"ticket_id": ticket.id, "user_id": actor.id,
                                  "department_id": getattr(actor, "department_id", None) or -1}))


def comment_rows(ticket_id):
    """The ticket's comments, oldest first (id, body, created_at, author, author_name): one statement."""
    return db.session.connection().execute(_ROWS, {"ticket_id": ticket_id}).all()


def comments_of(number):
    """(ticket id, comment rows) for the ticket `number`, or NotFound: two statements."""
    from app.errors import NotFound

    ticket_id = _TICKET_ID.scalar({"number": number})
    if ticket_id is None:
        raise NotFound(_("No ticket with number %(number)s.", number=number))
    return ticket_id, comment_rows(ticket_id)


def comment_json(row):
    return {"id": row.id, "body": row.body, "author": row.author, "author_name": row.author_name,
            "created_at": as_utc(row.created_at).isoformat()}


def add_comment(*, number, actor, data):
    """Add a comment to the ticket; return it as comment_json.

    `data` is {"body": text}: required, trimmed (only spaces is empty), at most MAX_BODY characters; any other
    field is refused (ValidationFailed naming it). Forbidden for who may not comment (see may_comment);
    Conflict once the ticket is closed.
    """
    ticket = get_ticket(number)
    if ticket.status == "closed":
        raise Conflict(_("The ticket is closed; its comments are archived and no new ones can be added."))
    if not may_comment(ticket, actor):
        raise Forbidden(_("Only the people working or who worked on this ticket, and supervisors, may comment on it."))
    data = data if isinstance(data, dict) else {}
    errors = {str(k): _("Unknown field.") for k in data if k not in FIELDS}
    body = data.get("body")
    if body is None or body == "":
        errors["body"] = _("This field is required.")
    elif not isinstance(body, str):
        errors["body"] = _("Must be text.")
    elif not body.strip():
        errors["body"] = _("Must not be empty.")
    elif len(body.strip()) > MAX_BODY:
        errors["body"] = _("Enter at most %(n)s characters.", n=MAX_BODY)
    if errors:
        raise ValidationFailed(errors)
    stamp = now()
    comment_id = _INSERT.execute({"ticket_id": ticket.id, "author_id": actor.id, "body": body.strip(),
                                  "created_at": stamp}).scalar_one()
    db.session.commit()
    return {"id": comment_id, "body": body.strip(), "author": actor.username,
            "author_name": getattr(actor, "display_name", None), "created_at": as_utc(stamp).isoformat()}
