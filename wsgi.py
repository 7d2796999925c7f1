"""WSGI entry point: `flask --app wsgi run` and `gunicorn wsgi:app`."""
import gc

from app import create_app

app = create_app()
# What start-up built (modules, parsed diagrams, routes) lives as long as the process: moved out of the
# collector's reach, so the full collections that request garbage triggers do not walk it again each time.
gc.collect()
gc.freeze()
