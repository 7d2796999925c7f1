"""Lists at scale: p50/p95 of what users list and search, with ROWS customers and ROWS tickets, on SQLite and
PostgreSQL, and the RSS of the process that served them.

Measured through the API in-process (Flask test client): the inbox (GET /tasks) and monitor (GET /tickets
without filters), the customer search (GET /customers?q=, terms of 1-4+ characters and several words, common and
absent) and the ticket search (GET /tickets with number, customer, date range and status, R2-4). Target: every
list p95 <= 20 ms on both databases; RSS <= 200 MB.

Set-up, in a child process: migrate, seed the demo users, then bulk-load ROWS customers, process instances,
tickets (one per customer on average, created over the last year, numbered SR + China day + daily counter) with
one open acceptance task each: secondary indexes, the customer search index and the tickets' customer pieces
(tickets.search_grams) are dropped first and built after (executemany in big transactions on SQLite, COPY on
PostgreSQL), then on PostgreSQL VACUUM ANALYZE (as autovacuum would; SQLite gets no ANALYZE, as in production). The
serving runs in another child process, so its RSS is the worker's, not the loader's.

PostgreSQL: DATABASE_URL names an empty database the bench may fill; without it the bench starts a throw-away
server with scripts/postgres.sh (port TEST_PG_PORT) and stops it after.

Usage: .venv/bin/python bench/lists.py [ROWS] [REQUESTS] [--sqlite | --pg] [--keep PATH]

--keep PATH: the SQLite database is the file PATH and stays after the run; a database (that file, or
DATABASE_URL's) that already holds ROWS tickets is served as it is, without the set-up (a million rows take
minutes to load). Without --keep the SQLite file is temporary and the database is filled every run.
"""
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNK = 50_000
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "苏州", "天津", "重庆", "长沙", "郑州",
          "青岛", "宁波", "无锡", "厦门", "合肥", "济南"]
WORDS = ["精工", "华信", "恒达", "远航", "新科", "宏图", "金桥", "天成", "东方", "瑞丰", "汇通", "博远", "永安", "嘉禾",
         "鼎盛", "长城", "明德", "卓越", "星辰", "安泰", "恒通", "华美", "兴业", "中联", "润泽", "富达", "信诚", "佳和",
         "正大", "万通", "同创", "鸿运", "海洋", "蓝天", "晨光", "方圆", "盛世", "和平", "锦程", "广源"]
TRADES = ["机械", "科技", "贸易", "物流", "电子", "建材", "食品", "医药", "化工", "纺织"]
SUFFIXES = ["有限公司", "股份有限公司", "集团", "有限责任公司"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹")
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "霞",
         "平", "刚", "桂英", "华", "建华", "建国", "志强", "海燕", "晓东", "春梅", "国庆", "小红"]
RARE = "淼鑫"  # in the names of one customer in 100,000: a two-character term with few matches


def customer_row(i):
    """(number, name, contact, phone) of bench customer i (0-based)."""
    name = f"{CITIES[i % 20]}{WORDS[i // 20 % 40]}{TRADES[i // 800 % 10]}{SUFFIXES[i // 8000 % 4]}"
    if i % 100_000 == 7:
        name = f"{CITIES[i % 20]}{RARE}{TRADES[i // 800 % 10]}{SUFFIXES[i // 8000 % 4]}"
    contact = SURNAMES[i * 7 % 30] + GIVEN[i // 30 % 30]
    return f"C2026{i:07d}", name, contact, f"13{i:09d}"


# ------------------------------------------------------------------------------------------------ set-up

def setup(url, rows):
    from app import create_app
    from app.extensions import db
    from app.seed import seed_demo
    from config import Config

    began = time.perf_counter()
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SCHEDULER_ENABLED=False)
    with app.app_context():
        seed_demo(password="bench-123")
        migrated = time.perf_counter()
        timings = fill(db, rows)
    print(f"  set-up: migrate+seed {migrated - began:.0f} s, " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
          + f"; total {time.perf_counter() - began:.0f} s", flush=True)


