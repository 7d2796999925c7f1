"""The tables, triggers and indexes of the customer search (R0-2); search_index answers searches from them.

* three or more characters, on SQLite from trigrams: an FTS5 table `customer_search` with the trigram
  tokenizer, kept in step with `customers` by triggers. On PostgreSQL pg_trgm's GIN indexes (also installed)
  ignore Chinese characters under the C locale: they serve words without pieces (digits); other words go by
  their two-character pieces.
* two characters (most Chinese names and words: 精工, 上海), from `customer_search_bigrams`: one row per
  distinct (lower-cased two-character piece, customer), a B-tree on both databases, kept by triggers (SQLite:
  with the helper table `customer_search_positions` of positions 1..200, as triggers cannot use CTEs;
  PostgreSQL: a PL/pgSQL function). Pieces of two ASCII digits or with a space are left out: digits fill every
  phone and number, so a scan finds a page of them at once.
* SQLite: `customer_search_blocks` holds the same pieces as bit masks: one row per (piece, block of 64 customer
  ids), bit i set when customer 64 x block + i has the piece, kept from the bigram table by triggers. Several pieces
  at once are their blocks joined and ANDed: 上海 精工 at a million customers reads 精工's 1,250 blocks and probes
  上海's, 3 ms, where merging their 25,000 and 50,000 ids took 7-12. (PostgreSQL has the GIN index below for that;
  its nested loop over the blocks cost 4-7 ms.)
* PostgreSQL also has a GIN index over each customer's pieces as an array (`customer_search_grams`, an
  expression index kept by PostgreSQL itself): every customer having several pieces at once, in one statement.

A batch ("copy and move") migration of `customers` on SQLite drops the triggers: call `install(connection)` again
in that migration (tests check the triggers exist).
"""
import logging

from sqlalchemy import text

log = logging.getLogger(__name__)

COLUMNS = ("number", "name", "phone", "contact_person")
MIN_LENGTH = 3  # trigrams: shorter terms cannot use the FTS5 / pg_trgm index
TABLE = "customer_search"
BIGRAMS = f"{TABLE}_bigrams"
POSITIONS = f"{TABLE}_positions"
MAX_POSITION = 200  # the longest searched column (name, String(200))
BIGRAM_FUNCTION = f"{BIGRAMS}_refresh"
BLOCKS = f"{TABLE}_blocks"
BLOCK_BITS = 64  # customers per block row (the bits of a 64-bit integer)
BLOCK_TRIGGERS = (f"{BLOCKS}_after_insert", f"{BLOCKS}_after_delete")
GRAMS = f"{TABLE}_grams"  # PostgreSQL: a customer's pieces as an array (a function) ...
GRAMS_INDEX = f"{GRAMS}_gin"  # ... and the GIN index over it
TRIGGERS = (f"{TABLE}_after_insert", f"{TABLE}_after_delete", f"{TABLE}_after_update")
BIGRAM_TRIGGERS = (f"{BIGRAMS}_after_insert", f"{BIGRAMS}_after_delete", f"{BIGRAMS}_after_update")
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


def _sqlite_pieces(values):
    """SELECT g, id: the two-character pieces of the searched columns, from `values` (SELECT id, value ...)."""
    return (f"SELECT lower(substr(v.value, p.n, 2)) AS g, v.id AS id FROM ({values}) AS v "
            f"JOIN {POSITIONS} AS p ON p.n < length(v.value) "
            "WHERE lower(substr(v.value, p.n, 2)) NOT GLOB '[0-9][0-9]' AND instr(substr(v.value, p.n, 2), ' ') = 0")


