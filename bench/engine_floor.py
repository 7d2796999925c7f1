"""The floor under bench/engine_overhead.py's (b): what the lifecycle costs with no application code at all.

Runs the same lifecycles as engine_overhead.py three ways, rounds alternating:
(a) bare SpiffWorkflow in memory, with SpiffWorkflow's own script engine (engine_overhead's (a));
(s) the same, with the app's sandboxed script engine (diagram code must run sandboxed);
(f) the floor: (s) plus, per step, the rows the issue requires written with plain sqlite3 statements into the
    app's real schema (WAL, synchronous=NORMAL) and one commit per step: the instance state as the app's
    engine.store writes it (a snapshot, then a delta per step) with its version guard, the task row closed and the next one opened, the ticket's columns, two
    history rows and the timer rows. No ORM, no SQLAlchemy, no validation, no permission checks, no lookups.
The ratio f/a is the least (b)/(a) any service layer on this stack can show. `stack_store` writes the same rows
through the app's own database layer (bench/engine_ratio.py's (f_)), to tell what the stack adds to them.

Usage: .venv/bin/python bench/engine_floor.py [N] [ROUNDS]
bench/engine_ratio.py runs (a), the service layer (b) and (f) together, on SQLite and PostgreSQL.
"""
import contextlib
import shutil
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Integer, column, text  # noqa: E402

from app.capabilities import deadline, now_iso  # noqa: E402
from app.extensions import db  # noqa: E402
from app.fast_statements import FastStatement  # noqa: E402
from app.engine.sandbox import make_script_engine  # noqa: E402
from app.engine.serializer import SERIALIZER_VERSION  # noqa: E402
from app.engine.store import plan_write  # noqa: E402
from engine_overhead import bare, in_memory, parsed_specs  # noqa: E402

NOW = "2026-12-01 10:00:00.000000"


def _schema_db(folder, url=None):
    """The app's migrated schema and demo data in a SQLite file in `folder`, or in the empty PostgreSQL database
    at `url`; returns (DB-API connection in autocommit mode, customer id, definition id)."""
    import logging

    from app import create_app
    from app.extensions import db
    from app.seed import seed_demo
    from config import Config

    logging.disable(logging.WARNING)
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url or f"sqlite:///{folder / 'floor.db'}",
                     SCHEDULER_ENABLED=False, UPLOAD_DIR=str(folder / "uploads"))
    with app.app_context():
        seed_demo(password="bench-123")
        db.session.remove()
        db.engine.dispose()
    logging.disable(logging.NOTSET)
    if url:
        import psycopg

        conn = Connection(psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True),
                          "%s")
    else:
        conn = Connection(sqlite3.connect(folder / "floor.db", isolation_level=None), "?")
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
    customer = conn.execute("SELECT id FROM customers LIMIT 1").fetchone()[0]
    definition = conn.execute("SELECT id FROM process_definitions LIMIT 1").fetchone()[0]
    return conn, customer, definition


class Connection:
    """A DB-API connection in autocommit mode (transactions by BEGIN/COMMIT) taking statements written with `?`."""

    def __init__(self, raw, placeholder):
        self.raw, self.placeholder, self._sql = raw, placeholder, {}

    def _text(self, sql):
        text = self._sql.get(sql)
        if text is None:
            text = self._sql[sql] = sql.replace("?", self.placeholder)
        return text

    def execute(self, sql, params=()):
        return self.raw.execute(self._text(sql), params)

    def executemany(self, sql, rows):
        return self.raw.cursor().executemany(self._text(sql), rows)

    def close(self):
        self.raw.close()


class SessionConnection:
    """The floor's statements through the app's database layer: the Flask-SQLAlchemy session's transaction (begun
    by the first statement, committed by COMMIT as a use case commits) and each statement a FastStatement, run
    with the floor's values as they are (no value conversion). What this costs above `Connection` is what the
    stack itself costs per statement and per transaction. Needs the app context of an app on the floor's database.
    """

    def __init__(self):
        self._statements = {}

    def _statement(self, sql):
        """(FastStatement, its parameter names) for a statement written with `?`."""
        found = self._statements.get(sql)
        if found is None:
            names = [f"p{i}" for i in range(sql.count("?"))]
            named = sql
            for name in names:
                named = named.replace("?", f":{name}", 1)
            clause = text(named)
            if "RETURNING id" in sql:
                clause = clause.columns(column("id", Integer))
            found = self._statements[sql] = (FastStatement(clause), names)
        return found

    def execute(self, sql, params=()):
        if sql == "BEGIN":
            return None
        if sql == "COMMIT":
            db.session.commit()
            return None
        statement, names = self._statement(sql)
        return _Fetched(statement.execute(dict(zip(names, params))))

    def executemany(self, sql, rows):
        statement, names = self._statement(sql)
        statement.executemany([dict(zip(names, row)) for row in rows])