def fill(db, rows):
    """Bulk-load the rows with the secondary indexes dropped; rebuild them after. Returns timings."""
    from sqlalchemy import select

    from app.auth.models import Department, User
    from app.customers import search_index
    from app.engine import latest_definition_id
    from app.tickets import number_ranges, search_grams

    timings, clock = {}, time.perf_counter()
    conn = db.session.connection()
    pg = conn.dialect.name == "postgresql"
    users = {u.username: u.id for u in db.session.scalars(select(User))}
    departments = {d.code: d.id for d in db.session.scalars(select(Department))}
    definition_id = latest_definition_id("quick_response")
    search_grams.uninstall(conn)
    search_index.uninstall(conn)
    number_ranges.uninstall(conn)
    indexes = _secondary_indexes(conn)
    for name, _sql in indexes:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    if not pg:
        for pragma in ("synchronous = OFF", "journal_mode = MEMORY", "cache_size = -400000", "temp_store = MEMORY"):
            conn.exec_driver_sql(f"PRAGMA {pragma}")
    first = {t: (conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {t}").scalar() + 1)
             for t in ("customers", "process_instances", "tickets")}
    stamp = datetime.now(timezone.utc)
    china = timedelta(hours=8)  # Asia/Shanghai: no daylight saving
    span = timedelta(days=365)
    queues = [("after_sales", "engineer1"), ("product", "product1"), ("customer_service", "service1")]
    shuffle = random.Random(7)
    if pg:
        t, today = (lambda d: d), stamp.date()
    else:  # what SQLAlchemy stores in SQLite: UTC text with microseconds, dates as ISO
        t, today = (lambda d: d.replace(tzinfo=None).isoformat(" ", "microseconds")), stamp.date().isoformat()
    now_text = t(stamp)

    def customers():
        for i in range(rows):
            number, name, contact, phone = customer_row(i)
            yield (first["customers"] + i, number, name, "retail", today, contact, phone, now_text, now_text)

    def instances():
        for i in range(rows):
            yield (first["process_instances"] + i, definition_id, "{}", "1.5", 1, "running", now_text, now_text)

    daily, days = {}, {}

    def tickets():
        for i in range(rows):
            created = stamp - span + span * i / rows
            ordinal = (created + china).toordinal()
            if ordinal not in days:
                days[ordinal] = datetime.fromordinal(ordinal).strftime("%Y%m%d")
            day = days[ordinal]
            daily[day] = daily.get(day, 0) + 1
            department, handler = queues[i % 3]
            due = stamp + timedelta(hours=(i % 48) - 24)  # half of them overdue
            yield (first["tickets"] + i, f"SR{day}{daily[day]:03d}", first["customers"] + shuffle.randrange(rows),
                   "complaint", "low", "online", "压测", "pending_accept", departments[department],
                   users[handler] if i % 2 else None, users["agent1"], t(created), t(due),
                   t(due + timedelta(hours=24)), first["process_instances"] + i, 0)

    def tasks():
        for i in range(rows):
            created = stamp - span + span * i / rows
            department, handler = queues[i % 3]
            yield (str(uuid.UUID(int=random.getrandbits(128), version=4)), first["process_instances"] + i,
                   first["tickets"] + i, "accept_ticket", "受理工单", "handler", departments[department],
                   users[handler] if i % 2 else None, "accept_ticket.json", "open", t(created),
                   t(created + timedelta(minutes=30)))

    tables = [
        ("customers", "id, number, name, industry, cooperation_start, contact_person, phone, created_at, updated_at",
         customers),
        ("process_instances", "id, definition_id, state, serializer_version, version, status, created_at, updated_at",
         instances),
        ("tickets", "id, number, customer_id, type, urgency, channel, description, status, department_id, "
                    "assignee_id, created_by_id, created_at, response_due_at, resolution_due_at, process_instance_id, "
                    "reopen_count", tickets),
        ("human_tasks", "id, instance_id, ticket_id, name, title, role, department_id, assignee_id, form, state, "
                        "created_at, due_at", tasks),
    ]
    for table, columns, generate in tables:
        (_copy if pg else _insert_many)(conn, table, columns, generate())
        if pg and table != "human_tasks":
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    db.session.commit()
    timings["rows"], clock = time.perf_counter() - clock, time.perf_counter()
    conn = db.session.connection()
    for _name, sql in indexes:
        conn.exec_driver_sql(sql)
    db.session.commit()
    timings["indexes"], clock = time.perf_counter() - clock, time.perf_counter()
    conn = db.session.connection()
    search_index.install(conn)
    number_ranges.install(conn)
    search_grams.install(conn)
    db.session.commit()
    timings["search index"], clock = time.perf_counter() - clock, time.perf_counter()
    if pg:  # what autovacuum does in production: statistics, and the visibility map for index-only scans
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
            autocommit.exec_driver_sql("VACUUM ANALYZE")
        timings["vacuum analyze"] = time.perf_counter() - clock
    return timings


def _secondary_indexes(conn):
    """(name, CREATE statement) of the indexes of the bulk-loaded tables that no constraint owns."""
    tables = ("customers", "process_instances", "tickets", "human_tasks")
    if conn.dialect.name == "postgresql":
        return list(conn.exec_driver_sql(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename = ANY(%(t)s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            {"t": list(tables)}))
    marks = ", ".join("?" for _ in tables)
    return list(conn.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
        tables))


def _insert_many(conn, table, columns, generated):
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' for _ in columns.split(','))})"
    cursor = conn.connection.dbapi_connection.cursor()
    batch = []
    for row in generated:
        batch.append(row)
        if len(batch) == CHUNK:
            cursor.executemany(sql, batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)


def _copy(conn, table, columns, generated):
    """COPY in text format, written in big chunks (the values hold no tab, newline or backslash)."""
    def text(value):
        if value is None:
            return "\\N"
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    with conn.connection.dbapi_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            lines = []
            for row in generated:
                lines.append("\t".join(map(text, row)))
                if len(lines) == CHUNK:
                    copy.write("\n".join(lines) + "\n")
                    lines = []
            if lines:
                copy.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------------------ serving

def cases(rows):
    """(label, url, user) of the lists measured; numbers and names picked from the loaded rows."""
    from sqlalchemy import text

    from app.extensions import db

    newest = db.session.execute(text("SELECT number, created_at FROM tickets ORDER BY id DESC LIMIT 1")).one()
    middle = db.session.execute(text("SELECT t.number, c.number, c.name, c.contact_person FROM tickets t "
                                     "JOIN customers c ON c.id = t.customer_id WHERE t.id = "
                                     "(SELECT max(id) - :half FROM tickets)"), {"half": rows // 2}).one()
    ticket_number, customer_number, customer_name, contact = middle
    day = ticket_number[2:10]
    iso_day = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    one = f"{customer_name[:2]} {customer_name[2:4]} {contact}"
    q = lambda s: quote(s)  # noqa: E731
    return [
        ("inbox (handler)", "/api/v1/tasks", "engineer1"),
        ("inbox (supervisor)", "/api/v1/tasks", "supervisor1"),
        ("monitor overdue", "/api/v1/tickets?overdue=1", "supervisor1"),
        ("monitor", "/api/v1/tickets", "supervisor1"),
        ("customers q=精工机械 (4 chars)", f"/api/v1/customers?q={q('精工机械')}", "agent1"),
        ("customers q=无此客户 (4, none)", f"/api/v1/customers?q={q('无此客户')}", "agent1"),
        ("customers q=上海 (2, 5%)", f"/api/v1/customers?q={q('上海')}", "agent1"),
        (f"customers q={RARE} (2, rare)", f"/api/v1/customers?q={q(RARE)}", "agent1"),
        ("customers q=无此 (2, none)", f"/api/v1/customers?q={q('无此')}", "agent1"),
        ("customers q=上海 精工", f"/api/v1/customers?q={q('上海 精工')}", "agent1"),
        ("customers q=上海 无此", f"/api/v1/customers?q={q('上海 无此')}", "agent1"),
        ("customers q=有限公司 上海 精工", f"/api/v1/customers?q={q('有限公司 上海 精工')}", "agent1"),
        ("customers q=有限 上海 (75%, 5%)", f"/api/v1/customers?q={q('有限 上海')}", "agent1"),
        (f"customers q={one}", f"/api/v1/customers?q={q(one)}", "agent1"),
        ("tickets number= exact", f"/api/v1/tickets?number={ticket_number}", "agent1"),
        ("tickets number= a day", f"/api/v1/tickets?number=SR{day}", "agent1"),
        ("tickets number= a month", f"/api/v1/tickets?number=SR{day[:6]}", "agent1"),
        ("tickets customer= number", f"/api/v1/tickets?customer={customer_number}", "agent1"),
        ("tickets customer= 3 words", f"/api/v1/tickets?customer={q(one)}", "agent1"),
        ("tickets customer=上海 精工", f"/api/v1/tickets?customer={q('上海 精工')}", "agent1"),
        ("tickets customer=精工机械 (0.25%)", f"/api/v1/tickets?customer={q('精工机械')}", "agent1"),
        ("tickets customer=有限公司 上海 精工", f"/api/v1/tickets?customer={q('有限公司 上海 精工')}", "agent1"),
        ("tickets customer=有限 上海", f"/api/v1/tickets?customer={q('有限 上海')}", "agent1"),
        ("tickets created one day", f"/api/v1/tickets?created_from={iso_day}&created_to={iso_day}", "agent1"),
        ("tickets day + customer", f"/api/v1/tickets?created_from={iso_day}&created_to={iso_day}"
                                   f"&customer={q('上海')}", "agent1"),
        ("tickets day + status", f"/api/v1/tickets?created_from={iso_day}&created_to={iso_day}"
                                 "&status=pending_accept", "agent1"),
        ("tickets status= (all)", "/api/v1/tickets?status=pending_accept", "agent1"),
        ("tickets page 2 (after=)", None, "agent1"),
    ], newest


def measure(client, url, token, requests):
    timings = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.get_json())
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], response.get_json()


def serve(url, rows, requests):
    from app import create_app
    from app.extensions import db
    from config import Config

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SCHEDULER_ENABLED=False, AUTO_MIGRATE=False,
                     AUTO_DEPLOY=False)
    client = app.test_client()
    with app.app_context():
        tokens = {u: client.post("/api/v1/login", json={"username": u, "password": "bench-123"}).get_json()["token"]
                  for u in ("engineer1", "supervisor1", "agent1")}
        listed, _newest = cases(rows)
    if True:  # each request in its own application context (its own session and transaction), as when served
        worst, next_url = 0.0, None
        for label, path, user in listed:
            if path is None:  # the second page of the previous list
                path = next_url
            p50, p95, body = measure(client, path, tokens[user], requests)
            next_url = body.get("next") or next_url
            worst = max(worst, p95)
            items = len(body["items"])
            print(f"  {_padded(label, 38)} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({items} items)", flush=True)
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        print(f"  worst p95 {worst:.1f} ms; worker RSS after serving: {status['VmRSS'].strip()} "
              f"(peak {status['VmHWM'].strip()}; getrusage maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} kB)",
              flush=True)


