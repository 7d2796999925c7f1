"""Reports at scale: the monthly report over TICKETS tickets (target ≤ 1 s) on SQLite and PostgreSQL, and the
Excel export of EXPORT_ROWS tickets with the peak RSS of the process that streams it.

Tickets are bulk-inserted (executemany in batches) with measured times, satisfaction, survey scores, reopens and transfer
history, all in one month, so the monthly report aggregates every one of them. The export runs in a fresh
child process (GET /reports/tickets/export.xlsx through the test client, the body read chunk by chunk and
dropped) so its peak RSS is the export's alone; it is measured for a tenth of the rows too, to show the memory
does not grow with the row count.

Usage: .venv/bin/python bench/reports.py [TICKETS] [EXPORT_ROWS] [--no-postgres] [--pg-url URL]
PostgreSQL: --pg-url, else DATABASE_URL when it names PostgreSQL, else a throw-away server from
scripts/postgres.sh on TEST_PG_PORT (default 54342), stopped at the end.
"""
import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.models import Department, User  # noqa: E402
from app.customers.models import Customer  # noqa: E402
from app.extensions import db  # noqa: E402
from app.engine import latest_definition_id  # noqa: E402
from app.seed import seed_demo  # noqa: E402
from app.surveys.models import Survey, SurveyScore  # noqa: E402
from app.tickets.models import Ticket, TicketEvent  # noqa: E402
from config import Config, normalise_database_url  # noqa: E402

BATCH = 5_000
MONTH_START = datetime(2026, 10, 31, 16, 0, tzinfo=timezone.utc)  # 2026-11-01 00:00 in Asia/Shanghai
MONTH_SECONDS = 30 * 86400
TYPES = ("consultation", "complaint", "requirement_change", "after_sales_support")
URGENCIES = (("high", 2), ("medium", 8), ("low", 24))
CHANNELS = ("phone", "online", "email", "branch", "partner")
SURVEY_DIMENSIONS = ("attitude", "response_speed", "resolution", "overall")
OPINIONS = ("satisfied", "satisfied", "satisfied", "needs_adjustment", "unsatisfied", None)


def make_app(url):
    return create_app(Config, SQLALCHEMY_DATABASE_URI=url, SCHEDULER_ENABLED=False)


def fill(count, first=0, month_start=MONTH_START):
    """Insert `count` tickets spread over the month from `month_start` and their history, in batches."""
    rng = random.Random(first)
    conn = db.session.connection()
    customer = conn.execute(select(Customer.id).order_by(Customer.id).limit(1)).scalar_one()
    agent = conn.execute(select(User.id).where(User.username == "agent1")).scalar_one()
    departments = [row[0] for row in conn.execute(select(Department.id))]
    survey_definition = latest_definition_id("satisfaction_survey")
    for start in range(first, first + count, BATCH):
        size = min(BATCH, first + count - start)
        rows = []
        for i in range(start, start + size):
            created = month_start + timedelta(seconds=rng.randrange(MONTH_SECONDS))
            urgency, hours = URGENCIES[i % 3]
            responded = created + timedelta(minutes=rng.randrange(1, hours * 90)) if i % 10 else None
            resolved = created + timedelta(hours=rng.randrange(1, 72)) if i % 5 else None
            closed = resolved + timedelta(hours=1) if resolved and i % 7 else None
            rows.append({
                "number": f"BR{i:09d}", "customer_id": customer, "created_by_id": agent, "type": TYPES[i % 4],
                "urgency": urgency, "channel": CHANNELS[i % 5], "description": "压测", "department_id":
                departments[i % len(departments)], "status": "closed" if closed else "processing",
                "created_at": created, "response_due_at": created + timedelta(hours=hours),
                "first_responded_at": responded, "responded_at": responded, "accepted_at": responded,
                "resolved_at": resolved, "closed_at": closed, "reopen_count": 1 if i % 11 == 0 else 0,
                "satisfaction": OPINIONS[i % 6] if closed else None,
                # as each step counts the history's transfers below (a redispatch, a reassignment)
                "transfer_count": ((i - start) % 10 == 0) + ((i - start) % 20 == 1),
                "response_working_seconds": int((responded - created).total_seconds() * 0.6) if responded else None,
                "resolution_working_seconds": int((resolved - created).total_seconds() * 0.4) if resolved else None,
            })
        conn.execute(insert(Ticket.__table__), rows)
        ids = [r[0] for r in conn.execute(select(Ticket.id).where(Ticket.number >= f"BR{start:09d}",
                                                                  Ticket.number <= f"BR{start + size - 1:09d}"))]
        history = []
        for n, ticket_id in enumerate(ids):
            history.append({"ticket_id": ticket_id, "at": month_start, "actor": "agent1", "action": "created",
                            "detail": {}})
            if n % 10 == 0:
                history.append({"ticket_id": ticket_id, "at": month_start, "actor": "supervisor1",
                                "action": "redispatched", "detail": {"message": "redispatch"}})
            if n % 20 == 1:
                history.append({"ticket_id": ticket_id, "at": month_start, "actor": "supervisor1",
                                "action": "task_completed", "detail": {"task": "reassign_ticket"}})
        conn.execute(insert(TicketEvent.__table__), history)
        _surveys(conn, ids, start, survey_definition)
        db.session.commit()
        conn = db.session.connection()


