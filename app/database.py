"""Database set-up that runs on start: connection pragmas, migrations under a lock, deploy of changed diagrams."""
import fcntl
import logging
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError

from app.extensions import db

log = logging.getLogger(__name__)
_MIGRATION_LOCK_KEY = 72_310_001


def engine_options(app):
    """Adjust SQLALCHEMY_ENGINE_OPTIONS to the database before the engine is made.

    A SQLite file has no server that could drop a pooled connection: no ping per checkout there (it cost about
    a seventh of a cheap read). On a server database a ping per checkout is a round trip on every request:
    with DB_PING_IDLE_SECONDS set, pool_pre_ping gives way to a ping of connections that sat idle in the pool
    longer than that (see _ping_idle_connections), and pool_recycle replaces connections after DB_POOL_RECYCLE.
    """
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options.pop("pool_pre_ping", None)
    elif app.config.get("DB_PING_IDLE_SECONDS") is not None:
        options.pop("pool_pre_ping", None)
        options.setdefault("pool_recycle", app.config.get("DB_POOL_RECYCLE", 1800))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def configure_engine_events(app):
    """SQLite pragmas are per connection: WAL, NORMAL sync, foreign keys, a busy timeout. On a server database,
    the idle ping (when DB_PING_IDLE_SECONDS is set)."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite"):
        if app.config.get("DB_PING_IDLE_SECONDS") is not None:
            with app.app_context():
                _ping_idle_connections(db.engine, float(app.config["DB_PING_IDLE_SECONDS"]))
        return
    path = uri.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()


def _ping_idle_connections(engine, idle_seconds):
    """Check a pooled connection before handing it out when it sat idle longer than `idle_seconds`.

    A connection back from a request a moment ago is handed out as it is; one that waited longer (the server may
    have restarted, a firewall may have dropped it) is pinged first, and a dead one is replaced by a fresh one
    before the request sees it. A connection that dies within those seconds fails its request once; the pool
    then drops every connection made before (SQLAlchemy invalidates the pool on a disconnect), so the next
    requests reconnect.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        record.info["idle_since"] = time.time()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.time() - idle_since <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the connection is not usable
            raise DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc


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
            for definition, created in deploy_workflows(deployed_by="startup"):
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


def deploy_workflows(*, deployed_by=None, replace_file=False):
    """Validate and deploy workflows/ and forms/ in the caller's transaction; raises DeployError."""
    from flask import current_app

    from app.engine import deploy_directory

    return deploy_directory(current_app.config["WORKFLOWS_DIR"], current_app.config["FORMS_DIR"], deploy_rules(),
                            deployed_by=deployed_by, replace_file=replace_file)