def _padded(label, width):
    """`label` padded to `width` terminal columns (a Chinese character takes two)."""
    wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in label)
    return label + " " * max(0, width - len(label) - wide)


# ------------------------------------------------------------------------------------------------ driver

def _child(*args):
    subprocess.run([sys.executable, __file__, *map(str, args)], check=True)


def _run(label, url, rows, requests, reuse=False):
    print(f"{label}: {rows} customers, tickets and open tasks", flush=True)
    if reuse and _loaded(url) >= rows:
        print("  set-up: none, the database holds the rows (--keep)", flush=True)
    else:
        _child("--setup", url, rows)
    _child("--serve", url, rows, requests)


def _loaded(url):
    """How many tickets the database at `url` holds (0 when it has no tickets table yet)."""
    from sqlalchemy import create_engine, text

    from config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM tickets")).scalar()
    except Exception:  # no such table (an empty database)
        return 0
    finally:
        engine.dispose()


def _start_postgres():
    """A throw-away server from scripts/postgres.sh: (url, stop function)."""
    out = subprocess.run(["bash", "-c", "source scripts/postgres.sh && start_test_postgres >&2 && "
                          'echo "$TEST_DATABASE_URL $PG_DIR"'], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.split()
    url, folder = out[-2], out[-1]

    def stop():
        subprocess.run(["bash", "-c", f'source scripts/postgres.sh && PG_DIR="{folder}" && stop_test_postgres'],
                       cwd=ROOT, check=False)

    return url, stop


def main():
    args = sys.argv[1:]
    if args and args[0] in ("--setup", "--serve"):
        from config import normalise_database_url

        url = normalise_database_url(args[1])
        return setup(url, int(args[2])) if args[0] == "--setup" else serve(url, int(args[2]), int(args[3]))
    keep = None
    if "--keep" in args:
        at = args.index("--keep")
        keep, args = Path(args[at + 1]).resolve(), args[:at] + args[at + 2:]
    flags = {a for a in args if a.startswith("--")}
    numbers = [a for a in args if not a.startswith("--")]
    rows = int(numbers[0]) if numbers else 100_000
    requests = int(numbers[1]) if len(numbers) > 1 else 200
    if "--pg" not in flags and keep:
        _run("SQLite", f"sqlite:///{keep}", rows, requests, reuse=True)
    elif "--pg" not in flags:
        folder = Path(tempfile.mkdtemp(prefix="lists-"))
        try:
            _run("SQLite", f"sqlite:///{folder / 'lists.db'}", rows, requests)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if "--sqlite" not in flags:
        url, stop = os.environ.get("DATABASE_URL"), lambda: None
        if not url:
            url, stop = _start_postgres()
        try:
            _run("PostgreSQL", url, rows, requests, reuse=bool(keep))
        finally:
            stop()


if __name__ == "__main__":
    main()
