"""The inbox: which human tasks a person may see and work, claiming, and completing a task through its form."""
import json
from types import SimpleNamespace

from sqlalchemy import (String, Text, and_, bindparam, case, cast, func, insert, literal_column, or_, select,
                        type_coerce, union_all, update)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import joinedload

from app.auth.models import User
from app.clock import now
from app.customers.models import Customer
from app.engine import ProcessInstance
from app.errors import Conflict, Forbidden, NotFound
from app.extensions import db
from app.fast_statements import FastStatement
from app.forms_schema import has_references, validate_submission
from app.i18n import _
from app.tickets.flow import TicketHead, apply_step, engine
from app.tickets.models import Ticket, TicketEvent

from .models import HumanTask, is_open

_tasks = HumanTask.__table__

# The completion path reads and closes the task row with statements built once (see engine.runtime): one read
# brings the task, what the step needs of its ticket, and the instance version its engine step starts from.
_tickets, _instances = Ticket.__table__, ProcessInstance.__table__
# a task of a customer process (onboarding, care) names its customer instead of a ticket
_task_customers = Customer.__table__.alias("task_customer")
_READ_TASK = FastStatement(
    select(
        _tasks.c.id, _tasks.c.instance_id, _tasks.c.ticket_id, _tasks.c.name, _tasks.c.title, _tasks.c.role,
        _tasks.c.department_id, _tasks.c.assignee_id, _tasks.c.form, _tasks.c.state,
        _tickets.c.number.label("ticket_number"), _tickets.c.accepted_at, _tickets.c.first_responded_at,
        _tickets.c.status.label("ticket_status"), _tickets.c.created_at.label("ticket_created_at"),
        _tickets.c.owner_id.label("ticket_owner_id"), _instances.c.version.label("instance_version"),
        _tasks.c.customer_id, _task_customers.c.number.label("task_customer_number"),
    )
    .select_from(_tasks.outerjoin(_tickets, _tickets.c.id == _tasks.c.ticket_id)
                 .outerjoin(_task_customers, _task_customers.c.id == _tasks.c.customer_id)
                 .join(_instances, _instances.c.id == _tasks.c.instance_id))
    .where(_tasks.c.id == bindparam("task_id"))
)
_CLOSE_TASK = FastStatement(update(_tasks).where(_tasks.c.id == bindparam("task_id"), _tasks.c.state == "open"))
_CLAIM_TASK = FastStatement(update(_tasks).where(_tasks.c.id == bindparam("task_id"), _tasks.c.assignee_id.is_(None),
                                                _tasks.c.state == "open"))
_INSERT_EVENT = FastStatement(insert(TicketEvent.__table__))


# what task lists show of each task, loaded with it (no query per row)
_LIST_LOADS = (joinedload(HumanTask.ticket).joinedload(Ticket.customer), joinedload(HumanTask.assignee))


# What the API shows of a task, as one row: the task's columns, its ticket's number and its assignee's username.
_assignees = User.__table__.alias("assignee")
_TASK_ROW_COLUMNS = (
    _tasks.c.id, _tasks.c.instance_id, _tasks.c.ticket_id, _tasks.c.name, _tasks.c.title, _tasks.c.role,
    _tasks.c.department_id, _tasks.c.assignee_id, _tasks.c.form, _tasks.c.state, _tasks.c.created_at,
    _tasks.c.due_at, _tickets.c.number.label("ticket_number"), _assignees.c.username.label("assignee_username"),
    _task_customers.c.number.label("task_customer_number"),
)
TASK_ROW_KEYS = tuple(column.key for column in _TASK_ROW_COLUMNS)  # every task row begins with these columns


def _with_task_row(joined):
    """`joined` (human_tasks, or what joins it) with what a task row shows: its ticket, assignee and customer."""
    return (joined.outerjoin(_tickets, _tickets.c.id == _tasks.c.ticket_id)
            .outerjoin(_assignees, _assignees.c.id == _tasks.c.assignee_id)
            .outerjoin(_task_customers, _task_customers.c.id == _tasks.c.customer_id))


