"""The ticket search by customer words, newest first, from the two-character pieces of each ticket's customer.

`ticket_search_grams` holds one row per (piece of the ticket's customer, the ticket's created_at, its id): the
pieces of the customer search (customers.search_schema: number, name, phone and contact person, lower-cased, no
pair of ASCII digits, no space). Triggers keep it whoever writes: on tickets (insert, delete, a change of
customer or creation time) and on customers (a change of a searched column rewrites the rows of its tickets).

A search reads the rows of its rarest piece newest first, from the key (gram, created_at, ticket_id), joined with
the second rarest piece's rows of the same tickets (PostgreSQL merge-joins both, read backwards), probes the
other two-character words on what is left and checks the longer words on the customer row (their pieces only
narrow), so a page of 50 reads about 50 / (the share of the rarest piece's tickets that match) rows whatever the
number of tickets: 上海 精工 at a million tickets reads about 1,000 rows, where listing the tickets of its 1,250
customers read and sorted all of them (SQLite: 18.9 ms a request before, 6.8 after). A date range and the page
cursor bound the same key range. When the words' pieces let expect fewer than FEW matching customers, listing
their tickets costs less and `page_ids` leaves the search to the customers' indexes (tickets.search).
"""
from sqlalchemy import DateTime, Integer, column, exists, func, literal, select, table, tuple_

from app.customers import search_index, search_schema

from .models import Ticket

TABLE = "ticket_search_grams"
_TRIGGERS = (f"{TABLE}_ticket_insert", f"{TABLE}_ticket_delete", f"{TABLE}_ticket_update",
             f"{TABLE}_customer_update")
_TICKET_FUNCTION, _CUSTOMER_FUNCTION = f"{TABLE}_of_ticket", f"{TABLE}_of_customer"

grams = table(TABLE, column("gram"), column("created_at", DateTime(timezone=True)), column("ticket_id", Integer))

_columns = ", ".join(search_schema.COLUMNS)


def _sqlite_pieces_of(customer):
    """SELECT g: the pieces of the customer with id `customer` (an SQL expression), from its row."""
    values = " UNION ALL ".join(f"SELECT c.id AS id, c.{name} AS value FROM customers AS c WHERE c.id = {customer}"
                                for name in search_schema.COLUMNS)
    return f"SELECT g FROM ({search_schema._sqlite_pieces(values)})"


def _sqlite_pieces_of_values(row):
    """SELECT g: the pieces of `row`'s (OLD or NEW of customers) searched columns."""
    values = " UNION ALL ".join(f"SELECT {row}.id AS id, {row}.{name} AS value" for name in search_schema.COLUMNS)
    return f"SELECT g FROM ({search_schema._sqlite_pieces(values)})"


_SQLITE_ADD = (f"INSERT OR IGNORE INTO {TABLE}(gram, created_at, ticket_id) SELECT g, NEW.created_at, NEW.id "
               f"FROM ({_sqlite_pieces_of('NEW.customer_id')})")
_SQLITE_REMOVE = (f"DELETE FROM {TABLE} WHERE gram IN ({_sqlite_pieces_of('OLD.customer_id')}) "
                  "AND created_at = OLD.created_at AND ticket_id = OLD.id")
_SQLITE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (gram TEXT NOT NULL, created_at DATETIME NOT NULL, "
    "ticket_id INTEGER NOT NULL, PRIMARY KEY (gram, created_at, ticket_id)) WITHOUT ROWID",
    f"CREATE TRIGGER IF NOT EXISTS {_TRIGGERS[0]} AFTER INSERT ON tickets BEGIN {_SQLITE_ADD}; END",
    f"CREATE TRIGGER IF NOT EXISTS {_TRIGGERS[1]} AFTER DELETE ON tickets BEGIN {_SQLITE_REMOVE}; END",
    f"CREATE TRIGGER IF NOT EXISTS {_TRIGGERS[2]} AFTER UPDATE OF customer_id, created_at ON tickets BEGIN "
    f"{_SQLITE_REMOVE}; {_SQLITE_ADD}; END",
    # the customer's tickets' rows: those of its old pieces go, those of its new pieces come
    f"CREATE TRIGGER IF NOT EXISTS {_TRIGGERS[3]} AFTER UPDATE OF {_columns} ON customers BEGIN "
    f"DELETE FROM {TABLE} WHERE (gram, created_at, ticket_id) IN (SELECT p.g, t.created_at, t.id FROM tickets AS t, "
    f"({_sqlite_pieces_of_values('OLD')}) AS p WHERE t.customer_id = OLD.id); "
    f"INSERT OR IGNORE INTO {TABLE}(gram, created_at, ticket_id) SELECT p.g, t.created_at, t.id FROM tickets AS t, "
    f"({_sqlite_pieces_of_values('NEW')}) AS p WHERE t.customer_id = NEW.id; END",
)


