"""On SQLite a session's transactions run on parked connections: kept open between transactions, clean, one
transaction at a time, closed by dispose; other databases keep SQLAlchemy's pool."""
import os
import shutil
import sqlite3
import threading

import pytest
from sqlalchemy import bindparam, create_engine, event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.extensions import db
from app.fast_statements import FastStatement
from app.parked_connections import parked
from tests.conftest import make_app


def _dbapi_connection():
    return db.session.connection().connection.dbapi_connection


def test_transactions_of_a_session_run_on_one_parked_connection_without_the_pool(app):
    first = _dbapi_connection()
    db.session.commit()
    checked_in = db.engine.pool.checkedin()
    second = _dbapi_connection()
    db.session.rollback()
    db.session.remove()
    third = _dbapi_connection()  # a new session (a new request) gets the same one back
    db.session.commit()
    assert first is second is third
    assert db.engine.pool.checkedin() == checked_in  # it never went back to the pool in between


def test_a_rolled_back_transaction_leaves_nothing_behind_for_the_next(app):
    name = db.session.scalar(select(Customer.name).limit(1))
    db.session.execute(text("UPDATE customers SET name = 'rolled back'"))
    db.session.rollback()
    db.session.remove()
    assert db.session.scalar(select(Customer.name).limit(1)) == name


def test_a_driver_level_transaction_is_rolled_back_before_parking(app):
    lent = db.session.get_bind()  # lent outside any transaction (as a dialect check does)
    dbapi = lent.connection.dbapi_connection
    dbapi.execute("UPDATE customers SET name = 'not committed'")  # sqlite3 begins one SQLAlchemy does not know
    assert dbapi.in_transaction
    db.session.remove()
    assert not dbapi.in_transaction
    assert db.session.scalar(select(Customer.name).where(Customer.name == "not committed")) is None


def test_two_transactions_at_once_get_two_connections(app):
    mine = _dbapi_connection()
    seen = []

    def other_thread():
        with app.app_context():
            seen.append(_dbapi_connection())
            db.session.commit()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen and seen[0] is not mine
    db.session.commit()


def test_an_invalidated_session_does_not_park_its_connection(app):
    dbapi = _dbapi_connection()
    db.session().invalidate()
    assert _dbapi_connection() is not dbapi
    db.session.commit()


def test_dispose_closes_parked_and_idle_lent_connections_so_the_file_is_whole(template_db, tmp_path):
    path = tmp_path / "copy-source.db"
    shutil.copy(template_db, path)
    application = make_app(path, tmp_path)
    with application.app_context():
        db.session.execute(text("UPDATE customers SET name = 'written before dispose'"))
        db.session.commit()
        db.session.get_bind()  # lends a connection outside any transaction (as a dialect check does)
        db.engine.dispose()  # without db.session.remove(), as the tests' template does
        assert not (tmp_path / "copy-source.db-wal").exists()  # the last connection closed: WAL written back
        copy = tmp_path / "copy.db"
        shutil.copy(path, copy)
        with sqlite3.connect(copy) as check:
            assert check.execute("SELECT count(*) FROM customers WHERE name = 'written before dispose'").fetchone()[0]
        assert db.session.scalar(text("SELECT 1")) == 1  # the session carries on with a new connection
        db.session.remove()
        db.engine.dispose()


def test_a_forked_child_never_uses_its_parents_connections(app):
    lent = id(_dbapi_connection())  # lent to this session when the process forks
    with app.app_context():
        parents = id(_dbapi_connection())
        db.session.commit()  # and one parked
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its session's connection must be a new one, and work
        code = 1
        try:
            with app.app_context():  # a request of the child: a new session
                mine = _dbapi_connection()
                ok = id(mine) not in (parents, lent) and db.session.scalar(select(Customer.id).limit(1)) is not None
                db.session.commit()
            db.session.remove()  # gives back the connection lent before the fork
            code = 0 if ok else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == bytes([0])
    os.close(read)
    assert db.session.scalar(select(Customer.id).limit(1)) is not None  # the parent's connections still work


def test_other_databases_keep_the_pool():
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert parked(engine) is None


def test_an_app_dropped_without_dispose_closes_its_parked_connections(template_db, tmp_path):
    import gc

    path = tmp_path / "dropped.db"
    shutil.copy(template_db, path)

    def open_files():
        folder = "/proc/self/fd"
        return [os.readlink(f"{folder}/{fd}") for fd in os.listdir(folder) if os.path.exists(f"{folder}/{fd}")]

    application = make_app(path, tmp_path)
    with application.app_context():
        assert db.session.scalar(select(Customer.id).limit(1)) is not None
        db.session.commit()  # parked
    assert str(path) in open_files()
    del application
    gc.collect()
    assert str(path) not in open_files()  # closed, though the engine may live on (as before parking)


# Direct statements: on SQLite a use case that only runs FastStatements never begins a session transaction.

_NAME_OF = FastStatement(select(Customer.name).where(Customer.id == bindparam("id")))
_RENAME = FastStatement(text("UPDATE customers SET name = :new WHERE id = :row_id"))


