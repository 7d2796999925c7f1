"""Partner API keys (R3-1): an admin creates, lists and revokes them; a partner opens and lists its tickets.

A key is "pk_" + 43 random url-safe characters, shown once at creation; the database keeps its SHA-256 and its
first characters only. Every request looks the key up anew (no cache), so a revoked key stops at once.
"""
import hashlib
import re
import secrets

from sqlalchemy import bindparam, select, update

from app.auth import access
from app.auth.models import User
from app.auth.principal import load_principal
from app.clock import now
from app.customers.models import Customer
from app.errors import NotFound, Unauthorized, ValidationFailed
from app.extensions import db
from app.i18n import _
from app.tickets.models import Ticket

from .models import PartnerKey
from .service import open_ticket, system_user, validate_request

ADMINS = ("admin",)
CODE = re.compile(r"[a-z0-9][a-z0-9_-]{1,31}")
PREFIX_LENGTH = 10
USER_PREFIX = "partner:"  # the partner's system user is partner:<code>

_keys, _tickets, _customers = PartnerKey.__table__, Ticket.__table__, Customer.__table__
_users = User.__table__
KEY_COLUMNS = (_keys.c.id, _keys.c.partner, _users.c.display_name.label("name"), _keys.c.prefix,
               _keys.c.created_at, _keys.c.created_by, _keys.c.revoked_at, _keys.c.revoked_by)
_KEY_ROWS = select(*KEY_COLUMNS).select_from(_keys.join(_users, _users.c.id == _keys.c.user_id))
_ACTIVE_KEY = select(_keys.c.user_id).where(_keys.c.key_hash == bindparam("key_hash"), _keys.c.revoked_at.is_(None))
PARTNER_TICKET_COLUMNS = (
    _tickets.c.id, _tickets.c.number, _tickets.c.status, _tickets.c.type, _tickets.c.urgency, _tickets.c.channel,
    _tickets.c.created_at, _tickets.c.accepted_at, _tickets.c.resolved_at, _tickets.c.closed_at,
    _customers.c.number.label("customer_number"), _customers.c.name.label("customer_name"),
)
_PARTNER_TICKETS = (
    select(*PARTNER_TICKET_COLUMNS).select_from(_tickets.join(_customers, _customers.c.id == _tickets.c.customer_id))
    .where(_tickets.c.created_by_id == bindparam("user_id")).order_by(_tickets.c.id.desc())
)


def key_hash(key):
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(*, actor, partner, name):
    """A new key for partner `partner` (a code such as "acme"), whose display name becomes `name`; admins only.
    Returns (the key's row, the key): the key is not stored and cannot be shown again."""
    access.require_role(actor, ADMINS)
    errors = {}
    code = partner.strip().lower() if isinstance(partner, str) else None
    if not code:
        errors["partner"] = _("This field is required.")
    elif not CODE.fullmatch(code):
        errors["partner"] = _("Use 2 to 32 lowercase letters, digits, - or _, starting with a letter or digit.")
    name = name.strip() if isinstance(name, str) else None
    if not name:
        errors["name"] = _("This field is required.")
    elif len(name) > 100:
        errors["name"] = _("Enter at most %(n)s characters.", n=100)
    if errors:
        raise ValidationFailed(errors)
    user = system_user(USER_PREFIX + code, name)
    if user.display_name != name:
        db.session.execute(update(_users).where(_users.c.id == user.id).values(display_name=name))
    key = "pk_" + secrets.token_urlsafe(32)
    row = PartnerKey(partner=code, user_id=user.id, prefix=key[:PREFIX_LENGTH], key_hash=key_hash(key),
                     created_at=now(), created_by=actor.username)
    db.session.add(row)
    db.session.commit()
    return key_row(row.id), key


def key_row(key_id):
    row = db.session.connection().execute(_KEY_ROWS.where(_keys.c.id == key_id)).first()
    if row is None:
        raise NotFound(_("No such partner key."))
    return row


def list_keys(*, actor):
    """Every key (rows of KEY_COLUMNS), active ones first, newest first; admins only."""
    access.require_role(actor, ADMINS)
    return db.session.connection().execute(
        _KEY_ROWS.order_by(_keys.c.revoked_at.is_not(None), _keys.c.id.desc())).all()


def revoke_key(*, actor, key_id):
    """Revoke a key at once (a key revoked already stays as it was); admins only. Returns the key's row."""
    access.require_role(actor, ADMINS)
    key_row(key_id)
    db.session.execute(update(_keys).where(_keys.c.id == key_id, _keys.c.revoked_at.is_(None))
                       .values(revoked_at=now(), revoked_by=actor.username))
    db.session.commit()
    return key_row(key_id)


def partner_for(key):
    """The partner's Principal for an active key; Unauthorized for a missing, unknown or revoked one."""
    if not isinstance(key, str) or not key.strip():
        raise Unauthorized(_("Send your partner key in the X-Partner-Key header."))
    user_id = db.session.connection().execute(_ACTIVE_KEY, {"key_hash": key_hash(key.strip())}).scalar()
    if user_id is None:
        raise Unauthorized(_("This partner key is unknown or revoked."))
    return load_principal(user_id)


def create_partner_ticket(*, partner, data):
    """A partner's request as a ticket of channel "partner" (same fields and rules as the intake page); returns
    the ticket's row (PARTNER_TICKET_COLUMNS)."""
    clean = validate_request(data)
    _number, ticket_id = open_ticket(clean, actor=partner, channel="partner")
    db.session.commit()
    return db.session.connection().execute(_PARTNER_TICKETS.where(_tickets.c.id == ticket_id),
                                          {"user_id": partner.id}).one()


def partner_tickets(*, partner, limit, after=None):
    """The tickets the partner opened (through any of its keys), newest first, `after` a ticket id (cursor)."""
    query = _PARTNER_TICKETS
    if after is not None:
        query = query.where(_tickets.c.id < after)
    return db.session.connection().execute(query.limit(limit), {"user_id": partner.id}).all()
