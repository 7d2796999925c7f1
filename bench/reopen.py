"""Loops: one ticket sent round each loop of workflows/quick_response.bpmn LOOPS times (default 500).

- needs adjustment: handle_ticket (solution ready) -> feedback "needs_adjustment" -> handle_ticket ...
- unsatisfied:      handle_ticket -> feedback "unsatisfied" -> second_handling (supervisor) -> handle_ticket ...
- window lapses:    31 minutes pass, the acceptance timer fires -> reassign_ticket -> accept_ticket ...
                    (after 4 such rounds first, in which the 2-hour response deadline lapses: its review_response
                    stays open throughout, and each round's response timer fires at once and is not stacked)

Each loop runs through the service layer (complete_task / fire_due_timers, one commit per step) on a SQLite file
with the demo data, the clock moved with time-machine, after a warm-up ticket has taken 3 rounds. At loops 1, 50,
200 and LOOPS it prints the CPU time of one step (median over the steps of the 5 loops around that point: this VM
is noisy), the stored state (process_instances.state, bytes) after that loop, and bare SpiffWorkflow's step at
the same loop: the same diagram and the same loop on a plain BpmnWorkflow in memory (SpiffWorkflow's own script
engine), which keeps every round; where it fails, the figure is the error and the loop it failed at.
Targets: loop LOOPS completes; step at LOOPS <= 1.5x step at loop 1; state at LOOPS <= 2x state at loop 1.

Usage: .venv/bin/python bench/reopen.py [LOOPS]
"""
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import time_machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from app.capabilities import deadline, now_iso  # noqa: E402
from engine_overhead import START, parsed_specs  # noqa: E402

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
WINDOW = timedelta(minutes=31)
HANDLE = {"action": "调整方案", "status": "awaiting_customer", "solution": "调整后的方案", "solution_ready": True}
SECOND = {"unsatisfied_reason": "故障复现", "improvement_plan": "上门检修", "assignee": "engineer1"}
REASSIGN = {"assignee": "engineer1", "reason": "请尽快受理"}

# loop kind -> the user tasks of one round: (task, actor, form data); None is "31 minutes pass, timers fire"
LOOPS = {
    "needs adjustment": [("handle_ticket", "engineer1", HANDLE),
                         ("feedback", "agent1", {"method": "phone", "opinion": "needs_adjustment"})],
    "unsatisfied": [("handle_ticket", "engineer1", HANDLE),
                    ("feedback", "agent1", {"method": "phone", "opinion": "unsatisfied"}),
                    ("second_handling", "supervisor1", SECOND)],
    "window lapses": [None, ("reassign_ticket", "supervisor1", REASSIGN)],
}
PREPARE = {  # what brings a fresh ticket to the start of each loop
    "needs adjustment": [("accept_ticket", "engineer1", {"contact_note": "已联系客户"})],
    "unsatisfied": [("accept_ticket", "engineer1", {"contact_note": "已联系客户"})],
    # the 2-hour response deadline lapses on the 4th window: from loop 1 on, every round is the same one
    "window lapses": [None, ("reassign_ticket", "supervisor1", REASSIGN)] * 4,
}


def points(loops):
    return sorted({1, 50, 200, loops} & set(range(1, loops + 1)))


def around(per_loop, loop):
    """Median step CPU (ms) over the steps of the 5 loops around `loop`."""
    steps = [ms for n in range(max(1, loop - 2), min(len(per_loop), loop + 2) + 1) for ms in per_loop[n - 1]]
    return statistics.median(steps) if steps else None


# ---------------------------------------------------------------- through the service layer

