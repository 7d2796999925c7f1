"""Customer use cases: fuzzy search, create with a generated immutable number, edit (R0-2, R0-8)."""
import re
from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, func, select

from app.clock import now
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.formats import EMAIL
from app.i18n import _
from app.numbering import customer_number

from . import search_index
from .models import INDUSTRIES, Customer

PHONE = re.compile(r"^1[0-9]{10}$")
FIELDS = ("name", "industry", "cooperation_start", "contact_person", "phone", "email")
EARLIEST_START = date(1900, 1, 1)


class DuplicateCustomer(Conflict):
    """A customer with the same name and phone exists; `existing` is its number (the API answers it in the body)."""

    def __init__(self, existing):
        super().__init__(_("Customer %(number)s has the same name and phone. Open it, or confirm that this is "
                           "a different customer.", number=existing.number))
        self.existing = existing
        self.details = {"existing": existing.number}


def today():
    """Today's date where the desk works (the display time zone, Asia/Shanghai by default)."""
    return now().astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def _text(data, field):
    value = data.get(field)
    return value.strip() if isinstance(value, str) else value


def _required_text(data, field, limit, errors):
    """The trimmed text of a required field; a message in `errors` when it is missing, only spaces or too long."""
    value = _text(data, field)
    if not isinstance(value, str) or not value:
        blank = isinstance(data.get(field), str) and data[field] != ""
        errors[field] = _("Must not be empty.") if blank else _("This field is required.")
    elif len(value) > limit:
        errors[field] = _("Enter at most %(n)s characters.", n=limit)
    return value


def validate_customer(data):
    """Return (clean values, errors) for customer input; every message names the rule it checks.

    Text is trimmed before it is checked and saved; a required text that is only spaces is refused.
    """
    errors, clean = {}, {}
    clean["name"] = _required_text(data, "name", 200, errors)
    industry = _text(data, "industry")
    if not isinstance(industry, str) or industry not in INDUSTRIES:
        errors["industry"] = _("Choose an industry from the list.")
    clean["industry"] = industry
    start = _text(data, "cooperation_start")
    try:
        if not isinstance(start, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", start):
            raise ValueError
        clean["cooperation_start"] = date.fromisoformat(start)
    except ValueError:
        errors["cooperation_start"] = _("Enter a date as YYYY-MM-DD.")
    else:
        if not EARLIEST_START <= clean["cooperation_start"] <= today():
            errors["cooperation_start"] = _("Enter a date from %(first)s to today (%(today)s).",
                                            first=EARLIEST_START.isoformat(), today=today().isoformat())
    clean["contact_person"] = _required_text(data, "contact_person", 100, errors)
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


def create_customer(*, data, allow_duplicate=False):
    """Create a customer with a generated number (e.g. C2026001); raise ValidationFailed per field.

    A customer with the same name (ignoring case) and phone raises DuplicateCustomer naming it, unless
    `allow_duplicate` is True (the person confirmed it is a different customer).
    """
    clean, errors = validate_customer(data)
    if not isinstance(allow_duplicate, bool):
        errors["allow_duplicate"] = _("Must be true or false.")
    if errors:
        raise ValidationFailed(errors)
    if not allow_duplicate:
        existing = find_duplicate(name=clean["name"], phone=clean["phone"])
        if existing is not None:
            raise DuplicateCustomer(existing)
    customer = Customer(number=customer_number(), **clean)
    db.session.add(customer)
    db.session.commit()
    return customer


def find_duplicate(*, name, phone):
    """The oldest customer with this phone and name (ignoring case), or None; read through the phone index."""
    return db.session.scalar(
        select(Customer).where(Customer.phone == phone, func.lower(Customer.name) == name.lower())
        .order_by(Customer.id).limit(1)
    )


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
    """Customers (rows, see CUSTOMER_COLUMNS) matching every word of `q` (split on whitespace), by id; a word
    matches when number, name, phone or contact person contains it (any case).

    Each word is answered from the search index where the database has one (see search_index: trigrams for
    three or more characters, two-character pieces for two); other words compare rows until a page is full.
    """
    ids = search_index.matching_ids(db.session.connection(), q, after=after, limit=limit)
    if not ids:
        return []
    return db.session.connection().execute(_CUSTOMERS_BY_IDS, {"ids": ids}).all()


def customer_tickets(customer):
    """The customer's tickets as rows (see tickets.service.TICKET_ROW_COLUMNS), newest first."""
    from app.tickets.service import customer_ticket_rows

    return customer_ticket_rows(customer.id)
