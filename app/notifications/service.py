"""A user's notifications: the list (newest first), the bell's unread count, marking read. Own rows only."""
from sqlalchemy import func, select, update

from app.clock import now
from app.errors import NotFound
from app.extensions import db
from app.i18n import _

from .models import Notification

_notes = Notification.__table__
_LIST_COLUMNS = (_notes.c.id, _notes.c.kind, _notes.c.ticket_number, _notes.c.task_id, _notes.c.title,
                 _notes.c.detail, _notes.c.created_at, _notes.c.read_at)


def notifications_of(user, *, limit=50, before=None, unread_only=False):
    """The user's notifications, newest first; `before` is the id of the previous page's last one."""
    query = select(*_LIST_COLUMNS).where(_notes.c.user_id == user.id)
    if unread_only:
        query = query.where(_notes.c.read_at.is_(None))
    if before is not None:
        query = query.where(_notes.c.id < min(before, 2**31))  # past every id (a 32-bit column) is from the top
    return db.session.execute(query.order_by(_notes.c.id.desc()).limit(limit)).all()


def unread_count(user):
    """How many of the user's notifications are unread (the bell's number)."""
    return db.session.scalar(
        select(func.count()).select_from(_notes).where(_notes.c.user_id == user.id, _notes.c.read_at.is_(None)))


def mark_read(*, user, notification_id):
    """Mark one of the user's notifications read (again: no change); NotFound for anyone else's."""
    if not 0 < notification_id < 2**31:  # ids are never larger (a 32-bit column); PostgreSQL would refuse it
        raise NotFound(_("No such notification."))
    mine = db.session.scalar(select(_notes.c.id).where(_notes.c.id == notification_id, _notes.c.user_id == user.id))
    if mine is None:
        raise NotFound(_("No such notification."))
    db.session.execute(update(_notes).where(_notes.c.id == mine, _notes.c.read_at.is_(None)).values(read_at=now()))
    db.session.commit()


def mark_all_read(*, user):
    """Mark every unread notification of the user read; return how many changed."""
    changed = db.session.execute(
        update(_notes).where(_notes.c.user_id == user.id, _notes.c.read_at.is_(None)).values(read_at=now())
    ).rowcount
    db.session.commit()
    return changed
