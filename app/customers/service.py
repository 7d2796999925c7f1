"""Customer use cases: fuzzy search, create with a generated immutable number, edit (R0-2, R0-8)."""
import re
from datetime import date

from sqlalchemy import bindparam, or_, select

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


_customers = Customer.__table__
CUSTOMER_COLUMNS = (
    _customers.c.id, _customers.c.number, _customers.c.name, _customers.c.industry, _customers.c.cooperation_start,
    _customers.c.contact_person, _customers.c.phone, _customers.c.email, _customers.c.created_at,
)
_CUSTOMER_ROW = select(*CUSTOMER_COLUMNS).where(_customers.c.number == bindparam("number"))
_CUSTOMERS_BY_IDS = (select(*CUSTOMER_COLUMNS).where(_customers.c.id.in_(bindparam("ids", expanding=True)))
                     .order_by(_customers.c.id))


def customer_row(number):
    """The customer as a row (see CUSTOMER_COLUMNS), or raise NotFound."""
    row = db.session.connection().execute(_CUSTOMER_ROW, {"number": number}).first()
    if row is None:
        raise NotFound(_("No customer with number %(number)s.", number=number))
    return row


def get_customer(number):
    customer = db.session.scalar(select(Customer).where(Customer.number == number))
    if customer is None:
        raise NotFound(_("No customer with number %(number)s.", number=number))
    return customer


def search_customers(*, q="", limit=50, after=None):
    """Customers (rows, see CUSTOMER_COLUMNS) whose number, name, phone or contact person contains `q`
    (case-insensitive), by id.

    Terms of three or more characters are answered from the search index where the database has one
    (see search_index); shorter ones, and databases without it, compare every row until a page is full.
    """
    query = select(*CUSTOMER_COLUMNS)
    q = (q or "").strip().replace("\x00", "")
    connection = db.session.connection()
    if q and search_index.usable(connection, q):
        ids = search_index.matching_ids(connection, q, after=after, limit=limit)
        return connection.execute(_CUSTOMERS_BY_IDS, {"ids": ids}).all() if ids else []
    if q:
        pattern = f"%{_escape_like(q)}%"
        query = query.where(or_(
            Customer.number.ilike(pattern, escape="\\"),
            Customer.name.ilike(pattern, escape="\\"),
            Customer.phone.ilike(pattern, escape="\\"),
            Customer.contact_person.ilike(pattern, escape="\\"),
        ))
    if after:
        query = query.where(Customer.id > after)
    return connection.execute(query.order_by(_customers.c.id).limit(limit)).all()


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def customer_tickets(customer):
    """The customer's tickets as rows (see tickets.service.TICKET_ROW_COLUMNS), newest first."""
    from app.tickets.service import customer_ticket_rows

    return customer_ticket_rows(customer.id)
