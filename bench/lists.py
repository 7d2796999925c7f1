"""List endpoints at scale: p50/p95 of GET /api/v1/tasks, /tickets?overdue=1 and /customers?q= with many rows.

Rows are bulk-inserted straight into a SQLite file (the point is reading, not writing): ROWS tickets, each
with one open task spread over the demo handlers' queues and some assigned, and ROWS customers.

Usage: .venv/bin/python bench/lists.py [ROWS] [REQUESTS]
"""
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.models import Department, User  # noqa: E402
from app.customers.models import Customer  # noqa: E402
from app.engine import ProcessInstance, latest_definition_id  # noqa: E402
from app.extensions import db  # noqa: E402
from app.seed import seed_demo  # noqa: E402
from app.tasks.models import HumanTask  # noqa: E402
from app.tickets.models import Ticket  # noqa: E402
from config import Config  # noqa: E402

BATCH = 5_000


def fill(rows):
    """Insert `rows` customers, tickets, instances and open tasks in batches."""
    now = datetime.now(timezone.utc)
    users = {u.username: u for u in db.session.scalars(select(User))}
    departments = {d.code: d.id for d in db.session.scalars(select(Department))}
    definition_id = latest_definition_id("quick_response")
    queues = [("after_sales", "engineer1"), ("product", "product1"), ("customer_service", "service1")]
    conn = db.session.connection()
    for start in range(0, rows, BATCH):
        size = min(BATCH, rows - start)
        conn.execute(insert(Customer.__table__), [
            {"number": f"B{start + i:09d}", "name": f"压测客户{start + i}", "industry": "retail",
             "cooperation_start": now.date(), "contact_person": f"联系人{start + i}",
             "phone": f"139{start + i:08d}", "created_at": now, "updated_at": now} for i in range(size)])
        first_customer = conn.execute(select(Customer.id).where(Customer.number == f"B{start:09d}")).scalar_one()
        instance_ids = [conn.execute(insert(ProcessInstance.__table__).values(
            definition_id=definition_id, state="{}", serializer_version="1.5", version=1, status="running",
            created_at=now, updated_at=now).returning(ProcessInstance.id)).scalar_one() for _ in range(size)]
        ticket_rows = []
        for i in range(size):
            department, handler = queues[(start + i) % 3]
            due = now + timedelta(hours=((start + i) % 48) - 24)  # half of them overdue
            ticket_rows.append({
                "number": f"BT{start + i:09d}", "customer_id": first_customer + i, "type": "complaint",
                "urgency": "low", "channel": "online", "description": "压测", "status": "pending_accept",
                "department_id": departments[department], "assignee_id": users[handler].id if i % 2 else None,
                "created_by_id": users["agent1"].id, "created_at": now - timedelta(seconds=rows - start - i),
                "response_due_at": due, "resolution_due_at": due + timedelta(hours=24),
                "process_instance_id": instance_ids[i], "reopen_count": 0})
        conn.execute(insert(Ticket.__table__), ticket_rows)
        first_ticket = conn.execute(select(Ticket.id).where(Ticket.number == f"BT{start:09d}")).scalar_one()
        conn.execute(insert(HumanTask.__table__), [
            {"id": str(uuid.uuid4()), "instance_id": t["process_instance_id"], "ticket_id": first_ticket + i,
             "name": "accept_ticket", "title": "受理工单", "role": "handler", "department_id": t["department_id"],
             "assignee_id": t["assignee_id"], "form": "accept_ticket.json", "state": "open",
             "created_at": t["created_at"], "due_at": t["created_at"] + timedelta(minutes=30)}
            for i, t in enumerate(ticket_rows)])
        db.session.commit()
        conn = db.session.connection()


def measure(client, url, token, requests):
    timings = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.get_json()
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], len(response.get_json()["items"])


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    folder = Path(tempfile.mkdtemp(prefix="lists-"))
    try:
        app = create_app(Config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'lists.db'}", SCHEDULER_ENABLED=False)
        with app.app_context():
            seed_demo(password="bench-123")
            began = time.perf_counter()
            fill(rows)
            print(f"{rows} customers, tickets and open tasks inserted in {time.perf_counter() - began:.0f} s")
            client = app.test_client()
            tokens = {u: client.post("/api/v1/login", json={"username": u, "password": "bench-123"}).get_json()["token"]
                      for u in ("engineer1", "supervisor1")}
            cases = [
                ("GET /tasks (handler)", "/api/v1/tasks", "engineer1"),
                ("GET /tasks (supervisor)", "/api/v1/tasks", "supervisor1"),
                ("GET /tickets?overdue=1", "/api/v1/tickets?overdue=1", "supervisor1"),
                ("GET /tickets", "/api/v1/tickets", "supervisor1"),
                ("GET /customers?q=客户99", "/api/v1/customers?q=%E5%AE%A2%E6%88%B799", "supervisor1"),
                ("GET /customers?q=客户1", "/api/v1/customers?q=%E5%AE%A2%E6%88%B71", "supervisor1"),  # most match
                # a term nothing matches: without the search index this reads every customer
                ("GET /customers?q=无此客户", "/api/v1/customers?q=%E6%97%A0%E6%AD%A4%E5%AE%A2%E6%88%B7",
                 "supervisor1"),
            ]
            for label, url, user in cases:
                p50, p95, count = measure(client, url, tokens[user], requests)
                print(f"{label:28s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({count} items per page)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
