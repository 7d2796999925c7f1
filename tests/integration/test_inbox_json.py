"""The API's inbox, written as JSON by the database (tasks.inbox_json), is what task_json writes of the inbox rows,
on SQLite and PostgreSQL: times with and without a fraction, empty values, pages."""
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select, text

from app.api.serialize import task_json
from app.auth.models import User
from app.extensions import db
from app.tasks import service as tasks
from tests.conftest import Api
from tests.integration.test_postgres import pg_app, pg_url  # noqa: F401 (fixtures)

USERS = ("engineer1", "supervisor1", "agent1", "product1", "service1")


def check_inbox_json(api):
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    for stamp in (t0, t0 + timedelta(microseconds=123450), t0 + timedelta(seconds=1, microseconds=7),
                  t0 + timedelta(seconds=2)):
        with time_machine.travel(stamp, tick=False):
            api.new_ticket()
    db.session.execute(text("UPDATE human_tasks SET due_at = NULL WHERE id = (SELECT min(id) FROM human_tasks)"))
    db.session.commit()
    with time_machine.travel(t0 + timedelta(minutes=5), tick=False):
        seen = 0
        for username in USERS:
            user = db.session.scalar(select(User).where(User.username == username))
            expected = [task_json(row) for row in tasks.inbox(user, limit=50)]
            db.session.rollback()
            response = api.get("/tasks", username)
            assert response.status_code == 200 and response.mimetype == "application/json"
            assert response.get_json() == {"items": expected}, username
            pages, url = [], "/api/v1/tasks?limit=1"
            while url:
                body = api.client.get(url, headers=api._headers(username)).get_json()
                pages += body["items"]
                url = body.get("next")
            assert pages == expected, username
            seen += len(expected)
        assert seen >= 4
        assert any(item["due_at"] is None for u in USERS for item in api.get("/tasks", u).get_json()["items"])
        fractions = {item["created_at"][19:] for u in USERS for item in api.get("/tasks", u).get_json()["items"]}
        assert "+00:00" in fractions and any(len(f) == 13 for f in fractions)  # no fraction, and .ffffff+00:00


def test_inbox_json_is_task_json_of_the_rows(api):
    check_inbox_json(api)


@pytest.mark.postgres
def test_inbox_json_is_task_json_of_the_rows_on_postgres(pg_app):
    check_inbox_json(Api(pg_app.test_client()))
