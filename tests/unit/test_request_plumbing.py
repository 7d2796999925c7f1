"""The app's own request plumbing answers as Flask's would, minus repeated work: `ensure_sync` per function, and an
empty session for a request that carries no cookie at all."""
import pytest
from flask import Flask, session

from app import DeskFlask
from app.sessions import CookieSessionInterface


def test_ensure_sync_answers_as_flask_and_remembers():
    app = DeskFlask(__name__)

    def plain():
        return "plain"

    async def coroutine():
        return "async"

    assert app.ensure_sync(plain) is plain
    assert app.ensure_sync(plain) is plain and list(app._sync_of) == [plain]
    try:  # Flask's own wrapper, or its error when its async extra is not installed (it is not here)
        expected = Flask(__name__).ensure_sync(coroutine)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            app.ensure_sync(coroutine)
        return
    wrapped = app.ensure_sync(coroutine)
    assert type(wrapped) is type(expected) and app.ensure_sync(coroutine) is wrapped


def test_a_request_without_cookies_gets_an_empty_session_and_a_cookie_is_still_read():
    app = DeskFlask(__name__)
    app.secret_key = "test-secret"
    app.session_interface = CookieSessionInterface()

    @app.get("/set")
    def set_value():
        session["seen"] = "yes"
        return "set"

    @app.get("/get")
    def get_value():
        return session.get("seen", "none")

    client = app.test_client()
    assert client.get("/get").get_data(as_text=True) == "none"
    assert "session=" in client.get("/set").headers["Set-Cookie"]
    assert client.get("/get").get_data(as_text=True) == "yes"  # the cookie the last answer set is read back
