"""Pages: placeholder until the page set lands."""
from flask import redirect

from app.web import web_bp


@web_bp.route("/login")
def login():
    return "login"


@web_bp.route("/")
def index():
    return redirect("/login")
