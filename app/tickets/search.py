"""Ticket search for agents and supervisors (R2-4): by number, customer, created date range and status.

One read path for the page and the API: `parse_filters` turns query arguments into filters (422 naming the field
for bad ones), `search_tickets` returns a page of rows (the columns a list shows), newest first, with keyset
paging on (created_at, id) so every page is read from an index:

* no filter or a date range: `ix_tickets_created` (created_at, id), read backwards;
* status: `ix_tickets_status_created`; customer: `ix_tickets_customer_created`;
* number (exact or prefix): `ix_tickets_number_created` (number, created_at), sorted apart. A prefix that
  matches more than `NUMBER_CAP` tickets (a whole month) is bounded by its creation range (from the few rows of
  `number_ranges` the triggers keep) and checked on the rows the date index reads newest first within that range.

A customer is named by its number (exact) or by words of its number, name, phone or contact person, as in the
customer search. Words that all have two-character pieces are answered from the tickets' customer pieces
(search_grams: the rarest piece's tickets newest first, the others probed), with the dates, status and cursor;
otherwise (digits, single characters, or a number filter too) the tickets of the matching customers are listed
from `ix_tickets_customer_created` when they are few (see `_customer_cap`: the work grows with them), else tickets
are read newest first and their customer checked row by row, rarest word first (the work grows as the share of
matching customers shrinks). On PostgreSQL, when the words' estimates expect few customers, they are found from
the GIN index over their pieces and their tickets' page read in the same statement (`_customers_page`).
"""
import re
from datetime import date, datetime, time, timedelta, timezone
from math import isqrt
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, literal, or_, select, tuple_

from app.auth.models import Department, User
from app.clock import now
from app.customers import search_index
from app.customers.models import Customer
from app.errors import ValidationFailed
from app.extensions import db
from app.fast_statements import FastStatement
from app.i18n import _

from . import number_ranges, search_grams
from .models import STATUSES, Ticket

FILTERS = ("number", "customer", "created_from", "created_to", "status")
NUMBER_CAP = 5000  # the most tickets a number prefix may match before the search reads by date (a day: ~3,000)
CUSTOMER_CAP = 20_000  # the most customers ever listed for customer words (see _customer_cap)
SAMPLE = 500  # the matching customers read first, whose spread tells whether there are too many to list
MAX_TEXT = 200

_t, _c = Ticket.__table__, Customer.__table__
_d, _u = Department.__table__.alias("department"), User.__table__.alias("assignee")
COLUMNS = (
    _t.c.id, _t.c.number, _t.c.status, _t.c.type, _t.c.urgency, _t.c.priority, _t.c.channel, _t.c.description,
    _t.c.current_step, _t.c.created_at, _t.c.response_due_at, _t.c.resolution_due_at, _t.c.next_update_at,
    _t.c.accepted_at, _t.c.resolved_at, _t.c.closed_at, _t.c.escalated_at, _t.c.reopen_count, _t.c.satisfaction,
    _c.c.number.label("customer_number"), _c.c.name.label("customer_name"),
    _d.c.code.label("department"), _d.c.name.label("department_name"), _d.c.name_en.label("department_name_en"),
    _u.c.username.label("assignee"), _u.c.display_name.label("assignee_name"),
)
_FROM = _t.join(_c, _c.c.id == _t.c.customer_id).outerjoin(_d, _d.c.id == _t.c.department_id) \
    .outerjoin(_u, _u.c.id == _t.c.assignee_id)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_search(args):
    """True when the query arguments hold a search filter (the API's GET /tickets then searches every ticket)."""
    return any((args.get(name) or "").strip() for name in FILTERS)


