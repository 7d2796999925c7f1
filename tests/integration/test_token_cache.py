"""The API token check is answered from memory for a few seconds; a deactivated user or a changed role, a
token's expiry, take effect all the same once those seconds have passed."""
from datetime import datetime, timedelta, timezone

import time_machine
from flask import g
from sqlalchemy import event

from app.auth.models import Role, User
from app.extensions import db
from tests.conftest import PASSWORD

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)


def _user(username):
    return db.session.scalar(db.select(User).where(User.username == username))


def _statements_of(app, call):
    """`call`'s result and the SQL of every statement it sent: SQLAlchemy's and app.fast_statements' alike (these run
    below SQLAlchemy's events). The engine's connections are made anew for it, each traced by the driver (the
    requests share the tests' app context, and so its session: it is closed first, giving its connection back)."""
    seen = []

    def trace(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(seen.append)

    db.session.remove()
    db.engine.dispose()
    event.listen(db.engine, "connect", trace)
    try:
        response = call()
    finally:
        event.remove(db.engine, "connect", trace)
        db.engine.dispose()
    return response, seen


def test_a_checked_token_costs_no_statement_within_the_cache_window(app, api):
    with time_machine.travel(T0, tick=False):
        api.login("agent1")
        assert api.get("/tasks", "agent1").status_code == 200
        response, statements = _statements_of(app, lambda: api.get("/tasks", "agent1"))
        assert response.status_code == 200
        assert not [s for s in statements if "FROM users" in s and "user_roles" in s]


def test_a_deactivated_user_is_refused_within_seconds(app, api):
    with time_machine.travel(T0, tick=False) as traveller:
        api.login("agent2")
        assert api.get("/tasks", "agent2").status_code == 200
        _user("agent2").active = False
        db.session.commit()
        traveller.shift(timedelta(seconds=app.config["AUTH_CACHE_SECONDS"] + 1))
        response = api.get("/tasks", "agent2")
        assert response.status_code == 401
        assert response.get_json()["error"]


def test_a_changed_role_takes_effect_within_seconds(app, api):
    with time_machine.travel(T0, tick=False) as traveller:
        api.login("agent1")
        api.login("engineer1")
        assert api.get("/tickets", "agent1").status_code == 200  # agents search tickets
        assert api.get("/tickets", "engineer1").status_code == 403  # handlers do not
        agent, engineer = _user("agent1"), _user("engineer1")
        agent.roles = [db.session.get(Role, "handler")]
        engineer.roles = [db.session.get(Role, "agent")]
        db.session.commit()
        traveller.shift(timedelta(seconds=app.config["AUTH_CACHE_SECONDS"] + 1))
        assert api.get("/tickets", "agent1").status_code == 403
        assert api.get("/tickets", "engineer1").status_code == 200


def test_a_token_still_expires_while_it_is_being_used(app, api):
    app.config["API_TOKEN_MAX_AGE"] = 60
    with time_machine.travel(T0, tick=False) as traveller:
        api.login("agent1")
        for _ in range(30):  # used every second and a half up to its last moment
            assert api.get("/tasks", "agent1").status_code == 200
            traveller.shift(timedelta(seconds=1.5))
        traveller.shift(timedelta(seconds=16))  # 61 s after it was issued
        response = api.get("/tasks", "agent1")
        assert response.status_code == 401


def test_a_forged_token_is_refused_even_beside_a_cached_one(app, api):
    with time_machine.travel(T0, tick=False):
        token = api.login("agent1")
        assert api.get("/tasks", "agent1").status_code == 200
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        response = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401



def _page_login(client, username):
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def _page(client, url):
    """GET a page as a server would: the tests' outer app context keeps Flask-Login's user in `g` between
    requests, a server gives each request its own, so the user is looked up again."""
    g.pop("_login_user", None)
    return client.get(url)


def test_a_page_user_costs_no_statement_within_the_cache_window(app, client):
    with time_machine.travel(T0, tick=False) as traveller:
        _page_login(client, "agent1")
        assert _page(client, "/customers").status_code == 200
        response, statements = _statements_of(app, lambda: _page(client, "/customers"))
        assert response.status_code == 200
        assert not [s for s in statements if "FROM users" in s and "user_roles" in s]
        traveller.shift(timedelta(seconds=app.config["AUTH_CACHE_SECONDS"] + 1))
        response, statements = _statements_of(app, lambda: _page(client, "/customers"))
        assert response.status_code == 200
        assert [s for s in statements if "FROM users" in s and "user_roles" in s]  # read again after the window


def test_a_deactivated_page_user_is_logged_out_within_seconds(app, client):
    with time_machine.travel(T0, tick=False) as traveller:
        _page_login(client, "agent2")
        assert _page(client, "/customers").status_code == 200
        _user("agent2").active = False
        db.session.commit()
        assert _page(client, "/customers").status_code == 200  # within the cache window
        traveller.shift(timedelta(seconds=app.config["AUTH_CACHE_SECONDS"] + 1))
        response = _page(client, "/customers")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_changed_role_takes_effect_on_pages_within_seconds(app, client):
    with time_machine.travel(T0, tick=False) as traveller:
        _page_login(client, "agent1")
        assert _page(client, "/supervisor/monitor").status_code == 403
        _user("agent1").roles = [db.session.get(Role, "supervisor")]
        db.session.commit()
        traveller.shift(timedelta(seconds=app.config["AUTH_CACHE_SECONDS"] + 1))
        assert _page(client, "/supervisor/monitor").status_code == 200
