"""Dispatch use cases (R2-2, R3-7): the supervisors' ticket pool and the first receiver's confirmation of the
result. Who gets a new ticket is `app.capabilities.pick_assignee`, called by the diagrams; away status is
`app.auth.service.set_away`."""
from sqlalchemy import bindparam, select, update

from app.auth import access
from app.clock import now
from app.errors import Conflict, Forbidden
from app.extensions import db
from app.i18n import _

from .flow import _INSERT_HISTORY
from .models import Ticket
from .service import TICKET_ROW_COLUMNS, TICKET_ROW_FROM, get_ticket

_tickets = Ticket.__table__
_POOL = (
    select(*TICKET_ROW_COLUMNS)
    .select_from(TICKET_ROW_FROM)
    .where(_tickets.c.accepted_at.is_(None), _tickets.c.closed_at.is_(None), _tickets.c.id > bindparam("after"))
    .order_by(_tickets.c.id)
    .limit(bindparam("limit"))
)
_CONFIRM = (update(_tickets).where(_tickets.c.id == bindparam("ticket_id"), _tickets.c.owner_confirmed_at.is_(None))
            .values(owner_confirmed_at=bindparam("stamp")))
CONFIRMABLE = ("feedback", "closed")  # statuses in which a result exists for the first receiver to confirm


def pool(*, actor, limit=50, after=None):
    """Open tickets nobody has accepted yet (unassigned, or awaiting their assignee's acceptance), oldest first,
    as rows (TICKET_ROW_COLUMNS); supervisors only. One range read of the pool index."""
    access.require_role(actor, access.SUPERVISORS)
    return db.session.connection().execute(_POOL, {"after": after or 0, "limit": limit}).all()


def may_confirm(actor, ticket):
    """True when `actor` is the ticket's first receiver, its result is there and not confirmed yet."""
    return (ticket.owner_id is not None and ticket.owner_id == actor.id and ticket.status in CONFIRMABLE
            and ticket.owner_confirmed_at is None)


def confirm_result(*, number, actor, note=""):
    """The first receiver confirms the ticket's result (first-contact ownership): stamps `owner_confirmed_at` and
    writes a `result_confirmed` history row. Forbidden for anyone else; Conflict before the result exists or when
    it was confirmed already. Returns the ticket number."""
    ticket = get_ticket(number)
    if ticket.owner_id != actor.id:
        raise Forbidden(_("Only the ticket's first receiver confirms its result."))
    if ticket.status not in CONFIRMABLE:
        raise Conflict(_("The ticket has no result to confirm yet."))
    stamp = now()
    conn = db.session.connection()
    if conn.execute(_CONFIRM, {"ticket_id": ticket.id, "stamp": stamp}).rowcount != 1:
        raise Conflict(_("The result was confirmed already."))
    _INSERT_HISTORY.executemany([{"ticket_id": ticket.id, "at": stamp, "actor": actor.username,
                                  "action": "result_confirmed", "detail": {"note": note} if note else {}}])
    db.session.commit()
    return number
