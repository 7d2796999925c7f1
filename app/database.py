"""Database set-up that runs on start: connection pragmas, migrations under a lock, deploy of changed diagrams."""
import fcntl
import logging
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, exc, text

from app.extensions import db

log = logging.getLogger(__name__)
_MIGRATION_LOCK_KEY = 72_310_001
PING_AFTER_IDLE_SECONDS = 10.0


def configure_engine_events(app):
    """SQLite pragmas are per connection: WAL, NORMAL sync, foreign keys, a busy timeout. A server database's
    connections are checked before use when they sat idle in the pool (see `ping_idle_connections`); psycopg's
    keep their prepared statements across ROLLBACK (see `keep_prepared_statements`)."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite"):
        with app.app_context():
            ping_idle_connections(db.engine, float(app.config.get("DB_PING_IDLE_SECONDS", PING_AFTER_IDLE_SECONDS)))
            keep_prepared_statements(db.engine)
        return
    path = uri.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    cache_kib = int(app.config.get("SQLITE_CACHE_MB", 32)) * 1024
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute(f"PRAGMA cache_size=-{cache_kib}")  # negative: KiB
            cursor.close()


def ping_idle_connections(engine, idle_seconds):
    """Check a pooled connection with `SELECT 1` when it is handed out after `idle_seconds` or more in the pool;
    a dead one is replaced before use (SQLAlchemy's pool_pre_ping, without a round trip on every transaction).

    A connection that dies within `idle_seconds` of its last use fails the one request using it, and SQLAlchemy
    then invalidates it (the same as without pre-ping).
    """

    @event.listens_for(engine, "checkin")
    def _idle_since(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)  # SQLAlchemy's own pre-ping for this driver
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError("connection died while idle") from error  # the pool connects anew


def keep_prepared_statements(engine):
    """psycopg 3 connections of `engine` whose ROLLBACK keeps the session's prepared statements.

    psycopg prepares a statement on its fifth execution on a connection (the server then skips parsing and
    planning it), and forgets them all on every ROLLBACK, sending DEALLOCATE ALL. Every request that only reads
    ends with a ROLLBACK (the session's close), so the statements of the use cases were parsed and planned on every
    execution: a ticket's lifecycle waited 7.2 ms on the server instead of 4.2 (bench/engine_ratio.py --trace).
    PostgreSQL keeps prepared statements across ROLLBACK (they belong to the session, not the transaction);
    psycopg drops them in case the transaction changed the schema, which the application never does outside its
    migrations, and psycopg still forgets them all after DROP, ALTER or DISCARD ALL. A statement whose prepare
    failed (in a failed transaction) is not kept: psycopg raises before it records it.
    """
    if engine.dialect.driver != "psycopg":
        return

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, record, cargs, cparams):
        return _keeping_connection_class().connect(*cargs, **cparams)


_KEEPING = []


def _keeping_connection_class():
    """psycopg.Connection whose `rollback` leaves the prepared-statement cache as it is (built on first use)."""
    if not _KEEPING:
        import psycopg
        from psycopg._preparing import PrepareManager

        class KeepPreparedConnection(psycopg.Connection):
            def rollback(self):
                kept = getattr(self, "_prepared", None)
                # not the psycopg this was written for, or inside a pipeline (whose pending results would check
                # prepares against the stand-in): psycopg's own rollback
                if not isinstance(kept, PrepareManager) or getattr(self, "_pipeline", None) is not None:
                    return super().rollback()
                self._prepared = PrepareManager()  # what psycopg's rollback clears: an empty stand-in
                try:
                    super().rollback()
                finally:
                    self._prepared = kept

        _KEEPING.append(KeepPreparedConnection)
    return _KEEPING[0]


@contextmanager
def startup_lock(app):
    """Serialise start-up work across processes: an advisory lock on PostgreSQL, a file lock on SQLite."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_KEY})
                    conn.commit()
            return
        path = app.config["SQLALCHEMY_DATABASE_URI"].split("///", 1)[-1]
        lock_path = Path(path + ".startup.lock") if path and path != ":memory:" else None
        if lock_path is None:
            yield
            return
        with open(lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(app):
    """Apply pending Alembic migrations (once, even when several processes start together)."""
    from flask_migrate import upgrade as alembic_upgrade

    from app.seed import seed_reference_data

    with startup_lock(app), app.app_context():
        alembic_upgrade(directory=app.extensions["migrate"].directory)
        seed_reference_data()
        db.session.commit()


def deploy_on_start(app):
    """Deploy changed diagrams as one batch. A refused batch deploys nothing: the app still starts on the last
    good versions, and every problem is logged on its own line (file:process:element: field: message)."""
    from app.engine import DeployError

    with startup_lock(app), app.app_context():
        try:
            for definition, created in deploy_workflows(deployed_by="startup", skip_passed=True):
                if created:
                    log.info("deployed %s version %s", definition.name, definition.version)
            db.session.commit()
        except DeployError as exc:
            db.session.rollback()
            log.error("deploy refused: %d problem(s) in workflows/ or forms/, nothing of them was deployed; "
                      "the last good versions keep running (run `flask --app wsgi deploy` to check)", len(exc.errors))
            for error in exc.errors:
                log.error("deploy refused: %s", error)


# Variables every instance starts with: what app.tickets.service.create_ticket passes to Engine.start.
START_DATA = ("ticket_number", "ticket_type", "urgency", "channel", "customer_number", "description", "created_by")
# Variables every user task completion adds: app.tasks.service.complete_task adds who completed it.
COMPLETION_DATA = ("completed_by",)
# The `x-ref` kinds app.forms_schema resolves.
REF_KINDS = ("user", "department")


def deploy_rules():
    """What this application offers diagrams, for deploy validation: roles, capabilities, data, form references."""
    from app.auth.models import ROLES
    from app.capabilities import HELPERS
    from app.clock import now
    from app.engine import Rules

    return Rules(roles=frozenset(ROLES), capabilities=frozenset(HELPERS), start_data=frozenset(START_DATA),
                 completion_data=frozenset(COMPLETION_DATA), ref_kinds=frozenset(REF_KINDS), clock=now)


def deploy_workflows(*, deployed_by=None, replace_file=False, skip_passed=False):
    """Validate workflows/ and forms/, then run the scenarios beside the diagrams against the batch, and deploy in
    the caller's transaction; raises DeployError (validation problems, else one per failed scenario).
    `skip_passed`: scenarios that already passed against the deployed content are not run again."""
    from flask import current_app

    from app.engine import deploy_directory
    from app.scenarios import batch_problems

    workflows_dir = current_app.config["WORKFLOWS_DIR"]
    return deploy_directory(workflows_dir, current_app.config["FORMS_DIR"], deploy_rules(),
                            deployed_by=deployed_by, replace_file=replace_file,
                            check=lambda bundles: batch_problems(bundles, workflows_dir, skip_passed=skip_passed))
