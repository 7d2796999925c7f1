"""What every template sees: the current user and navigation, label helpers, time filters, the language switch."""
from urllib.parse import urlencode

from flask import g, request
from flask_babel import refresh
from flask_login import current_user

from app.auth.access import FRONT_DESK, PROCESS_OWNERS
from app.i18n import is_english
from app.web import display, web_bp


def is_supervisor(user=None):
    user = user if user is not None else current_user
    return bool(getattr(user, "is_authenticated", False)) and user.has_role("supervisor", "admin")


def is_front_desk(user=None):
    """True when the user may register customers and open tickets (the links are shown to them only)."""
    user = user if user is not None else current_user
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(*FRONT_DESK)


def is_process_owner(user=None):
    """True when the user may use the studio (process owners and admins)."""
    user = user if user is not None else current_user
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(*PROCESS_OWNERS)


def lang_url(code):
    """The current page (GET) in another language."""
    args = request.args.to_dict()
    args["lang"] = code
    return f"{request.path}?{urlencode(args)}"


def page_url(**changes):
    """The current page with some query arguments changed (None removes one)."""
    args = request.args.to_dict()
    args.pop("lang", None)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return f"{request.path}?{urlencode(args)}" if args else request.path


@web_bp.before_app_request
def fresh_request_state():
    """Pick the language anew for every request.

    Flask-Babel caches the locale in `g`, which lives as long as the app context; when one app context serves
    several requests (the test client inside an app context, CLI tools) the first request's language would stick.
    """
    refresh()
    g.pop("_web_memo", None)


@web_bp.app_context_processor
def inject():
    return {
        "is_supervisor": is_supervisor,
        "is_front_desk": is_front_desk,
        "is_process_owner": is_process_owner,
        "is_english": is_english,
        "lang_url": lang_url,
        "page_url": page_url,
        "html_lang": "en" if is_english() else "zh-CN",
        "d": display,
    }


@web_bp.app_template_filter("localtime")
def localtime_filter(value, fmt="yyyy-MM-dd HH:mm"):
    return display.localtime(value, fmt)


@web_bp.app_template_filter("localdate")
def localdate_filter(value):
    return display.localdate(value)
