"""Customer use cases: fuzzy search, create with a generated immutable number, edit (R0-2, R0-8)."""
import re
from datetime import date

from sqlalchemy import select

from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.i18n import _
from app.numbering import customer_number

from . import search_index
from .models import INDUSTRIES, Customer

PHONE = re.compile(r"^1\d{10}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FIELDS = ("name", "industry", "cooperation_start", "contact_person", "phone", "email")


def _text(data, field):
    value = data.get(field)
    return value.strip() if isinstance(value, str) else value


def validate_customer(data):
    """Return (clean values, errors) for customer input; every message names the rule it checks."""
    errors, clean = {}, {}
    name = _text(data, "name")
    if not name or not isinstance(name, str):
        errors["name"] = _("This field is required.")
    elif len(name) > 200:
        errors["name"] = _("Enter at most %(n)s characters.", n=200)
    clean["name"] = name
    industry = _text(data, "industry")
    if not isinstance(industry, str) or industry not in INDUSTRIES:
        errors["industry"] = _("Choose an industry from the list.")
    clean["industry"] = industry
    start = _text(data, "cooperation_start")
    try:
        if not isinstance(start, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", start):
            raise ValueError
        clean["cooperation_start"] = date.fromisoformat(start)
    except ValueError:
        errors["cooperation_start"] = _("Enter a date as YYYY-MM-DD.")
    contact = _text(data, "contact_person")
    if not contact or not isinstance(contact, str):
        errors["contact_person"] = _("This field is required.")
    elif len(contact) > 100:
        errors["contact_person"] = _("Enter at most %(n)s characters.", n=100)
    clean["contact_person"] = contact
    phone = _text(data, "phone")
    if not isinstance(phone, str) or not PHONE.fullmatch(phone):
        errors["phone"] = _("Enter an 11-digit mobile number starting with 1.")
    clean["phone"] = phone
    email = _text(data, "email") or None
    if "email" in data and not isinstance(data["email"], (str, type(None))):
        email = data["email"]
    if email is not None and (not isinstance(email, str) or not EMAIL.fullmatch(email) or len(email) > 200):
        errors["email"] = _("Enter a valid e-mail address.")
    clean["email"] = email
    return clean, errors


def create_customer(*, data):
    """Create a customer with a generated number (e.g. C2026001); raise ValidationFailed per field."""
    clean, errors = validate_customer(data)
    if errors:
        raise ValidationFailed(errors)
    customer = Customer(number=customer_number(), **clean)
    db.session.add(customer)
    db.session.commit()
    return customer


def update_customer(*, number, data):
    """Edit a customer's details; the number never changes."""
    customer = get_customer(number)
    if "number" in data and data["number"] not in (None, customer.number):
        raise ValidationFailed({"number": _("The customer number cannot be changed.")})
    clean, errors = validate_customer(data)
    if errors:
        raise ValidationFailed(errors)
    for field, value in clean.items():
        setattr(customer, field, value)
    db.session.commit()
    return customer


def get_customer(number):
    customer = db.session.scalar(select(Customer).where(Customer.number == number))
    if customer is None:
        raise NotFound(_("No customer with number %(number)s.", number=number))
    return customer


def search_customers(*, q="", limit=50, after=None):
    """Customers matching every word of `q` (split on whitespace), by id; a word matches when number, name,
    phone or contact person contains it (any case).

    Each word is answered from the search index where the database has one (see search_index: trigrams for
    three or more characters, two-character pieces for two); other words compare rows until a page is full.
    """
    ids = search_index.matching_ids(db.session.connection(), q, after=after, limit=limit)
    if not ids:
        return []
    return db.session.scalars(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)).all()


def customer_tickets(customer):
    from app.tickets.models import Ticket

    from sqlalchemy.orm import joinedload

    return db.session.scalars(
        select(Ticket).options(joinedload(Ticket.department), joinedload(Ticket.assignee))
        .where(Ticket.customer_id == customer.id).order_by(Ticket.created_at.desc())
    ).all()