_TASK_ROW_FROM = _with_task_row(_tasks)
_TASK_ROW = FastStatement(
    select(*_TASK_ROW_COLUMNS).select_from(_TASK_ROW_FROM).where(_tasks.c.id == bindparam("task_id")))
# the detail also brings the data its form shows (stored when the task opened): the read never touches the engine
_TASK_DETAIL_ROW = FastStatement(select(*_TASK_ROW_COLUMNS, _tasks.c.form_data).select_from(_TASK_ROW_FROM)
                                 .where(_tasks.c.id == bindparam("task_id")))
# lists also show the customer's name, the ticket's urgency and the assignee's display name
_customers = Customer.__table__
_LIST_ROW_COLUMNS = _TASK_ROW_COLUMNS + (
    func.coalesce(_customers.c.name, _task_customers.c.name).label("customer_name"),
    _tickets.c.urgency.label("ticket_urgency"),
    _assignees.c.display_name.label("assignee_display_name"),
)


def _sources(user):
    """The conditions an inbox is the union of: assigned to the user, and the unclaimed queues of their roles."""
    sources = [_tasks.c.assignee_id == bindparam("user_id")]
    for role in user.role_codes:
        unclaimed = and_(_tasks.c.role == role, _tasks.c.assignee_id.is_(None))
        if user.has_role("supervisor"):
            sources.append(unclaimed)  # supervisors see every department's queue
            continue
        sources.append(and_(unclaimed, _tasks.c.department_id.is_(None)))
        if user.department_id is not None:
            sources.append(and_(unclaimed, _tasks.c.department_id == bindparam("department_id")))
    return sources


_INBOX_STATEMENTS = {}  # (roles, has department, paged, dialect) -> the inbox's FastStatement, built once


def _inbox_statement(user, paged, dialect):
    """One statement: each source read in created_at order from its own index (a page each), merged, joined."""
    shape = (tuple(user.role_codes), user.department_id is not None, paged, dialect)
    statement = _INBOX_STATEMENTS.get(shape)
    if statement is not None:
        return statement
    pages = _inbox_pages(user, paged, dialect)
    statement = FastStatement(
        select(*_LIST_ROW_COLUMNS)
        .select_from(_page_rows_from(pages, dialect).outerjoin(_customers, _customers.c.id == _tickets.c.customer_id))
        .order_by(pages.c.created_at, pages.c.id)
        .limit(bindparam("limit"))
    )
    if len(_INBOX_STATEMENTS) > 256:
        _INBOX_STATEMENTS.clear()
    _INBOX_STATEMENTS[shape] = statement
    return statement


# On SQLite a task's row is found again from its rowid, which every index entry carries: through the string id
# each row costs one more B-tree descent in the id's own index, at random places (50 rows after another process's
# write emptied the page cache: the inbox statement took 620 instead of 290 us)
_ROWID = literal_column("human_tasks.rowid")


def _inbox_pages(user, paged, dialect):
    """The ids, created_at (and on SQLite the rowid, as `rid`) of the user's inbox sources, a page of each (see
    `inbox`), as one subquery."""
    created, limit = _tasks.c.created_at, bindparam("limit")
    keys = (_tasks.c.id, created, _ROWID.label("rid")) if dialect == "sqlite" else (_tasks.c.id, created)
    parts = []
    for condition in _sources(user):
        part = select(*keys).where(_tasks.c.state == "open", condition)
        if paged:
            part = part.where(created >= bindparam("after_at"), or_(
                created > bindparam("after_at"), _tasks.c.id > bindparam("after_id")))
        parts.append(select(part.order_by(created, _tasks.c.id).limit(limit).subquery()))
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("pages")


