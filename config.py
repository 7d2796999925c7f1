"""Application settings: one class per environment, every value overridable by an environment variable."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _json(name, default):
    import json

    value = os.environ.get(name)
    return json.loads(value) if value else default


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
    # PostgreSQL: a pooled connection idle longer than this many seconds is pinged when handed out (no ping per request)
    DB_PING_IDLE_SECONDS = float(os.environ.get("DB_PING_IDLE_SECONDS") or 10)
    # SQLite: each connection's page cache (SQLite's default, 2 MB, re-reads a large file's index pages from the OS)
    SQLITE_CACHE_MB = int(os.environ.get("SQLITE_CACHE_MB") or 32)
    WORKFLOWS_DIR = os.environ.get("WORKFLOWS_DIR", str(BASE_DIR / "workflows"))
    FORMS_DIR = os.environ.get("FORMS_DIR", str(BASE_DIR / "forms"))
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(BASE_DIR / "instance" / "uploads"))
    MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", 20 * 1024 * 1024))  # per attachment
    # a whole request; above the per-file limit so one file too large gets a field message, not a bare 413
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_REQUEST_BYTES", 5 * MAX_UPLOAD_BYTES + 1024 * 1024))
    AUTO_MIGRATE = _bool("AUTO_MIGRATE", True)
    AUTO_DEPLOY = _bool("AUTO_DEPLOY", True)
    SCHEDULER_ENABLED = _bool("SCHEDULER_ENABLED", True)
    # what start-up built lives as long as the process: kept out of the garbage collector's full collections
    # (see app.freeze_start_up); off in tests, which build hundreds of apps in one process
    GC_FREEZE = _bool("GC_FREEZE", True)
    TIMER_POLL_SECONDS = float(os.environ.get("TIMER_POLL_SECONDS", 2))
    TIMER_BATCH = int(os.environ.get("TIMER_BATCH", 200))
    API_TOKEN_MAX_AGE = int(os.environ.get("API_TOKEN_MAX_AGE", 12 * 3600))
    AUTH_CACHE_SECONDS = float(os.environ.get("AUTH_CACHE_SECONDS", 2))  # a checked token is trusted this long
    BABEL_DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "zh_CN")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("DISPLAY_TIMEZONE", "Asia/Shanghai")
    LANGUAGES = ["zh_CN", "en"]
    WTF_CSRF_TIME_LIMIT = None
    # log-in throttle (app/auth/throttle.py): failures allowed per account / per client address within the window
    LOGIN_MAX_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5))
    LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 20))
    LOGIN_THROTTLE_WINDOW_SECONDS = int(os.environ.get("LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60))
    # the public intake page (app/channels): online tickets one client address may open within the window
    INTAKE_MAX_PER_ADDRESS = int(os.environ.get("INTAKE_MAX_PER_ADDRESS", 5))
    INTAKE_WINDOW_SECONDS = int(os.environ.get("INTAKE_WINDOW_SECONDS", 3600))
    # cookies: never readable by scripts, not sent on cross-site posts; Secure once served over https
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    API_PAGE_DEFAULT = 50
    API_PAGE_MAX = 200
    # notifications (app/notifications): e-mail through SMTP; no SMTP_HOST = in-app notifications only
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", 0))  # 0 = the mode's usual port: 587 starttls, 465 ssl, 25 none
    SMTP_TLS = os.environ.get("SMTP_TLS", "starttls").strip().lower()  # starttls, ssl or none
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", 20))
    SMTP_CA_FILE = os.environ.get("SMTP_CA_FILE", "")  # a CA bundle for the server's certificate; empty = the system's
    MAIL_FROM = os.environ.get("MAIL_FROM", "servicedesk@localhost")
    MAIL_POLL_SECONDS = float(os.environ.get("MAIL_POLL_SECONDS", 10))
    MAIL_BATCH = int(os.environ.get("MAIL_BATCH", 50))
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", 10))
    MAIL_RETRY_BASE_SECONDS = int(os.environ.get("MAIL_RETRY_BASE_SECONDS", 60))
    MAIL_RETRY_CAP_SECONDS = int(os.environ.get("MAIL_RETRY_CAP_SECONDS", 3600))
    MAIL_LEASE_SECONDS = int(os.environ.get("MAIL_LEASE_SECONDS", 300))
    NOTIFY_DUE_WITHIN_MINUTES = int(os.environ.get("NOTIFY_DUE_WITHIN_MINUTES", 15))
    # the working-time clock (app/calendar): statuses that pause it; how long a process trusts its calendar copy
    CLOCK_PAUSE_STATUSES = os.environ.get("CLOCK_PAUSE_STATUSES", "awaiting_customer")
    CALENDAR_CACHE_SECONDS = float(os.environ.get("CALENDAR_CACHE_SECONDS", 2))
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "")  # e.g. https://desk.example.com: mails link to the ticket
    SURVEY_VALID_DAYS = float(os.environ.get("SURVEY_VALID_DAYS", 7))  # a survey link expires after this many days
    # ticket numbers (app/numbering.py): [process or "*", channel or "*", pattern], the first match wins; JSON in env
    TICKET_NUMBER_PATTERNS = _json("TICKET_NUMBER_PATTERNS", [
        ["after_sales", "*", "SR{date:%Y%m%d}{seq:03d}"],
        ["service_request", "*", "CS{date:%Y%m%d}{seq:04d}"],
        ["*", "*", "SR{date:%Y%m%d}{seq:03d}"],
    ])
    # the code a pattern's {channel_code} stands for, per ticket channel; JSON in env
    CHANNEL_CODES = _json("CHANNEL_CODES", {"phone": "TEL", "online": "WEB", "email": "EML", "branch": "BR",
                                            "partner": "PT"})


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = False
    SCHEDULER_ENABLED = _bool("SCHEDULER_ENABLED", False)
    GC_FREEZE = False
    AUTO_MIGRATE = _bool("AUTO_MIGRATE", False)
    SMTP_HOST = ""  # tests that send mail start their own SMTP server and set it