def _pg_pieces_of(customer):
    values = ", ".join(f"c.{name}" for name in search_schema.COLUMNS)
    return (f"SELECT p.g FROM customers AS c, LATERAL ({search_schema._PG_PIECES.format(row='c', values=values)}) "
            f"AS p WHERE c.id = {customer}")


def _pg_pieces_of_values(row):
    values = ", ".join(f"{row}.{name}" for name in search_schema.COLUMNS)
    return f"SELECT q.g FROM ({search_schema._PG_PIECES.format(row=row, values=values)}) AS q"


_PG = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (gram TEXT NOT NULL, created_at TIMESTAMP WITH TIME ZONE NOT NULL, "
    "ticket_id INTEGER NOT NULL, PRIMARY KEY (gram, created_at, ticket_id))",
    f"CREATE OR REPLACE FUNCTION {_TICKET_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_OP <> 'INSERT' THEN DELETE FROM {TABLE} WHERE gram IN ({_pg_pieces_of('OLD.customer_id')}) "
    "AND created_at = OLD.created_at AND ticket_id = OLD.id; END IF; "
    f"IF TG_OP <> 'DELETE' THEN INSERT INTO {TABLE}(gram, created_at, ticket_id) SELECT DISTINCT g, NEW.created_at, "
    f"NEW.id FROM ({_pg_pieces_of('NEW.customer_id')}) AS n ON CONFLICT DO NOTHING; END IF; RETURN NULL; END $$",
    f"DROP TRIGGER IF EXISTS {_TRIGGERS[0]} ON tickets",
    f"CREATE TRIGGER {_TRIGGERS[0]} AFTER INSERT OR DELETE OR UPDATE OF customer_id, created_at ON tickets "
    f"FOR EACH ROW EXECUTE FUNCTION {_TICKET_FUNCTION}()",
    f"CREATE OR REPLACE FUNCTION {_CUSTOMER_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"DELETE FROM {TABLE} WHERE (gram, created_at, ticket_id) IN (SELECT p.g, t.created_at, t.id FROM tickets AS t, "
    f"({_pg_pieces_of_values('OLD')}) AS p WHERE t.customer_id = OLD.id); "
    f"INSERT INTO {TABLE}(gram, created_at, ticket_id) SELECT DISTINCT p.g, t.created_at, t.id FROM tickets AS t, "
    f"({_pg_pieces_of_values('NEW')}) AS p WHERE t.customer_id = NEW.id ON CONFLICT DO NOTHING; RETURN NULL; END $$",
    f"DROP TRIGGER IF EXISTS {_TRIGGERS[3]} ON customers",
    f"CREATE TRIGGER {_TRIGGERS[3]} AFTER UPDATE OF {_columns} ON customers "
    f"FOR EACH ROW EXECUTE FUNCTION {_CUSTOMER_FUNCTION}()",
)
# from the customers' bigram rows (search_schema), each with its customer's tickets, in key order
_FILL = (f"INSERT INTO {TABLE}(gram, created_at, ticket_id) SELECT b.gram, t.created_at, t.id "
         f"FROM {search_schema.BIGRAMS} AS b JOIN tickets AS t ON t.customer_id = b.customer_id ORDER BY 1, 2, 3")


def install(connection):
    """Create the table (filled from the customers' bigram rows, which must exist) and its triggers, if missing."""
    if connection.dialect.name not in ("sqlite", "postgresql"):
        return
    pg = connection.dialect.name == "postgresql"
    missing = not search_schema._has_table(connection, TABLE)
    statements = _PG if pg else _SQLITE
    connection.exec_driver_sql(statements[0])
    if missing:
        connection.exec_driver_sql(_FILL)
    for statement in statements[1:]:
        connection.exec_driver_sql(statement)
    search_schema._EXISTS.clear()


def uninstall(connection):
    """Drop the triggers and the table (a bulk load does this first and `install` after)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {_TRIGGERS[0]} ON tickets")
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {_TRIGGERS[3]} ON customers")
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {_TICKET_FUNCTION}()")
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {_CUSTOMER_FUNCTION}()")
    elif connection.dialect.name == "sqlite":
        for trigger in _TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
    search_schema._EXISTS.clear()


def page_ids(connection, term, *, start=None, end=None, before=None, ticket_conditions=(), limit=50):
    """The ids of the newest `limit` tickets (created_at, then id, descending) whose customer matches every word of
    `term` (as the customer search does), created in [start, end) and before `before` ((created_at, id) of the
    previous page's last ticket), meeting `ticket_conditions` (on the tickets table);
    None when a word has no piece (digits, one character) or the table is missing: the caller searches another way.
    """
    words = search_index.words(term)
    pieces = list(dict.fromkeys(p for w in words for p in search_index._pieces(w)))
    if (not words or any(not search_index._pieces(w) for w in words)
            or not search_schema._has_table(connection, TABLE)):
        return None
    top, sizes = _sizes(connection, pieces)
    if _expected(words, sizes, top) < FEW:  # so few customers that listing their tickets costs less (the caller does)
        return None
    pieces = sorted(pieces, key=sizes.__getitem__)  # rarest first
    if connection.dialect.name != "postgresql":  # one statement: SQLite probes each candidate, newest first
        candidates = _candidates(pieces, start, end, before)
        checks = _checks(words, pieces, candidates, ticket_conditions)
        query = select(candidates.c.ticket_id).where(*checks)
        return _ids(connection, query.order_by(candidates.c.created_at.desc(), candidates.c.ticket_id.desc())
                    .limit(limit))
    # PostgreSQL plans the two rarest pieces as a merge join of their rows read backwards when it knows it stops
    # early: the candidates are read in batches (LIMIT), each checked in order, a bigger batch when too few pass
    connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")  # workers: 15 ms to start
    batch = PG_BATCH
    while True:
        inner = _candidates(pieces, start, end, before, limit=batch)
        checks = _checks(words, pieces, inner, ticket_conditions)
        found = _ids(connection, select(inner.c.ticket_id).where(*checks)
                     .order_by(inner.c.created_at.desc(), inner.c.ticket_id.desc()).limit(limit))
        if len(found) == limit or batch is None:
            return found
        batch = batch * 8 if batch < PG_BATCH * 64 else None


PG_BATCH = 1000  # PostgreSQL: the candidates of a first batch (then 8x, 64x, all)


def _ids(connection, query):
    return [row[0] for row in connection.execute(query)]


def _candidates(pieces, start, end, before, limit=None):
    """Subquery (created_at, ticket_id) of the tickets having the two rarest pieces, within the dates and before
    the cursor, newest first (`limit`: only that many)."""
    driver = grams.alias("driver")
    where = [driver.c.gram == _piece(pieces[0])]
    if len(pieces) > 1:
        second = grams.alias("second")
        where.append(exists().where(second.c.gram == _piece(pieces[1]), second.c.created_at == driver.c.created_at,
                                    second.c.ticket_id == driver.c.ticket_id))
    if start is not None:
        where.append(driver.c.created_at >= start)
    if end is not None:
        where.append(driver.c.created_at < end)
    if before is not None:
        where.append(tuple_(driver.c.created_at, driver.c.ticket_id) < tuple_(*before))
    query = select(driver.c.created_at, driver.c.ticket_id).where(*where)
    if limit is not None:
        query = query.order_by(driver.c.created_at.desc(), driver.c.ticket_id.desc()).limit(limit)
    return query.subquery("candidates")


def _checks(words, pieces, candidates, ticket_conditions):
    """Conditions on each candidate: the other words of two characters (their piece, probed), then the ticket's
    conditions and the longer words on its customer row (their pieces only narrow: they may lie apart)."""
    exact = {w for w in words if len(w) == 2}
    checks = []
    for piece in pieces[2:]:
        if piece in exact:
            other = grams.alias()
            checks.append(_probe(other.c.ticket_id, other.c.gram == _piece(piece),
                                 other.c.created_at == candidates.c.created_at,
                                 other.c.ticket_id == candidates.c.ticket_id))
    longer = [w for w in words if len(w) > 2]
    if longer or ticket_conditions:
        checks.append(_ticket_checks(candidates.c.ticket_id, longer, ticket_conditions))
    return checks


def _ticket_checks(driver_ticket, longer, ticket_conditions):
    tickets = Ticket.__table__
    conditions = [tickets.c.id == driver_ticket, *ticket_conditions]
    if longer:
        customers = search_index.CUSTOMERS
        conditions.append(_probe(customers.c.id, customers.c.id == tickets.c.customer_id,
                                 *(search_index.contains(w) for w in longer)))
    return _probe(tickets.c.id, *conditions)


def _probe(column, *conditions):
    """The condition that a row meets `conditions` (correlated with the outer query), as a lookup per candidate:
    PostgreSQL could turn EXISTS into a join over the whole table."""
    return select(column).where(*conditions).limit(1).scalar_subquery().is_not(None)


def _piece(piece):
    """The piece written into the statement (a generic plan cannot tell a rare piece from a common one)."""
    return func.lower(literal(piece, literal_execute=True))


def _sizes(connection, pieces):
    """(the highest customer id, {piece: about how many customers have it}): the customer search's estimates
    (search_index._estimates: the density of each piece's first SAMPLE customer ids, or its count when fewer)."""
    sources = [search_index.Source("bigram", piece, (), ()) for piece in pieces]
    top, *values = search_index._estimates(connection, sources, cap=SAMPLE)
    top = top or 0
    return top, {piece: -v if v <= 0 else SAMPLE * top / v for piece, v in zip(pieces, values)}


def _expected(words, sizes, top):
    """About how many of the `top` customers have every word: each word as rare as its rarest piece, the words
    independent."""
    expected = float(top)
    for word in words:
        expected *= min(sizes[p] for p in search_index._pieces(word)) / max(top, 1)
    return expected


SAMPLE = 300
FEW = 200  # customers expected: fewer, and the caller lists their tickets (the tickets' pieces would be read far)