class Service:
    """The app on a SQLite file with the demo data; runs rounds of a loop on one ticket."""

    def __init__(self, folder):
        from app import create_app
        from config import Config

        self.app = create_app(Config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'reopen.db'}",
                              SCHEDULER_ENABLED=False, UPLOAD_DIR=str(folder / "uploads"))
        with self.app.app_context():
            from app.seed import seed_demo

            seed_demo(password="bench-123")

    def run(self, kind, loops):
        """Return (per-loop step CPU lists in ms, {loop: state bytes}, loops completed, error or None)."""
        from sqlalchemy import bindparam, select

        from app.auth.models import User
        from app.auth.principal import load_principal
        from app.customers.models import Customer
        from app.engine import ProcessInstance
        from app.extensions import db
        from app.tasks.models import HumanTask
        from app.tasks.service import complete_task
        from app.tickets.models import Ticket
        from app.tickets.service import create_ticket
        from app.timers.service import fire_due_timers

        open_task = (select(HumanTask.id).join(Ticket, Ticket.id == HumanTask.ticket_id)
                     .where(Ticket.number == bindparam("number"), HumanTask.state == "open",
                            HumanTask.name == bindparam("name")))
        state_of = (select(ProcessInstance.state).join(Ticket, Ticket.process_instance_id == ProcessInstance.id)
                    .where(Ticket.number == bindparam("number")))
        per_loop, sizes, done, error = [], {}, 0, None
        clock = T0
        with self.app.app_context(), time_machine.travel(clock, tick=False) as traveller:
            users = {u.username: load_principal(u.id) for u in db.session.scalars(select(User))}
            customer = db.session.scalars(select(Customer)).first().number
            number = create_ticket(data={"customer_number": customer, "type": "complaint", "urgency": "high",
                                         "description": "设备反复故障，客户多次要求调整", "channel": "phone"},
                                   actor=users["agent1"])

            def step(item):
                if item is None:
                    traveller.shift(WINDOW)
                    began = time.process_time()
                    fire_due_timers()
                    return (time.process_time() - began) * 1000
                name, actor, data = item
                task_id = db.session.execute(open_task, {"number": number, "name": name}).scalar()
                if task_id is None:
                    raise RuntimeError(f"no open {name} task")
                began = time.process_time()
                complete_task(task_id=task_id, user=users[actor], data=data)
                return (time.process_time() - began) * 1000

            for item in PREPARE[kind]:
                step(item)
            wanted = set(points(loops))
            try:
                for loop in range(1, loops + 1):
                    per_loop.append([step(item) for item in LOOPS[kind]])
                    done = loop
                    if loop in wanted:
                        sizes[loop] = len(db.session.execute(state_of, {"number": number}).scalar())
                        db.session.rollback()
            except Exception as exc:  # noqa: BLE001 - the figure is the failure
                error = f"{type(exc).__name__} at loop {done + 1}"
                db.session.rollback()
        return per_loop, sizes, done, error


# ---------------------------------------------------------------- bare SpiffWorkflow in memory

def bare_run(kind, loops):
    """The same loop on a plain BpmnWorkflow in memory: (per-loop step CPU lists in ms, error or None)."""
    spec, subprocess_specs = parsed_specs()
    holder = {}

    def has_open_task(ticket_number, name):
        return any(t.task_spec.bpmn_id == name for t in holder["wf"].get_tasks(state=TaskState.READY, manual=True))

    helpers = {"deadline": deadline, "now_iso": now_iso, "pick_assignee": lambda department: "engineer1",
               "has_open_task": has_open_task}
    engine = PythonScriptEngine(environment=TaskDataEnvironment(helpers))
    per_loop, done = [], 0
    with time_machine.travel(T0, tick=False) as traveller:
        workflow = holder["wf"] = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
        workflow.task_tree.data.update(START)
        workflow.do_engine_steps()

        def step(item):
            if item is None:
                traveller.shift(WINDOW)
                began = time.process_time()
                workflow.refresh_timers()
                workflow.do_engine_steps()
                return (time.process_time() - began) * 1000
            name, actor, data = item
            began = time.process_time()
            task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                        if t.task_spec.bpmn_id == name)
            task.data.update({**data, "completed_by": actor})
            task.run()
            workflow.do_engine_steps()
            return (time.process_time() - began) * 1000

        for item in PREPARE[kind]:
            step(item)
        try:
            for loop in range(1, loops + 1):
                per_loop.append([step(item) for item in LOOPS[kind]])
                done = loop
        except Exception as exc:  # noqa: BLE001 - the figure is the failure (RecursionError past ~160 loops)
            return per_loop, f"{type(exc).__name__} at loop {done + 1}"
    return per_loop, None


def main():
    loops = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    folder = Path(tempfile.mkdtemp(prefix="reopen-"))
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores, shared)")
    try:
        service = Service(folder)
        for kind in LOOPS:
            service.run(kind, 3)  # warm: statement caches, the spec cache, first-call costs
            per_loop, sizes, done, error = service.run(kind, loops)
            bare_loops, bare_error = bare_run(kind, loops)
            steps = len(LOOPS[kind])
            print(f"\n{kind} ({steps} steps a loop){': ' + error if error else ''}")
            print(f"{'loop':>6} {'step CPU ms':>12} {'state bytes':>12} {'bare step CPU ms':>18}")
            for loop in points(loops):
                mine = around(per_loop, loop) if loop <= done else None
                bare = around(bare_loops, loop) if loop <= len(bare_loops) else None
                print(f"{loop:>6} {f'{mine:.2f}' if mine is not None else 'failed':>12} "
                      f"{sizes.get(loop, '-'):>12} {f'{bare:.2f}' if bare is not None else bare_error:>18}")
            if done == loops:
                first, last = around(per_loop, 1), around(per_loop, loops)
                print(f"loop {loops} completed; step {last / first:.2f}x loop 1 (target <= 1.5), "
                      f"state {sizes[loops] / sizes[1]:.2f}x loop 1 (target <= 2)")
            else:
                print(f"loop {loops} NOT completed ({error})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
