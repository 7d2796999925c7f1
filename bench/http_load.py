"""Request cost under gunicorn: a mixed agent workload against the app and a Flask JSON echo, same settings.

For each database (a SQLite file, then PostgreSQL) this
  1. seeds the demo data plus CUSTOMERS customers and TICKETS open tickets (made through the ticket service,
     so each has a real process instance; every other acceptance task is put back in its department's queue,
     unclaimed, so claims are real);
  2. serves the app (`wsgi:app`) and bench/echo_app.py with the same gunicorn settings (2 sync workers,
     127.0.0.1 only), the timer loop ON in the app as in production;
  3. runs the mix for SECONDS with CLIENTS client threads, each logged in as an agent and a handler:
     inbox (GET /tasks), task (GET /tasks/{id}), ticket (GET /tickets/{number}), customer search
     (GET /customers?q=), claim, complete (the acceptance form), create (POST /tickets); then the echo for
     SECONDS with the same clients; then a burst of each route alone;
  4. measures requests/s of both and their ratio; the server CPU per request two ways: "worker CPU" is
     utime+stime of the gunicorn workers from /proc, before and after (timer loop and all), for the mix, the
     echo and each route alone; "in mix, CPU" is what the request's own thread spent, per route, as the
     worker reports it in a header (bench/served.py wraps both apps the same way).
The database server's own CPU (PostgreSQL) is not counted: "server CPU" is the app's workers.

Usage: .venv/bin/python bench/http_load.py [--seconds 10] [--clients 6] [--customers 2000] [--tickets 1000]
                                          [--burst 150] [--no-postgres | --no-sqlite] [--pg-url URL]
PostgreSQL: --pg-url, else DATABASE_URL when it names PostgreSQL, else a throw-away server from
scripts/postgres.sh on TEST_PG_PORT (default 54334), stopped at the end.
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-123"
SECRET = "http-load-bench-secret"
HANDLERS = {"engineer1": "complaint", "product1": "requirement_change", "service1": "consultation"}
AGENTS = ("agent1", "agent2")
MIX = {"inbox": 25, "task": 20, "ticket": 15, "search": 15, "claim": 10, "complete": 8, "create": 7}
ROUTES = {
    "inbox": "GET /tasks", "task": "GET /tasks/{id}", "ticket": "GET /tickets/{number}",
    "search": "GET /customers?q=", "claim": "POST /tasks/{id}/claim", "complete": "POST /tasks/{id}/complete",
    "create": "POST /tickets",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
MAX_WAIT = 90  # seconds any server start or burst may take at most


# ------------------------------------------------------------------------------------------- database

def seed(url, customers, tickets, uploads):
    """Demo data, `customers` customers and `tickets` open tickets; returns the bench customers' numbers."""
    from sqlalchemy import insert, select, update

    from app import create_app
    from app.auth.models import User
    from app.auth.principal import load_principal
    from app.customers.models import Customer
    from app.extensions import db
    from app.seed import seed_demo
    from app.tasks.models import HumanTask
    from app.tickets import service as ticket_service
    from config import Config

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SCHEDULER_ENABLED=False, SECRET_KEY=SECRET,
                     UPLOAD_DIR=str(uploads))
    with app.app_context():
        seed_demo(password=PASSWORD)
        stamp = date.today()
        numbers = [f"B{i:07d}" for i in range(customers)]
        db.session.execute(insert(Customer.__table__), [
            {"number": n, "name": f"压测客户{i}", "industry": "retail", "cooperation_start": stamp,
             "contact_person": f"联系人{i}", "phone": f"139{i:08d}"} for i, n in enumerate(numbers)])
        db.session.commit()
        agent = load_principal(db.session.scalar(select(User.id).where(User.username == "agent1")))
        kinds = list(HANDLERS.values())
        for i in range(tickets):
            ticket_service.create_ticket(actor=agent, data={
                "customer_number": numbers[i % len(numbers)], "type": kinds[i % len(kinds)], "urgency": "medium",
                "channel": "phone", "description": f"压测工单 {i}：设备无法启动"})
        ids = db.session.scalars(select(HumanTask.id).where(HumanTask.state == "open")
                                 .order_by(HumanTask.created_at)).all()
        db.session.execute(update(HumanTask).where(HumanTask.id.in_(ids[::2])).values(assignee_id=None))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return numbers


