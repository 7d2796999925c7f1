"""Tables of the channels: rate counters, the customer's status secret of an online ticket, partner API keys."""
from app.clock import now
from app.extensions import db
from app.tickets.models import Ticket

# a partner lists its own tickets (created by its system user), newest first
db.Index("ix_tickets_created_by", Ticket.__table__.c.created_by_id, Ticket.__table__.c.id)


class RateCounter(db.Model):
    """Hits of one key (e.g. "intake:<client address>") in the window that began with the first of them.

    Kept in the database so every app process shares the counts (app/channels/rate_limit.py)."""

    __tablename__ = "rate_counters"
    key = db.Column(db.String(200), primary_key=True)
    hits = db.Column(db.Integer, nullable=False)
    window_start = db.Column(db.DateTime(timezone=True), nullable=False, index=True)


class TicketSecret(db.Model):
    """The SHA-256 of the secret a customer follows an online ticket with; the secret itself is never stored."""

    __tablename__ = "ticket_secrets"
    ticket_id = db.Column(db.Integer, db.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    secret_hash = db.Column(db.String(64), nullable=False)


class PartnerKey(db.Model):
    """An API key of a partner: only its SHA-256 and its first characters (to tell keys apart) are stored.

    The partner acts as its system user `partner:<code>` (inactive, cannot log in), so tickets it opens name it
    as their creator, and all keys of one partner see the same tickets."""

    __tablename__ = "partner_keys"
    id = db.Column(db.Integer, primary_key=True)
    partner = db.Column(db.String(32), nullable=False, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    prefix = db.Column(db.String(16), nullable=False)
    key_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    created_by = db.Column(db.String(64), nullable=False)
    revoked_at = db.Column(db.DateTime(timezone=True))
    revoked_by = db.Column(db.String(64))
