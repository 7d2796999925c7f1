"""What the gap between bench/engine_ratio.py's (b) and its floor (f) is made of, on SQLite, in one process.

Two parts:
1. Knock-outs: in turns of BATCH lifecycles, (f), (f+) (the floor plus the rows that requirements after the
   floor's add to every lifecycle, written its way: two counters, two SLA windows, two notifications), (b) as it
   is, and (b) with the service layer's features that write those rows or check what the floor leaves out switched
   off (notifications, SLA windows, ticket numbering and form validation, each replaced by a no-op or a stand-in
   for the length of its batch; measurement only). It prints the CPU time per lifecycle inside the calls (medians
   over rounds), each against (f), and (b)/(f+), so what the target of 1.25 leaves for everything else a service
   does can be read off.
2. Exclusive CPU time per category: each instrumented function's own time, nested instrumented calls taken out
   ((b) and (f), one after the other, 200 lifecycles each; "everything else" is the rest of the lifecycle, the
   service functions' own code and the bench's harness among it). For (f), "SQL statements" holds its BEGIN and
   COMMIT too. The wrappers cost about a microsecond a call, so the categories of (b),
   which has many more calls, come out a few hundred microseconds high in total; they rank the pieces, they are not
   the figures of part 1.

Usage: .venv/bin/python bench/engine_gap.py [ROUNDS]
"""
import collections
import contextlib
import gc
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_floor import Connection, Store, _schema_db, sandboxed_engine  # noqa: E402
from engine_overhead import in_memory, parsed_specs, service_lifecycle  # noqa: E402

BATCH = 40


def _without_features():
    """A context manager switching off (b)'s notifications, SLA windows, ticket numbering and form validation."""
    import app.calendar.sla as sla
    import app.notifications.events as notifications
    import app.tasks.service as tasks
    import app.tickets.service as tickets

    numbers = itertools.count()

    @contextlib.contextmanager
    def switched_off():
        saved = (notifications.on_step, sla.after_step, tasks.validate_submission, tickets.ticket_number)
        notifications.on_step = lambda *args, **kwargs: None
        sla.after_step = lambda *args, **kwargs: None
        tasks.validate_submission = lambda schema, data, context=None: dict(data)
        tickets.ticket_number = lambda *args, **kwargs: f"GAP{next(numbers):012d}"
        try:
            yield
        finally:
            notifications.on_step, sla.after_step, tasks.validate_submission, tickets.ticket_number = saved

    return switched_off


def knock_outs(lifecycle, floor, floor_plus, rounds):
    """{kind: [µs CPU per lifecycle, one per round]} for (f), (f+), (b) and (b) without its features."""
    switched_off = _without_features()
    figures = collections.defaultdict(list)

    def service():
        return sum(lifecycle()[1] for _ in range(BATCH)) / BATCH * 1e6

    def timed(run):
        def batch():
            began = time.process_time()
            run(BATCH)
            return (time.process_time() - began) / BATCH * 1e6
        return batch

    def bare_service():
        with switched_off():
            return service()

    kinds = {"(f)": timed(floor), "(f+)": timed(floor_plus), "(b)": service, "(b) without features": bare_service}
    for index in range(rounds):
        order = list(kinds) if index % 2 == 0 else list(reversed(kinds))
        for kind in order:
            figures[kind].append(kinds[kind]())
    return figures


class Exclusive:
    """Exclusive CPU time (ns) per category of the functions it wraps."""

    def __init__(self):
        self.totals, self.stack, self.undo = collections.Counter(), [], []

    def wrap(self, owner, name, category):
        original = getattr(owner, name)
        totals, stack, clock = self.totals, self.stack, time.process_time_ns

        def timed(*args, **kwargs):
            began = clock()
            if stack:
                totals[stack[-1][0]] += began - stack[-1][1]
            stack.append([category, began])
            try:
                return original(*args, **kwargs)
            finally:
                ended = clock()
                own, since = stack.pop()
                totals[own] += ended - since
                if stack:
                    stack[-1][1] = ended

        setattr(owner, name, timed)
        self.undo.append((owner, name, original))

    def restore(self):
        for owner, name, original in reversed(self.undo):
            setattr(owner, name, original)


