"""Pooled PostgreSQL connections are checked before use only after sitting idle, and a dead one is replaced."""
import pytest
from sqlalchemy import create_engine, text

from app.database import ping_idle_connections
from config import normalise_database_url
from tests.integration.test_postgres import pg_url  # noqa: F401

pytestmark = pytest.mark.postgres


def _engine(url, idle_seconds, pings):
    engine = create_engine(normalise_database_url(url), pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_seconds)
    original = engine.dialect.do_ping

    def counting(dbapi_connection):
        pings.append(1)
        return original(dbapi_connection)

    engine.dialect.do_ping = counting
    return engine


def test_a_connection_that_died_while_idle_is_replaced_before_use(pg_url):
    pings = []
    engine = _engine(pg_url, 0, pings)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    other = create_engine(normalise_database_url(pg_url))
    with other.begin() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    with engine.connect() as conn:  # the idle connection is pinged, found dead and replaced
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    assert pings
    other.dispose()
    engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(pg_url):
    pings = []
    engine = _engine(pg_url, 3600, pings)
    for _ in range(5):
        with engine.begin() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    assert pings == []
    engine.dispose()
