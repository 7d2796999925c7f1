"""What notifications cost the hot path: the engine_overhead lifecycle (create, accept, handle, feedback) with
the flow's notification hook on and off, alternating rounds in one process; and the hook's own time.

Per lifecycle the hook writes two notifications (the new ticket's assignee; the feedback task's holder) and
reads the previous holders once (the feedback step); accept and handle go to the person acting: nothing.

Usage: .venv/bin/python bench/notifications.py [N] [ROUNDS]
"""
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine_overhead import service_lifecycle  # noqa: E402

from app.notifications import events  # noqa: E402


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    real = events.on_step
    inside = [0.0]

    def timed(*args, **kwargs):
        began = time.process_time()
        real(*args, **kwargs)
        inside[0] += time.process_time() - began

    folder = Path(tempfile.mkdtemp(prefix="bench-"))
    cpu = {"on": [], "off": []}
    try:
        with service_lifecycle(folder) as lifecycle:
            for _ in range(min(20, n)):
                lifecycle()
            for _ in range(rounds):
                for mode in ("off", "on"):
                    events.on_step = timed if mode == "on" else (lambda *a, **k: None)
                    began = time.process_time()
                    for _ in range(n):
                        lifecycle()
                    cpu[mode].append((time.process_time() - began) / n)
    finally:
        events.on_step = real
        shutil.rmtree(folder, ignore_errors=True)
    off, on = min(cpu["off"]), min(cpu["on"])
    hook = inside[0] / (n * rounds)
    print(f"lifecycles: {n} per round, best of {rounds} alternating rounds, CPU time per lifecycle")
    print(f"hook off : {off * 1000:6.2f} ms")
    print(f"hook on  : {on * 1000:6.2f} ms  (+{(on - off) * 1000:.2f} ms, {100 * (on - off) / off:+.1f} %)")
    print(f"inside the hook: {hook * 1000:.3f} ms per lifecycle (2 notifications written, 1 previous-holder read)")


if __name__ == "__main__":
    main()
