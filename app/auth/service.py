"""Log-in, API tokens and the first-login profile binding (R0-1)."""
import time

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from app.clock import now
from app.errors import Unauthorized, ValidationFailed
from app.extensions import db
from app.i18n import _

from . import throttle
from .models import Department, Role, User
from .principal import load_principal


def authenticate(*, username, password, address=None):
    """Return the active user with these credentials, or raise Unauthorized (same message for both cases).

    Throttled (app/auth/throttle.py): while the account or the client `address` has too many recent failures,
    raise TooManyAttempts without looking at the password. A failure is counted for both; a success clears the
    account's count.
    """
    throttle.check(username, address)
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or not user.active or not user.check_password(password or ""):
        db.session.rollback()
        throttle.record_failure(username, address)
        db.session.commit()
        raise Unauthorized(_("Wrong employee number or password."))
    throttle.reset_account(username)
    user.last_login_at = now()
    db.session.commit()
    return user


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="api-token")


def issue_token(user):
    """Return a signed bearer token for `user`, valid on every app process sharing SECRET_KEY."""
    return _serializer().dumps({"uid": user.id})


def user_from_token(token):
    """Return the active user (a Principal) a bearer token names, or raise Unauthorized.

    A token checked in this process within the last AUTH_CACHE_SECONDS (a few seconds) is answered from memory,
    signature and principal both; after that the user is read again, so a deactivated user or a changed role
    takes effect within those seconds on every process.
    """
    cache = _token_cache()
    stamp = time.time()
    hit = cache.get(token)
    if hit is not None and stamp < hit[1]:
        return hit[0]
    max_age = current_app.config["API_TOKEN_MAX_AGE"]
    try:
        payload, issued = _serializer().loads(token, max_age=max_age, return_timestamp=True)
    except SignatureExpired as exc:
        raise Unauthorized(_("The token has expired; log in again.")) from exc
    except BadSignature as exc:
        raise Unauthorized(_("The token is not valid.")) from exc
    uid = payload.get("uid") if isinstance(payload, dict) else None
    user = load_principal(uid) if isinstance(uid, int) else None
    if user is None or not user.active:
        cache.pop(token, None)
        raise Unauthorized(_("The token is not valid."))
    if len(cache) >= _TOKEN_CACHE_SIZE:
        cache.clear()
    fresh_for = current_app.config.get("AUTH_CACHE_SECONDS", 2)
    cache[token] = (user, min(stamp + fresh_for, issued.timestamp() + max_age))
    return user


_TOKEN_CACHE_SIZE = 10_000


def _token_cache():
    """{token: (Principal, checked until)} of this app in this process."""
    return current_app.extensions.setdefault("auth_token_cache", {})


def page_user(user_id):
    """The active user (a Principal) of a logged-in page session, or None; Flask-Login's user loader.

    Like API tokens, a user read in this process within the last AUTH_CACHE_SECONDS is answered from memory;
    after that the user is read again, so a deactivated user or a changed role takes effect within those seconds.
    """
    cache = _user_cache()
    stamp = time.time()
    hit = cache.get(user_id)
    if hit is not None and stamp < hit[1]:
        return hit[0]
    user = load_principal(user_id)
    if user is None or not user.active:
        cache.pop(user_id, None)
        return None
    if len(cache) >= _TOKEN_CACHE_SIZE:
        cache.clear()
    cache[user_id] = (user, stamp + current_app.config.get("AUTH_CACHE_SECONDS", 2))
    return user


def _user_cache():
    """{user id: (Principal, read until)} of this app in this process, for pages."""
    return current_app.extensions.setdefault("auth_user_cache", {})


def forget_user(user_id):
    """Drop this process's cached tokens and page user of `user_id` (its other processes see the change within
    seconds)."""
    cache = _token_cache()
    for token in [t for t, (user, _until) in list(cache.items()) if user.id == user_id]:
        cache.pop(token, None)
    _user_cache().pop(user_id, None)


def needs_profile(user):
    """True when a user has not yet bound a department and a role (first login)."""
    return user.department_id is None or not user.roles


def bind_profile(user, *, department_code, role_code):
    """Bind the user's department and role on first login; raise ValidationFailed naming the bad field.

    `user` is the acting Principal (or User); returns the updated User.
    """
    errors = {}
    department = db.session.scalar(select(Department).where(Department.code == department_code))
    role = db.session.get(Role, role_code or "")
    if department is None:
        errors["department"] = _("Choose a department from the list.")
    if role is None or role.code in {"admin", "owner"}:
        errors["role"] = _("Choose a role from the list.")
    if errors:
        raise ValidationFailed(errors)
    row = db.session.get(User, user.id)
    row.department = department
    row.roles = [role]
    db.session.commit()
    forget_user(row.id)
    return row


def set_away(*, actor, away):
    """Mark the acting user away (True: the dispatch gives them nothing new) or available again (False); tasks
    they hold stay theirs. ValidationFailed on `away` unless it is a boolean. Returns the new state."""
    if not isinstance(away, bool):
        raise ValidationFailed({"away": _("Must be true or false.")})
    db.session.execute(update(User).where(User.id == actor.id).values(away=away))
    db.session.commit()
    forget_user(actor.id)
    return away


def departments():
    return db.session.scalars(select(Department).order_by(Department.id)).all()


def roles():
    return db.session.scalars(select(Role).order_by(Role.code)).all()


def active_users(role=None):
    """Active users ordered by username; only those holding `role` when given."""
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)).all()
    return [u for u in users if role is None or u.has_role(role)]


def users_by_username(usernames):
    """{username: User} for the given usernames (unknown ones are left out)."""
    names = {n for n in usernames if n}
    if not names:
        return {}
    return {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(names)))}
