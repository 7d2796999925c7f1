"""Channel use cases: a ticket from the public intake page (channel "online") or a partner (channel "partner"),
and the customer's view of an online ticket's status.

Both channels take the same request (name, company, phone, e-mail, type, urgency, description), find the customer
by phone, else by e-mail, or register a new one, and open the ticket through app.tickets.service.create_ticket, so
its number follows the channel's pattern (TICKET_NUMBER_PATTERNS) and its process starts as any other ticket's.
"""
import hashlib
import hmac
import secrets
from flask import current_app
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.auth.principal import load_principal
from app.clock import now
from app.customers.models import Customer
from app.customers.service import PHONE, today
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.formats import EMAIL
from app.i18n import _
from app.numbering import customer_number
from app.tickets import service as tickets
from app.tickets.models import TICKET_TYPES, URGENCIES, Ticket, TicketEvent

from . import rate_limit
from .models import TicketSecret

FIELDS = ("name", "company", "phone", "email", "type", "urgency", "description")
LIMITS = {"name": 100, "company": 200, "email": 200, "description": tickets.MAX_DESCRIPTION}
INTAKE_USER = ("intake", "在线受理")  # the system user that opens online tickets (username, display name)
SECRET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read back and type
SECRET_GROUPS, SECRET_GROUP_LENGTH = 4, 5  # XXXXX-XXXXX-XXXXX-XXXXX: 100 random bits

_secrets, _tickets, _events = TicketSecret.__table__, Ticket.__table__, TicketEvent.__table__


def system_user(username, display_name):
    """The Principal of a system user (no roles, inactive: it cannot log in), created on first use.

    Tickets a channel opens name it as their creator. Idempotent, also when two processes create it at once."""
    user_id = db.session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        try:
            with db.session.begin_nested():
                user = User(username=username, display_name=display_name, active=False)
                user.set_password(secrets.token_urlsafe(32))  # never told to anyone
                db.session.add(user)
            user_id = user.id
        except IntegrityError:  # another transaction created it first
            user_id = db.session.scalar(select(User.id).where(User.username == username))
    return load_principal(user_id)


def validate_request(data):
    """Return the trimmed values of a channel request; raise ValidationFailed with one message per bad field.

    name, company and description are required (spaces only count as empty); phone is an 11-digit mobile number;
    e-mail is optional; type and urgency are codes of the lists."""
    errors, clean = {}, {}
    for field in FIELDS:
        value = data.get(field)
        if value is not None and not isinstance(value, str):
            errors[field] = _("Must be text.")
            continue
        clean[field] = (value or "").strip()
    for field in ("name", "company", "description"):
        if field in errors:
            continue
        if not clean[field]:
            errors[field] = _("Must not be empty.") if data.get(field) else _("This field is required.")
    if "description" not in errors and len(clean["description"]) < 5:
        errors["description"] = _("Describe the problem objectively and specifically (at least 5 characters).")
    for field, limit in LIMITS.items():
        if field not in errors and len(clean[field]) > limit:
            errors[field] = _("Enter at most %(n)s characters.", n=limit)
    if "phone" not in errors and not PHONE.fullmatch(clean["phone"]):
        errors["phone"] = _("Enter an 11-digit mobile number starting with 1.")
    if "email" not in errors and clean["email"] and not EMAIL.fullmatch(clean["email"]):
        errors["email"] = _("Enter a valid e-mail address.")
    for field, choices in (("type", TICKET_TYPES), ("urgency", URGENCIES)):
        if field not in errors and clean[field] not in choices:
            errors[field] = _("Choose one of the listed options.")
    if errors:
        raise ValidationFailed(errors)
    clean["email"] = clean["email"] or None
    return clean


def find_or_register_customer(clean):
    """The oldest customer with this phone, else with this e-mail (any case), else a new customer (industry
    "other", cooperation from today) registered from the request; the caller's transaction keeps it."""
    customer = db.session.scalar(select(Customer).where(Customer.phone == clean["phone"]).order_by(Customer.id).limit(1))
    if customer is None and clean["email"]:
        customer = db.session.scalar(select(Customer).where(func.lower(Customer.email) == clean["email"].lower())
                                     .order_by(Customer.id).limit(1))
    if customer is None:
        customer = Customer(number=customer_number(), name=clean["company"], industry="other",
                            cooperation_start=today(), contact_person=clean["name"], phone=clean["phone"],
                            email=clean["email"])
        db.session.add(customer)
        db.session.flush()
    return customer


