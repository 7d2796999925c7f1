"""Hot Core statements run straight on the DBAPI connection of the session's transaction.

SQLAlchemy spends 20-30 µs per executed Core statement (execution context, cache key, result object) where the
driver takes 3-5 µs; a ticket step runs about ten of them. A `FastStatement` wraps a statement built once: per
dialect (and per set of parameter names, for INSERT and UPDATE whose columns come from the parameters) it is
compiled once by SQLAlchemy, and each execution applies SQLAlchemy's own bind and result processors of that
compilation, so values go in and come out exactly as through `Connection.execute`.

It runs in the session's transaction (`db.session.connection()`), so the unit of work is unchanged; on SQLite,
while the session has no transaction under way, on its connection in the driver's transaction, which the session's
commit or rollback ends (see DeskSession.direct_connection). What it does not do, it refuses at compile time and
leaves to `Connection.execute`: expanding IN parameters and columns whose Python-side default or onupdate
SQLAlchemy would have to compute. Driver errors are raised as SQLAlchemy's own exception classes
(`sqlalchemy.exc.IntegrityError`...), as `Connection.execute` raises them.
Being below SQLAlchemy's execution layer, these statements do not reach its cursor events or echo log.
"""
import datetime
from collections import namedtuple

from sqlalchemy import exc
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME

from app.extensions import db


class FastStatement:
    """A Core statement compiled once per dialect and parameter names, run on the session's DBAPI connection."""

    def __init__(self, statement):
        self.statement = statement
        self._compiled = {}

    def execute(self, params=None):
        """Execute with one dict of parameters; return a result (rowcount, `first`, `scalar`, `all`)."""
        dialect, dbapi_connection = _connection()
        compiled = self._compile(dialect, params)
        if compiled is None:
            return _CoreResult(db.session.connection().execute(self.statement, params or {}))
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(params or {}))
        except dialect.loaded_dbapi.Error as error:
            _raise_wrapped(dialect, compiled.sql, params, error)
        return _Result(cursor, compiled)

    def executemany(self, rows):
        """Execute once per dict in `rows` (all with the same keys), in one driver call; return None.

        Compiled for many rows: an INSERT without the RETURNING of its primary key that PostgreSQL's single-row
        compilation adds (nobody reads it here). One row is one plain execution: psycopg runs executemany as a
        pipeline, which costs one row two sends, four polls and a Sync where an execution takes a send and a poll.
        """
        dialect, dbapi_connection = _connection()
        compiled = self._compile(dialect, rows[0], many=True)
        if compiled is None:
            db.session.connection().execute(self.statement, rows)
            return None
        cursor = dbapi_connection.cursor()
        try:
            if len(rows) == 1:
                cursor.execute(compiled.sql, compiled.parameters(rows[0]))
            else:
                cursor.executemany(compiled.sql, [compiled.parameters(row) for row in rows])
        except dialect.loaded_dbapi.Error as error:
            _raise_wrapped(dialect, compiled.sql, rows[0], error)
        finally:
            cursor.close()
        return None

    def first(self, params=None):
        """The first row (attributes named as the statement's columns) or None."""
        return self.execute(params).first()

    def scalar(self, params=None):
        """The first column of the first row, or None."""
        row = self.execute(params).first()
        return None if row is None else row[0]

    def _compile(self, dialect, params, many=False):
        key = (dialect.name, tuple(params) if params else (), many)
        compiled = self._compiled.get(key, _MISSING)
        if compiled is _MISSING:
            compiled = self._compiled[key] = _Compiled.of(self.statement, dialect, key[1], many)
        return compiled


_MISSING = object()


def _connection():
    """(dialect, DBAPI connection) to run on: on SQLite, with no session transaction under way, the session's
    borrowed connection directly (see DeskSession.direct_connection); otherwise the connection of the session's
    transaction, begun if need be.

    The latter is kept in the session's info for the transaction it belongs to: `Session.connection()` costs several
    µs a call.
    """
    session = db.session()
    direct = session.direct_connection()
    if direct is not None:
        return direct
    transaction = session.get_transaction()
    kept = session.info.get("fast_statements")
    if transaction is not None and kept is not None and kept[0] is transaction and transaction.is_active:
        return kept[1]
    connection = session.connection()
    found = (connection.dialect, connection.connection.dbapi_connection)
    session.info["fast_statements"] = (session.get_transaction(), found)
    return found