def _page_rows_from(pages, dialect):
    """`pages` joined with their task rows and what a task row shows (see _TASK_ROW_FROM), as one flat join: SQLite
    cannot name a rowid inside a parenthesised join."""
    found = _ROWID == pages.c.rid if dialect == "sqlite" else _tasks.c.id == pages.c.id
    return _with_task_row(pages.join(_tasks, found))


def inbox(user, *, limit=50, after=None):
    """Open tasks the user may work on, as rows (see _LIST_ROW_COLUMNS): assigned to them, or unclaimed in one
    of their roles; oldest first.

    Each source is read in created_at order from its own index, a page each, and merged in the same statement,
    so a page costs the same with a million open tasks. `after` is the (created_at, id) of the previous page's
    last task.
    """
    params = {"user_id": user.id, "department_id": user.department_id, "limit": limit}
    if after:
        params.update(after_at=after[0], after_id=after[1])
    return _inbox_statement(user, bool(after), db.session.get_bind().dialect.name).execute(params).all()


def inbox_json(user, *, limit=50, after=None):
    """The inbox (as `inbox`) as the API shows it: (the JSON text of its items, as app.api.serialize.task_json
    writes each, their count, the last one's created_at as ISO text and its id), written by the database in one
    statement: a page of rows through Python cost twice the statement (rows, then dicts, then JSON)."""
    params = {"user_id": user.id, "department_id": user.department_id, "limit": limit}
    if after:
        params.update(after_at=after[0], after_id=after[1])
    dialect = db.session.get_bind().dialect.name
    shape = ("json", dialect, tuple(user.role_codes), user.department_id is not None, bool(after))
    statement = _INBOX_STATEMENTS.get(shape)
    if statement is None:
        statement = _INBOX_STATEMENTS[shape] = FastStatement(_inbox_json_select(user, bool(after), dialect))
    items, count, last_at, last_id = statement.first(params)
    return items or "[]", count, last_at, last_id


def _inbox_json_select(user, paged, dialect):
    pages = _inbox_pages(user, paged, dialect)
    columns = {"id": _tasks.c.id, "name": _tasks.c.name, "title": _tasks.c.title, "ticket_number": _tickets.c.number,
               "role": _tasks.c.role, "assignee": _assignees.c.username, "state": _tasks.c.state,
               "created_at": _tasks.c.created_at, "due_at": _tasks.c.due_at,
               "customer_number": _task_customers.c.number}
    page = (select(*(column.label(name) for name, column in columns.items()))
            .select_from(_page_rows_from(pages, dialect))
            .order_by(pages.c.created_at, pages.c.id).limit(bindparam("limit")).cte("page"))
    ordered = select(page).order_by(page.c.created_at, page.c.id).subquery()
    values = {name: iso_sql(ordered.c[name], dialect) if name in ("created_at", "due_at") else ordered.c[name]
              for name in columns}
    pairs = [part for name, value in values.items() for part in (literal_column(f"'{name}'"), value)]
    if dialect == "sqlite":  # aggregated in the subquery's order
        items = select(func.json_group_array(func.json_object(*pairs)))
    else:  # as text, which the driver does not parse
        items = select(cast(func.json_agg(aggregate_order_by(func.json_build_object(*pairs), ordered.c.created_at,
                                                             ordered.c.id)), Text))
    last = select(page.c.created_at, page.c.id).order_by(page.c.created_at.desc(), page.c.id.desc()).limit(1)
    last = last.subquery()
    return select(items.scalar_subquery().label("items"),
                  select(func.count()).select_from(page).scalar_subquery().label("count"),
                  select(iso_sql(last.c.created_at, dialect)).scalar_subquery().label("last_at"),
                  select(last.c.id).scalar_subquery().label("last_id"))


