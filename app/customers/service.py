"""Customer use cases: fuzzy search, create with a generated immutable number, edit (R0-2, R0-8)."""
import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, func, select

from app.clock import now
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.fast_statements import FastStatement
from app.formats import EMAIL
from app.i18n import _
from app.numbering import customer_number

from . import processes, search_index
from .models import INDUSTRIES, SERVICE_DATES, Customer, CustomerDocument

PHONE = re.compile(r"^1[0-9]{10}$")
FIELDS = ("name", "industry", "cooperation_start", "contact_person", "phone", "email")
EARLIEST_START = date(1900, 1, 1)
LATEST_SERVICE_DATE = date(2199, 12, 31)  # service dates may lie ahead (a contract's end), not absurdly far


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


def validate_service_dates(data, current=None):
    """(clean dates, errors) for the service dates present in `data` (YYYY-MM-DD or empty to clear): each within
    EARLIEST_START..LATEST_SERVICE_DATE, the contract's end not before its start (`current` gives the dates kept
    when one of the pair is not sent)."""
    errors, clean = {}, {}
    for field in SERVICE_DATES:
        if field not in data:
            continue
        value = data[field]
        if value is None or (isinstance(value, str) and not value.strip()):
            clean[field] = None
            continue
        try:
            if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
                raise ValueError
            clean[field] = date.fromisoformat(value.strip())
        except ValueError:
            errors[field] = _("Enter a date as YYYY-MM-DD.")
            continue
        if not EARLIEST_START <= clean[field] <= LATEST_SERVICE_DATE:
            errors[field] = _("Enter a date from %(first)s to %(last)s.", first=EARLIEST_START.isoformat(),
                              last=LATEST_SERVICE_DATE.isoformat())
    start = clean.get("contract_start", getattr(current, "contract_start", None))
    end = clean.get("contract_end", getattr(current, "contract_end", None))
    if start and end and "contract_start" not in errors and "contract_end" not in errors and end < start:
        errors["contract_end"] = _("The contract cannot end before it starts (%(start)s).", start=start.isoformat())
    return clean, errors


def create_customer(*, data, allow_duplicate=False, onboarding=False, actor=None):
    """Create a customer with a generated number (e.g. C2026001); raise ValidationFailed per field.

    A customer with the same name (ignoring case) and phone raises DuplicateCustomer naming it, unless
    `allow_duplicate` is True (the person confirmed it is a different customer). With `onboarding` the customer
    starts in status "onboarding" and the onboarding process (workflows/onboarding.bpmn) starts for it, acted by
    `actor`; otherwise it is active at once. Service dates given start the care process.
    """
    clean, errors = validate_customer(data)
    dates, date_errors = validate_service_dates(data)
    errors.update(date_errors)
    if not isinstance(allow_duplicate, bool):
        errors["allow_duplicate"] = _("Must be true or false.")
    if not isinstance(onboarding, bool):
        errors["onboarding"] = _("Must be true or false.")
    if errors:
        raise ValidationFailed(errors)
    if not allow_duplicate:
        existing = find_duplicate(name=clean["name"], phone=clean["phone"])
        if existing is not None:
            raise DuplicateCustomer(existing)
    customer = Customer(number=customer_number(), status="onboarding" if onboarding else "active", **clean, **dates)
    db.session.add(customer)
    db.session.flush()
    if onboarding:
        processes.start_onboarding(customer, actor)
    if actor is not None:
        processes.sync_care(customer, [k for k, v in dates.items() if v], actor.username)
    db.session.commit()
    return customer


def find_duplicate(*, name, phone):
    """The oldest customer with this phone and name (ignoring case), or None; read through the phone index."""
    return db.session.scalar(
        select(Customer).where(Customer.phone == phone, func.lower(Customer.name) == name.lower())
        .order_by(Customer.id).limit(1)
    )


