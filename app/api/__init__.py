"""The JSON API at /api/v1, described by /api/v1/openapi.json."""
from flask import Blueprint

api_bp = Blueprint("api", __name__)

from app.api import errors, routes  # noqa: E402,F401
from app.notifications import api  # noqa: E402,F401  (the notification endpoints)
from app.calendar import api as calendar_api  # noqa: E402,F401  (the calendar endpoints)
from app.reports import api as reports_api  # noqa: E402,F401  (reports, exports, customer import)
from app.channels import api as channels_api  # noqa: E402,F401  (partner tickets, partner keys)
from app.progress import api as progress_api  # noqa: E402,F401  (a request's progress table)
from app.collab import api as collab_api  # noqa: E402,F401  (transfers, comments, collaboration)
from app.priority import api as priority_api  # noqa: E402,F401  (priority change)
