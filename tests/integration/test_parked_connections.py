"""On SQLite a session's transactions run on parked connections: kept open between transactions, clean, one
transaction at a time, closed by dispose; other databases keep SQLAlchemy's pool."""
import os
import shutil
import sqlite3
import threading

from sqlalchemy import create_engine, select, text

from app.customers.models import Customer
from app.extensions import db
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
