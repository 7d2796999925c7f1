"""dump_state against SpiffWorkflow's generic serializer, on workflows/quick_response.bpmn at points of its lifecycle.

Prints the mean time per call (best of ROUNDS rounds of N calls: this VM is noisy) of the generic serializer and
of dump_state, warm (the same workflow again, as in a run of steps on a cached instance) and cold (its memos of
ids and timestamps emptied before each call: a busy server, or a workflow just loaded). The last row puts a
datetime into the data, which sends dump_state the generic way: its cost when it cannot help.

Usage: .venv/bin/python bench/serializer.py [N] [ROUNDS]
"""
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from app.capabilities import deadline, now_iso  # noqa: E402
from app.engine import serializer  # noqa: E402
from app.engine.sandbox import make_script_engine  # noqa: E402
from app.engine.serializer import _fast_dump, _generic_dump, dump_state  # noqa: E402
from engine_overhead import START, parsed_specs  # noqa: E402

STEPS = [  # engine_overhead's lifecycle with one needs-adjustment loop
    ("accept_ticket", {"contact_note": "已联系客户", "completed_by": "engineer1"}),
    ("handle_ticket", {"action": "更换部件", "status": "awaiting_customer", "solution": "更换电源",
                       "solution_ready": True, "completed_by": "engineer1"}),
    ("feedback", {"method": "phone", "opinion": "needs_adjustment", "completed_by": "agent1"}),
    ("handle_ticket", {"action": "更换主板", "status": "awaiting_customer", "solution": "更换主板",
                       "solution_ready": True, "completed_by": "engineer1"}),
    ("feedback", {"method": "phone", "opinion": "satisfied", "completed_by": "agent1"}),
]


def lifecycle():
    """Yield (label, workflow) after the start and after each user task, on fresh copies of the run."""
    spec, subprocess_specs = parsed_specs()
    engine = make_script_engine({"deadline": deadline, "now_iso": now_iso,
                                 "pick_assignee": lambda department: "engineer1", "has_open_task": lambda *a: False})
    for stop in range(len(STEPS) + 1):
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
        workflow.task_tree.data.update(START)
        workflow.do_engine_steps()
        for name, data in STEPS[:stop]:
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            assert task.task_spec.bpmn_id == name, task.task_spec.bpmn_id
            task.data.update(data)
            task.run()
            workflow.do_engine_steps()
        workflow.is_completed()
        yield ("started" if stop == 0 else f"{STEPS[stop - 1][0]} {stop}"), workflow


def per_call(func, workflow, n, rounds, cold=False):
    """Mean microseconds per call, best of `rounds`; `cold` empties dump_state's memos before each call."""
    best = float("inf")
    for _ in range(rounds):
        spent = 0.0
        for _ in range(n):
            if cold:
                serializer._UUID_TEXTS.clear()
                serializer._FLOAT_TEXTS.clear()
            began = time.perf_counter()
            func(workflow)
            spent += time.perf_counter() - began
        best = min(best, spent / n)
    return best * 1e6


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    cases = list(lifecycle())
    odd = next(workflow for label, workflow in lifecycle() if label.startswith("accept_ticket"))
    odd.get_next_task(state=TaskState.READY, manual=True).data["promised_at"] = datetime.now(timezone.utc)
    cases.append(("accept_ticket 1 + datetime", odd))
    print(f"microseconds per call, best of {rounds} rounds of {n}")
    print(f"{'state':28s} {'tasks':>5s} {'generic':>8s} {'warm':>7s} {'cold':>7s} {'speed-up warm':>14s} "
          f"{'cold':>5s}  path")
    for label, workflow in cases:
        tasks = len(workflow.tasks) + sum(len(sub.tasks) for sub in workflow.subprocesses.values())
        generic = per_call(_generic_dump, workflow, n, rounds)
        warm = per_call(dump_state, workflow, n, rounds)
        cold = per_call(dump_state, workflow, n, rounds, cold=True)
        path = "direct" if _fast_dump(workflow) is not None else "generic (fallback)"
        print(f"{label:28s} {tasks:5d} {generic:8.1f} {warm:7.1f} {cold:7.1f} {generic / warm:13.2f}x "
              f"{generic / cold:4.2f}x  {path}")


if __name__ == "__main__":
    main()
