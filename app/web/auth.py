"""Log-in, log-out and the first-login binding of department and role (R0-1); the guard every page passes."""
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from app.auth import service as auth
from app.errors import NotFound, TooManyAttempts, Unauthorized, ValidationFailed
from app.extensions import db, login_manager
from app.i18n import _, _l
from app.web import web_bp
from app.web.inputs import clean

PUBLIC_ENDPOINTS = {"web.login", "web.static", "web.vendor", "web.survey_page"}  # the survey: its link's token
PROFILE_FREE_ENDPOINTS = {"web.bind_profile", "web.logout", "web.static", "web.vendor"}
BINDABLE_EXCLUDED = {"admin", "owner"}  # bind_profile refuses these roles

login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"
login_manager.localize_callback = str  # evaluates the lazy message in the request's language


@login_manager.user_loader
def load_user(user_id):
    try:
        return auth.page_user(int(user_id))
    except (TypeError, ValueError):
        return None


def me():
    """The logged-in Principal (not the proxy), for passing to services."""
    return current_user._get_current_object()


@web_bp.before_request
def guard():
    """Every page but log-in needs a logged-in user; a user without a profile binds it first."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    if any("\x00" in str(value) for value in (request.view_args or {}).values()):
        raise NotFound(_("There is no such page."))
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if request.endpoint not in PROFILE_FREE_ENDPOINTS and auth.needs_profile(me()):
        return redirect(url_for("web.bind_profile"))
    return None


def safe_next(target):
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target or not isinstance(target, str) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@web_bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url or url_for("web.index"))
    username, error, errors, status, retry_after = "", None, {}, 200, None
    if request.method == "POST":
        username = clean(request.form.get("username") or "").strip()
        password = clean(request.form.get("password") or "")
        if not username:
            errors["username"] = _("This field is required.")
        if not password:
            errors["password"] = _("This field is required.")
        if errors:
            status = 422
        else:
            try:
                user = auth.authenticate(username=username, password=password, address=request.remote_addr)
            except TooManyAttempts as exc:
                db.session.rollback()
                error, status, retry_after = exc.message, 429, exc.retry_after
            except Unauthorized as exc:
                db.session.rollback()
                error, status = exc.message, 401
            else:
                login_user(user)
                if auth.needs_profile(user):
                    flash(_("Welcome! Please choose your department and role first."), "info")
                    return redirect(url_for("web.bind_profile"))
                return redirect(next_url or url_for("web.index"))
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return render_template("auth/login.html", username=username, error=error, errors=errors,
                           next_url=next_url), status, headers


@web_bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("web.login"))


@web_bp.route("/profile/bind", methods=["GET", "POST"])
def bind_profile():
    user = me()
    if not auth.needs_profile(user):
        return redirect(url_for("web.index"))
    departments = auth.departments()
    roles = [r for r in auth.roles() if r.code not in BINDABLE_EXCLUDED]
    chosen = {"department": "", "role": ""}
    errors, status = {}, 200
    if request.method == "POST":
        chosen = {"department": clean(request.form.get("department", "")), "role": clean(request.form.get("role", ""))}
        try:
            auth.bind_profile(user, department_code=chosen["department"], role_code=chosen["role"])
        except ValidationFailed as exc:
            db.session.rollback()
            errors, status = exc.errors, 422
        else:
            flash(_("Your department and role are saved."), "success")
            return redirect(url_for("web.index"))
    return render_template("auth/bind.html", departments=departments, roles=roles, chosen=chosen,
                           errors=errors), status