def _first_customer():
    return db.session.scalar(select(Customer.id).order_by(Customer.id).limit(1))


def _stored_name(app, customer_id):
    """The name as another session (another request, on another connection) reads it."""
    seen = []

    def other_thread():
        with app.app_context():
            seen.append(_NAME_OF.scalar({"id": customer_id}))
            db.session.remove()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    return seen[0]


def test_direct_statements_begin_no_session_transaction_and_commit_persists_them(app):
    customer = _first_customer()
    db.session.commit()
    _RENAME.execute({"row_id": customer, "new": "direct"})
    assert not db.session().in_transaction()
    assert _stored_name(app, customer) != "direct"  # not committed yet: others do not see it
    db.session.commit()
    assert _stored_name(app, customer) == "direct"


def test_rollback_and_close_discard_direct_statements(app):
    customer = _first_customer()
    name = _NAME_OF.scalar({"id": customer})
    db.session.commit()
    _RENAME.execute({"row_id": customer, "new": "rolled back"})
    db.session.rollback()
    assert _NAME_OF.scalar({"id": customer}) == name
    _RENAME.execute({"row_id": customer, "new": "closed"})
    db.session.remove()  # as the end of a request does
    assert _NAME_OF.scalar({"id": customer}) == name
    assert _stored_name(app, customer) == name


def test_direct_statements_and_the_orm_share_one_transaction(app):
    customer_id = _first_customer()
    db.session.commit()
    _RENAME.execute({"row_id": customer_id, "new": "direct then orm"})
    customer = db.session.get(Customer, customer_id)  # the session's transaction begins on the same connection
    assert customer.name == "direct then orm"  # it sees the direct write
    customer.contact_person = "orm"
    db.session.rollback()  # and its end ends the direct write too
    assert _stored_name(app, customer_id) != "direct then orm"
    _RENAME.execute({"row_id": customer_id, "new": "committed together"})
    db.session.get(Customer, customer_id).contact_person = "orm"
    db.session.commit()
    assert _stored_name(app, customer_id) == "committed together"
    assert db.session.get(Customer, customer_id).contact_person == "orm"
    db.session.commit()


def test_the_end_of_direct_statements_tells_the_sessions_commit_and_rollback_listeners(app):
    heard = []

    def committed(session):
        heard.append("commit")

    def rolled_back(session):
        heard.append("rollback")

    event.listen(Session, "after_commit", committed)
    event.listen(Session, "after_rollback", rolled_back)
    try:
        customer = _first_customer()
        db.session.commit()
        heard.clear()
        _NAME_OF.scalar({"id": customer})
        db.session.commit()
        _NAME_OF.scalar({"id": customer})
        db.session.rollback()
    finally:
        event.remove(Session, "after_commit", committed)
        event.remove(Session, "after_rollback", rolled_back)
    assert heard == ["commit", "rollback"]


def test_a_failed_direct_commit_raises_sqlalchemys_error_and_leaves_nothing(app):
    connection = db.session.connection()
    connection.execute(text("CREATE TABLE deferred_child (parent_id INTEGER REFERENCES customers (id)"
                            " DEFERRABLE INITIALLY DEFERRED)"))
    db.session.commit()
    FastStatement(text("INSERT INTO deferred_child (parent_id) VALUES (:parent)")).execute({"parent": -1})
    assert not db.session().in_transaction()
    heard = []

    def rolled_back(session):
        heard.append("rollback")

    event.listen(Session, "after_rollback", rolled_back)
    try:
        with pytest.raises(IntegrityError):  # the foreign key is checked at COMMIT
            db.session.commit()
    finally:
        event.remove(Session, "after_rollback", rolled_back)
    assert heard == ["rollback"]  # what the step kept for after its commit (live workflows) is dropped
    assert db.session.scalar(text("SELECT count(*) FROM deferred_child")) == 0
    db.session.commit()


def test_dispose_keeps_a_connection_with_direct_statements_under_way(app):
    customer = _first_customer()
    db.session.commit()
    _RENAME.execute({"row_id": customer, "new": "across dispose"})
    db.engine.dispose()
    db.session.commit()  # the connection stayed open until its transaction ended
    assert _stored_name(app, customer) == "across dispose"


def test_direct_statements_borrow_no_connection_object_and_dispose_closes_one_lent_for_reads(template_db, tmp_path):
    path = tmp_path / "direct-reads.db"
    shutil.copy(template_db, path)
    application = make_app(path, tmp_path)
    with application.app_context():
        customer = _first_customer()
        db.session.commit()
        first = _NAME_OF.scalar({"id": customer})  # a direct read: no driver transaction
        session = db.session()
        assert session._lent is None and session._direct is not None  # no SQLAlchemy Connection made for it
        db.engine.dispose()
        assert not (tmp_path / "direct-reads.db-wal").exists()  # the connection lent for the read closed too
        assert _NAME_OF.scalar({"id": customer}) == first  # the session carries on with a new one
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
