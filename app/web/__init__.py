"""Server-rendered pages (Jinja2), Chinese first with an English switch."""
from flask import Blueprint

web_bp = Blueprint("web", __name__, template_folder="templates")

from app.web import views  # noqa: E402,F401
