"""Shared fixtures: a migrated, seeded, deployed SQLite template copied per test (and a PostgreSQL template
database, see pg_template); API helpers."""
import os
import shutil
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, make_url, text

from app import create_app
from app.extensions import db
from config import TestConfig, normalise_database_url

PASSWORD = "pw-demo-123"


def pytest_configure(config):
    """Under pytest-xdist each worker process gets a PostgreSQL database of its own (TEST_DATABASE_URL's name with
    the worker's id appended, created on first use), so tests that drop and recreate their database or schema in
    parallel never meet. Its template (see pg_template) is named after it, so it is per worker too."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not os.environ.get("TEST_DATABASE_URL"):
        return
    given = make_url(os.environ["TEST_DATABASE_URL"])
    own = given.set(database=f"{given.database}_{worker}")
    with pg_server(make_url(normalise_database_url(os.environ["TEST_DATABASE_URL"]))) as server:
        if not server.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}).first():
            server.execute(text(f'CREATE DATABASE "{own.database}"'))
    os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)


def make_app(db_path, tmp_path, **overrides):
    settings = dict(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}",
        UPLOAD_DIR=str(tmp_path / "uploads"),
        AUTO_MIGRATE=False,
        AUTO_DEPLOY=False,
        SCHEDULER_ENABLED=False,
    )
    settings.update(overrides)
    return create_app(TestConfig, **settings)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """A SQLite file migrated with Alembic, with demo data and the deployed diagrams."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.db"
    app = make_app(path, folder, AUTO_MIGRATE=True, AUTO_DEPLOY=True)
    with app.app_context():
        from app.seed import seed_demo

        seed_demo(password=PASSWORD)
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory):
    """The name of a database beside TEST_DATABASE_URL's, migrated, deployed and seeded once per test session: each
    test's database is copied from it (CREATE DATABASE .. TEMPLATE, a file copy) instead of migrating again."""
    if not os.environ.get("TEST_DATABASE_URL"):  # (session fixtures are set up before pg_url says so)
        if os.environ.get("CI"):
            pytest.fail("TEST_DATABASE_URL is not set: scripts/test.sh starts PostgreSQL")
        pytest.skip("no PostgreSQL server (run through scripts/test.sh)")
    url = make_url(normalise_database_url(os.environ["TEST_DATABASE_URL"]))
    template = f"{url.database}_template"
    with pg_server(url) as server:
        server.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
        server.execute(text(f'CREATE DATABASE "{template}"'))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url.set(database=template).render_as_string(False),
                     AUTO_MIGRATE=True, AUTO_DEPLOY=True, UPLOAD_DIR=str(tmp_path_factory.mktemp("pg-template")))
    with app.app_context():
        from app.seed import seed_demo

        seed_demo(password=PASSWORD)
        db.session.remove()
        db.engine.dispose()
    return template


@contextmanager
def pg_server(url):
    """An autocommit connection to the server's maintenance database (to drop and create databases)."""
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@pytest.fixture
def app(template_db, tmp_path):
    path = tmp_path / "test.db"
    shutil.copy(template_db, path)
    application = make_app(path, tmp_path)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class Api:
    """A thin JSON client that logs in as a demo user and sends the bearer token."""

    def __init__(self, client):
        self.client = client
        self.tokens = {}

    def login(self, username, password=PASSWORD):
        response = self.client.post("/api/v1/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        self.tokens[username] = response.get_json()["token"]
        return self.tokens[username]

    def _headers(self, user):
        if user is None:
            return {}
        if user not in self.tokens:
            self.login(user)
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, url, user=None, **kw):
        return self.client.get(f"/api/v1{url}", headers=self._headers(user), **kw)

    def post(self, url, user=None, json=None, **kw):
        return self.client.post(f"/api/v1{url}", headers=self._headers(user), json=json, **kw)

    def put(self, url, user=None, json=None, **kw):
        return self.client.put(f"/api/v1{url}", headers=self._headers(user), json=json, **kw)

    # conveniences for walking the flow
    def customer_number(self, user="agent1"):
        """The number of the first demo customer."""
        items = self.get("/customers?q=精工", user).get_json()["items"]
        return items[0]["number"]

    def new_ticket(self, user="agent1", **fields):
        body = {"customer_number": self.customer_number(user), "type": "complaint", "urgency": "high",
                "description": "生产线设备无法启动，影响交付", "channel": "phone"}
        body.update(fields)
        response = self.post("/tickets", user, json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def task_for(self, user, ticket_number, name=None):
        items = self.get("/tasks?limit=200", user).get_json()["items"]
        found = [t for t in items if t["ticket_number"] == ticket_number and (name is None or t["name"] == name)]
        assert found, f"{user} has no task {name} for {ticket_number}: {items}"
        return found[0]

    def complete(self, user, ticket_number, name, **data):
        task = self.task_for(user, ticket_number, name)
        response = self.post(f"/tasks/{task['id']}/complete", user, json={"data": data})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def ticket(self, number, user="supervisor1"):
        return self.get(f"/tickets/{number}", user).get_json()


@pytest.fixture
def api(client):
    return Api(client)


def complete_at_once(app, api, task_id, submissions):
    """Let several users POST the same task completion at the same moment; return {user: (status, body)}."""
    import threading

    tokens = {user: api.login(user) for user in submissions}
    barrier = threading.Barrier(len(submissions))
    results = {}

    def complete(user, data):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            response = client.post(f"/api/v1/tasks/{task_id}/complete",
                                   headers={"Authorization": f"Bearer {tokens[user]}"}, json={"data": data})
            results[user] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=complete, args=item) for item in submissions.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
