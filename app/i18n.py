"""The translation layer: every label goes through `_` (source strings are English, zh_CN is the default)."""
from flask import has_request_context, request, session
from flask_babel import get_locale, gettext, lazy_gettext

_ = gettext
_l = lazy_gettext

SUPPORTED = ("zh_CN", "en")


def select_locale():
    """Pick the language: the API follows Accept-Language; pages take ?lang=, then the session's choice; zh_CN first."""
    if not has_request_context():
        return "zh_CN"
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(SUPPORTED, default="zh_CN")
    lang = request.args.get("lang")
    if lang in SUPPORTED:
        session["lang"] = lang
        return lang
    return session.get("lang", "zh_CN")


def is_english():
    return str(get_locale() or "zh_CN").startswith("en")


def label(pair):
    """Return the zh or en half of a (zh, en) label pair for the current language."""
    return pair[1] if is_english() else pair[0]


def schema_title(node, key="title"):
    """Return a form schema node's title (or description) in the current language."""
    if is_english():
        return node.get(f"x-{key}-en") or node.get(key, "")
    return node.get(key, "")
