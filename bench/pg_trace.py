"""Count what a psycopg 3 connection sends, for bench/engine_ratio.py --trace: statements by kind, round trips,
transaction control, prepares and the time spent waiting on the server.

Everything a psycopg connection does goes through `Connection.wait(generator)`; the generator yields each time
it waits for the socket, and the time the wait loop holds it is the time spent waiting on the server (its work
plus the loopback hop). A round trip is one run of psycopg's execute generator (send, read the results), or one
executemany (psycopg runs it as a pipeline: it sends every row and a Sync, then reads every result; strace shows
one recvfrom per executemany in a transaction, but two sendto and four poll). Each round trip is charged to
what the connection was doing: the statement being executed (its PREPARE is one more round trip of it: psycopg
prepares a statement text on its fifth execution, prepare_threshold), the BEGIN psycopg sends before the first
statement of a transaction, COMMIT, ROLLBACK, or a DEALLOCATE ALL (psycopg drops its prepared statements after
every ROLLBACK). The rows "(prepared now) X" count the executions of X that prepared it, "(ran unprepared) X"
those that ran it unprepared (parsed and planned by the server).

Only while `Tracer.on` is true; the patches stay installed (they cost a flag test each when off).
"""
import re
import time
from collections import defaultdict

import psycopg
from psycopg import _cursor_base, generators
from psycopg._preparing import Prepare
from psycopg.cursor import Cursor
from psycopg.pq import TransactionStatus

IDLE = TransactionStatus.IDLE
_WORDS = re.compile(r"\s+")


def label(sql):
    """A short name for a statement: its verb and table (SELECT names the first table after FROM)."""
    if isinstance(sql, bytes):
        sql = sql.decode()
    text = _WORDS.sub(" ", str(sql)).strip()
    upper = text.upper()
    verb = upper.split(" ", 1)[0]
    table = ""
    if verb == "INSERT":
        table = upper.split(" INTO ", 1)[1].split(" ", 1)[0]
        if upper.count("), (") or re.search(r"VALUES \(.*\), \(", upper):
            verb = "INSERT (multi-row)"
    elif verb == "UPDATE":
        table = upper.split(" ", 2)[1]
    elif verb == "DELETE":
        table = upper.split(" FROM ", 1)[1].split(" ", 1)[0]
    elif verb in ("SELECT", "WITH"):
        parts = upper.split(" FROM ", 1)
        table = parts[1].split(" ", 1)[0].strip("()") if len(parts) > 1 else ""
        if " FOR UPDATE" in upper:
            verb += " FOR UPDATE"
    return f"{verb} {table.lower()}".strip()