_NEW_VALUES = " UNION ALL ".join(f"SELECT new.id AS id, new.{c} AS value" for c in COLUMNS)
_ALL_VALUES = " UNION ALL ".join(f"SELECT id, {c} AS value FROM customers" for c in COLUMNS)
_SQLITE_BIGRAM_TABLES = (
    f"CREATE TABLE {BIGRAMS} (gram TEXT NOT NULL, customer_id INTEGER NOT NULL, "
    "PRIMARY KEY (gram, customer_id)) WITHOUT ROWID",
    f"CREATE TABLE IF NOT EXISTS {POSITIONS} (n INTEGER PRIMARY KEY)",
    f"INSERT OR IGNORE INTO {POSITIONS}(n) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
    f"WHERE n < {MAX_POSITION}) SELECT n FROM s",
    f"INSERT INTO {BIGRAMS}(gram, customer_id) SELECT g, id FROM ({_sqlite_pieces(_ALL_VALUES)}) "
    "GROUP BY g, id ORDER BY g, id",
)
# a customer's rows, by its old values' pieces: the key is (gram, customer_id), so customer_id alone scans the table
# (1.2 s a customer edit at a million customers)
_DELETE_OLD = (f"DELETE FROM {BIGRAMS} WHERE customer_id = old.id AND gram IN (SELECT g FROM ("
               + _sqlite_pieces(" UNION ALL ".join(f"SELECT old.id AS id, old.{c} AS value" for c in COLUMNS)) + "))")
_SQLITE_BIGRAM_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS {BIGRAM_TRIGGERS[0]} AFTER INSERT ON customers BEGIN "
    f"INSERT OR IGNORE INTO {BIGRAMS}(gram, customer_id) {_sqlite_pieces(_NEW_VALUES)}; END",
    f"CREATE TRIGGER IF NOT EXISTS {BIGRAM_TRIGGERS[1]} AFTER DELETE ON customers BEGIN {_DELETE_OLD}; END",
    f"CREATE TRIGGER IF NOT EXISTS {BIGRAM_TRIGGERS[2]} AFTER UPDATE OF {_columns} ON customers BEGIN "
    f"{_DELETE_OLD}; "
    f"INSERT OR IGNORE INTO {BIGRAMS}(gram, customer_id) {_sqlite_pieces(_NEW_VALUES)}; END",
)

# a bigram row's block and bit (bit 63 is the sign bit: 1 << 63 is the smallest integer, as a bit pattern the same)
_BLOCK, _BIT = "{row}.customer_id >> 6", "(1 << ({row}.customer_id & 63))"
_BLOCK_TABLE = (
    "CREATE TABLE {blocks} (gram TEXT NOT NULL, block INTEGER NOT NULL, bits INTEGER NOT NULL, "
    "PRIMARY KEY (gram, block)) WITHOUT ROWID",
    # bits of distinct customers never overlap, so their sum is their OR (SQLite has no bitwise aggregate)
    "INSERT INTO {blocks}(gram, block, bits) SELECT gram, customer_id >> 6, sum(" + _BIT.format(row="b")
    + ") FROM {bigrams} AS b GROUP BY gram, customer_id >> 6 ORDER BY 1, 2",
)
_SET_BIT = ("INSERT INTO {blocks}(gram, block, bits) VALUES (NEW.gram, " + _BLOCK.format(row="NEW") + ", "
            + _BIT.format(row="NEW") + ") ON CONFLICT (gram, block) DO UPDATE SET bits = "
            "{blocks}.bits | excluded.bits")
_CLEAR_BIT = ("UPDATE {blocks} SET bits = bits & ~" + _BIT.format(row="OLD") + " WHERE gram = OLD.gram "
              "AND block = " + _BLOCK.format(row="OLD") + "; DELETE FROM {blocks} WHERE gram = OLD.gram AND block = "
              + _BLOCK.format(row="OLD") + " AND bits = 0")
