"""The application factory: `create_app()` wires extensions, the engine, blueprints, CLI and the scheduler."""
import gc
import logging
from inspect import iscoroutinefunction

from flask import Flask

from config import Config


class DeskFlask(Flask):
    """Flask whose `ensure_sync` remembers its answer per function. Flask asks `inspect` on every request whether
    each hook and the view are coroutine functions (six times an API request), and the answer never changes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_of = {}

    def ensure_sync(self, func):
        found = self._sync_of.get(func)
        if found is None:
            found = self._sync_of[func] = self.async_to_sync(func) if iscoroutinefunction(func) else func
        return found


def create_app(config_class=Config, **overrides):
    """Build the Flask app. On start it migrates the schema, deploys changed diagrams and starts the timer loop."""
    app = DeskFlask(__name__, instance_relative_config=False)
    from app.json_provider import FastJSONProvider
    from app.sessions import CookieSessionInterface

    app.json = FastJSONProvider(app)

    app.session_interface = CookieSessionInterface()
    app.config.from_object(config_class)
    app.config.update(overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("app").setLevel(logging.INFO)  # alembic.ini lowers the root logger to WARN
    # SpiffWorkflow reads its own loggers' levels, not the effective ones: below INFO (as NOTSET is) a workflow's start
    # and end list every task of its tree, and each state change adds the task's data, for records never written
    for name in ("spiff", "spiff.task", "spiff.workflow", "spiff.data", "spiff.dmn"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)  # "skipped: already running" is expected

    if app.config["SECRET_KEY"] == "dev-secret-change-me" and not app.testing:
        logging.getLogger("app").warning("SECRET_KEY is the development default: set it in the environment "
                                         "(the same value on every process) before real use")

    from app.numbering import check_patterns

    check_patterns(app.config["TICKET_NUMBER_PATTERNS"], app.config["CHANNEL_CODES"])  # a bad rule stops the start

    from app import database
    from app.extensions import babel, csrf, db, login_manager, migrate
    from app.i18n import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "web.login"

    _import_models()
    from app.capabilities import HELPERS
    from app.engine import Engine

    app.extensions["engine"] = Engine(HELPERS)

    database.configure_engine_events(app)

    from app.api import api_bp
    from app.web import web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)

    from app.cli import register_cli

    register_cli(app)

    if app.config["AUTO_MIGRATE"]:
        database.upgrade(app)
    if app.config["AUTO_DEPLOY"]:
        database.deploy_on_start(app)

    from app.timers.scheduler import start_scheduler

    start_scheduler(app)
    if app.config["GC_FREEZE"]:
        freeze_start_up()
    return app


def freeze_start_up():
    """Move every object alive now (after a full collection) into the collector's permanent generation.

    Start-up leaves some 170,000 container objects that live as long as the process (modules, SQLAlchemy's
    metadata, routes, jsonschema validators). A full collection, which the garbage of steps and requests triggers
    every few hundred ticket steps, walked all of them: 60-120 ms each time, 0.25 ms of CPU per ticket lifecycle
    on average (bench/engine_ratio.py's (b)). Frozen, they are skipped. What was frozen is never collected, so
    this runs once per process, not per request. gunicorn's workers each build the app (no preload), so each
    freezes its own.
    """
    gc.collect()
    gc.freeze()


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _import_models():
    """Import every models module so metadata (and Alembic) sees all tables."""
    import app.auth.models  # noqa: F401
    import app.calendar.models  # noqa: F401
    import app.channels.models  # noqa: F401
    import app.collab.models  # noqa: F401
    import app.customers.models  # noqa: F401
    import app.engine.models  # noqa: F401
    import app.notifications.models  # noqa: F401
    import app.progress.models  # noqa: F401
    import app.surveys.models  # noqa: F401
    import app.studio.models  # noqa: F401
    import app.studio.form_models  # noqa: F401
    import app.tasks.models  # noqa: F401
    import app.tickets.models  # noqa: F401