def parse_filters(args):
    """The search filters from query arguments (strings); raise ValidationFailed naming each bad field.

    Empty values are left out. Dates are YYYY-MM-DD in the display time zone, both ends included."""
    errors, filters = {}, {}
    for name in ("number", "customer"):
        value = (args.get(name) or "").replace("\x00", "").strip()
        if len(value) > MAX_TEXT:
            errors[name] = _("Enter at most %(n)s characters.", n=MAX_TEXT)
        elif value:
            filters[name] = value
    for name in ("created_from", "created_to"):
        value = (args.get(name) or "").strip()
        if not value:
            continue
        try:
            if not _DATE.fullmatch(value):
                raise ValueError
            filters[name] = date.fromisoformat(value)
        except ValueError:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
    if "created_from" in filters and "created_to" in filters and filters["created_to"] < filters["created_from"]:
        errors["created_to"] = _("Must not be before the start date.")
    status = (args.get("status") or "").strip()
    if status and status not in STATUSES:
        errors["status"] = _("Choose one of the listed options.")
    elif status:
        filters["status"] = status
    if errors:
        raise ValidationFailed(errors)
    return filters


def search_tickets(*, number=None, customer=None, created_from=None, created_to=None, status=None, overdue=False,
                   limit=50, after=None):
    """A page of tickets matching every filter given, newest first (created_at, then id), as rows of COLUMNS.

    `number`: the ticket number or its beginning (any case); `customer`: see the module docstring; the dates
    (datetime.date) bound the creation day in the display time zone, both included; `overdue` keeps open tickets
    past a deadline; `after`: the id of the last ticket of the previous page."""
    connection = db.session.connection()
    conditions, listed = [], False  # listed: a condition names the candidate tickets (by id or customer ids)
    checked = False  # each ticket's customer is checked for the customer words
    by_number = False  # the candidates are listed by their numbers (a prefix of up to NUMBER_CAP tickets)
    if number:
        condition, by_number = _number_condition(connection, number.strip().upper())
        listed = by_number
        conditions.append(condition)
    start, end = _day_start(created_from), _day_start(created_to, days=1)
    if start is not None:
        conditions.append(_t.c.created_at >= start)
    if end is not None:
        conditions.append(_t.c.created_at < end)
    checks = ([_t.c.status == status] if status else []) + ([_overdue()] if overdue else [])
    conditions += checks
    before = None
    if after:
        stamp = connection.execute(select(_t.c.created_at).where(_t.c.id == after)).scalar()
        if stamp is None:
            return []
        before = (literal(stamp, _t.c.created_at.type), literal(after))
        conditions.append(tuple_(_t.c.created_at, _t.c.id) < tuple_(*before))
    customer_id = _customer_number(connection, customer) if customer else None
    if customer and not number and customer_id is None:
        ids = search_grams.page_ids(connection, customer, start=start, end=end, before=before,
                                    ticket_conditions=checks, limit=limit)
        if ids is not None:
            return connection.execute(_rows_of(ids)).all() if ids else []
    if customer:
        condition, how = _customer_condition(connection, customer, limit, customer_id)
        if how == "gin":  # the matching customers' query, their cap and the words' plan
            customers, cap, plan = condition
            rows = _customers_page(connection, customers, cap, conditions, limit)
            if rows is not None:
                return rows
            how, condition = "checked", and_(*search_index.customer_checks(connection, customer, _t.c.customer_id,
                                                                           plan=plan))
        conditions.append(condition)
        listed, checked = listed or how == "listed", how == "checked"
    newest = (_t.c.created_at.desc(), _t.c.id.desc())
    if listed and (by_number or connection.dialect.name == "postgresql"):
        # the candidates first, sorted apart: given ORDER BY .. LIMIT on the tickets, the database reads the date
        # index backwards and tests each ticket against the list (most of the table for an old day)
        candidates = select(_t.c.id, _t.c.created_at).where(*conditions).cte("candidates").prefix_with("MATERIALIZED")
        return connection.execute(_page_of(candidates, limit)).all()
    if listed or (checked and connection.dialect.name == "postgresql"):
        # SQLite reads a list of customers' tickets from their index, where they are sorted by creation apart: with
        # the rows' other columns, it reads every listed ticket's row from the table for the sort (4 ms for 1,250).
        # Checked customers: PostgreSQL plans the checks of a bare id query in a third of the time, and without
        # workers: a parallel read of the date index runs ahead of the LIMIT (上海 集团 at a million: 21 to 7 ms)
        if checked and connection.dialect.name == "postgresql":  # for this (reading) transaction
            connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        page = (select(_t.c.id).where(*conditions).order_by(*newest).limit(limit)  # planned alone, as an id query
                .cte("page").prefix_with("MATERIALIZED"))
        return connection.execute(_rows_of(page)).all()
    query = select(*COLUMNS).select_from(_FROM).where(*conditions)
    return connection.execute(query.order_by(*newest).limit(limit)).all()


