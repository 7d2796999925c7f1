"""Engine overhead against its floor, in one run: (b) ÷ (f) and (b) ÷ (a), on SQLite and on PostgreSQL.

(a) bare SpiffWorkflow in memory (bench/engine_overhead.py's (a));
(b) the service layer (create_ticket, complete_task x 3), one commit per use case: the time inside the calls;
(f) the floor: the sandboxed engine plus the rows the issue requires written with plain DB-API statements
    (bench/engine_floor.py's (f)), one commit per step.
(f_) the floor's own statements and values run through the app's database layer instead of plain DB-API: the
    Flask-SQLAlchemy session's transaction per step and each statement a FastStatement (engine_floor's
    SessionConnection). (f_)/(f) is what the given stack adds to the very same rows; (b)/(f_) is what the service
    layer adds on top of it (validation, lookups, the rows (f) leaves out: notifications, SLA windows, numbering).
Both (b) and (f) write the instance state as engine.store plans it (a snapshot, then per-step deltas).

SQLite: a file in WAL mode, synchronous=NORMAL (the app's pragmas). PostgreSQL: durable commits. Unless
DATABASE_URL names a PostgreSQL database (the bench creates the databases bench_service, bench_floor and bench_stack
on its server), a throw-away server is started for the run on a free
loopback port, with the defaults fsync=on, synchronous_commit=on, full_page_writes=on (unlike the test server,
which runs with fsync=off), and removed afterwards. --sqlite-only skips PostgreSQL.

Within each round, the kinds take turns every BATCH lifecycles ((a), then (b), (f) and (f_) on each database), so
all see the same machine; this VM is shared and noisy, so the figures are medians over rounds, and the ratios are
medians of the ratios within each round.

Usage: .venv/bin/python bench/engine_ratio.py [N] [ROUNDS] [--sqlite-only]
       .venv/bin/python bench/engine_ratio.py [N] --trace
--trace times nothing: it runs N lifecycles of (b) and of (f) on PostgreSQL and prints, per lifecycle, what each
sent to the server (statements by kind, round trips, prepares, transaction control, time waiting on the server;
see bench/pg_trace.py), and the WAL records, bytes, writes and fsyncs per lifecycle (pg_stat_wal; the trace
waits 11 s three times for the backends to report). (b)'s work outside the timed service calls is listed apart
("outside:").
"""
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_floor import Store, _schema_db, sandboxed_engine, stack_store  # noqa: E402
from engine_overhead import bare, in_memory, parsed_specs, service_lifecycle  # noqa: E402

TARGET = 1.25
BATCH = 10  # lifecycles of one kind in a row: long enough to run warm, short enough to share the machine's moods