def _surveys(conn, ids, first, definition):
    """A completed survey (four 1-5 scores) for every third ticket of the batch that was closed."""
    closed = {r[0] for r in conn.execute(select(Ticket.id).where(Ticket.id.in_(ids), Ticket.closed_at.is_not(None)))}
    rng = random.Random(first + 1)
    for n, ticket_id in enumerate(ids):
        if n % 3 or ticket_id not in closed:
            continue
        answers = {k: rng.choice((5, 5, 4, 4, 3, 2, 1)) for k in SURVEY_DIMENSIONS}
        survey_id = conn.execute(insert(Survey.__table__).returning(Survey.__table__.c.id), {
            "ticket_id": ticket_id, "definition_id": definition, "nonce": f"b{ticket_id}",
            "token_hash": f"bench{ticket_id}", "status": "completed", "sent_at": MONTH_START,
            "expires_at": MONTH_START, "completed_at": MONTH_START, "answers": answers, "sent_by": "system"}
        ).scalar_one()
        conn.execute(insert(SurveyScore.__table__), [
            {"survey_id": survey_id, "ticket_id": ticket_id, "dimension": k, "value": str(v)}
            for k, v in answers.items()])


def time_monthly_report(app, rounds=3):
    """Seconds of the monthly report (the seed's preset over November 2026): each round, best, and its figures."""
    from app.reports import service

    timings = []
    with app.test_request_context("/reports/monthly?date=2026-11-15"):
        for _ in range(rounds):
            db.session.remove()
            started = time.perf_counter()
            params = service.parse_params({}, service.preset_params("monthly", {"date": "2026-11-15"}))
            result = service.report(params)
            timings.append(time.perf_counter() - started)
    return timings, result["summary"]


def prepare(url, tickets):
    app = make_app(url)
    with app.app_context():
        seed_demo(password="bench-pass-1")
        started = time.perf_counter()
        fill(tickets)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
        else:
            with db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
        inserted = time.perf_counter() - started
    return app, inserted


def export_child(url, rows_wanted):
    """(child process) Stream the xlsx of every ticket from 2026-10-01 to 2026-12-31 and print the figures."""
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SCHEDULER_ENABLED=False, WTF_CSRF_ENABLED=False,
                     AUTO_MIGRATE=False, AUTO_DEPLOY=False)
    client = app.test_client()
    with app.app_context():
        logged_in = client.post("/login", data={"username": "supervisor1", "password": "bench-pass-1"})
        assert logged_in.status_code == 302, logged_in.status_code
    before = _status("VmRSS")
    started = time.perf_counter()
    response = client.get(f"/reports/tickets/export.xlsx?start=2026-10-01&end=2026-12-31&figure=tickets",
                          buffered=False)
    assert response.status_code == 200, response.status_code
    size = 0
    for chunk in response.response:
        size += len(chunk)
    response.close()
    took = time.perf_counter() - started
    peak = _status("VmHWM")  # the peak resident set size of this process
    print(f"{rows_wanted} {size} {took:.2f} {before} {peak}")


