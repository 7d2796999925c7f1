"""Whole-state writes against snapshot + deltas as a ticket loops through handling R times (the state grows).

The floor's writes of bench/engine_floor.py (plain DB-API statements, one commit per step) for a ticket
accepted and then handled R times without a solution, two ways in alternating rounds: the whole state at
every step (engine.store with SNAPSHOT_EVERY = 1) and as the app stores it (a delta per step, a snapshot every
engine.store.SNAPSHOT_EVERY steps). Prints the milliseconds of write + commit per step, early and late in the
loop, on SQLite (WAL) and on a throw-away PostgreSQL with durable commits (see bench/engine_ratio.py).

Usage: .venv/bin/python bench/state_deltas.py [R] [ROUNDS] [--sqlite-only]
"""
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from app.engine import store  # noqa: E402
from app.engine.serializer import dump_state  # noqa: E402
from engine_floor import Store, _schema_db, sandboxed_engine  # noqa: E402
from engine_overhead import START, parsed_specs  # noqa: E402
from engine_ratio import _fresh, durable_postgres  # noqa: E402

ACCEPT = ("accept_ticket", {"contact_note": "已联系客户", "completed_by": "engineer1"})
HANDLE = ("handle_ticket", {"action": "远程排查", "status": "processing", "next_update_at": "2030-03-02T15:00:00+08:00",
                            "solution_ready": False, "completed_by": "engineer1"})


def lifecycle(floor, specs, engine, rounds):
    """Run the looping ticket; return (seconds of write + commit per step, state length per step)."""
    workflow = BpmnWorkflow(*specs, script_engine=engine)
    workflow.task_tree.data.update(START)
    workflow.do_engine_steps()
    floor.start(workflow)
    times, sizes = [], []
    for name, data in [ACCEPT] + [HANDLE] * rounds:
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        assert task.task_spec.bpmn_id == name, task.task_spec.bpmn_id
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()
        began = time.perf_counter()
        floor.step(workflow, HANDLE[0])
        times.append(time.perf_counter() - began)
        sizes.append(len(dump_state(workflow)))
    return times, sizes


def measure(floor, specs, engine, rounds, repeats):
    """{way: [median seconds per step]} over `repeats` alternating runs, and the state lengths."""
    runs, every = {"whole state": [], "snapshot + deltas": []}, store.SNAPSHOT_EVERY
    try:
        for _ in range(repeats):
            for way in runs:
                store.SNAPSHOT_EVERY = 1 if way == "whole state" else every
                times, sizes = lifecycle(floor, specs, engine, rounds)
                runs[way].append(times)
    finally:
        store.SNAPSHOT_EVERY = every
    return {way: [statistics.median(step) for step in zip(*times)] for way, times in runs.items()}, sizes


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rounds = int(args[0]) if args else 40
    repeats = int(args[1]) if len(args) > 1 else 3
    specs, engine = parsed_specs(), sandboxed_engine()
    with contextlib.ExitStack() as stack:
        databases = {"SQLite, WAL": None}
        if "--sqlite-only" not in sys.argv:
            databases["PostgreSQL, durable"] = _fresh(stack.enter_context(durable_postgres()), "floor")
        print(f"a ticket accepted, then handled {rounds} times; write + commit per step, ms (median of {repeats})")
        for name, url in databases.items():
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-deltas-")))
            floor = Store(*_schema_db(folder, url))
            stack.callback(floor.conn.close)
            per_step, sizes = measure(floor, specs, engine, rounds, repeats)
            print(f"{name}: state {sizes[0] / 1000:.0f} KB after the first step, {sizes[-1] / 1000:.0f} KB at the end")
            for way, steps in per_step.items():
                print(f"  {way:18} first 5 steps {1000 * statistics.mean(steps[:5]):6.2f}   "
                      f"last 5 {1000 * statistics.mean(steps[-5:]):6.2f}   all {1000 * statistics.mean(steps):6.2f}")


if __name__ == "__main__":
    main()
