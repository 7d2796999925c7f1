"""In-process cost of each API route: CPU per request and SQL statements per request (Flask test client).

A fresh SQLite file with the demo data and TICKETS complaint tickets (each opens an accept_ticket task in the
after-sales queue). Each read route runs ROUNDS times; claim, complete and create each act on fresh rows.
A one-route Flask JSON echo gives the floor of the framework itself. Requests run outside any app context, as
under a server: each one checks a connection out of the pool and returns it.

Usage: .venv/bin/python bench/request_cpu.py [TICKETS] [ROUNDS]
"""
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask, jsonify  # noqa: E402
from sqlalchemy import event, update  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.seed import seed_demo  # noqa: E402
from app.tasks.models import HumanTask  # noqa: E402
from config import Config  # noqa: E402

PASSWORD = "bench-123"


class Counter:
    """Counts the statements sent to the database."""

    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args):
        self.count += 1


def measure(client, counter, label, requests):
    """Run (method, url, token, body) requests; print CPU ms and statements per request."""
    requests = list(requests)
    counter.count = 0
    began = time.process_time()
    for method, url, token, body in requests:
        response = client.open(url, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code in (200, 201), (url, response.status_code, response.get_json())
    cpu = (time.process_time() - began) * 1000 / len(requests)
    print(f"{label:34s} {cpu:6.2f} ms CPU   {counter.count / len(requests):5.1f} statements")
    return cpu


def echo_cpu(rounds):
    echo = Flask("echo")

    @echo.post("/echo")
    def _echo():
        from flask import request

        return jsonify(request.get_json())

    client = echo.test_client()
    began = time.process_time()
    for _ in range(rounds):
        client.post("/echo", json={"ping": 1})
    return (time.process_time() - began) * 1000 / rounds


def main():
    tickets = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    folder = Path(tempfile.mkdtemp(prefix="request-cpu-"))
    try:
        app = create_app(Config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bench.db'}", SCHEDULER_ENABLED=False,
                         UPLOAD_DIR=str(folder / "uploads"))
        with app.app_context():
            seed_demo(password=PASSWORD)
            counter = Counter(db.engine)
        # requests run without an outer app context, each with its own session, as under gunicorn
        client = app.test_client()
        tokens = {u: client.post("/api/v1/login", json={"username": u, "password": PASSWORD}).get_json()["token"]
                  for u in ("agent1", "engineer1", "supervisor1")}
        customer = client.get("/api/v1/customers?q=精工", headers={
            "Authorization": f"Bearer {tokens['agent1']}"}).get_json()["items"][0]["number"]
        body = {"customer_number": customer, "type": "complaint", "urgency": "high", "channel": "phone",
                "description": "生产线设备无法启动，影响交付"}
        agent, engineer, supervisor = tokens["agent1"], tokens["engineer1"], tokens["supervisor1"]
        measure(client, counter, f"POST /tickets (x{tickets})", [("POST", "/api/v1/tickets", agent, body)] * tickets)
        tasks = client.get("/api/v1/tasks?limit=200", headers={"Authorization": f"Bearer {engineer}"}).get_json()
        task_ids = [t["id"] for t in tasks["items"]]
        number = tasks["items"][0]["ticket_number"]
        print(f"engineer1 inbox: {len(task_ids)} tasks")
        measure(client, counter, "GET /tasks (engineer, 40)",
                [("GET", "/api/v1/tasks?limit=40", engineer, None)] * rounds)
        measure(client, counter, "GET /tasks (supervisor)", [("GET", "/api/v1/tasks", supervisor, None)] * rounds)
        measure(client, counter, "GET /tasks/{id}",
                [("GET", f"/api/v1/tasks/{task_ids[0]}", engineer, None)] * rounds)
        measure(client, counter, "GET /tickets (40)", [("GET", "/api/v1/tickets?limit=40", supervisor, None)] * rounds)
        measure(client, counter, "GET /tickets/{number}",
                [("GET", f"/api/v1/tickets/{number}", engineer, None)] * rounds)
        measure(client, counter, "GET /customers?q=精工", [("GET", "/api/v1/customers?q=精工", agent, None)] * rounds)
        measure(client, counter, "GET /customers/{number}",
                [("GET", f"/api/v1/customers/{customer}", agent, None)] * rounds)
        half = len(task_ids) // 2
        with app.app_context():  # back to the department's queue, so the claims below are real ones
            db.session.execute(update(HumanTask).where(HumanTask.id.in_(task_ids[:half])).values(assignee_id=None))
            db.session.commit()
        measure(client, counter, "POST /tasks/{id}/claim",
                [("POST", f"/api/v1/tasks/{t}/claim", engineer, {}) for t in task_ids[:half]])
        measure(client, counter, "POST /tasks/{id}/complete",
                [("POST", f"/api/v1/tasks/{t}/complete", engineer, {"data": {"contact_note": "已联系客户"}})
                 for t in task_ids[:half]])
        measure(client, counter, f"POST /tickets (x{tickets})", [("POST", "/api/v1/tickets", agent, body)] * tickets)
        print(f"{'Flask JSON echo':34s} {echo_cpu(rounds * 5):6.2f} ms CPU")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
