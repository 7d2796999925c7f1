"""SQLite connections kept open between transactions, and the session that runs its transactions on them.

A use case is one transaction. Through SQLAlchemy's pool each transaction checks a connection out, wraps it in a new
`Connection`, and at its end resets it (a ROLLBACK) and checks it back in: amid a request's other work that costs
about 40 us of CPU (bench/engine_ratio.py's (b) spent 1-2 % of a ticket's lifecycle on it). A SQLite connection is
a file handle with a page cache and nothing to keep alive, so on SQLite the session borrows a parked connection for
the length of its transaction (a list's pop, and a new `Connection` around it) and parks it again once the
transaction has ended (its commit or rollback has left the connection clean).

- A parked connection serves one transaction at a time, of any thread; a session that finds none free opens a new
  one. At most KEEP wait parked; more are closed.
- `engine.dispose()` closes the parked connections at once, the lent ones that are not in a transaction too, and
  the rest when they come back, so a disposed engine leaves no connection open (the tests copy database files
  after disposing). So does the collection of the Flask app that made the engine.
- A connection that was invalidated is dropped; one that a process inherited through fork is never touched.

On SQLite a session also runs statements below SQLAlchemy (`app.fast_statements`) without beginning a session
transaction at all: see `DeskSession.direct_connection`.

PostgreSQL keeps the pool: its connections are worth checking before use after idling (see
`app.database.ping_idle_connections`), and a server limits how many there are.
"""
import os
import weakref

from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import Engine, event, exc
from sqlalchemy.engine import Connection

KEEP = 8  # parked connections at most (one per thread that runs transactions at the same time)
_ON_ENGINE = "desk_parked_connections"  # the engine attribute holding its ParkedConnections (False: not SQLite)


class ParkedConnections:
    """Open SQLite connections of one engine between transactions, free for the next transaction of any thread.

    They are the pool's `PoolProxiedConnection`s, detached from it: the pool neither counts nor resets them, and
    closing one closes its DB-API connection. A session transaction gets a new `Connection` around one of them;
    direct statements (DeskSession.direct_connection) borrow one as it is."""

    def __init__(self):
        self._idle = []
        self._lent = weakref.WeakSet()  # Connections lent
        self._lent_raw = weakref.WeakSet()  # connections lent for direct statements, no Connection made (yet)
        self._generation = 0  # bumped by dispose and by fork: a connection of an older generation is not parked
        self._pid = os.getpid()
        self._inherited = []

    def lend(self, engine):
        """A `Connection` of `engine` on a parked connection (or a new one), no transaction begun; give it back
        with `park`."""
        return self.wrap(engine, self._take(engine))

    def lend_raw(self, engine):
        """A parked connection of `engine` (or a new one) as it is, for statements run below SQLAlchemy (no
        `Connection` around it: a use case of such statements needs none); give it back with `park_raw`, or `wrap`
        it when a transaction of the session needs a `Connection` on it."""
        raw = self._take(engine)
        self._lent_raw.add(raw)
        return raw

    def wrap(self, engine, raw):
        """A `Connection` of `engine` around `raw`, lent (no transaction begun); give it back with `park`."""
        self._lent_raw.discard(raw)
        connection = Connection(engine, raw)
        self._lent.add(connection)
        return connection

    def _take(self, engine):
        if self._pid != os.getpid():
            self._forked()
        try:
            return self._idle.pop()  # atomic: two threads never get the same one
        except IndexError:
            raw = engine.raw_connection()
            raw.detach()  # the pool forgets it: this keeps it, and closing it closes the DB-API connection
            raw.info["parked_pid"], raw.info["parked_generation"] = self._pid, self._generation
            return raw

    def park(self, connection):
        """Take back a connection whose transaction has ended; one that may not be kept is closed."""
        if self._pid != os.getpid():
            self._forked()
        if connection.closed or connection.invalidated:
            self._lent.discard(connection)
            return
        raw = connection.connection
        if raw.info.get("parked_pid") != self._pid:
            self._inherited.append(raw)  # lent before a fork: the parent's, never touched here
            return
        self._lent.discard(connection)
        if raw.info.get("parked_generation") != self._generation or connection.in_transaction():
            connection.close()  # closes the DB-API connection (it is detached from the pool)
            return
        self._keep(raw)

    def park_raw(self, raw):
        """Take back a connection lent by `lend_raw`; a driver transaction still under way is rolled back, one that
        may not be kept is closed."""
        if self._pid != os.getpid():
            self._forked()
        if raw.info.get("parked_pid") != self._pid:
            self._inherited.append(raw)  # lent before a fork: the parent's, never touched here
            return
        self._lent_raw.discard(raw)
        if raw.dbapi_connection is None:
            return  # closed meanwhile (dispose)
        if raw.info.get("parked_generation") != self._generation:
            raw.close()
            return
        self._keep(raw)

    def _keep(self, raw):
        if raw.dbapi_connection.in_transaction:  # a driver-level transaction SQLAlchemy did not begin
            raw.dbapi_connection.rollback()
        if len(self._idle) >= KEEP:
            raw.close()
            return
        self._idle.append(raw)

    def disposed(self):
        """The engine was disposed: close the parked connections, and the lent ones not in a transaction (their
        sessions take others when they need one); the rest close when they come back."""
        self._generation += 1
        while self._idle:
            try:
                raw = self._idle.pop()
            except IndexError:
                break
            raw.close()
        for connection in list(self._lent):
            if not connection.closed and not connection.invalidated and not _in_transaction(connection):
                connection.close()  # closes its DB-API connection; its session notices and takes another
        for raw in list(self._lent_raw):
            if raw.dbapi_connection is not None and not raw.dbapi_connection.in_transaction:
                raw.close()

    def _forked(self):
        """In a child process: set the parent's connections aside without touching them. They stay referenced, so
        that their collection never closes them here (SQLite forbids using a connection across fork)."""
        self._inherited += [*self._idle, *(c.connection for c in self._lent if not c.closed and not c.invalidated),
                            *self._lent_raw]
        self._idle, self._lent, self._lent_raw = [], weakref.WeakSet(), weakref.WeakSet()
        self._generation += 1
        self._pid = os.getpid()