@contextlib.contextmanager
def durable_postgres():
    """Yield the URL of an empty database on a throw-away PostgreSQL server with durable commits."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: float(p.parent.name))
    if not bins:
        raise SystemExit("PostgreSQL is not installed: set DATABASE_URL or pass --sqlite-only")
    pg_bin = bins[-1]
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    as_postgres = []
    if os.getuid() == 0:  # initdb refuses root
        as_postgres = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = folder / "data"
    run = dict(check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*as_postgres, pg_bin / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                    "--no-locale"], **run)
    subprocess.run([*as_postgres, pg_bin / "pg_ctl", "-D", data, "-l", folder / "log", "-w", "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on",
                    "start"], **run)
    try:
        subprocess.run([*as_postgres, pg_bin / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "bench"], **run)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*as_postgres, pg_bin / "pg_ctl", "-D", data, "-m", "fast", "stop"], stdout=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


def _service_ms(lifecycle, n):
    """Milliseconds per lifecycle inside the service calls: (wall clock, CPU time of this process)."""
    wall = cpu = 0.0
    for _ in range(n):
        w, c = lifecycle()
        wall, cpu = wall + w, cpu + c
    return 1000 * wall / n, 1000 * cpu / n


def _timed_ms(run, n):
    """Milliseconds per lifecycle of `run()` (which runs n of them): (wall clock, CPU time of this process)."""
    began, cpu = time.perf_counter(), time.process_time()
    run()
    return 1000 * (time.perf_counter() - began) / n, 1000 * (time.process_time() - cpu) / n


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100
    rounds = int(args[1]) if len(args) > 1 else 5
    sqlite_only = "--sqlite-only" in sys.argv
    if "--trace" in sys.argv:
        return trace(n)
    specs, engine = parsed_specs(), sandboxed_engine()
    figures = {}  # (database, kind) -> [ms per lifecycle, one per round]
    with contextlib.ExitStack() as stack:
        databases = {"SQLite": None} if sqlite_only else {"SQLite": None, "PostgreSQL": stack.enter_context(durable_postgres())}
        setups = {}
        for name, url in databases.items():
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ratio-")))
            floor_store = Store(*_schema_db(folder, _fresh(url, "floor")))
            stack.callback(floor_store.conn.close)
            (folder / "stack").mkdir()
            through_stack = stack.enter_context(stack_store(folder / "stack", _fresh(url, "stack")))
            lifecycle = stack.enter_context(service_lifecycle(folder, _fresh(url, "service")))
            setups[name] = (lifecycle, floor_store, through_stack)
        bare(min(20, n))
        for lifecycle, floor_store, through_stack in setups.values():  # warm all
            _service_ms(lifecycle, min(20, n))
            in_memory(min(20, n), *specs, engine, floor_store)
            _through_stack(through_stack, min(20, n), specs, engine)
        for _ in range(rounds):
            for key, ms in _interleaved(setups, specs, engine, n).items():
                figures.setdefault(key, []).append(ms)
    _report(figures, list(setups), n, rounds)


def _interleaved(setups, specs, engine, n):
    """One round: n lifecycles of each kind, taken in turns of BATCH ((a), then (b), (f) and (f_) on each database,
    then (a) again), so a change in the machine's speed (this VM is shared) falls on all kinds alike. Returns
    {(database, kind): (wall ms, CPU ms) per lifecycle}."""
    totals = {}

    def add(key, batch, wall, cpu):  # wall and cpu: ms per lifecycle of a batch
        w, c = totals.get(key, (0.0, 0.0))
        totals[key] = (w + wall * batch, c + cpu * batch)

    done = 0
    while done < n:
        batch = min(BATCH, n - done)
        add(("", "a"), batch, *_timed_ms(lambda: bare(batch), batch))
        for name, (lifecycle, floor_store, through_stack) in setups.items():
            add((name, "b"), batch, *_service_ms(lifecycle, batch))
            add((name, "f"), batch, *_timed_ms(lambda: in_memory(batch, *specs, engine, floor_store), batch))
            add((name, "f_"), batch, *_timed_ms(lambda: _through_stack(through_stack, batch, specs, engine), batch))
        done += batch
    return {key: (wall / n, cpu / n) for key, (wall, cpu) in totals.items()}


def _through_stack(through_stack, n, specs, engine):
    """Run n lifecycles of (f_) in an app context of its own app (one per n lifecycles; (b) takes one per lifecycle,
    outside its timing)."""
    store, app = through_stack
    with app.app_context():
        in_memory(n, *specs, engine, store)


def trace(n):
    """Print what (b) and (f) send to PostgreSQL per lifecycle, side by side (after 20 lifecycles of warm-up)."""
    from pg_trace import Tracer, report

    import app.tasks.service as tasks
    import app.tickets.service as tickets

    tracer = Tracer()
    tracer.install()

    def timed(function):  # the calls (b) times: what runs outside them is listed apart
        def inside(*args, **kwargs):
            tracer.prefix = ""
            try:
                return function(*args, **kwargs)
            finally:
                tracer.prefix = "outside: "
        return inside

    tasks.complete_task, tickets.create_ticket = timed(tasks.complete_task), timed(tickets.create_ticket)
    specs, engine = parsed_specs(), sandboxed_engine()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(durable_postgres())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ratio-")))
        floor_store = Store(*_schema_db(folder, _fresh(url, "floor")))
        stack.callback(floor_store.conn.close)
        lifecycle = stack.enter_context(service_lifecycle(folder, _fresh(url, "service")))
        _service_ms(lifecycle, 20)
        in_memory(20, *specs, engine, floor_store)
        wal = [_wal(url)]
        tracer.on, tracer.prefix = True, "outside: "
        _service_ms(lifecycle, n)
        b = tracer.take()
        tracer.on = False
        wal.append(_wal(url))
        if "--texts" in sys.argv:
            for kind, texts in sorted(tracer.texts.items()):
                for text in sorted(texts):
                    print(f"{kind}: {text}")
        tracer.on, tracer.prefix = True, ""
        in_memory(n, *specs, engine, floor_store)
        f = tracer.take()
        tracer.on = False
        wal.append(_wal(url))
    report({"(b) service layer": b, "(f) floor": f}, n)
    print("WAL per lifecycle (pg_stat_wal, the whole server; (b) includes its reads outside the timed calls):")
    for name, before, after in (("(b)", wal[0], wal[1]), ("(f)", wal[1], wal[2])):
        records, size, writes, syncs = ((y - x) / n for x, y in zip(before, after))
        print(f"  {name} {records:6.1f} records {size / 1024:7.1f} KiB {writes:5.1f} writes {syncs:5.1f} fsyncs")


def _wal(url):
    """(WAL records, bytes, writes, fsyncs) the server counted so far, once every backend has reported its own."""
    import psycopg

    time.sleep(11)  # an idle backend reports its statistics within 10 s (PGSTAT_IDLE_INTERVAL)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        row = conn.execute("SELECT wal_records, wal_bytes, wal_write, wal_sync FROM pg_stat_wal").fetchone()
    return [float(x) for x in row]


def _fresh(url, name):
    """A new empty database next to the one at `url` (the service layer and the floor get one each)."""
    if url is None:
        return None
    import psycopg

    base, _, _db = url.rpartition("/")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS bench_{name}")
        conn.execute(f"CREATE DATABASE bench_{name}")
    return f"{base}/bench_{name}"


def _report(figures, databases, n, rounds):
    print(f"lifecycles: {n} per round, {rounds} alternating rounds, medians "
          f"(create + accept + handle + feedback; 4 commits each in (b) and (f)); load average "
          f"{os.getloadavg()[0]:.2f}")
    for kind, index in (("wall clock", 0), ("CPU time of this process", 1)):
        a = [x[index] for x in figures[("", "a")]]
        print(f"{kind}: (a) bare SpiffWorkflow in memory {statistics.median(a):.2f} ms per lifecycle")
        print(f"  {'':20} {'(b) ms':>7} {'(f) ms':>7} {'(b)/(f)':>8} {'(b)/(a)':>8} {'(f)/(a)':>8} "
              f"{'(f_) ms':>8} {'(f_)/(f)':>9} {'(b)/(f_)':>9}")
        for name in databases:
            b = [x[index] for x in figures[(name, "b")]]
            f = [x[index] for x in figures[(name, "f")]]
            g = [x[index] for x in figures[(name, "f_")]]
            label = name + (", durable" if name == "PostgreSQL" else ", WAL")
            print(f"  {label:20} {statistics.median(b):7.2f} {statistics.median(f):7.2f} {_ratio(b, f):8.2f} "
                  f"{_ratio(b, a):8.2f} {_ratio(f, a):8.2f} {statistics.median(g):8.2f} {_ratio(g, f):9.2f} "
                  f"{_ratio(b, g):9.2f}")
    print(f"target (b)/(f) <= {TARGET} (ratios: the median of each round's ratio; CPU time leaves out the "
          "PostgreSQL server's own work)")
    print("(f_): the floor's own statements and values through the app's database layer (Flask-SQLAlchemy session, "
          "FastStatement): (f_)/(f) is what the stack adds to the same rows")


def _ratio(xs, ys):
    return statistics.median(x / y for x, y in zip(xs, ys))


if __name__ == "__main__":
    main()
