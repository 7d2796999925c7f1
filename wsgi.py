"""WSGI entry point: `flask --app wsgi run` and `gunicorn wsgi:app`. The app keeps what start-up built out of the
garbage collector's full collections (GC_FREEZE, see app.freeze_start_up)."""
from app import create_app

app = create_app()