class Tracer:
    """Per kind: [calls, round trips, seconds waiting on the server, seconds in psycopg calls]."""

    def __init__(self):
        self.on = False
        self.rows = defaultdict(lambda: [0, 0, 0.0, 0.0])
        self._stack = []  # what the connection is doing now (innermost last)
        self.prefix = ""  # put before every kind (e.g. to tell work outside the timed calls apart)
        self.texts = defaultdict(set)  # kind -> the statement texts seen

    def take(self):
        """The rows counted so far; counting starts afresh."""
        rows, self.rows = self.rows, defaultdict(lambda: [0, 0, 0.0, 0.0])
        return rows

    # -- the patches

    def install(self):
        tracer = self
        original_wait = psycopg.Connection.wait
        original_execute, original_executemany = Cursor.execute, Cursor.executemany
        original_commit, original_rollback = psycopg.Connection.commit, psycopg.Connection.rollback
        original_start = psycopg.Connection._start_query
        original_deallocate = psycopg.Connection._deallocate
        original_decide = _cursor_base.BaseCursor._get_prepared

        def wait(self, gen, *args, **kwargs):
            if not tracer.on:
                return original_wait(self, gen, *args, **kwargs)
            return original_wait(self, tracer._watch(gen), *args, **kwargs)

        def call(kind, original, trips=0):
            def traced(self, *args, **kwargs):
                if not tracer.on:
                    return original(self, *args, **kwargs)
                name = kind(self, *args)
                if name is None:
                    return original(self, *args, **kwargs)
                conn = self if isinstance(self, psycopg.Connection) else self.connection
                prepared = len(conn._prepared._names)
                name = tracer.prefix + name
                if args and not isinstance(self, psycopg.Connection):
                    tracer.texts[name].add(_WORDS.sub(" ", str(args[0])))
                row = tracer.rows[name]
                row[0] += 1
                tracer._stack.append(name)
                began = time.perf_counter()
                try:
                    return original(self, *args, **kwargs)
                finally:
                    row[1] += trips
                    row[3] += time.perf_counter() - began
                    tracer._stack.pop()
                    if len(conn._prepared._names) > prepared:
                        tracer.rows["(prepared now) " + name][0] += 1
            return traced

        def deciding(self, pgq, prepare=None):
            decision = original_decide(self, pgq, prepare)
            if tracer.on and decision[0] is Prepare.NO and tracer._stack:
                tracer.rows["(ran unprepared) " + tracer._stack[-1]][0] += 1
            return decision

        def starting(self):
            if tracer.on and not self._autocommit and self.pgconn.transaction_status == IDLE:
                name = tracer.prefix + "BEGIN (psycopg, implicit)"
                tracer.rows[name][0] += 1
                tracer.rows[name][1] += bool(self._pipeline)  # else counted by generators.execute
                tracer._stack.append(name)
                try:
                    return (yield from original_start(self))
                finally:
                    tracer._stack.pop()
            return (yield from original_start(self))

        def deallocating(self, name):
            if tracer.on:
                what = "DEALLOCATE ALL (after ROLLBACK)" if name is None else "DEALLOCATE (cache full)"
                what = tracer.prefix + what
                tracer.rows[what][0] += 1
                tracer._stack.append(what)
                try:
                    return (yield from original_deallocate(self, name))
                finally:
                    tracer._stack.pop()
            return (yield from original_deallocate(self, name))

        def idle_rollback(self):
            return None if self.pgconn.transaction_status == IDLE else "ROLLBACK"

        def idle_commit(self):
            return None if self.pgconn.transaction_status == IDLE else "COMMIT"

        psycopg.Connection.wait = wait
        # a round trip: one call of psycopg's execute generator (send a query, read its results); an executemany
        # (a pipeline) counts one, see `call`
        _cursor_base.execute = self._trip(_cursor_base.execute)
        generators.execute = self._trip(generators.execute)
        Cursor.execute = call(lambda cur, query, *a: label(query), original_execute)
        Cursor.executemany = call(lambda cur, query, *a: label(query) + " (executemany)", original_executemany, 1)
        psycopg.Connection.commit = call(idle_commit, original_commit)
        psycopg.Connection.rollback = call(idle_rollback, original_rollback)
        psycopg.Connection._start_query = starting
        psycopg.Connection._deallocate = deallocating
        _cursor_base.BaseCursor._get_prepared = deciding

    def _where(self):
        return self.rows[self._stack[-1] if self._stack else self.prefix + "(other)"]

    def _watch(self, gen):
        """Forward `gen`'s waits to psycopg's wait loop, adding up the time spent there (blocked on the socket)."""
        try:
            state = next(gen)
            while True:
                began = time.perf_counter()
                ready = yield state
                self._where()[2] += time.perf_counter() - began
                state = gen.send(ready)
        except StopIteration as stop:
            return stop.value

    def _trip(self, original):
        """psycopg's generator `original` (send, then read the results), each call counted as a round trip."""
        def counted(*args, **kwargs):
            if self.on:
                self._where()[1] += 1
            return (yield from original(*args, **kwargs))
        return counted


def report(traces, per):
    """Print traces {name: rows from Tracer.take()} side by side, per lifecycle (`per` lifecycles each)."""
    tables = {name: {kind: (c / per, rt / per, 1000 * w / per, 1000 * t / per) for kind, (c, rt, w, t) in rows.items()}
              for name, rows in traces.items()}
    kinds = sorted({k for t in tables.values() for k in t}, key=lambda k: (k.startswith("("), k))
    names = list(tables)
    head = "".join(f" | {n:^31}" for n in names)
    print(f"per lifecycle{'':<44}{head}")
    print(f"{'statement kind':<57}" + " | calls  trips  wait ms  call ms" * len(names))
    totals = {n: {"": [0, 0, 0.0, 0.0], "outside: ": [0, 0, 0.0, 0.0]} for n in names}
    for kind in kinds:
        cells = []
        for n in names:
            calls, trips, wait, spent = tables[n].get(kind, (0, 0, 0.0, 0.0))
            cells.append(f" | {calls:5.1f} {trips:6.1f} {wait:8.2f} {spent:7.2f}" if calls or trips else f" | {'':31}")
            if not kind.startswith(("(prepared now)", "(ran unprepared)")):
                total = totals[n]["outside: " if kind.startswith("outside: ") else ""]
                for i, value in enumerate((calls, trips, wait, spent)):
                    total[i] += value
        print(f"{kind[:57]:<57}" + "".join(cells))
    for part, title in (("", "total"), ("outside: ", "total outside the timed calls")):
        if any(t[part][0] for t in totals.values()):
            print(f"{title:<57}" + "".join(f" | {c:5.1f} {r:6.1f} {w:8.2f} {s:7.2f}"
                                             for c, r, w, s in (t[part] for t in totals.values())))
