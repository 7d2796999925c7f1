"""SQLite connections kept open between transactions, and the session that runs its transactions on them.

A use case is one transaction. Through SQLAlchemy's pool each transaction checks a connection out, wraps it in a new
`Connection`, and at its end resets it (a ROLLBACK) and checks it back in: amid a request's other work that costs
about 40 us of CPU (bench/engine_ratio.py's (b) spent 1-2 % of a ticket's lifecycle on it). A SQLite connection is
a file handle with a page cache and nothing to keep alive, so on SQLite the session borrows an open `Connection`
parked here for the length of its transaction (a list's pop) and parks it again once the transaction has ended (its
commit or rollback has left the connection clean). The pool still owns every connection: a parked one is simply
one that stays checked out.

- A parked connection serves one transaction at a time, of any thread; a session that finds none free opens one
  from the pool. At most KEEP wait parked; more go back to the pool.
- `engine.dispose()` closes the parked connections at once, the lent ones that are not in a transaction too, and
  the rest when they come back, so a disposed engine leaves no connection open (the tests copy database files
  after disposing).
- A connection that was invalidated, or that a process inherited through fork, is never parked again.

PostgreSQL keeps the pool: its connections are worth checking before use after idling (see
`app.database.ping_idle_connections`), and a server limits how many there are.
"""
import os
import weakref

from flask_sqlalchemy.session import Session
from sqlalchemy import Engine, event

KEEP = 8  # parked connections at most (one per thread that runs transactions at the same time)


class ParkedConnections:
    """Open `Connection`s of one SQLite engine between transactions, free for the next transaction of any thread."""

    def __init__(self, engine):
        self.engine = engine
        self._idle = []
        self._lent = weakref.WeakSet()
        self._generation = 0  # bumped by dispose and by fork: a connection of an older generation is not parked
        self._pid = os.getpid()
        self._inherited = []
        event.listen(engine, "engine_disposed", self._disposed)

    def lend(self):
        """A parked connection (or a new one from the pool) with no transaction begun; give it back with `park`."""
        if self._pid != os.getpid():
            self._forked()
        try:
            connection = self._idle.pop()  # atomic: two threads never get the same one
        except IndexError:
            connection = self.engine.connect()
            connection.info["parked_pid"], connection.info["parked_generation"] = self._pid, self._generation
        self._lent.add(connection)
        return connection

    def park(self, connection):
        """Take back a connection whose transaction has ended; one that may not be kept is closed."""
        if self._pid != os.getpid():
            self._forked()
        if connection.info.get("parked_pid") != self._pid:
            self._inherited.append(connection)  # lent before a fork: the parent's
            return
        self._lent.discard(connection)
        if connection.closed or connection.invalidated:
            return
        if connection.info.get("parked_generation") != self._generation or connection.in_transaction():
            connection.invalidate()  # closes the DB-API connection now, not when a disposed pool is collected
            return
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection.in_transaction:  # a driver-level transaction SQLAlchemy did not begin
            dbapi_connection.rollback()
        if len(self._idle) >= KEEP:
            connection.close()  # back to the pool
            return
        self._idle.append(connection)

    def _disposed(self, _engine):
        self._generation += 1
        while self._idle:
            try:
                connection = self._idle.pop()
            except IndexError:
                break
            connection.invalidate()
        for connection in list(self._lent):
            if not connection.closed and not connection.invalidated and not connection.in_transaction():
                connection.invalidate()  # its session takes another one when it needs one

    def _forked(self):
        """In a child process: set the parent's connections aside without touching them. They stay referenced, so
        that no garbage collection hands them back to the pool for the child to use (SQLite forbids using a
        connection across fork)."""
        self._inherited += [*self._idle, *self._lent]
        self._idle, self._lent = [], weakref.WeakSet()
        self._generation += 1
        self._pid = os.getpid()


_PARKS = weakref.WeakKeyDictionary()  # engine -> ParkedConnections, or False for a database that is not SQLite


def parked(engine):
    """The ParkedConnections of a SQLite engine (made on first use), None for any other database."""
    found = _PARKS.get(engine)
    if found is None:
        found = _PARKS[engine] = ParkedConnections(engine) if engine.dialect.name == "sqlite" else False
    return found or None


class DeskSession(Session):
    """Flask-SQLAlchemy's session; on SQLite each of its transactions runs on a parked connection.

    The connection is borrowed when the session first asks for its bind (a transaction is about to begin) and
    parked again when that transaction has ended (`after_transaction_end`) or the session is closed.
    """

    _lent = None
    _lent_from = None

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        """The engine Flask-SQLAlchemy chooses, or on SQLite the connection this session has borrowed from it."""
        found = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if bind is not None or not isinstance(found, Engine):
            return found
        lent = self._lent
        if lent is not None:
            if lent.engine is found and not lent.invalidated and not lent.closed:
                return lent
            self._give_back()
        park = parked(found)
        if park is None:
            return found
        self._lent, self._lent_from = park.lend(), park
        return self._lent

    def close(self):
        super().close()
        self._give_back()

    def reset(self):
        super().reset()
        self._give_back()

    def invalidate(self):
        super().invalidate()
        self._give_back()

    def _give_back(self):
        lent, park = self._lent, self._lent_from
        if lent is not None:
            self._lent = self._lent_from = None
            park.park(lent)


@event.listens_for(DeskSession, "after_transaction_end")
def _park_after(session, transaction):
    """The session's transaction has ended and closed its connection's transaction: park the connection."""
    if transaction.parent is None:
        session._give_back()