def _instrument(exclusive):
    import sqlalchemy.engine.default as default
    import sqlalchemy.orm.scoping as scoping
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.task import Task

    import app.calendar.sla as sla
    import app.engine.runtime as runtime
    import app.engine.store as store
    import app.fast_statements as fast
    import app.notifications.events as notifications
    import app.tasks.service as tasks
    import app.tickets.flow as flow
    import app.tickets.service as tickets
    import engine_floor
    from app.parked_connections import DeskSession

    for owner, name, category in (
        (BpmnWorkflow, "__init__", "SpiffWorkflow"), (BpmnWorkflow, "do_engine_steps", "SpiffWorkflow"),
        (Task, "run", "SpiffWorkflow"), (runtime, "compact", "compaction"),
        (store, "plan_write", "serialising the state"), (engine_floor, "plan_write", "serialising the state"),
        (fast.FastStatement, "execute", "SQL statements"), (fast.FastStatement, "executemany", "SQL statements"),
        (Connection, "execute", "SQL statements"), (Connection, "executemany", "SQL statements"),
        (default.DefaultDialect, "do_commit", "DB-API commit"), (DeskSession, "_end_direct", "DB-API commit"),
        (scoping.scoped_session, "commit", "session: commit"),
        (fast, "_connection", "session: a statement's connection"),
        (tasks, "apply_step", "ticket rows (apply_step, _sync_tasks)"),
        (tickets, "apply_step", "ticket rows (apply_step, _sync_tasks)"),
        (flow, "_sync_tasks", "ticket rows (apply_step, _sync_tasks)"),
        (notifications, "on_step", "notifications"), (sla, "after_step", "SLA windows"),
        (tasks, "validate_submission", "validation"), (tickets, "ticket_number", "numbering"),
        (runtime.Engine, "start", "engine bookkeeping"), (runtime.Engine, "complete_task", "engine bookkeeping"),
        (runtime.Engine, "_step", "engine bookkeeping"), (runtime.Engine, "_sync_timers", "engine bookkeeping"),
        (runtime, "_finished", "engine bookkeeping"), (runtime, "advance", "engine bookkeeping"),
        (tickets, "open_ticket", "opening a ticket (its own code)"),
    ):
        exclusive.wrap(owner, name, category)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    specs, engine = parsed_specs(), sandboxed_engine()
    exclusive = Exclusive()
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-gap-")))
        lifecycle = stack.enter_context(service_lifecycle(folder, None))
        (folder / "floor").mkdir()
        floor_store = Store(*_schema_db(folder / "floor", None))
        stack.callback(floor_store.conn.close)

        (folder / "floor-plus").mkdir()
        plus_store = Store(*_schema_db(folder / "floor-plus", None), later_rows=True)
        stack.callback(plus_store.conn.close)

        def floor(n):
            in_memory(n, *specs, engine, floor_store)

        def floor_plus(n):
            in_memory(n, *specs, engine, plus_store)

        for _ in range(BATCH):
            lifecycle()
        floor(BATCH)
        floor_plus(BATCH)
        gc.collect()
        gc.freeze()
        figures = knock_outs(lifecycle, floor, floor_plus, rounds)

        _instrument(exclusive)  # only now: part 1 runs without the wrappers
        wrapped_totals = exclusive.totals
        parts = {}
        for kind, run in (("(b)", lambda: [lifecycle() for _ in range(200)]), ("(f)", lambda: floor(200))):
            wrapped_totals.clear()
            began = time.process_time()
            run()
            parts[kind] = ((time.process_time() - began) / 200 * 1e6,
                           {category: ns / 200 / 1000 for category, ns in wrapped_totals.items()})
        exclusive.restore()
    _report(figures, parts, rounds)


def _report(figures, parts, rounds):
    medians = {kind: statistics.median(values) for kind, values in figures.items()}
    floor = medians["(f)"]
    print(f"SQLite, CPU time per lifecycle inside the calls, medians of {rounds} rounds of {BATCH} in turns")
    for kind, value in medians.items():
        print(f"  {kind:24s} {value:8.0f} µs   /(f) {value / floor:5.2f}")
    print(f"  1.25 x (f)               {1.25 * floor:8.0f} µs")
    plus = medians["(f+)"]
    print(f"  (b)/(f+) {medians['(b)'] / plus:5.2f}   (b) without features/(f) {medians['(b) without features'] / floor:5.2f}")
    print("  (f+): the floor plus the rows later requirements add to every lifecycle, written its way (two counters, two")
    print("        SLA windows, two notifications); (b) without features: notifications, SLA windows, ticket numbering")
    print("        and form validation switched off")
    print("exclusive CPU per category, µs per lifecycle (instrumented: (b)'s wrappers add a few hundred µs)")
    categories = sorted(set(parts["(b)"][1]) | set(parts["(f)"][1]), key=lambda c: -parts["(b)"][1].get(c, 0))
    print(f"  {'':40s} {'(b)':>8s} {'(f)':>8s}")
    for category in categories:
        print(f"  {category:40s} {parts['(b)'][1].get(category, 0):8.0f} {parts['(f)'][1].get(category, 0):8.0f}")
    rest = {kind: total - sum(values.values()) for kind, (total, values) in parts.items()}
    print(f"  {'everything else':40s} {rest['(b)']:8.0f} {rest['(f)']:8.0f}")
    print(f"  {'whole lifecycle (with the harness)':40s} {parts['(b)'][0]:8.0f} {parts['(f)'][0]:8.0f}")


if __name__ == "__main__":
    main()
