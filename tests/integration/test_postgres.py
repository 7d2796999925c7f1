"""The same flow on a real PostgreSQL server, and timers fired exactly once by three app processes."""
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import create_engine, func, make_url, select, text

from app import create_app
from app.extensions import db
from app.seed import seed_demo
from config import TestConfig, normalise_database_url
from tests.conftest import PASSWORD, Api, complete_at_once, pg_server

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_DATABASE_URL is not set: scripts/test.sh starts PostgreSQL")
        pytest.skip("no PostgreSQL server (run through scripts/test.sh)")
    engine = create_engine(normalise_database_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def pg_app(pg_url, pg_template, tmp_path):
    url = make_url(normalise_database_url(pg_url))
    with pg_server(url) as server:  # a fresh copy of the template (no other session may use either)
        server.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        server.execute(text(f'CREATE DATABASE "{url.database}" TEMPLATE "{pg_template}"'))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=normalise_database_url(pg_url), AUTO_MIGRATE=False,
                     AUTO_DEPLOY=False, UPLOAD_DIR=str(tmp_path))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_flow_and_nul_bytes_on_postgres(pg_app):
    api = Api(pg_app.test_client())
    number = api.new_ticket()["number"]
    api.complete("engineer1", number, "accept_ticket", contact_note="已联系")
    api.complete("engineer1", number, "handle_ticket", action="处理", status="processing", solution="方案",
                 solution_ready=True)
    ticket = api.complete("agent1", number, "feedback", method="phone", opinion="satisfied")
    assert ticket["status"] == "closed"
    assert api.get("/customers?q=a%00b", "agent1").status_code == 200


