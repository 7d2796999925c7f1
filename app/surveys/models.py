"""One row per survey sent for a ticket. The link's token is never stored: only its SHA-256 (`token_hash`, for the
lookup) and the random `nonce` it is derived from with the app's SECRET_KEY (so staff can show the link again)."""
from app.clock import now
from app.extensions import db

STATUSES = ("sent", "completed", "expired", "revoked")


class Survey(db.Model):
    __tablename__ = "surveys"
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"), nullable=False, index=True)
    definition_id = db.Column(db.Integer, db.ForeignKey("process_definitions.id"), nullable=False)  # its form
    nonce = db.Column(db.String(64), nullable=False)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    status = db.Column(db.String(16), nullable=False, default="sent")
    sent_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    expires_at = db.Column(db.DateTime(timezone=True), nullable=False)
    completed_at = db.Column(db.DateTime(timezone=True))
    answers = db.Column(db.JSON)
    comment = db.Column(db.String(1000))
    sent_by = db.Column(db.String(64), nullable=False)  # "system" for the diagram's send
    reason = db.Column(db.Text)  # a supervisor's reason for a manual send
    mailed_to = db.Column(db.String(254))  # the address the invitation was queued for, if any


class SurveyScore(db.Model):
    """One choice answer of a completed survey (e.g. attitude = 5), kept as a row so reports count the answers per
    dimension and value in SQL. Written with the survey's completion; the survey's `answers` stay the record."""
    __tablename__ = "survey_scores"
    id = db.Column(db.Integer, primary_key=True)
    survey_id = db.Column(db.Integer, db.ForeignKey("surveys.id"), nullable=False, index=True)
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id"), nullable=False)
    dimension = db.Column(db.String(64), nullable=False)  # the form field, e.g. "attitude"
    value = db.Column(db.String(64), nullable=False)  # the answer as text, e.g. "5" or "excellent"
    __table_args__ = (db.Index("ix_survey_scores_ticket_dimension", "ticket_id", "dimension", "value"),)
