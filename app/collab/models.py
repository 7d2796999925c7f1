"""Comments on a ticket and the record of its transfers."""
from app.clock import now
from app.extensions import db


class TicketComment(db.Model):
    """A comment in a ticket's comment area (评论区): the people who work or worked on it talk there."""

    __tablename__ = "ticket_comments"
    __table_args__ = (db.Index("ix_ticket_comments_ticket", "ticket_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"), nullable=False)
    author_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    body = db.Column(db.Text, nullable=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)


class TicketTransfer(db.Model):
    """One transfer (转办): from whom and which department, to which department and person, why, expected by when.

    `to_user_id` is who the diagram gave the ticket to (the chosen person, or the receiving department's
    least-loaded handler; NULL when it waits in that department's queue)."""

    __tablename__ = "ticket_transfers"
    __table_args__ = (
        db.Index("ix_ticket_transfers_ticket", "ticket_id", "id"),
        db.Index("ix_ticket_transfers_from_user", "from_user_id", "ticket_id"),
    )
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"), nullable=False)
    from_user_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    from_department_id = db.Column(db.Integer, db.ForeignKey("departments.id"))
    to_department_id = db.Column(db.Integer, db.ForeignKey("departments.id"), nullable=False)
    to_user_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    reason = db.Column(db.String(500), nullable=False)
    expected_at = db.Column(db.DateTime(timezone=True), nullable=False)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
