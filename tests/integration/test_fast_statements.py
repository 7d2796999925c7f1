"""FastStatement writes and reads exactly what Connection.execute does, in the session's transaction, on SQLite
and PostgreSQL, and raises SQLAlchemy's exceptions."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, exc, func, insert, select, update

from app.extensions import db
from app.fast_statements import FastStatement
from app.tickets.models import Ticket, TicketEvent
from tests.integration.test_postgres import pg_app, pg_url  # noqa: F401

_history, _tickets = TicketEvent.__table__, Ticket.__table__
AT = datetime(2026, 3, 2, 1, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
DETAIL = {"task": "受理", "data": {"ready": True, "n": 1.5, "list": [None, "x"]}, "none": None}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


def _a_ticket_id():
    return db.session.scalar(select(func.min(Ticket.id))) or _new_ticket()


def _new_ticket():
    from app.auth.models import User
    from app.auth.principal import load_principal
    from app.customers.models import Customer
    from app.tickets.service import create_ticket

    user = db.session.scalar(select(User).where(User.username == "agent1"))
    customer = db.session.scalars(select(Customer)).first()
    number = create_ticket(data={"customer_number": customer.number, "type": "complaint", "urgency": "high",
                                 "description": "设备无法启动，影响生产", "channel": "phone"},
                           actor=load_principal(user.id))
    return db.session.scalar(select(Ticket.id).where(Ticket.number == number))


def test_rows_written_fast_read_back_as_core_writes_them(database):
    ticket_id = _a_ticket_id()
    row = {"ticket_id": ticket_id, "at": AT, "actor": "engineer1", "action": "fast", "detail": DETAIL}
    FastStatement(insert(_history)).executemany([row, {**row, "action": "fast2"}])
    db.session.execute(insert(_history), {**row, "action": "core"})
    read = select(_history.c.at, _history.c.actor, _history.c.detail).where(_history.c.action == bindparam("action"))
    core = db.session.execute(read, {"action": "core"}).one()
    for action in ("fast", "fast2"):
        fast = FastStatement(read).first({"action": action})
        assert tuple(fast) == tuple(core) == tuple(db.session.execute(read, {"action": action}).one())
        assert fast.detail == DETAIL and fast.actor == "engineer1"
        assert fast.at == core.at  # the same instant, as Core gives it back on this database


def test_nulls_defaults_and_rowcount(database):
    ticket_id = _a_ticket_id()
    fields = select(_tickets.c.accepted_at, _tickets.c.solution, _tickets.c.reopen_count).where(
        _tickets.c.id == bindparam("ticket_id"))
    set_ticket = FastStatement(update(_tickets).where(_tickets.c.id == bindparam("ticket_row_id")))
    assert set_ticket.execute({"accepted_at": None, "solution": None, "ticket_row_id": ticket_id}).rowcount == 1
    assert FastStatement(fields).first({"ticket_id": ticket_id}) == (None, None, 0)
    assert set_ticket.execute({"accepted_at": AT, "solution": "方案", "ticket_row_id": ticket_id}).rowcount == 1
    assert tuple(FastStatement(fields).first({"ticket_id": ticket_id})) == tuple(
        db.session.execute(fields, {"ticket_id": ticket_id}).one())
    assert set_ticket.execute({"solution": "x", "ticket_row_id": -1}).rowcount == 0
    assert FastStatement(fields).first({"ticket_id": -1}) is None
    # a literal in the statement (`== "fast"`) and LIMIT travel with it
    FastStatement(insert(_history)).execute({"ticket_id": ticket_id, "at": AT, "actor": "a", "action": "fast",
                                             "detail": {}})
    literal = FastStatement(select(_history.c.actor).where(_history.c.action == "fast").limit(1))
    assert literal.scalar() == "a"


def test_it_runs_in_the_session_transaction(database):
    ticket_id = _a_ticket_id()
    db.session.commit()
    FastStatement(insert(_history)).execute({"ticket_id": ticket_id, "at": AT, "actor": "a", "action": "gone",
                                             "detail": {}})
    count = select(func.count()).select_from(_history).where(_history.c.action == "gone")
    assert db.session.scalar(count) == 1
    db.session.rollback()
    assert db.session.scalar(count) == 0
    assert FastStatement(count).scalar() == 0


def test_driver_errors_are_sqlalchemy_errors_and_unsupported_statements_go_through_core(database):
    ticket_id = _a_ticket_id()
    with pytest.raises(exc.IntegrityError):
        FastStatement(insert(_history)).execute({"ticket_id": ticket_id, "at": AT, "actor": None, "action": "x",
                                                 "detail": {}})
    db.session.rollback()
    expanding = FastStatement(select(_tickets.c.id).where(_tickets.c.id.in_(bindparam("ids", expanding=True))))
    assert expanding.scalar({"ids": [ticket_id]}) == ticket_id


def test_sqlite_date_times_are_written_as_the_very_text_core_writes(app):
    """FastStatement formats SQLite's DATETIME itself (faster than SQLAlchemy's processor): the same text."""
    ticket_id = _a_ticket_id()
    written = select(_history.c.at).where(_history.c.action == bindparam("action"))
    for at in (AT, datetime(2026, 1, 2, 3, 4, 5), datetime(1, 1, 1, tzinfo=timezone.utc),
               datetime(2026, 12, 31, 23, 59, 59, 999999)):
        row = {"ticket_id": ticket_id, "at": at, "actor": "a", "detail": {}}
        FastStatement(insert(_history)).execute({**row, "action": f"fast {at}"})
        db.session.execute(insert(_history), {**row, "action": f"core {at}"})
        fast, core = (db.session.connection().exec_driver_sql(
            "SELECT at FROM ticket_history WHERE action = ?", (f"{way} {at}",)).scalar() for way in ("fast", "core"))
        assert fast == core
        assert FastStatement(written).scalar({"action": f"fast {at}"}) == db.session.scalar(
            written, {"action": f"core {at}"})
    with pytest.raises(TypeError):
        FastStatement(insert(_history)).execute({**row, "at": "2026-01-02 03:04:05", "action": "text"})
