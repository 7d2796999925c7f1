"""What bench/http_load.py serves under gunicorn: the app (`wsgi:app`) or, with BENCH_TARGET=echo, the echo app,
each wrapped to report the CPU its worker thread spent on a request in an `X-Server-CPU-us` header, and the
time the garbage collector ran meanwhile (in that worker, any thread) in `X-Server-GC-us`.

The headers are measured from the start of the WSGI call to the response's start (view, authentication, JSON);
the timer loop runs in another thread and is not counted. Benchmark use only.
"""
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if os.environ.get("BENCH_TARGET") == "echo":
    from echo_app import app  # noqa: E402
else:
    from wsgi import app  # noqa: E402


_gc = {"total": 0.0, "began": 0.0}


def _gc_timer(phase, _info):
    if phase == "start":
        _gc["began"] = time.perf_counter()
    else:
        _gc["total"] += time.perf_counter() - _gc["began"]


gc.callbacks.append(_gc_timer)


def _with_cpu_header(wsgi_app):
    def measured(environ, start_response):
        began, collecting = time.thread_time(), _gc["total"]

        def start(status, headers, exc_info=None):
            headers.append(("X-Server-CPU-us", str(int((time.thread_time() - began) * 1e6))))
            headers.append(("X-Server-GC-us", str(int((_gc["total"] - collecting) * 1e6))))
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return measured


app.wsgi_app = _with_cpu_header(app.wsgi_app)
