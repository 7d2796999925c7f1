"""Survey link tokens: 32 random bytes (the stored `nonce`) keyed with SECRET_KEY by HMAC-SHA256. The database keeps
the nonce and the token's SHA-256 only, so a copy of it alone opens no survey; staff can still show the link."""
import base64
import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import bindparam, select

from app.extensions import db

from .models import Survey

PATH = "/survey/"
_NONCE_BY_ID = select(Survey.__table__.c.nonce).where(Survey.__table__.c.id == bindparam("survey_id"))


def new_nonce():
    return secrets.token_hex(32)


def token_of(nonce):
    """The link token of a survey's nonce (43 url-safe characters)."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"survey-link:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_of(token):
    """The stored SHA-256 (hex) of a link token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def survey_path(nonce):
    return PATH + token_of(nonce)


def survey_link(survey_id, *, external=False):
    """The survey's link (PUBLIC_URL + path when `external` and PUBLIC_URL is set, else the path), or None."""
    if survey_id is None:
        return None
    nonce = db.session.connection().execute(_NONCE_BY_ID, {"survey_id": survey_id}).scalar()
    if nonce is None:
        return None
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/") if external else ""
    return base + survey_path(nonce)