_names = {"blocks": BLOCKS, "bigrams": BIGRAMS}
_SQLITE_BLOCK_TABLE = tuple(s.format(**_names) for s in _BLOCK_TABLE)
_SQLITE_BLOCK_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS {BLOCK_TRIGGERS[0]} AFTER INSERT ON {BIGRAMS} BEGIN "
    + _SET_BIT.format(**_names) + "; END",
    f"CREATE TRIGGER IF NOT EXISTS {BLOCK_TRIGGERS[1]} AFTER DELETE ON {BIGRAMS} BEGIN "
    + _CLEAR_BIT.format(**_names) + "; END",
)
_PG_PIECE_OF = ("FROM unnest(ARRAY[{values}]) AS v, generate_series(1, length(v) - 1) AS n "
                "WHERE lower(substr(v, n, 2)) !~ '^[0-9][0-9]$' AND position(' ' in substr(v, n, 2)) = 0")
_PG_PIECES = "SELECT DISTINCT lower(substr(v, n, 2)) AS g, {row}.id AS id " + _PG_PIECE_OF
# The pieces of a customer as one array, and a GIN index over it: the customers having several pieces are their
# posting lists intersected (上海 精工 at a million customers: 2.5 ms, where merging their B-tree ranges takes 7),
# and the longer words checked on the very rows the bitmap reads. Not inlinable (FROM, an aggregate), so queries
# naming it match the index expression; changing its body needs REINDEX.
PG_GRAMS = (
    f"CREATE OR REPLACE FUNCTION {GRAMS}(a text, b text, c text, d text) RETURNS text[] LANGUAGE sql IMMUTABLE "
    "PARALLEL SAFE AS $$ SELECT coalesce(array_agg(DISTINCT lower(substr(v, n, 2))), '{}') "
    + _PG_PIECE_OF.format(values="a, b, c, d") + " $$",
    f"CREATE INDEX IF NOT EXISTS {GRAMS_INDEX} ON customers USING gin ({GRAMS}({_columns})) "
    "WITH (fastupdate = off)",  # no pending list: a search never scans unsorted recent entries
)
_PG_BIGRAMS = (
    f"CREATE OR REPLACE FUNCTION {BIGRAM_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_OP <> 'INSERT' THEN DELETE FROM {BIGRAMS} WHERE customer_id = OLD.id AND gram IN (SELECT g FROM ("
    + _PG_PIECES.format(row="OLD", values=", ".join(f"OLD.{c}" for c in COLUMNS)) + ") AS old_pieces); END IF; "
    f"IF TG_OP <> 'DELETE' THEN INSERT INTO {BIGRAMS}(gram, customer_id) "
    + _PG_PIECES.format(row="NEW", values=", ".join(f"NEW.{c}" for c in COLUMNS)) + "; END IF; "
    "RETURN NULL; END $$",
    f"DROP TRIGGER IF EXISTS {BIGRAM_TRIGGERS[0]} ON customers",
    f"CREATE TRIGGER {BIGRAM_TRIGGERS[0]} AFTER INSERT OR DELETE OR UPDATE OF {_columns} ON customers "
    f"FOR EACH ROW EXECUTE FUNCTION {BIGRAM_FUNCTION}()",
)
_PG_BIGRAM_TABLE = (
    f"CREATE TABLE {BIGRAMS} (gram TEXT NOT NULL, customer_id INTEGER NOT NULL)",
    f"INSERT INTO {BIGRAMS}(gram, customer_id) SELECT DISTINCT pieces.g, pieces.id FROM customers AS c, LATERAL ("
    + _PG_PIECES.format(row="c", values=", ".join(f"c.{c}" for c in COLUMNS)) + ") AS pieces "
    "ORDER BY pieces.g, pieces.id",  # in key order, as SQLite's: a piece's index-only scan then visits the
    f"ALTER TABLE {BIGRAMS} ADD PRIMARY KEY (gram, customer_id)",  # visibility map in order (30% faster)
)


def install(connection):
    """Create the indexes for the connection's database (idempotent), filling them from the customers there.

    Returns False when the database can have neither the trigram nor the two-character index."""
    try:
        return _install(connection)
    finally:
        _EXISTS.clear()