def _page_of(candidates, limit):
    """SELECT of the rows (COLUMNS) of the newest `limit` of `candidates` (a CTE of id and created_at), newest first:
    the page sorted from the candidates alone, then only its rows read and joined, in one statement."""
    page = (select(candidates.c.id).order_by(candidates.c.created_at.desc(), candidates.c.id.desc()).limit(limit)
            .cte("page").prefix_with("MATERIALIZED"))
    return _rows_of(page)


def _rows_of(page):
    """SELECT of the rows (COLUMNS) of the tickets in `page` (a CTE of ids, or a list), newest first."""
    ids = page if isinstance(page, list) else select(page.c.id)
    return select(*COLUMNS).select_from(_FROM).where(_t.c.id.in_(ids)).order_by(_t.c.created_at.desc(), _t.c.id.desc())


def _customers_page(connection, customers, cap, conditions, limit):
    """The page (rows of COLUMNS, newest first) of the tickets of `customers` (a SELECT of their ids) that meet
    `conditions`, in one statement, each customer's tickets read from ix_tickets_customer_created; None when more
    than `cap` customers match (checking each ticket's customer then costs less).

    One statement instead of the ids through Python and back: PostgreSQL plans `customer_id = ANY (1,250 ids)`
    estimating each id (1.5 ms), where the join is planned from the matching customers' estimated count."""
    matching = customers.limit(cap + 1).cte("matching").prefix_with("MATERIALIZED")
    count = select(func.count()).select_from(matching).scalar_subquery()
    candidates = (select(_t.c.id, _t.c.created_at).select_from(matching.join(_t, _t.c.customer_id == matching.c.id))
                  .where(count <= cap, *conditions).cte("candidates").prefix_with("MATERIALIZED"))
    rows = connection.execute(_page_of(candidates, limit)).all()
    if rows or connection.execute(select(count)).scalar() <= cap:
        return rows
    return None


def _number_condition(connection, prefix):
    """(condition, listed): tickets whose number begins with `prefix`, by their numbers when few (listed), else the
    prefix within its creation range (read from ix_tickets_number_created alone), so the newest-first read of the
    date index starts at the prefix's newest ticket and ends at its oldest."""
    exact = func.substr(_t.c.number, 1, len(prefix)) == prefix
    in_range = and_(number_ranges.prefix_range(_t.c.number, prefix), exact)
    counted = select(func.count()).select_from(select(_t.c.id).where(in_range).limit(NUMBER_CAP + 1).subquery())
    if connection.execute(counted).scalar() <= NUMBER_CAP:  # listed from ix_tickets_number_created, which holds
        return in_range, True  # (number, created_at, id): a day's 3,000 tickets sorted without reading their rows
    oldest, newest = number_ranges.creation_range(connection, prefix)
    if oldest is None:  # no bucket row (the triggers dropped): from the index, every number of the prefix read
        # coalesce(x, x): a plain min/max over created_at makes PostgreSQL walk the date index from one end testing
        # each row (0.1 s for an old month); over the expression it reads the (number, created_at) index range alone
        created = func.coalesce(_t.c.created_at, _t.c.created_at)
        oldest, newest = connection.execute(select(func.min(created), func.max(created)).where(in_range)).one()
    # the number checked on each row only: given the number's range too, PostgreSQL intersects both indexes and
    # sorts the whole month (0.4 s at a million tickets) instead of reading the date index backwards
    return and_(exact, _t.c.created_at >= oldest, _t.c.created_at <= newest), False


