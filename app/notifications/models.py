"""A notification for one user, which is also the mail outbox row: one INSERT records the event and its e-mail.

`mail_state` is NULL when no mail is wanted (no SMTP server configured), else pending -> sent, or failed after
the last try, or skipped when the user has no address. A sender claims a pending row by writing its token into
`mail_claimed_by` with a lease (`mail_claimed_until`); a crashed sender's lease runs out and the row is tried again.
"""
from app.clock import now
from app.extensions import db

KINDS = ("assignment", "escalation", "due", "transfer_in", "transfer_out", "collaboration", "survey_result",
         "survey_invitation")


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # the list (newest first) reads one user's range of the first; the bell's unread count (and the
        # unread-only list) one user's unread range of the second
        db.Index("ix_notifications_user_list", "user_id", "id"),
        db.Index("ix_notifications_user_read", "user_id", "read_at", "id"),
        # one notification of a kind per task and user: the due reminder relies on it to never repeat
        db.Index("uq_notifications_task_user_kind", "task_id", "user_id", "kind", unique=True),
        # the sender's range: pending mail in due order; rows without mail (no SMTP server) are not in it
        db.Index("ix_notifications_mail_due", "mail_state", "mail_next_at",
                 sqlite_where=db.text("mail_state IS NOT NULL"), postgresql_where=db.text("mail_state IS NOT NULL")),
    )
    id = db.Column(db.Integer, primary_key=True)
    # NULL for a mail to someone who is not a user (a customer's survey invitation): `mail_to` is its address
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    mail_to = db.Column(db.String(254))
    kind = db.Column(db.String(32), nullable=False)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"))
    ticket_number = db.Column(db.String(32))
    task_id = db.Column(db.String(36))
    title = db.Column(db.String(200), nullable=False, default="")
    detail = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    read_at = db.Column(db.DateTime(timezone=True))
    mail_state = db.Column(db.String(16))
    mail_attempts = db.Column(db.Integer, nullable=False, default=0)
    mail_next_at = db.Column(db.DateTime(timezone=True))
    mail_claimed_by = db.Column(db.String(120))
    mail_claimed_until = db.Column(db.DateTime(timezone=True))
    mail_sent_at = db.Column(db.DateTime(timezone=True))
    mail_error = db.Column(db.Text)
