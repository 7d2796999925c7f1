"""Server-rendered pages (Jinja2), Chinese first with an English switch."""
from flask import Blueprint

web_bp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/web-static"
)

from app.web import auth, context, dispatch, errors, vendor, views  # noqa: E402,F401
from app.notifications import pages  # noqa: E402,F401  (the bell and the notification pages)
from app.surveys import pages as survey_pages  # noqa: E402,F401  (the public survey page, the manual send)
from app.calendar import pages as calendar_pages  # noqa: E402,F401  (the admin's calendar page)
from app.studio import pages as studio_pages  # noqa: E402,F401  (the process owner studio)
from app.studio import form_pages as studio_form_pages  # noqa: E402,F401  (its form editor and lint)
from app.reports import pages as reports_pages  # noqa: E402,F401  (reports, exports, customer import)
from app.channels import pages as channel_pages  # noqa: E402,F401  (the public intake page, partner keys)
from app.studio import migration_pages, live_pages  # noqa: E402,F401  (moving tickets, the live diagram)
from app.studio import import_pages  # noqa: E402,F401  (opening .bpmn files made elsewhere)
from app.progress import pages as progress_pages  # noqa: E402,F401  (a request's progress table)
from app.collab import pages as collab_pages  # noqa: E402,F401  (transfer, collaboration, comments)
from app.priority import pages as priority_pages  # noqa: E402,F401  (priority change)