def open_ticket(clean, *, actor, channel):
    """Open the ticket of a validated request for its customer through the normal flow; the caller commits.
    Returns (ticket number, ticket id)."""
    customer = find_or_register_customer(clean)
    number = tickets.create_ticket(data={
        "customer_number": customer.number, "type": clean["type"], "urgency": clean["urgency"],
        "channel": channel, "description": clean["description"]}, actor=actor, commit=False)
    return number, db.session.scalar(select(Ticket.id).where(Ticket.number == number))


# ------------------------------------------------------------------------------------------------ intake

def submit_intake(data, *, address):
    """A customer's request from the public page: one online ticket, opened by the system user "intake".

    Refused with TooManyAttempts when this client address opened INTAKE_MAX_PER_ADDRESS tickets within
    INTAKE_WINDOW_SECONDS (counted in the database, shared by every process; bad input counts nothing).
    Returns (ticket number, secret): the secret is shown once; only its SHA-256 is kept."""
    config = current_app.config
    rate_limit.hit("intake", address, limit=config["INTAKE_MAX_PER_ADDRESS"],
                   window_seconds=config["INTAKE_WINDOW_SECONDS"],
                   message=lambda minutes: _("Too many requests from your network lately. Please try again in "
                                             "%(minutes)s minutes, or call us.", minutes=minutes))
    clean = validate_request(data)
    number, ticket_id = open_ticket(clean, actor=system_user(*INTAKE_USER), channel="online")
    secret = new_secret()
    db.session.execute(insert(_secrets).values(ticket_id=ticket_id, secret_hash=secret_hash(secret)))
    db.session.commit()
    return number, secret


def new_secret():
    """A random secret such as "K7QFM-2XP9R-TAH4W-C3DEF" (100 bits)."""
    chars = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_GROUPS * SECRET_GROUP_LENGTH))
    return "-".join(chars[i:i + SECRET_GROUP_LENGTH] for i in range(0, len(chars), SECRET_GROUP_LENGTH))


def secret_hash(secret):
    """The stored SHA-256 (hex) of a secret as typed: case, spaces and dashes do not matter."""
    normal = "".join(ch for ch in (secret or "").upper() if ch not in " -\t")
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()


_STATUS_ROW = (
    select(_tickets.c.id, _tickets.c.number, _tickets.c.status, _tickets.c.type, _tickets.c.urgency,
           _tickets.c.created_at, _tickets.c.accepted_at, _tickets.c.resolved_at, _tickets.c.closed_at,
           _secrets.c.secret_hash)
    .select_from(_tickets.join(_secrets, _secrets.c.ticket_id == _tickets.c.id))
    .where(_tickets.c.number == bindparam("number"))
)
_STEPS = (
    select(_events.c.at, _events.c.action, _events.c.detail)
    .where(_events.c.ticket_id == bindparam("ticket_id"), _events.c.action.in_(("created", "task_completed")))
    .order_by(_events.c.at, _events.c.id)
)
_UNKNOWN_HASH = "0" * 64  # compared against when the number is unknown, so both answers take the same work


def intake_status(number, secret):
    """What the customer may see of an online ticket: number, type, urgency, status, times and the steps done
    (their names and times; no people, no notes). A wrong secret raises the same NotFound as an unknown number."""
    number = (number or "").strip()[:32]
    row = db.session.connection().execute(_STATUS_ROW, {"number": number}).first() if number else None
    given = secret_hash(secret)
    if not hmac.compare_digest(given, row.secret_hash if row else _UNKNOWN_HASH) or row is None:
        raise NotFound(_("No ticket matches this number and query code. Check both and try again."))
    steps = [{"at": e.at, "action": e.action, "title": (e.detail or {}).get("title") or ""}
             for e in db.session.connection().execute(_STEPS, {"ticket_id": row.id})]
    return {"number": row.number, "status": row.status, "type": row.type, "urgency": row.urgency,
            "created_at": row.created_at, "accepted_at": row.accepted_at, "resolved_at": row.resolved_at,
            "closed_at": row.closed_at, "steps": steps}