def _customer_condition(connection, term, limit, found=None):
    """(condition, how): tickets of the customer with number `term` ("number": read from its index in order),
    else of the customers the customer search finds for it: "listed" when at most `_customer_cap`, else each
    ticket's customer "checked", newest ticket first.

    The matching ids are read up to the cap at once when the words' estimates (see search_index.Plan, made with
    several ways in) expect fewer than half the cap; else first SAMPLE of them, and the rest only when how far
    those spread does not already show many more (twice the cap): 有限 上海 at a million customers matches
    37,500. The customers are counted (their highest id) only when the cap matters."""
    if found is not None:  # the customer whose number the term is (see _customer_number)
        return _t.c.customer_id == found, "number"
    plan = search_index.make_plan(connection, term)  # estimates (and the customers' top id) with several ways in
    top = plan.top if plan.values else None
    cap = None if top is None else _customer_cap(top, limit)
    few = cap is not None and top * plan.share(plan.terms, driven=False) <= cap / 2  # expected: read them all
    read = cap + 1 if few else SAMPLE
    gin = search_index.gin_query(connection, plan) if few else None
    if gin is not None:  # PostgreSQL: their tickets' page in one statement (see _customers_page)
        return (gin.query, cap, plan), "gin"
    ids = search_index.matching_ids(connection, term, limit=read, plan=plan)
    if len(ids) < read and len(ids) <= min(limit // 2, CUSTOMER_CAP):  # all, under any cap (see _customer_cap)
        return search_index.among(connection, _t.c.customer_id, ids), "listed"
    if top is None:
        top = _TOP.scalar() or 0
        cap = _customer_cap(top, limit)
    many = False
    if not few and len(ids) == SAMPLE <= cap:  # a sample: many more when its ids spread over under half of them
        many = SAMPLE * top / ids[-1] > 2 * cap
        ids += [] if many else search_index.matching_ids(connection, term, after=ids[-1], limit=cap + 1 - SAMPLE,
                                                         plan=plan)
    if len(ids) <= cap and not many:
        return search_index.among(connection, _t.c.customer_id, ids), "listed"
    return and_(*search_index.customer_checks(connection, term, _t.c.customer_id, plan=plan)), "checked"


def _customer_number(connection, term):
    """The id of the customer whose number is `term`, else None."""
    # a customer number is one ASCII word (C + year + counter, numbering.customer_number): other terms skip the probe
    if not (term.isascii() and len(search_index.words(term)) == 1):
        return None
    return connection.execute(select(_c.c.id).where(_c.c.number == term)).scalar()


_TOP = FastStatement(select(func.max(_c.c.id)))  # about how many customers there are


def _customer_cap(customers, limit):
    """The most matching customers whose tickets are listed, for `customers` in all (about) and a page of `limit`.

    Listing costs about the same per matching customer as checking costs per ticket read, and a page of checks
    reads about limit x customers / matches tickets: the two meet near the square root of limit x customers
    (at a million customers and 50 a page, 5,000: at 2,500 customers listing took 3 ms, checking 44 ms). As there
    are at least as many customers as matches, it never falls below limit / 2 matches (unless CUSTOMER_CAP)."""
    return min(CUSTOMER_CAP, isqrt(limit * max(customers, 1) // 2))


def _day_start(day, days=0):
    """UTC start of `day` (+ `days`) in the display time zone; None for no day or one beyond the calendar."""
    if day is None:
        return None
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    try:
        return datetime.combine(day + timedelta(days=days), time(), tzinfo=zone).astimezone(timezone.utc)
    except OverflowError:
        return None


def _overdue():
    stamp = now()
    return and_(_t.c.closed_at.is_(None), _t.c.status != "closed", or_(
        and_(_t.c.accepted_at.is_(None), _t.c.response_due_at < stamp),
        and_(_t.c.resolved_at.is_(None), _t.c.resolution_due_at < stamp),
        _t.c.next_update_at < stamp,
    ))
