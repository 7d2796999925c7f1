"""Customers as Excel in the column layout of the seed's customer table (客户编号, 客户名称, 行业类型, 合作起始时间,
联系人, 联系方式, plus 邮箱): export of every customer, and an import that checks every row with the customer
service's own validation and saves all rows or none.

Import rules: a row whose 客户编号 is empty creates a customer (the number is generated); a row with a number
updates that customer (the number itself never changes). Industry may be its code or its Chinese or English
name; the date may be a date cell or text YYYY-MM-DD. Every problem is reported as (row, field, message).
"""
import io
from datetime import date, datetime
from zipfile import BadZipFile

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.customers import service as customers
from app.customers.models import INDUSTRIES, Customer
from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import _
from app.numbering import customer_number

# (field, seed column title, English title)
COLUMNS = (
    ("number", "客户编号", "Customer number"),
    ("name", "客户名称", "Customer name"),
    ("industry", "行业类型", "Industry"),
    ("cooperation_start", "合作起始时间", "Cooperation start"),
    ("contact_person", "联系人", "Contact person"),
    ("phone", "联系方式", "Phone"),
    ("email", "邮箱", "E-mail"),
)
MAX_ROWS = 50_000  # one import; larger files are split by the user
BATCH = 2000
_c = Customer.__table__


def header():
    return [zh for _field, zh, _en in COLUMNS]


def iter_customer_rows():
    """Every customer in the seed's layout, fetched in keyset batches (industry as its Chinese name)."""
    after = 0
    while True:
        rows = db.session.connection().execute(
            select(_c.c.id, _c.c.number, _c.c.name, _c.c.industry, _c.c.cooperation_start, _c.c.contact_person,
                   _c.c.phone, _c.c.email).where(_c.c.id > after).order_by(_c.c.id).limit(BATCH)).all()
        for r in rows:
            industry = INDUSTRIES.get(r.industry, (r.industry,))[0]
            yield [r.number, r.name, industry, r.cooperation_start.isoformat(), r.contact_person, r.phone, r.email or ""]
        if len(rows) < BATCH:
            return
        after = rows[-1].id


def _industry_code(value):
    text = value.strip() if isinstance(value, str) else value
    if text in INDUSTRIES:
        return text
    for code, (zh, en) in INDUSTRIES.items():
        if text in (zh, en) or (isinstance(text, str) and text.lower() == en.lower()):
            return code
    return text if isinstance(text, str) else ""


def _text(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_rows(stream):
    """[(row number, {field: text})] of the uploaded workbook's first sheet; ValidationFailed for a bad file."""
    try:
        workbook = load_workbook(io.BytesIO(stream.read()), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError):
        raise ValidationFailed({"file": _("The file is not an Excel workbook (.xlsx).")}) from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    titles = [(_text(v).strip()) for v in (next(rows, None) or ())]
    positions = {}
    for field, zh, en in COLUMNS:
        for i, title in enumerate(titles):
            if title in (zh, en):
                positions[field] = i
    missing = [zh for field, zh, _en in COLUMNS if field not in positions and field != "email"]
    if missing:
        workbook.close()
        raise ValidationFailed({"file": _("The first row must hold the columns %(columns)s; missing: %(missing)s.",
                                          columns="、".join(header()), missing="、".join(missing))})
    found = []
    for number, values in enumerate(rows, start=2):
        if values is None or all(v is None or _text(v).strip() == "" for v in values):
            continue
        if len(found) >= MAX_ROWS:
            workbook.close()
            raise ValidationFailed({"file": _("At most %(n)s rows per import.", n=MAX_ROWS)})
        found.append((number, {field: _text(values[i]) if i < len(values) else "" for field, i in positions.items()}))
    workbook.close()
    return found


def import_customers(stream):
    """Import the customers of an uploaded .xlsx in one transaction: all rows or none.

    Return {"created": n, "updated": n}. When any row breaks a rule raise ValidationFailed whose errors map
    "row N: field" to the message (validate_customer's), and save nothing.
    """
    rows = _read_rows(stream)
    if not rows:
        raise ValidationFailed({"file": _("The workbook has no customer rows.")})
    errors, plans, seen = {}, [], {}
    for number, data in rows:
        data["industry"] = _industry_code(data.get("industry", ""))
        clean, row_errors = customers.validate_customer(data)
        existing = None
        if data.get("number", "").strip():
            existing = db.session.scalar(select(Customer).where(Customer.number == data["number"].strip()))
            if existing is None:
                row_errors["number"] = _("No customer with number %(number)s.", number=data["number"].strip())
        elif not row_errors:
            key = (clean["name"].lower(), clean["phone"])
            duplicate = customers.find_duplicate(name=clean["name"], phone=clean["phone"])
            if duplicate is not None:
                row_errors["name"] = _("Customer %(number)s has the same name and phone.", number=duplicate.number)
            elif key in seen:
                row_errors["name"] = _("Row %(row)s has the same name and phone.", row=seen[key])
            seen.setdefault(key, number)
        for field, message in row_errors.items():
            errors[f"row {number}: {dict((f, zh) for f, zh, _en in COLUMNS)[field]}"] = message
        plans.append((existing, clean))
    if errors:
        db.session.rollback()
        raise ValidationFailed(errors)
    created = updated = 0
    try:
        for existing, clean in plans:
            if existing is None:
                db.session.add(Customer(number=customer_number(), **clean))
                created += 1
            else:
                for field, value in clean.items():
                    setattr(existing, field, value)
                updated += 1
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return {"created": created, "updated": updated}


def customer_count():
    return db.session.scalar(select(func.count()).select_from(_c))
