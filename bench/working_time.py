"""Working-time deadlines: what one computation costs, cached per calendar version and cold.

Builds the default calendar (Mon-Fri 09:00-12:00, 13:00-18:00; China's holidays and make-up days of this year and
the next) in a throw-away SQLite database, then prints the mean time per call (best of ROUNDS rounds of N calls)
of add_working_time and working_time_between for short and long windows, through the service (cached compiled
calendar, the version checked every CALENDAR_CACHE_SECONDS), the version check alone (cache expired every call),
and compiling the calendar from its rows.

Usage: .venv/bin/python bench/working_time.py [N] [ROUNDS]
"""
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.calendar import service  # noqa: E402
from app.calendar.worktime import LOCAL  # noqa: E402
from config import TestConfig  # noqa: E402


def best(fn, n, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n)
    return min(times)


def main(n=2000, rounds=5):
    folder = Path(tempfile.mkdtemp())
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bench.db'}", AUTO_MIGRATE=True,
                     AUTO_DEPLOY=False, SCHEDULER_ENABLED=False, UPLOAD_DIR=str(folder / "uploads"))
    start = datetime(2026, 9, 29, 15, 17, tzinfo=LOCAL)  # before the National Day week
    with app.app_context():
        rows = [
            ("add PT2H (cached)", lambda: service.add_working_time(start, "PT2H")),
            ("add PT24H across National Day (cached)", lambda: service.add_working_time(start, "PT24H")),
            ("add P20D (cached)", lambda: service.add_working_time(start, "P20D")),
            ("between 10 days (cached)", lambda: service.working_time_between(start, start + timedelta(days=10))),
        ]
        for label, fn in rows:
            print(f"{label:45s} {best(fn, n, rounds) * 1e6:8.1f} µs")
        app.config["CALENDAR_CACHE_SECONDS"] = 0
        print(f"{'add PT2H, version read every call':45s} "
              f"{best(lambda: service.add_working_time(start, 'PT2H'), n, rounds) * 1e6:8.1f} µs")

        def cold():
            service.forget_cached()
            service.work_calendar()

        print(f"{'compile the calendar from its rows':45s} {best(cold, max(n // 20, 10), rounds) * 1e6:8.1f} µs")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