class _Compiled:
    """SQL text, the parameter order and the bind and result processors of one compilation."""

    def __init__(self, sql, order, defaults, processors, row_type, result_processors):
        self.sql, self.order, self.defaults, self.processors = sql, order, defaults, processors
        self.row_type, self.result_processors = row_type, result_processors
        # positional: (name, processor or None) in parameter order
        self.pairs = [(name, processors.get(name)) for name in order] if order is not None else None

    @classmethod
    def of(cls, statement, dialect, keys, many=False):
        """Compile `statement` for `dialect` with parameter names `keys` (`many`: for executemany); None when only
        Core can run it."""
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None, for_executemany=many)
        if (compiled.insert_prefetch or compiled.update_prefetch
                or compiled.escaped_bind_names or "POSTCOMPILE" in compiled.string
                or any(b.expanding or b.literal_execute or b.callable for b in compiled.binds.values())):
            return None
        # the values the statement itself holds (`state == "open"`, LIMIT 1); a parameter the caller must give
        # holds the REQUIRED symbol instead
        defaults = {name: b.value for name, b in compiled.binds.items() if b.value is not None and not b.required}
        if compiled.positional:
            order = list(compiled.positiontup)
        elif dialect.paramstyle in ("named", "pyformat"):
            order = None
        else:
            return None
        processors = {name: _faster(p, compiled.binds.get(name), dialect)
                      for name, p in compiled._bind_processors.items() if p is not None}
        columns = getattr(compiled, "_result_columns", None) or []
        row_type = namedtuple("Row", [c[0] for c in columns], rename=True) if columns else None
        result_processors = [c[3]._cached_result_processor(dialect, None) for c in columns]
        return cls(compiled.string, order, defaults, processors,
                   row_type, result_processors if any(result_processors) else None)

    def parameters(self, params):
        """The DBAPI parameters for `params`: the statement's own values added, SQLAlchemy's processors applied."""
        if self.defaults:
            params = {**self.defaults, **params}
        processors = self.processors
        if self.order is None:
            if processors:
                params = {k: (processors[k](v) if k in processors else v) for k, v in params.items()}
            return params
        if not processors:
            return [params[name] for name in self.order]
        return [params[name] if process is None else process(params[name]) for name, process in self.pairs]


_SQLITE_DATETIME_FORMAT = SQLITE_DATETIME()._storage_format


def _faster(processor, bind, dialect):
    """`processor`, or for SQLite's DATETIME in its default storage format a formatter giving the very same text in
    about half the time (SQLAlchemy's fills the format from a dict; a ticket step binds a dozen date-times)."""
    impl = bind.type.dialect_impl(dialect) if bind is not None else None
    if type(impl) is SQLITE_DATETIME and impl._storage_format == _SQLITE_DATETIME_FORMAT:
        return _sqlite_datetime
    return processor


def _sqlite_datetime(value, _datetime=datetime.datetime, _date=datetime.date):
    if value is None:
        return None
    if isinstance(value, _datetime):
        return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (
            value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)
    if isinstance(value, _date):
        return "%04d-%02d-%02d 00:00:00.000000" % (value.year, value.month, value.day)
    raise TypeError("SQLite DateTime type only accepts Python datetime and date objects as input.")


class _Result:
    """What an execution returns: rowcount, and the rows as named tuples with SQLAlchemy's result processing."""

    def __init__(self, cursor, compiled):
        self.cursor, self.compiled, self.rowcount = cursor, compiled, cursor.rowcount
        if compiled.row_type is None:
            cursor.close()

    def first(self):
        raw = self.cursor.fetchone()
        self.cursor.close()
        return None if raw is None else self._row(raw)

    def scalar(self):
        row = self.first()
        return None if row is None else row[0]

    def scalar_one(self):
        row = self.first()
        if row is None:
            raise exc.NoResultFound("No row was found when one was required")
        return row[0]

    def all(self):
        rows = [self._row(raw) for raw in self.cursor.fetchall()]
        self.cursor.close()
        return rows

    def _row(self, raw):
        processors = self.compiled.result_processors
        if processors:
            raw = [value if p is None or value is None else p(value) for p, value in zip(processors, raw)]
        return self.compiled.row_type(*raw)


class _CoreResult:
    """`Connection.execute`'s result behind the same face as _Result."""

    def __init__(self, result):
        self.result = result

    @property
    def rowcount(self):
        return self.result.rowcount

    def first(self):
        return self.result.first()

    def scalar(self):
        return self.result.scalar()

    def scalar_one(self):
        return self.result.scalar_one()

    def all(self):
        return self.result.all()


def _raise_wrapped(dialect, sql, params, error):
    """Raise the DBAPI `error` as SQLAlchemy's exception of the same kind (IntegrityError, OperationalError...)."""
    raise exc.DBAPIError.instance(sql, params, error, dialect.loaded_dbapi.Error, dialect=dialect) from error
