"""The floor under bench/engine_overhead.py's (b): what the lifecycle costs with no application code at all.

Runs the same lifecycles as engine_overhead.py three ways, rounds alternating:
(a) bare SpiffWorkflow in memory, with SpiffWorkflow's own script engine (engine_overhead's (a));
(s) the same, with the app's sandboxed script engine (diagram code must run sandboxed);
(f) the floor: (s) plus, per step, the rows the issue requires written with plain sqlite3 statements into the
    app's real schema (WAL, synchronous=NORMAL) and one commit per step: the instance state from the app's
    dump_state with its version guard, the task row closed and the next one opened, the ticket's columns, two
    history rows and the timer rows. No ORM, no SQLAlchemy, no validation, no permission checks, no lookups.
The ratio f/a is the least (b)/(a) any service layer on this stack can show.

Usage: .venv/bin/python bench/engine_floor.py [N] [ROUNDS]
"""
import shutil
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.capabilities import deadline, now_iso  # noqa: E402
from app.engine.sandbox import make_script_engine  # noqa: E402
from app.engine.serializer import SERIALIZER_VERSION, dump_state  # noqa: E402
from engine_overhead import bare, in_memory, parsed_specs  # noqa: E402

NOW = "2026-12-01 10:00:00.000000"


def _schema_db(folder):
    """A SQLite file with the app's migrated schema and demo data; returns (connection, customer id, definition id)."""
    import logging

    from app import create_app
    from app.extensions import db
    from app.seed import seed_demo
    from config import Config

    logging.disable(logging.WARNING)
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'floor.db'}", SCHEDULER_ENABLED=False,
                     UPLOAD_DIR=str(folder / "uploads"))
    with app.app_context():
        seed_demo(password="bench-123")
        db.engine.dispose()
    conn = sqlite3.connect(folder / "floor.db", isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    customer = conn.execute("SELECT id FROM customers LIMIT 1").fetchone()[0]
    definition = conn.execute("SELECT id FROM process_definitions LIMIT 1").fetchone()[0]
    return conn, customer, definition


class Store:
    """The rows of one lifecycle, written with plain sqlite3 and committed per step."""

    def __init__(self, conn, customer, definition):
        self.conn, self.customer, self.definition = conn, customer, definition

    def start(self, workflow):
        c = self.conn
        c.execute("BEGIN")
        self.ticket = c.execute(
            "INSERT INTO tickets (number, customer_id, type, urgency, channel, description, status, created_by_id,"
            " created_at, reopen_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (uuid.uuid4().hex[:20], self.customer, "complaint", "high", "phone", "设备无法启动", "new", 1, NOW),
        ).lastrowid
        self.instance = c.execute(
            "INSERT INTO process_instances (definition_id, state, serializer_version, version, status, created_at,"
            " updated_at) VALUES (?, ?, ?, 1, 'running', ?, ?)",
            (self.definition, dump_state(workflow), SERIALIZER_VERSION, NOW, NOW),
        ).lastrowid
        self.version = 1
        c.execute("UPDATE tickets SET status = ?, current_step = ?, department_id = 2, assignee_id = 4,"
                  " response_due_at = ?, resolution_due_at = ?, process_instance_id = ? WHERE id = ?",
                  ("pending_accept", "受理工单", NOW, NOW, self.instance, self.ticket))
        c.executemany("INSERT INTO timers (instance_id, task_id, name, due_at) VALUES (?, ?, ?, ?)",
                      [(self.instance, uuid.uuid4().hex, "acceptance_window", NOW),
                       (self.instance, uuid.uuid4().hex, "response_due", NOW)])
        self._open_task("accept_ticket")
        self._history("created", "task_opened")
        c.execute("COMMIT")

    def step(self, workflow, name):
        c = self.conn
        c.execute("BEGIN")
        c.execute("UPDATE human_tasks SET state = 'completed', completed_at = ?, completed_by_id = 4"
                  " WHERE id = ? AND state = 'open'", (NOW, self.task))
        saved = c.execute(
            "UPDATE process_instances SET state = ?, serializer_version = ?, version = ?, status = ?, updated_at = ?"
            " WHERE id = ? AND version = ?",
            (dump_state(workflow), SERIALIZER_VERSION, self.version + 1, "running", NOW, self.instance, self.version),
        ).rowcount
        assert saved == 1
        self.version += 1
        c.execute("DELETE FROM timers WHERE instance_id = ? AND name = ?", (self.instance, "acceptance_window"))
        if name != "feedback":
            self._open_task(name)
        c.execute("UPDATE tickets SET status = ?, current_step = ?, accepted_at = ? WHERE id = ?",
                  ("processing", name, NOW, self.ticket))
        self._history("task_completed", "task_opened")
        c.execute("COMMIT")

    def _open_task(self, name):
        self.task = uuid.uuid4().hex
        self.conn.execute(
            "INSERT INTO human_tasks (id, instance_id, ticket_id, name, title, role, department_id, assignee_id, form,"
            " state, created_at, due_at) VALUES (?, ?, ?, ?, ?, 'handler', 2, 4, ?, 'open', ?, ?)",
            (self.task, self.instance, self.ticket, name, name, f"{name}.json", NOW, NOW))

    def _history(self, *actions):
        self.conn.executemany(
            "INSERT INTO ticket_history (ticket_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            [(self.ticket, NOW, "engineer1", action, '{"task": "accept_ticket"}') for action in actions])


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    spec, subprocess_specs = parsed_specs()
    engine = make_script_engine({"deadline": deadline, "now_iso": now_iso,
                                 "pick_assignee": lambda department: "engineer1",
                                 "has_open_task": lambda ticket_number, task_name: False})
    folder = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    try:
        store = Store(*_schema_db(folder))
        bare(min(20, n))
        in_memory(min(20, n), spec, subprocess_specs, engine, store)
        a, s, f = [], [], []
        for _ in range(rounds):
            a.append(bare(n))
            s.append(in_memory(n, spec, subprocess_specs, engine))
            f.append(in_memory(n, spec, subprocess_specs, engine, store))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    a, s, f = max(a), max(s), max(f)
    print(f"lifecycles: {n} per round, best of {rounds} alternating rounds")
    print(f"(a) bare SpiffWorkflow in memory         : {1000 / a:6.2f} ms each")
    print(f"(s) sandboxed script engine, in memory   : {1000 / s:6.2f} ms each  (s/a {a / s:.2f})")
    print(f"(f) floor: (s) + the required rows in SQLite, a commit per step : {1000 / f:6.2f} ms each  "
          f"(f/a {a / f:.2f})")


if __name__ == "__main__":
    main()
