"""Application settings: one class per environment, every value overridable by an environment variable."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url):
    """Return a SQLAlchemy URL; a plain postgres:// or postgresql:// URL uses the shipped psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-secret-change-me")  # app start-up warns while it is the default
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'servicedesk.db'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {}  # idle connections are checked before use: app.database.ping_idle_connections
    WORKFLOWS_DIR = os.environ.get("WORKFLOWS_DIR", str(BASE_DIR / "workflows"))
    FORMS_DIR = os.environ.get("FORMS_DIR", str(BASE_DIR / "forms"))
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(BASE_DIR / "instance" / "uploads"))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_BYTES", 20 * 1024 * 1024))
    AUTO_MIGRATE = _bool("AUTO_MIGRATE", True)
    AUTO_DEPLOY = _bool("AUTO_DEPLOY", True)
    SCHEDULER_ENABLED = _bool("SCHEDULER_ENABLED", True)
    TIMER_POLL_SECONDS = float(os.environ.get("TIMER_POLL_SECONDS", 2))
    TIMER_BATCH = int(os.environ.get("TIMER_BATCH", 200))
    API_TOKEN_MAX_AGE = int(os.environ.get("API_TOKEN_MAX_AGE", 12 * 3600))
    BABEL_DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "zh_CN")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("DISPLAY_TIMEZONE", "Asia/Shanghai")
    LANGUAGES = ["zh_CN", "en"]
    WTF_CSRF_TIME_LIMIT = None
    API_PAGE_DEFAULT = 50
    API_PAGE_MAX = 200


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = False
    SCHEDULER_ENABLED = _bool("SCHEDULER_ENABLED", False)
    AUTO_MIGRATE = _bool("AUTO_MIGRATE", False)