def test_timers_fire_exactly_once_across_three_processes(pg_app, pg_url):
    lapsed = 24
    api = Api(pg_app.test_client())
    start = datetime.now(timezone.utc) - timedelta(minutes=45)  # acceptance windows lapsed 15 minutes ago
    with time_machine.travel(start, tick=False):
        numbers = [api.new_ticket(urgency="low")["number"] for _ in range(lapsed)]
    db.session.remove()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    nodes = [subprocess.Popen([sys.executable, "-m", "tests.integration.node", pg_url], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        # every node up first (start-up is serialised by a lock): a node stopped before it is ready is no test
        assert [node.stdout.readline().strip() for node in nodes] == ["ready"] * 3
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reassigns = db.session.scalar(text(
                "SELECT count(*) FROM human_tasks WHERE name = 'reassign_ticket'"))
            db.session.rollback()
            if reassigns >= lapsed:
                break
            time.sleep(0.2)
        time.sleep(1.5)  # three more polls of every node: a double firing would show now
    finally:
        for node in nodes:
            node.terminate()
        outputs = [node.communicate(timeout=15) for node in nodes]
    assert all(node.returncode == 0 for node in nodes), outputs
    assert all("stopped" in out for out, _err in outputs), outputs
    fired = db.session.execute(text(
        "SELECT t.number, count(h.id) FROM tickets t JOIN ticket_history h ON h.ticket_id = t.id "
        "WHERE h.action = 'timer_fired' GROUP BY t.number")).all()
    assert sorted(fired) == sorted((n, 1) for n in numbers)
    per_ticket = db.session.execute(text(
        "SELECT t.number, count(*) FROM human_tasks ht JOIN tickets t ON t.id = ht.ticket_id "
        "WHERE ht.name = 'reassign_ticket' GROUP BY t.number")).all()
    assert sorted(per_ticket) == sorted((n, 1) for n in numbers)
    assert db.session.scalar(text("SELECT count(*) FROM timers WHERE due_at <= now()")) == 0


def test_three_processes_starting_together_migrate_and_deploy_once(pg_url):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    nodes = [subprocess.Popen([sys.executable, "-m", "tests.integration.node", pg_url], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        ready = [node.stdout.readline().strip() for node in nodes]
    finally:
        for node in nodes:
            node.terminate()
        outputs = [node.communicate(timeout=15) for node in nodes]
    assert ready == ["ready"] * 3, outputs
    assert all(node.returncode == 0 for node in nodes), outputs
    engine = create_engine(normalise_database_url(pg_url))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert sorted(conn.execute(text("SELECT name, version FROM process_definitions")).all()) == [
            ("after_sales", 1), ("customer_care", 1), ("customer_onboarding", 1), ("quick_response", 1), ("satisfaction_survey", 1),
            ("service_request", 1)]
        assert conn.execute(text("SELECT count(*) FROM roles")).scalar() == 5
    engine.dispose()


def test_two_users_complete_the_same_task_at_once_on_postgres(pg_app):
    api = Api(pg_app.test_client())
    start = datetime.now(timezone.utc) - timedelta(minutes=45)
    with time_machine.travel(start, tick=False):
        number = api.new_ticket()["number"]
    from app.timers.service import fire_due_timers

    assert fire_due_timers() == 1
    task = api.task_for("supervisor1", number, "reassign_ticket")
    results = complete_at_once(pg_app, api, task["id"], {
        "supervisor1": {"assignee": "engineer1", "reason": "supervisor1 改派"},
        "admin": {"assignee": "product1", "department": "product", "reason": "admin 改派"},
    })
    assert sorted(code for code, _ in results.values()) == [200, 409], results
    ticket = api.ticket(number)
    assert [h["action"] for h in ticket["history"]].count("task_completed") == 1
    assert [t["name"] for t in ticket["open_tasks"]] == ["accept_ticket"]


@pytest.fixture
def pg_token(pg_app):
    return Api(pg_app.test_client()).login("supervisor1")


@pytest.fixture
def pg_api_schema(pg_app):
    import schemathesis

    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", pg_app)


def _pg_fuzz():
    import schemathesis
    from hypothesis import HealthCheck, settings
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    schema = schemathesis.pytest.from_fixture("pg_api_schema")

    @schema.parametrize()
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def test_api_contract_on_postgres(case, pg_token):
        """PostgreSQL refuses what SQLite accepts (NUL characters, huge integers): still never a 5xx."""
        response = case.call_and_validate(headers={"Authorization": f"Bearer {pg_token}"},
                                          excluded_checks=[positive_data_acceptance])
        assert response.status_code < 500

    return test_api_contract_on_postgres


test_api_contract_on_postgres = _pg_fuzz()


def test_customer_search_has_trigram_indexes_on_postgres(pg_app):
    from app.customers import search_index

    names = set(db.session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'customers'")))
    assert set(search_index.PG_INDEXES) | {search_index.GRAMS_INDEX} <= names
    api = Api(pg_app.test_client())
    found = api.get("/customers?q=精工制造", "agent1").get_json()["items"]
    assert found and all("精工制造" in c["name"] for c in found)
    assert api.get("/customers?q=无此客户", "agent1").get_json()["items"] == []


def test_login_failures_at_once_are_all_counted_on_postgres(pg_app):
    """Concurrent failed log-ins (as from several gunicorn workers) each count once: the upsert is atomic."""
    import threading

    from app.auth.models import LoginFailures

    barrier, codes = threading.Barrier(8), []

    def fail():
        with pg_app.app_context():
            client = pg_app.test_client()
            barrier.wait()
            codes.append(client.post("/api/v1/login", json={"username": "agent1", "password": "wrong"}).status_code)
            db.session.remove()

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(codes)) in ([401], [401, 429]), codes  # all checked before the fifth was counted, or not
    counts = dict(db.session.execute(select(LoginFailures.key, LoginFailures.failures)).all())
    assert counts == {"account:agent1": codes.count(401), "address:127.0.0.1": codes.count(401)}
    response = pg_app.test_client().post("/api/v1/login", json={"username": "agent1", "password": PASSWORD})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_rollback_keeps_prepared_statements_on_postgres(pg_app):
    """psycopg prepares a statement on its fifth execution and would forget every prepared statement on ROLLBACK
    (which ends every request that only reads); the app's connections keep them, and the server still has them,
    also after a transaction that failed."""
    from sqlalchemy import exc

    add = text("SELECT 1 + :n")
    prepared = text("SELECT statement FROM pg_prepared_statements")
    with db.engine.connect() as conn:
        for n in range(6):
            assert conn.execute(add, {"n": n}).scalar() == n + 1
        conn.rollback()
        assert "SELECT 1 + $1" in set(conn.execute(prepared).scalars())
        with pytest.raises(exc.DataError):
            conn.execute(text("SELECT 1 / 0"))
        conn.rollback()
        assert conn.execute(add, {"n": 41}).scalar() == 42
        assert "SELECT 1 + $1" in set(conn.execute(prepared).scalars())
        assert len(conn.connection.dbapi_connection._prepared._names) >= 1


def test_customer_pieces_agree_in_the_bigram_table_and_the_gin_index_on_postgres(pg_app):
    """The GIN index's function gives each customer the very pieces the triggers keep in the bigram table, also
    after a customer's name changes (both lower-case, without digit pairs or spaces)."""
    from app.customers import search_index
    from app.customers.service import create_customer

    create_customer(data={"name": "Ab 上海12精工", "industry": "retail", "cooperation_start": "2024-05-01",
                          "contact_person": "王 伟", "phone": "13500130000"})
    db.session.execute(text("UPDATE customers SET name = name || 'XY' WHERE id = (SELECT max(id) FROM customers)"))
    grams = text(f"SELECT id, {search_index.GRAMS}(number, name, phone, contact_person) FROM customers")
    by_function = {i: set(g) for i, g in db.session.execute(grams)}
    by_table = {i: set() for i in by_function}
    for piece, customer in db.session.execute(text(f"SELECT gram, customer_id FROM {search_index.BIGRAMS}")):
        by_table[customer].add(piece)
    assert by_function == by_table
    assert {"ab", "上海", "2精", "精工", "工x", "xy"} <= by_function[max(by_function)]
