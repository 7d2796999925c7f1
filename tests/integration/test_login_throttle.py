"""The log-in throttle: too many failures per account or per client address refuse further log-ins (page and
API, even with the right password) until the window has passed; the counts are shared by every app process."""
from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import select

from app.auth.models import LoginFailures
from app.extensions import db
from tests.conftest import PASSWORD, make_app

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
WINDOW = timedelta(minutes=15)


def page_login(client, username, password, address="127.0.0.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def api_login(client, username, password, address="127.0.0.1", language="zh-CN"):
    return client.post("/api/v1/login", json={"username": username, "password": password},
                       headers={"Accept-Language": language}, environ_base={"REMOTE_ADDR": address})


def test_page_refuses_an_account_after_five_failures_until_the_window_passes(client):
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(5):
            assert page_login(client, "agent1", "wrong").status_code == 401
            clock.shift(timedelta(minutes=1))
        refused = page_login(client, "agent1", PASSWORD)  # the right password, still refused
        page = refused.get_data(as_text=True)
        assert refused.status_code == 429
        assert "登录失败次数过多，请等待 10 分钟后再试。" in page and 'value="agent1"' in page
        assert int(refused.headers["Retry-After"]) == 10 * 60  # the window began with the first failure
        assert page_login(client, "Agent1", PASSWORD).status_code == 429  # case variants share the count
        assert page_login(client, "agent2", PASSWORD).status_code == 302  # other accounts are not touched
        client.post("/logout")

        clock.shift(timedelta(minutes=9, seconds=59))
        assert page_login(client, "agent1", PASSWORD).status_code == 429
        clock.shift(timedelta(seconds=1))
        assert page_login(client, "agent1", PASSWORD).status_code == 302


def test_api_answers_429_with_retry_after_and_an_error_body(client):
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(5):
            assert api_login(client, "agent1", "wrong").status_code == 401
        refused = api_login(client, "agent1", PASSWORD, language="en")
        assert refused.status_code == 429
        assert refused.get_json() == {"error": "Too many failed log-ins. Wait 15 minutes, then try again."}
        assert refused.headers["Retry-After"] == str(15 * 60)
        assert api_login(client, "agent1", PASSWORD).get_json()["error"] == "登录失败次数过多，请等待 15 分钟后再试。"
        clock.shift(WINDOW)
        assert api_login(client, "agent1", PASSWORD).status_code == 200


def test_page_and_api_share_the_count(client):
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            assert page_login(client, "agent1", "wrong").status_code == 401
        for _ in range(2):
            assert api_login(client, "agent1", "wrong").status_code == 401
        assert api_login(client, "agent1", PASSWORD).status_code == 429
        assert page_login(client, "agent1", PASSWORD).status_code == 429


def test_a_success_clears_the_account_count(client):
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            assert api_login(client, "agent1", "wrong").status_code == 401
        assert api_login(client, "agent1", PASSWORD).status_code == 200
        for _ in range(4):
            assert api_login(client, "agent1", "wrong").status_code == 401
        assert api_login(client, "agent1", PASSWORD).status_code == 200


def test_failures_after_the_window_start_a_new_count(client):
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(4):
            assert api_login(client, "agent1", "wrong").status_code == 401
        clock.shift(WINDOW)
        for _ in range(4):  # the first four have expired: 4 in this window
            assert api_login(client, "agent1", "wrong").status_code == 401
        assert api_login(client, "agent1", PASSWORD).status_code == 200


def test_an_address_is_refused_after_twenty_failures_on_any_accounts(client):
    with time_machine.travel(T0, tick=False) as clock:
        for number in range(20):  # unknown employee numbers count too, so guessing names is throttled
            assert api_login(client, f"guess{number}", "wrong", address="10.0.0.9").status_code == 401
        assert api_login(client, "agent1", PASSWORD, address="10.0.0.9").status_code == 429
        assert page_login(client, "agent2", PASSWORD, address="10.0.0.9").status_code == 429
        assert api_login(client, "agent1", PASSWORD, address="10.0.0.10").status_code == 200  # another address
        clock.shift(WINDOW)
        assert api_login(client, "agent1", PASSWORD, address="10.0.0.9").status_code == 200


def test_expired_counts_are_deleted(app, client):
    with time_machine.travel(T0, tick=False) as clock:
        api_login(client, "agent1", "wrong")
        clock.shift(WINDOW)
        api_login(client, "agent2", "wrong", address="10.0.0.9")
        keys = db.session.scalars(select(LoginFailures.key).order_by(LoginFailures.key)).all()
        assert keys == ["account:agent2", "address:10.0.0.9"]


def test_two_app_processes_share_the_count(app, tmp_path):
    """Like two gunicorn workers: each has its own app and connections, the database is the same."""
    other = make_app(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"), tmp_path)
    first, second = app.test_client(), other.test_client()
    with time_machine.travel(T0, tick=False):
        for client in (first, second, first, second, first):
            assert api_login(client, "agent1", "wrong").status_code == 401
        assert api_login(second, "agent1", PASSWORD).status_code == 429
        assert api_login(first, "agent1", PASSWORD).status_code == 429
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