def update_customer(*, number, data, actor=None):
    """Edit a customer's details; the number never changes. Service dates sent (absent ones are kept) re-time the
    care process's waiting timers, or start it (see processes.sync_care)."""
    customer = get_customer(number)
    if "number" in data and data["number"] not in (None, customer.number):
        raise ValidationFailed({"number": _("The customer number cannot be changed.")})
    clean, errors = validate_customer(data)
    dates, date_errors = validate_service_dates(data, customer)
    errors.update(date_errors)
    if "status" in data and data["status"] != customer.status:  # sent back as read: accepted unchanged only
        errors["status"] = _("The status is set by the onboarding process; it cannot be edited.")
    if errors:
        raise ValidationFailed(errors)
    for field, value in clean.items():
        setattr(customer, field, value)
    changed = [field for field, value in dates.items() if getattr(customer, field) != value]
    for field in changed:
        setattr(customer, field, dates[field])
    db.session.flush()
    if actor is not None:
        processes.sync_care(customer, changed, actor.username)
    db.session.commit()
    return customer


AGREEMENT_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def upload_agreement(*, number, file, actor):
    """Keep the customer's signed service agreement (PDF, JPEG or PNG, at most MAX_UPLOAD_BYTES, not empty, the
    same limits as ticket attachments); ValidationFailed on `file`. Returns the CustomerDocument."""
    from app.tickets.service import attachment_error, store_upload

    customer = get_customer(number)
    if file is None or not file.filename:
        raise ValidationFailed({"file": _("Choose the file of the signed service agreement.")})
    suffix = Path(file.filename).suffix.lower()
    if suffix not in AGREEMENT_TYPES:
        raise ValidationFailed({"file": _("The agreement must be a PDF, JPEG or PNG file.")})
    problem = attachment_error([file])
    if problem:
        raise ValidationFailed({"file": problem})
    stored, size = store_upload(file)
    document = CustomerDocument(customer_id=customer.id, kind="agreement", filename=file.filename[:255],
                                stored_name=stored, content_type=AGREEMENT_TYPES[suffix], size=size,
                                uploaded_by_id=actor.id)
    db.session.add(document)
    db.session.commit()
    return document


def customer_documents(customer):
    """The customer's documents, newest first."""
    return db.session.scalars(select(CustomerDocument).where(CustomerDocument.customer_id == customer.id)
                              .order_by(CustomerDocument.uploaded_at.desc(), CustomerDocument.id.desc())).all()


def get_document(customer, document_id):
    """(document, path of its file); NotFound for another customer's or an unknown id."""
    document = db.session.get(CustomerDocument, document_id) if 0 < document_id < 2**53 else None
    if document is None or document.customer_id != customer.id:
        raise NotFound(_("No such document."))
    return document, Path(current_app.config["UPLOAD_DIR"]) / document.stored_name


_customers = Customer.__table__
CUSTOMER_COLUMNS = (
    _customers.c.id, _customers.c.number, _customers.c.name, _customers.c.industry, _customers.c.cooperation_start,
    _customers.c.contact_person, _customers.c.phone, _customers.c.email, _customers.c.created_at,
    _customers.c.status, _customers.c.status_reason, _customers.c.delivery_date, _customers.c.purchase_date,
    _customers.c.contract_start, _customers.c.contract_end,
)
_CUSTOMER_ROW = select(*CUSTOMER_COLUMNS).where(_customers.c.number == bindparam("number"))
_CUSTOMERS_BY_IDS = (select(*CUSTOMER_COLUMNS).where(_customers.c.id.in_(bindparam("ids", expanding=True)))
                     .order_by(_customers.c.id))
# a page of the customers whose index row matches an FTS5 phrase (one word of 3+ characters on SQLite): the ids and
# their rows in one statement built once, where the ids and then the rows took two statements through Core
_CUSTOMERS_BY_PHRASE = FastStatement(
    select(*CUSTOMER_COLUMNS).where(_customers.c.id.in_(search_index.FTS_PAGE.scalar_subquery()))
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
    connection = db.session.connection()
    plan = search_index.make_plan(connection, q)
    phrase = search_index.fts_phrase(plan)
    if phrase is not None and limit <= search_index.FEW:  # the usual search: one statement, its page's rows
        return _CUSTOMERS_BY_PHRASE.execute({"phrase": phrase, "after": after or 0, "limit": limit}).all()
    ids = search_index.matching_ids(connection, q, after=after, limit=limit, plan=plan)
    if not ids:
        return []
    return connection.execute(_CUSTOMERS_BY_IDS, {"ids": ids}).all()


def customer_tickets(customer):
    """The customer's tickets as rows (see tickets.service.TICKET_ROW_COLUMNS), newest first."""
    from app.tickets.service import customer_ticket_rows

    return customer_ticket_rows(customer.id)
