"""Flask extension objects, created unbound and initialised in the app factory."""
from flask import request
from flask_babel import Babel
from flask_login import LoginManager as _LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

from app import stored_json
from app.parked_connections import DeskSession

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class LoginManager(_LoginManager):
    """Flask-Login, minus its remember-me upkeep after API requests.

    The API authenticates by bearer token and never logs anyone in through the session, so after an API request
    there is no remember-me cookie to set or clear. Looking anyway reads the session, and Flask then marks each
    JSON answer `Vary: Cookie` (about 20 us a request, a tenth of a light one)."""

    def _update_remember_cookie(self, response):
        if request.blueprint == "api":
            return response
        return super()._update_remember_cookie(response)


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING), session_options={"class_": DeskSession},
               engine_options={"json_serializer": stored_json.dumps})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
