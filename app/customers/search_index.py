"""An index for the customer search (R0-2), so a term that matches nothing does not read every customer.

Searching for a customer before creating one is the usual first step, and for a new customer the search finds
nothing; a leading-wildcard LIKE answers that by reading the whole table. With an index, any term of three or
more characters is answered from trigrams:

* SQLite: an FTS5 table `customer_search` with the trigram tokenizer over number, name, phone and contact
  person, kept in step with `customers` by triggers. Queried here (`matching_ids`).
* PostgreSQL: pg_trgm GIN indexes on the same columns; the planner uses them for the search's ILIKE as it is.

Shorter terms (most two-character Chinese names) keep the LIKE scan, which stops after one page when matches
are common. A batch ("copy and move") migration of `customers` on SQLite drops the triggers: call
`install(connection)` again in that migration (tests check the triggers exist).
"""
import logging

from sqlalchemy import text

log = logging.getLogger(__name__)

COLUMNS = ("number", "name", "phone", "contact_person")
MIN_LENGTH = 3  # trigrams: shorter terms cannot use the index
TABLE = "customer_search"
TRIGGERS = (f"{TABLE}_after_insert", f"{TABLE}_after_delete", f"{TABLE}_after_update")
PG_INDEXES = tuple(f"ix_customers_{column}_trgm" for column in COLUMNS)

_columns = ", ".join(COLUMNS)
_new = ", ".join(f"new.{c}" for c in COLUMNS)
_old = ", ".join(f"old.{c}" for c in COLUMNS)
_SQLITE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({_columns}, content='customers', content_rowid='id', "
    "tokenize='trigram')",
    f"CREATE TRIGGER IF NOT EXISTS {TRIGGERS[0]} AFTER INSERT ON customers BEGIN "
    f"INSERT INTO {TABLE}(rowid, {_columns}) VALUES (new.id, {_new}); END",
    f"CREATE TRIGGER IF NOT EXISTS {TRIGGERS[1]} AFTER DELETE ON customers BEGIN "
    f"INSERT INTO {TABLE}({TABLE}, rowid, {_columns}) VALUES ('delete', old.id, {_old}); END",
    f"CREATE TRIGGER IF NOT EXISTS {TRIGGERS[2]} AFTER UPDATE OF {_columns} ON customers BEGIN "
    f"INSERT INTO {TABLE}({TABLE}, rowid, {_columns}) VALUES ('delete', old.id, {_old}); "
    f"INSERT INTO {TABLE}(rowid, {_columns}) VALUES (new.id, {_new}); END",
    f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')",
)


def install(connection):
    """Create the index for the connection's database (idempotent); False when the database cannot have one."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        if not _sqlite_has_trigram(connection):
            log.warning("SQLite lacks FTS5 with the trigram tokenizer (3.34+): the customer search scans")
            return False
        for statement in _SQLITE:
            connection.exec_driver_sql(statement)
        return True
    if dialect == "postgresql":
        try:
            with connection.begin_nested():
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # not allowed to create it: the search still works, by scanning
            log.warning("pg_trgm is not available (%s): the customer search scans", exc)
            return False
        for name, column in zip(PG_INDEXES, COLUMNS):
            connection.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {name} ON customers USING gin ({column} gin_trgm_ops)")
        return True
    return False


def uninstall(connection):
    """Drop what `install` created."""
    if connection.dialect.name == "sqlite":
        for trigger in TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
    elif connection.dialect.name == "postgresql":
        for name in PG_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


def is_index_object(name):
    """True for the tables and indexes `install` creates (Alembic's autogenerate must leave them alone)."""
    return bool(name) and (name == TABLE or name.startswith(f"{TABLE}_") or name in PG_INDEXES)


def usable(connection, term):
    """True when `matching_ids` can answer `term` on this database."""
    return len(term) >= MIN_LENGTH and connection.dialect.name == "sqlite" and _sqlite_index_exists(connection)


_FTS_PAGE = text(
    f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH :phrase AND rowid > :after ORDER BY rowid LIMIT :limit"
)


def matching_ids(connection, term, *, after=None, limit=50):
    """Ids of the customers with `term` in number, name, phone or contact person (any case), ascending."""
    phrase = '"' + term.replace('"', '""') + '"'  # one FTS5 string: the trigrams in a row, i.e. the substring
    return list(connection.execute(_FTS_PAGE, {"phrase": phrase, "after": after or 0, "limit": limit}).scalars())


def _sqlite_has_trigram(connection):
    """FTS5 may be missing or too old for the trigram tokenizer: try it on a scratch table."""
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE VIRTUAL TABLE temp.trigram_probe USING fts5(x, tokenize='trigram')")
            connection.exec_driver_sql("DROP TABLE temp.trigram_probe")
    except Exception:  # sqlite3.OperationalError: no such module / tokenizer
        return False
    return True


def _sqlite_index_exists(connection):
    """Whether the FTS table exists, asked once per database file (it comes and goes only with migrations)."""
    key = str(connection.engine.url)
    if key not in _EXISTS:
        _EXISTS[key] = connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).first() is not None
    return _EXISTS[key]


_EXISTS = {}