class _Fetched:
    def __init__(self, result):
        self.result, self.rowcount = result, result.rowcount

    def fetchone(self):
        return self.result.first()


@contextlib.contextmanager
def stack_store(folder, url=None):
    """(Store, app): a Store writing the floor's rows through the app's database layer (SessionConnection) on a fresh
    copy of the schema in `folder` (or the empty PostgreSQL database at `url`), and the app whose context it must
    run in (as a request does)."""
    from app import create_app
    from config import Config

    raw, customer, definition = _schema_db(folder, url)
    raw.close()
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url or f"sqlite:///{folder / 'floor.db'}",
                     SCHEDULER_ENABLED=False, UPLOAD_DIR=str(folder / "uploads"))
    try:
        yield Store(SessionConnection(), customer, definition), app
    finally:
        with app.app_context():
            db.engine.dispose()


class Store:
    """The rows of one lifecycle, written with plain DB-API statements and committed per step. The instance state
    is written as the app's engine.store plans it (a snapshot, then deltas), with its version guard.

    With `later_rows`, also the rows that requirements after the floor's add to every lifecycle, as the service
    layer writes them (bench/engine_gap.py's (f+)): two counters bumped (the ticket number's, the round robin's),
    the ticket's two SLA windows, and two notifications (the handler's assignment, the owner's request to confirm
    the result)."""

    def __init__(self, conn, customer, definition, later_rows=False):
        self.conn, self.customer, self.definition, self.later_rows = conn, customer, definition, later_rows
        if later_rows:
            for counter in ("floor-number", "floor-round-robin"):
                conn.execute("INSERT INTO sequences (name, value) SELECT ?, 0 WHERE NOT EXISTS"
                             " (SELECT 1 FROM sequences WHERE name = ?)", (counter, counter))

    def start(self, workflow):
        c = self.conn
        c.execute("BEGIN")
        self.ticket = c.execute(
            "INSERT INTO tickets (number, customer_id, type, urgency, channel, description, status, created_by_id,"
            " created_at, reopen_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0) RETURNING id",
            (uuid.uuid4().hex[:20], self.customer, "complaint", "high", "phone", "设备无法启动", "new", 1, NOW),
        ).fetchone()[0]
        write = plan_write(workflow, None)
        self.saved = write.saved
        self.instance = c.execute(
            "INSERT INTO process_instances (definition_id, state, serializer_version, version, snapshot_version,"
            " status, created_at, updated_at) VALUES (?, ?, ?, 1, 1, 'running', ?, ?) RETURNING id",
            (self.definition, write.text, SERIALIZER_VERSION, NOW, NOW),
        ).fetchone()[0]
        self.version = 1
        c.execute("UPDATE tickets SET status = ?, current_step = ?, department_id = 2, assignee_id = 4,"
                  " response_due_at = ?, resolution_due_at = ?, process_instance_id = ? WHERE id = ?",
                  ("pending_accept", "受理工单", NOW, NOW, self.instance, self.ticket))
        c.executemany("INSERT INTO timers (instance_id, task_id, name, due_at) VALUES (?, ?, ?, ?)",
                      [(self.instance, uuid.uuid4().hex, "acceptance_window", NOW),
                       (self.instance, uuid.uuid4().hex, "response_due", NOW)])
        self._open_task("accept_ticket")
        self._history("created", "task_opened")
        if self.later_rows:
            for counter in ("floor-number", "floor-round-robin"):
                c.execute("UPDATE sequences SET value = value + 1 WHERE name = ? RETURNING value", (counter,)).fetchone()
            c.executemany(
                "INSERT INTO sla_windows (ticket_id, variable, calendar_code, started_at, working_us)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (ticket_id, variable) DO UPDATE SET"
                " calendar_code = excluded.calendar_code, started_at = excluded.started_at,"
                " working_us = excluded.working_us",
                [(self.ticket, variable, "default", NOW, 7_200_000_000) for variable in ("response_due", "resolution_due")])
            self._notify("assignment")
        c.execute("COMMIT")

    def step(self, workflow, name, survey=None):
        c = self.conn
        c.execute("BEGIN")
        c.execute("UPDATE human_tasks SET state = 'completed', completed_at = ?, completed_by_id = 4"
                  " WHERE id = ? AND state = 'open'", (NOW, self.task))
        self._save(workflow)
        c.execute("DELETE FROM timers WHERE instance_id = ? AND name = ?", (self.instance, "acceptance_window"))
        if name != "feedback":
            self._open_task(name)
        c.execute("UPDATE tickets SET status = ?, current_step = ?, accepted_at = ? WHERE id = ?",
                  ("processing", name, NOW, self.ticket))
        self._history("task_completed", "task_opened")
        if self.later_rows and name == "handle_ticket":
            self._notify("confirm_result")
        if survey is not None:
            self._start_survey(survey)
        c.execute("COMMIT")

    def _save(self, workflow):
        c, version = self.conn, self.version
        status = "completed" if workflow.is_completed() else "running"
        write = plan_write(workflow, self.saved)
        if write.snapshot:
            saved = c.execute(
                "UPDATE process_instances SET state = ?, snapshot_version = ?, serializer_version = ?, version = ?,"
                " status = ?, updated_at = ? WHERE id = ? AND version = ?",
                (write.text, version + 1, SERIALIZER_VERSION, version + 1, status, NOW, self.instance, version),
            ).rowcount
            if self.saved.deltas:
                c.execute("DELETE FROM instance_deltas WHERE instance_id = ?", (self.instance,))
        else:
            saved = c.execute(
                "UPDATE process_instances SET version = ?, status = ?, updated_at = ? WHERE id = ? AND version = ?",
                (version + 1, status, NOW, self.instance, version),
            ).rowcount
            c.execute("INSERT INTO instance_deltas (instance_id, version, delta) VALUES (?, ?, ?)",
                      (self.instance, version + 1, write.text))
        assert saved == 1
        self.version, self.saved = version + 1, write.saved

    def _start_survey(self, workflow):
        """The survey instance the close starts, in the close's transaction: its state and its waiting timer."""
        c = self.conn
        write = plan_write(workflow, None)
        instance = c.execute(
            "INSERT INTO process_instances (definition_id, state, serializer_version, version, snapshot_version,"
            " status, created_at, updated_at) VALUES (?, ?, ?, 1, 1, 'running', ?, ?) RETURNING id",
            (self.definition, write.text, SERIALIZER_VERSION, NOW, NOW),
        ).fetchone()[0]
        c.execute("INSERT INTO timers (instance_id, task_id, name, due_at) VALUES (?, ?, ?, ?)",
                  (instance, uuid.uuid4().hex, "survey_delay", NOW))

    def _open_task(self, name):
        self.task = uuid.uuid4().hex
        self.conn.execute(
            "INSERT INTO human_tasks (id, instance_id, ticket_id, name, title, role, department_id, assignee_id, form,"
            " state, created_at, due_at) VALUES (?, ?, ?, ?, ?, 'handler', 2, 4, ?, 'open', ?, ?)",
            (self.task, self.instance, self.ticket, name, name, f"{name}.json", NOW, NOW))

    def _notify(self, kind):
        self.conn.execute(
            "INSERT INTO notifications (user_id, kind, ticket_id, ticket_number, task_id, title, detail, created_at,"
            " mail_state, mail_attempts, mail_next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL)",
            (4, kind, self.ticket, "SR1", self.task, "受理工单", '{"step": "handle_ticket"}', NOW))

    def _history(self, *actions):
        self.conn.executemany(
            "INSERT INTO ticket_history (ticket_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            [(self.ticket, NOW, "engineer1", action, '{"task": "accept_ticket"}') for action in actions])


def sandboxed_engine():
    """The app's sandboxed script engine with the helpers the diagram calls (stand-ins for the database ones;
    `start_process` only notes the call: engine_overhead.in_memory starts the survey after the close, as the
    service layer's engine does once the step is saved)."""
    return make_script_engine({"deadline": deadline, "now_iso": now_iso,
                               "pick_assignee": lambda department: "engineer1",
                               "has_open_task": lambda ticket_number, task_name: False,
                               "start_process": lambda name, data=None: True})


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    spec, subprocess_specs = parsed_specs()
    engine = sandboxed_engine()
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