def iso_sql(column, dialect):
    """SQL writing a date-time column as app.api.serialize.iso does: UTC, ISO 8601, the fraction only when not
    zero, "+00:00" (SQLite holds naive UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]'); NULL stays NULL."""
    if dialect == "sqlite":
        text = type_coerce(column, String)
        whole = func.substr(text, literal_column("20")).in_([literal_column("''"), literal_column("'.000000'")])
        stamp = case((whole, func.substr(text, literal_column("1"), literal_column("19"))), else_=text)
        return func.replace(stamp, literal_column("' '"), literal_column("'T'")).concat(literal_column("'+00:00'"))
    utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
    micros = func.to_char(utc, literal_column("'US'"))
    fraction = case((micros == literal_column("'000000'"), literal_column("''")),
                    else_=literal_column("'.'").concat(micros))
    return (func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'")).concat(fraction)
            .concat(literal_column("'+00:00'")))


def escalations(*, limit=50):
    """Open supervisor tasks (the escalation queue), claimed or not, oldest first (read in that order from
    ix_human_tasks_role_open)."""
    return db.session.scalars(
        select(HumanTask)
        .options(*_LIST_LOADS)
        .where(HumanTask.state == "open", HumanTask.role == "supervisor")
        .order_by(HumanTask.created_at)
        .limit(limit)
    ).all()


def open_tasks_of(ticket):
    return db.session.scalars(
        select(HumanTask).where(HumanTask.ticket_id == ticket.id, is_open(HumanTask.state))
        .order_by(HumanTask.created_at)
    ).all()


def task_row(task_id, *, with_form_data=False):
    """The task as a row (see _TASK_ROW_COLUMNS; `with_form_data` adds form_data for task_data), or raise NotFound."""
    statement = _TASK_DETAIL_ROW if with_form_data else _TASK_ROW
    row = statement.first({"task_id": str(task_id)})
    if row is None:
        raise NotFound(_("No such task."))
    return row


def get_task(task_id):
    """Return the task or raise NotFound."""
    task = db.session.get(HumanTask, str(task_id))
    if task is None:
        raise NotFound(_("No such task."))
    return task


def may_work(user, task):
    """True when `user` may claim or complete `task`."""
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    if task.role not in user.role_codes:
        return False
    return task.department_id is None or task.department_id == user.department_id or user.has_role("supervisor")


def may_view(user, task):
    return may_work(user, task) or user.has_role("supervisor", "admin")


def task_form(task):
    """The JSON Schema of the task's form, as deployed with its process version."""
    return engine().form(task.instance_id, task.form) or {"type": "object", "properties": {}}


def forms_of_instances(instance_ids):
    """{instance id: {form file: JSON Schema}} as deployed with each instance's version (cached per process)."""
    return {i: engine().definition_of(i).forms for i in instance_ids if i is not None}


def task_forms_of_ticket(ticket):
    """{task name: JSON Schema} for every task the ticket's process has opened so far."""
    if ticket.process_instance_id is None:
        return {}
    forms = engine().definition_of(ticket.process_instance_id).forms
    rows = db.session.execute(
        select(HumanTask.name, HumanTask.form).where(HumanTask.ticket_id == ticket.id).distinct()
    ).all()
    return {name: forms.get(form, {}) for name, form in rows if form}


def open_tasks_by_ticket(ticket_ids):
    """{ticket id: [open tasks, oldest first]} for many tickets in one query."""
    ids = {i for i in ticket_ids if i is not None}
    found = {}
    if ids:
        for task in db.session.scalars(
            select(HumanTask).where(HumanTask.ticket_id.in_(ids), is_open(HumanTask.state))
            .order_by(HumanTask.created_at, HumanTask.id)
        ):
            found.setdefault(task.ticket_id, []).append(task)
    return found


def task_data(task):
    """The process data the form shows (readOnly fields and current values).

    Read from the task's row when it was stored there as the task opened (a row or a HumanTask with form_data),
    else from the engine.
    """
    if task.state != "open":
        return {}
    stored = getattr(task, "form_data", None)
    if stored is not None:
        return json.loads(stored)
    data = engine().task_data(task.instance_id, task.id)
    return {k: v for k, v in data.items() if not str(k).startswith("_")}


