"""Server-rendered pages (Jinja2), Chinese first with an English switch."""
from flask import Blueprint

web_bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/web-static"
)

from app.web import auth, context, errors, vendor, views  # noqa: E402,F401
from app.notifications import pages  # noqa: E402,F401  (the bell and the notification pages)
from app.reports import pages as reports_pages  # noqa: E402,F401  (reports, exports, customer import)
