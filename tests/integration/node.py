"""One app process for the multi-process tests: the scheduler runs until SIGTERM."""
import signal
import sys
import time

from app import create_app
from config import Config


def main(url):
    app = create_app(Config, SQLALCHEMY_DATABASE_URI=url, SCHEDULER_ENABLED=True, TIMER_POLL_SECONDS=0.5,
                     AUTO_MIGRATE=True, AUTO_DEPLOY=True)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    print("ready", flush=True)
    while not stopping:
        time.sleep(0.1)
    app.extensions["scheduler"].shutdown(wait=True)
    print("stopped", flush=True)


if __name__ == "__main__":
    from config import normalise_database_url

    main(normalise_database_url(sys.argv[1]))