def claim_task(*, task_id, user):
    """Assign an open task to `user`; idempotent for the holder, Conflict if someone else holds it.

    Returns the task as a row (see task_row), as it is after the claim.
    """
    task = task_row(task_id)
    if task.state != "open":
        raise Conflict(_("This task is no longer open."))
    if task.assignee_id == user.id:
        return task
    if task.assignee_id is not None:
        raise Conflict(_("Someone else already holds this task."))
    if not may_work(user, task):
        raise Forbidden(_("You may not work on this task."))
    claimed = _CLAIM_TASK.execute({"task_id": task.id, "assignee_id": user.id}).rowcount
    if claimed != 1:
        db.session.rollback()
        raise Conflict(_("Someone else already holds this task."))
    _history(task, user, "task_claimed", {"task": task.name, "title": task.title})
    db.session.commit()
    return SimpleNamespace(**{**task._asdict(), "assignee_id": user.id, "assignee_username": user.username})


def complete_task(*, task_id, user, data):
    """Validate `data` against the task's form, complete the task and run the process on; return the ticket number
    (None for a task of a customer process, which has no ticket).

    Completing an unclaimed task claims it. Conflict when the task is no longer open (someone was faster).
    """
    task = _READ_TASK.first({"task_id": str(task_id)})
    if task is None:
        raise NotFound(_("No such task."))
    if task.state != "open":
        raise Conflict(_("This task is no longer open."))
    if not may_work(user, task):
        raise Forbidden(_("You may not work on this task."))
    schema = task_form(task)
    cleaned = validate_submission(schema, data, task_data(task) if has_references(schema) else None)
    try:
        # every completion tells the diagram who did it (`completed_by`), e.g. to make the acceptor the assignee.
        # The step is worked out before the first write: on SQLite that write takes the database's write lock, which
        # other workers' writes then wait for. Its save is guarded by the instance's version, the close below by
        # the task's state, so a completion that lost a race writes nothing.
        step = engine().complete_task(task.instance_id, task.id, {**cleaned, "completed_by": user.username},
                                      expected_version=task.instance_version)
        closed = _CLOSE_TASK.execute({
            "task_id": task.id, "state": "completed", "completed_at": now(), "completed_by_id": user.id,
            "assignee_id": task.assignee_id or user.id,
        }).rowcount
        if closed != 1:
            raise Conflict(_("This task is no longer open."))
        if task.ticket_id is None and task.customer_id is not None:  # a customer process's task
            from app.customers.processes import CustomerHead, apply_customer_step

            apply_customer_step(CustomerHead(task.customer_id, task.task_customer_number), step,
                                actor=user.username, completed_task_id=task.id)
            db.session.commit()
            return None
        ticket = TicketHead(task.ticket_id, task.ticket_number, task.accepted_at, task.first_responded_at,
                            task.ticket_status, task.ticket_created_at, task.ticket_owner_id)
        apply_step(ticket, step, actor=user.username, completed_task_id=task.id,
                   events=[("task_completed", {"task": task.name, "title": task.title, "data": cleaned})])
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return ticket.number


def open_tasks_of_customer(customer_id):
    """The open tasks of a customer's own processes (onboarding, care), oldest first."""
    return db.session.scalars(
        select(HumanTask).where(HumanTask.customer_id == customer_id, HumanTask.state == "open")
        .order_by(HumanTask.created_at, HumanTask.id)
    ).all()


def _history(task, user, action, detail):
    if task.ticket_id is None:
        return  # a customer process's task: there is no ticket history to write
    _INSERT_EVENT.execute({
        "ticket_id": task.ticket_id, "at": now(), "actor": user.username, "action": action, "detail": detail})