def _status(field):
    """A kB figure of /proc/self/status (VmRSS: resident now, VmHWM: the peak so far)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_export(url, rows):
    out = subprocess.run([sys.executable, __file__, "--export-child", url, str(rows)], capture_output=True,
                         text=True, check=True).stdout.split()
    return out[-5:]


def start_postgres(port):
    script = (f"source '{ROOT / 'scripts' / 'postgres.sh'}' && start_test_postgres >&2 && "
              'echo "$PG_DIR" && echo "$TEST_DATABASE_URL"')
    out = subprocess.run(["bash", "-c", script], env={**os.environ, "TEST_PG_PORT": str(port)},
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    return out[1], out[0]


def stop_postgres(folder):
    script = f"source '{ROOT / 'scripts' / 'postgres.sh'}' && PG_DIR='{folder}' && stop_test_postgres"
    subprocess.run(["bash", "-c", script], timeout=120, check=False)


def report_line(label, url, tickets):
    app, inserted = prepare(url, tickets)
    timings, summary = time_monthly_report(app)
    print(f"{label}: {tickets:,} tickets inserted in {inserted:.1f} s; monthly report "
          f"first {timings[0]:.3f} s, best {min(timings):.3f} s "
          f"({summary['tickets']:,} tickets, on time {summary['on_time_response_rate']}, "
          f"resolved {summary['resolution_rate']}, transfers {summary['transfers']:,})", flush=True)
    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tickets", nargs="?", type=int, default=100_000)
    parser.add_argument("export_rows", nargs="?", type=int, default=200_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-url")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="reports-bench-"))
    pg_dir = None
    try:
        url = f"sqlite:///{folder / 'bench.db'}"
        app = report_line("SQLite", url, args.tickets)
        extra = args.export_rows - args.tickets
        if extra > 0:  # the export covers October to December: add the rest in October
            with app.app_context():
                fill(extra, first=args.tickets, month_start=MONTH_START - timedelta(days=31))
        for rows in ((args.export_rows // 10, args.export_rows) if args.export_rows >= 10 else ()):
            if rows != args.export_rows:
                small = folder / "small.db"
                shutil.copy(folder / "bench.db", small)
                _trim(f"sqlite:///{small}", rows)
                figures = run_export(f"sqlite:///{small}", rows)
            else:
                figures = run_export(url, rows)
            _, size, took, before, peak = figures
            print(f"Excel export of {rows:,} tickets (SQLite): {int(size) / 1e6:.1f} MB in {float(took):.1f} s, "
                  f"peak RSS {int(peak) / 1024:.0f} MB ({(int(peak) - int(before)) / 1024:.0f} MB over the "
                  f"resident set before the export)", flush=True)
        if not args.no_postgres:
            pg_url = args.pg_url or (os.environ.get("DATABASE_URL") if "postgres" in os.environ.get(
                "DATABASE_URL", "") else None)
            if pg_url is None:
                pg_url, pg_dir = start_postgres(int(os.environ.get("TEST_PG_PORT", 54342)))
            report_line("PostgreSQL", normalise_database_url(pg_url), args.tickets)
    finally:
        if pg_dir:
            stop_postgres(pg_dir)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load: {os.getloadavg()}")


def _trim(url, rows):
    """Keep the first `rows` tickets of a copy (for the smaller export)."""
    app = make_app(url)
    with app.app_context():
        keep = db.session.execute(select(Ticket.id).order_by(Ticket.id).offset(rows - 1).limit(1)).scalar_one()
        db.session.execute(text("DELETE FROM survey_scores WHERE ticket_id > :k"), {"k": keep})
        db.session.execute(text("DELETE FROM surveys WHERE ticket_id > :k"), {"k": keep})
        db.session.execute(text("DELETE FROM ticket_history WHERE ticket_id > :k"), {"k": keep})
        db.session.execute(text("DELETE FROM tickets WHERE id > :k"), {"k": keep})
        db.session.commit()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--export-child":
        export_child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