def start_postgres(port):
    """A throw-away PostgreSQL server (scripts/postgres.sh); returns (url, its directory)."""
    script = (f"source '{ROOT / 'scripts' / 'postgres.sh'}' && start_test_postgres >&2 && "
              'echo "$PG_DIR" && echo "$TEST_DATABASE_URL"')
    out = subprocess.run(["bash", "-c", script], env={**os.environ, "TEST_PG_PORT": str(port)},
                         capture_output=True, text=True, timeout=MAX_WAIT, check=True).stdout.split()
    return out[1], out[0]


def stop_postgres(folder):
    script = f"source '{ROOT / 'scripts' / 'postgres.sh'}' && PG_DIR='{folder}' && stop_test_postgres"
    subprocess.run(["bash", "-c", script], timeout=MAX_WAIT, check=False)


# ---------------------------------------------------------------------------------------------- servers

class Server:
    """gunicorn with 2 sync workers on a loopback port."""

    def __init__(self, target, port, env, cwd, log_path):
        self.port, self.log_path = port, log_path
        self.log = log = open(log_path, "w")
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "60",
             target], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, path, method="GET"):
        deadline = time.monotonic() + MAX_WAIT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn on {self.port} exited:\n{Path(self.log_path).read_text()[-3000:]}")
            try:
                if call(self.port, method, path, body={} if method == "POST" else None)[0] == 200:
                    if len(self.workers()) == 2:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn on {self.port} did not answer within {MAX_WAIT} s")

    def workers(self):
        """Pids of the master's children (the workers)."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.append(int(entry))
        return found

    def cpu_seconds(self):
        """utime + stime of the workers, in seconds."""
        total = 0
        for pid in self.workers():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / CLK_TCK

    def stop(self):
        if self.process.poll() is None:  # gunicorn stops its workers on SIGTERM
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------------------------- client

def call(port, method, path, token=None, body=None):
    """One HTTP/1.1 request on a fresh connection (gunicorn's sync workers close it).

    Returns (status, body, (the server's X-Server-CPU-us, its X-Server-GC-us)), 0 for a header not sent.
    """
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(head.encode() + b"\r\n" + data)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _sep, body = raw.partition(b"\r\n\r\n")
    cpu = collecting = 0
    for line in head.split(b"\r\n"):
        if line.startswith(b"X-Server-CPU-us: "):
            cpu = int(line[17:])
        elif line.startswith(b"X-Server-GC-us: "):
            collecting = int(line[16:])
    return int(raw[9:12]), body, (cpu, collecting)


class Agent:
    """One client thread's state: its tokens and the tasks it last saw in its handler's inbox."""

    def __init__(self, port, index, tokens, customers, sharing):
        self.port, self.rng = port, random.Random(index)
        self.handler = list(HANDLERS)[index % len(HANDLERS)]
        self.kind = HANDLERS[self.handler]
        self.agent_token, self.handler_token = tokens[AGENTS[index % len(AGENTS)]], tokens[self.handler]
        self.customers = customers
        self.share, self.sharing = index // len(HANDLERS), sharing[self.handler]
        self.tasks = []  # [task json] from the last inbox, only those this client works on
        self.inbox_limit = 50

    def mine(self, task):
        return int(task["id"].replace("-", "")[:8], 16) % self.sharing == self.share

    def run(self, op):
        """Send one request of kind `op` (falls back to the inbox when there is nothing to act on)."""
        if op in ("task", "ticket", "claim", "complete") and not self.tasks:
            op = "inbox"
        if op == "inbox":
            status, body, cpu = call(self.port, "GET", f"/api/v1/tasks?limit={self.inbox_limit}",
                                     self.handler_token)
            if status == 200:
                self.tasks = [t for t in json.loads(body)["items"] if self.mine(t)]
            return op, status, cpu
        if op == "task":
            return (op, *call(self.port, "GET", f"/api/v1/tasks/{self.rng.choice(self.tasks)['id']}",
                              self.handler_token)[::2])
        if op == "ticket":
            number = self.rng.choice(self.tasks)["ticket_number"]
            return (op, *call(self.port, "GET", f"/api/v1/tickets/{number}", self.handler_token)[::2])
        if op == "search":
            term = quote(f"客户{self.rng.randrange(100, 1000)}")
            return (op, *call(self.port, "GET", f"/api/v1/customers?q={term}&limit=20", self.agent_token)[::2])
        if op == "claim":
            open_ones = [t for t in self.tasks if t["assignee"] is None] or self.tasks
            task = self.rng.choice(open_ones)
            status, _body, cpu = call(self.port, "POST", f"/api/v1/tasks/{task['id']}/claim", self.handler_token, {})
            task["assignee"] = self.handler
            return op, status, cpu
        if op == "complete":
            accepting = [t for t in self.tasks if t["name"] == "accept_ticket"]
            if not accepting:
                return self.run("inbox")
            task = accepting[0]
            self.tasks.remove(task)
            return (op, *call(self.port, "POST", f"/api/v1/tasks/{task['id']}/complete", self.handler_token,
                              {"data": {"contact_note": "已电话联系客户，确认故障现象"}})[::2])
        if op == "create":
            return (op, *call(self.port, "POST", "/api/v1/tickets", self.agent_token, {
                "customer_number": self.rng.choice(self.customers), "type": self.kind, "urgency": "medium",
                "channel": "online", "description": "压测：设备无法启动，影响交付"})[::2])
        raise ValueError(op)


def drive(clients, seconds, pick, limit=None):
    """Run clients in threads until `seconds` pass (or `limit` requests); returns (counts, elapsed, seen).

    `seen` maps each kind of request sent to [(duration s, server CPU µs, server GC µs)] (a client with nothing to act on
    reads its inbox instead).
    """
    lock, stop = threading.Lock(), threading.Event()
    counts = {"total": 0, "errors": 0}
    seen = {}

    def loop(client):
        while not stop.is_set():
            began = time.perf_counter()
            op, status, cpu = client.run(pick(client))
            spent = time.perf_counter() - began
            with lock:
                counts["total"] += 1
                counts["errors"] += status >= 500
                seen.setdefault(op, []).append((spent, *(cpu or (0, 0))))
                if limit is not None and counts["total"] >= limit:
                    stop.set()

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in clients]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=MAX_WAIT)
    return counts, time.perf_counter() - began, seen


class Phase:
    """Requests, time, worker CPU and what was seen, summed over the rounds of one kind of load."""

    def __init__(self):
        self.count = self.errors = 0
        self.elapsed = self.cpu = 0.0
        self.seen = {}

    def add(self, server, run):
        cpu = server.cpu_seconds()
        counts, elapsed, seen = run()
        self.cpu += server.cpu_seconds() - cpu
        self.count += counts["total"]
        self.errors += counts["errors"]
        self.elapsed += elapsed
        for op, pairs in seen.items():
            self.seen.setdefault(op, []).extend(pairs)


class Echo:
    def __init__(self, port):
        self.port = port

    def run(self, _op):
        return ("echo", *call(self.port, "POST", "/echo", None, {"ping": 1, "text": "回声"})[::2])


# ------------------------------------------------------------------------------------------------- runs

def run_backend(label, url, args, scheduler, folder):
    """Seed, serve, drive; return {figure: value} for one database."""
    print(f"[{label}] seeding {args.customers} customers and {args.tickets} tickets ...", flush=True)
    began = time.perf_counter()
    customers = seed(url, args.customers, args.tickets, folder / "uploads")
    print(f"[{label}] seeded in {time.perf_counter() - began:.0f} s; starting gunicorn", flush=True)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "SCHEDULER_ENABLED": str(scheduler).lower(),
           "UPLOAD_DIR": str(folder / "uploads"), "PYTHONPATH": str(ROOT)}
    app_server = Server("bench.served:app", free_port(), env, ROOT, folder / f"{label}-app.log")
    echo_server = Server("bench.served:app", free_port(), {**os.environ, "BENCH_TARGET": "echo"}, ROOT,
                         folder / f"{label}-echo.log")
    results = {}
    try:
        app_server.wait_ready("/api/v1/openapi.json")
        echo_server.wait_ready("/echo", "POST")
        tokens = {}
        for user in (*AGENTS, *HANDLERS):
            status, body, _cpu = call(app_server.port, "POST", "/api/v1/login", body={"username": user,
                                                                                "password": PASSWORD})
            assert status == 200, body
            tokens[user] = json.loads(body)["token"]
        sharing = {h: len([i for i in range(args.clients) if i % len(HANDLERS) == n])
                   for n, h in enumerate(HANDLERS)}
        clients = [Agent(app_server.port, i, tokens, customers, sharing) for i in range(args.clients)]
        weights = list(MIX.values())

        def mixed(client):
            return client.rng.choices(list(MIX), weights)[0]

        echoes = [Echo(echo_server.port) for _ in clients]
        drive(clients, min(3, args.seconds), mixed)  # warm-up: every worker parses specs, fills caches
        drive(echoes, 1, lambda c: "echo")
        mix, echo = Phase(), Phase()
        for _round in range(args.rounds):  # alternate, so a change in the machine's load touches both alike
            mix.add(app_server, lambda: drive(clients, args.seconds / args.rounds, mixed))
            echo.add(echo_server, lambda: drive(echoes, args.seconds / args.rounds, lambda c: "echo"))
        results["app requests/s (mix)"] = mix.count / mix.elapsed
        results["echo requests/s"] = echo.count / echo.elapsed
        results["ratio app/echo"] = results["app requests/s (mix)"] / results["echo requests/s"]
        results["app 5xx"] = mix.errors
        results["worker CPU ms/request: mix"] = mix.cpu * 1000 / mix.count
        results["worker CPU ms/request: echo"] = echo.cpu * 1000 / echo.count
        results["in echo, CPU ms: POST /echo"] = sum(c for _s, c, _g in echo.seen["echo"]) / len(echo.seen["echo"]) / 1000
        every = [t for pairs in mix.seen.values() for t in pairs]
        results["in mix, GC ms/request"] = sum(g for _s, _c, g in every) / len(every) / 1000
        for op in MIX:
            pairs = mix.seen.get(op, [])
            results[f"share %: {ROUTES[op]}"] = 100 * len(pairs) / mix.count
            if pairs:
                results[f"in mix, CPU ms: {ROUTES[op]}"] = sum(c for _s, c, _g in pairs) / len(pairs) / 1000
                results[f"in mix, p50 ms: {ROUTES[op]}"] = sorted(s for s, _c, _g in pairs)[len(pairs) // 2] * 1000
        for op in MIX:  # each route alone: a burst of --burst requests
            for client in clients:
                client.inbox_limit = 200  # enough tasks to act on without reading the inbox in between
                client.run("inbox")
                client.inbox_limit = 50
            cpu = app_server.cpu_seconds()
            counts, elapsed, sent = drive(clients, MAX_WAIT, lambda c, op=op: op, limit=args.burst)
            results[f"alone, worker CPU ms: {ROUTES[op]}"] = ((app_server.cpu_seconds() - cpu) * 1000
                                                              / counts["total"])
            others = counts["total"] - len(sent.get(op, []))
            if others:
                print(f"[{label}] the {ROUTES[op]} burst also read the inbox {others} times", flush=True)
    finally:
        app_server.stop()
        echo_server.stop()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=150, help="requests per route in the per-route bursts")
    parser.add_argument("--rounds", type=int, default=2, help="the mix and the echo alternate this many times")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--scheduler", default="on", choices=("on", "off"))
    args = parser.parse_args()
    args.seconds = min(args.seconds, 120)
    args.clients = max(1, min(args.clients, 32))
    args.rounds = max(1, min(args.rounds, 10))
    scheduler = args.scheduler == "on"

    columns = {}
    folder = Path(tempfile.mkdtemp(prefix="http-load-"))
    pg_dir = None
    try:
        if not args.no_sqlite:
            columns["SQLite"] = run_backend("SQLite", f"sqlite:///{folder / 'bench.db'}", args, scheduler, folder)
        if not args.no_postgres:
            url = args.pg_url or (os.environ.get("DATABASE_URL") if "postgres" in os.environ.get(
                "DATABASE_URL", "") else None)
            if url is None:
                url, pg_dir = start_postgres(int(os.environ.get("TEST_PG_PORT", 54334)))
            from config import normalise_database_url

            columns["PostgreSQL"] = run_backend("PostgreSQL", normalise_database_url(url), args, scheduler, folder)
    finally:
        if pg_dir:
            stop_postgres(pg_dir)
        shutil.rmtree(folder, ignore_errors=True)

    print(f"\ngunicorn -w 2 (sync workers), timer loop {'on' if scheduler else 'off'}, {args.clients} client threads, "
          f"{args.seconds:.0f} s of mix and of echo in {args.rounds} alternating rounds, {args.burst} requests per "
          f"route burst; machine load average now: {os.getloadavg()[0]:.2f}")
    names = list(dict.fromkeys(k for col in columns.values() for k in col))
    print(f"{'':42s}" + "".join(f"{name:>12s}" for name in columns))
    for key in names:
        cells = "".join(f"{col[key]:12.2f}" if key in col else f"{'-':>12s}" for col in columns.values())
        print(f"{key:42s}{cells}")


if __name__ == "__main__":
    main()