def _install(connection):
    dialect = connection.dialect.name
    _EXISTS.clear()
    if dialect == "sqlite":
        if not _has_table(connection, BIGRAMS):
            for statement in _SQLITE_BIGRAM_TABLES:
                connection.exec_driver_sql(statement)
        install_blocks(connection)
        for statement in _SQLITE_BIGRAM_TRIGGERS:
            connection.exec_driver_sql(statement)
        if not _sqlite_has_trigram(connection):
            log.warning("SQLite lacks FTS5 with the trigram tokenizer (3.34+): terms of 3+ characters scan")
            return True
        for statement in _SQLITE:
            connection.exec_driver_sql(statement)
        return True
    if dialect == "postgresql":
        if not _has_table(connection, BIGRAMS):
            for statement in _PG_BIGRAM_TABLE:
                connection.exec_driver_sql(statement)
        for statement in _PG_BIGRAMS + PG_GRAMS:
            connection.exec_driver_sql(statement)
        try:
            with connection.begin_nested():
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # not allowed to create it: the search still works, by scanning
            log.warning("pg_trgm is not available (%s): terms of 3+ characters scan", exc)
            return True
        for name, column_name in zip(PG_INDEXES, COLUMNS):
            connection.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {name} ON customers USING gin ({column_name} gin_trgm_ops)")
        return True
    return False


def install_blocks(connection):
    """SQLite: create the block table (filled from the bigram table, which must exist) and its triggers, if missing."""
    if not _has_table(connection, BLOCKS):
        for statement in _SQLITE_BLOCK_TABLE:
            connection.exec_driver_sql(statement)
    for statement in _SQLITE_BLOCK_TRIGGERS:
        connection.exec_driver_sql(statement)


def replace_bigram_triggers(connection):
    """Create the bigram table's triggers (or PostgreSQL's trigger function) afresh, replacing older definitions."""
    if connection.dialect.name == "sqlite":
        for trigger in BIGRAM_TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in _SQLITE_BIGRAM_TRIGGERS if connection.dialect.name == "sqlite" else _PG_BIGRAMS:
        connection.exec_driver_sql(statement)


def uninstall(connection):
    """Drop what `install` created (bulk loads do this first and `install` after: the indexes fill faster)."""
    _EXISTS.clear()
    if connection.dialect.name == "sqlite":
        for trigger in TRIGGERS + BIGRAM_TRIGGERS + BLOCK_TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        for name in (TABLE, BLOCKS, BIGRAMS, POSITIONS):
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {BIGRAM_TRIGGERS[0]} ON customers")
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {BIGRAM_FUNCTION}()")
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {BIGRAMS}")
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {GRAMS_INDEX}")
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {GRAMS}(text, text, text, text)")
        for name in PG_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


def is_index_object(name):
    """True for the tables and indexes `install` creates (Alembic's autogenerate must leave them alone)."""
    return bool(name) and (name == TABLE or name.startswith(f"{TABLE}_") or name in PG_INDEXES)


def _sqlite_has_trigram(connection):
    """FTS5 may be missing or too old for the trigram tokenizer: try it on a scratch table."""
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE VIRTUAL TABLE temp.trigram_probe USING fts5(x, tokenize='trigram')")
            connection.exec_driver_sql("DROP TABLE temp.trigram_probe")
    except Exception:  # sqlite3.OperationalError: no such module / tokenizer
        return False
    return True


def _has_table(connection, name):
    """Whether the table exists, asked once per database (it comes and goes only with migrations)."""
    key = (str(connection.engine.url), "table", name)
    if key not in _EXISTS:
        if connection.dialect.name == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"
        else:
            sql = "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = :name"
        _EXISTS[key] = connection.execute(text(sql), {"name": name}).first() is not None
    return _EXISTS[key]


def _has_index(connection, name):
    key = (str(connection.engine.url), "index", name)
    if key not in _EXISTS:
        _EXISTS[key] = connection.execute(text(
            "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :name"),
            {"name": name}).first() is not None
    return _EXISTS[key]


_EXISTS = {}