def _in_transaction(connection):
    """Whether a transaction is under way on `connection`: SQLAlchemy's, or the driver's own (a session's direct
    statements)."""
    return connection.in_transaction() or connection.connection.dbapi_connection.in_transaction


def parked(engine):
    """The ParkedConnections of a SQLite engine (made on first use, in an app context), None for any other database.

    Kept on the engine. A connection detached from the pool still refers to its pool, and so to the engine, until
    it closes: parked connections keep their engine alive. They close when it is disposed, or when the Flask app
    that made the engine is collected (the tests build hundreds of apps, not all of them disposed)."""
    found = engine.__dict__.get(_ON_ENGINE)
    if found is None:
        found = engine.__dict__[_ON_ENGINE] = (
            ParkedConnections() if engine.dialect.name == "sqlite" else False)
        if found:
            event.listen(engine, "engine_disposed", _disposed)
            weakref.finalize(current_app._get_current_object(), found.disposed)
    return found or None


def _disposed(engine):
    park = engine.__dict__.get(_ON_ENGINE)  # made before this listener was: never made here (outside a request)
    if park:
        park.disposed()


class DeskSession(Session):
    """Flask-SQLAlchemy's session; on SQLite each of its transactions runs on a parked connection.

    The connection is borrowed when the session first asks for its bind (a transaction is about to begin) and
    parked again when that transaction has ended (`after_transaction_end`) or the session is closed.
    """

    _lent = None  # the Connection of the session's own transaction
    _lent_from = None  # the ParkedConnections of what is lent
    _direct = None  # (raw connection, (dialect, DB-API connection), engine) while statements run directly on it

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        """The engine Flask-SQLAlchemy chooses, or on SQLite the connection this session has borrowed from it (the
        one its direct statements ran on, if any: the session's transaction then continues theirs)."""
        found = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if bind is not None or not isinstance(found, Engine):
            return found
        lent = self._lent
        if lent is not None:
            if lent.engine is found and not lent.invalidated and not lent.closed:
                return lent
            self._give_back()
        direct = self._direct
        if direct is not None:
            if direct[2] is found and direct[0].dbapi_connection is not None:
                self._lent = self._lent_from.wrap(found, direct[0])
                return self._lent
            self._give_back()
        park = parked(found)
        if park is None:
            return found
        self._lent, self._lent_from = park.lend(found), park
        return self._lent

    def direct_connection(self):
        """(dialect, DB-API connection) for a statement run below SQLAlchemy while this session has no transaction
        of its own under way; None when the statement must run in the session's transaction (one is under way, or
        the database is not SQLite).

        A use case that only runs such statements (app.fast_statements) then never begins a session transaction:
        its statements run on a connection the session borrows as it is (no `Connection` made around it) in the
        driver's own transaction (pysqlite begins one before the first write, as it does under a session
        transaction, whose BEGIN is the driver's too), and `commit`, `rollback` and `close` end that transaction
        without the session's bookkeeping (about 80 us of CPU per use case amid a ticket step's other work;
        bench/engine_ratio.py's (b)). Anything that needs the session's own transaction (the ORM,
        `session.connection()`) begins it on the same connection, and its commit or rollback then ends what ran
        directly as well: there is one transaction either way.
        """
        if self.in_transaction():
            return None
        direct = self._direct
        if direct is not None:
            if direct[0].dbapi_connection is not None:
                return direct[1]
            self._give_back()  # closed by dispose: take another
        lent = self._lent
        if lent is not None and not lent.closed and not lent.invalidated:
            raw = lent.connection  # lent outside a transaction (e.g. a dialect check): run on it
            self._direct = (raw, (lent.dialect, raw.dbapi_connection), lent.engine)
            return self._direct[1]
        engine = super().get_bind()
        park = parked(engine) if isinstance(engine, Engine) else None
        if park is None:
            return None
        if lent is not None:
            self._give_back()
        raw = park.lend_raw(engine)
        self._lent_from = park
        self._direct = (raw, (engine.dialect, raw.dbapi_connection), engine)
        return self._direct[1]

    def commit(self):
        """Commit the session's transaction, or (with none under way) what ran directly since the last end."""
        if self._direct is not None and not self.in_transaction():
            self._end_direct(commit=True)
        else:
            super().commit()

    def rollback(self):
        """Roll back the session's transaction, or (with none under way) what ran directly since the last end."""
        if self._direct is not None and not self.in_transaction():
            self._end_direct(commit=False)
        else:
            super().rollback()

    def close(self):
        super().close()
        self._give_back()

    def reset(self):
        super().reset()
        self._give_back()

    def invalidate(self):
        super().invalidate()
        self._give_back()

    def _end_direct(self, commit):
        """Commit or roll back the driver's transaction of the direct statements, tell the session's after_commit
        or after_rollback listeners as a session transaction's end does, and park the connection. A commit that
        fails is rolled back and told as a rollback (nothing of it happened: e.g. the engine's live workflows of
        that step must not be kept)."""
        _raw, (dialect, dbapi_connection), _engine = direct = self._direct
        self._direct = None
        try:
            dbapi_connection.commit() if commit else dbapi_connection.rollback()
        except dialect.loaded_dbapi.Error as error:
            self._give_back(direct)  # parking rolls back what the failed commit left
            self.dispatch.after_rollback(self)
            raise exc.DBAPIError.instance("COMMIT" if commit else "ROLLBACK", None, error,
                                          dialect.loaded_dbapi.Error, dialect=dialect) from error
        if commit:
            self.dispatch.after_commit(self)
        else:
            self.dispatch.after_rollback(self)
        self._give_back(direct)

    def _give_back(self, direct=None):
        """Park what this session has borrowed: its Connection (which holds the connection of its direct
        statements, when they came first), else the connection its direct statements ran on (`direct` when the
        caller has already cleared it)."""
        lent, park = self._lent, self._lent_from
        direct = self._direct or direct
        self._lent = self._lent_from = self._direct = None
        if park is None:
            return
        if lent is not None:
            park.park(lent)
        elif direct is not None:
            park.park_raw(direct[0])


@event.listens_for(DeskSession, "after_transaction_end")
def _park_after(session, transaction):
    """The session's transaction has ended and closed its connection's transaction: park the connection."""
    if transaction.parent is None:
        session._give_back()
