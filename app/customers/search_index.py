"""The customer search (R0-2) answered from its indexes (see search_schema), so a term that matches nothing
does not read every customer.

Searching for a customer before creating one is the usual first step, and for a new customer the search finds
nothing; a leading-wildcard LIKE answers that by reading the whole table. The search splits its input into words
(every word must match, each in any of number, name, phone, contact person) and answers each word from an index:

* three or more characters: on SQLite from the FTS5 trigram table; on PostgreSQL from the word's rarest
  two-character piece, the word then checked on those rows (a word without pieces, digits: pg_trgm);
* two characters (精工, 上海): the two-character piece table;
* one character and two digits: the scan, which stops after one page when matches are common.

With several ways in (several words, or pieces), the one yielding the fewest customers drives, by estimates from
one query (each way in's COUNT_CAP-th id: the density of its ids): its ids are read in order in growing batches
and the other words checked on them until a page is full. A two-character word is merged with the driver's ids
(both read in order) when that costs less than probing each candidate, else probed, the rarest first; longer
words are checked on the customer rows. Pieces and patterns are written into the statements, not bound: a
prepared statement's generic plan cannot tell a rare piece from a common one.
"""
from typing import NamedTuple

from sqlalchemy import (Integer, String, and_, any_, bindparam, cast, column, exists, func, intersect, literal, or_,
                        select, table, text)
from sqlalchemy.dialects import postgresql

from app.fast_statements import FastStatement

from .search_schema import (  # noqa: F401 (install, uninstall and the names are this package's too)
    BIGRAM_FUNCTION, BIGRAM_TRIGGERS, BIGRAMS, BLOCK_BITS, BLOCKS, COLUMNS, GRAMS, GRAMS_INDEX, MIN_LENGTH,
    PG_INDEXES, POSITIONS, TABLE, TRIGGERS,
    _has_index, _has_table, install, is_index_object, uninstall,
)

COUNT_CAP = 3000  # several ways in: the density of each one's first this many ids tells which drives
MERGE_RATIO = 8  # reading this many ids in order costs about one probe of the bigram index
BLOCK_RATIO = 10  # a block row of the driver joined with another piece's costs about this many ids read in order
BLOCK_SAMPLE = 300  # the density of a piece's first this many block rows tells about how many it has
MIN_BATCH = 100  # the fewest candidate ids read at once when the longer words are checked on the rows
FEW = 200  # at most this many ids are read as rows, more as one aggregate value
GIN_RATIO = 32  # a customer row read and checked costs about as much as this many GIN posting entries read
# PostgreSQL: the rest of a page of customers is read through the GIN index when its scan reads at most this many
# rows (all checked and sorted, ~3 ms), where the B-tree's ids are read in order in batches, each checked by a
# second query (see _gin_page)
GIN_PAGE = 5000


def words(q):
    """The distinct words of a search input (split on whitespace, NUL removed), in their order."""
    return list(dict.fromkeys((q or "").replace("\x00", "").split()))


def usable(connection, term):
    """True when `term` (one word) is answered from an index on this database rather than by a scan."""
    return _kind(connection, term) != "scan"


CUSTOMERS = table("customers", *(column(c) for c in ("id",) + COLUMNS))
_bigrams = table(BIGRAMS, column("gram"), column("customer_id", Integer))
_blocks = table(BLOCKS, column("gram"), column("block", Integer), column("bits", Integer))
_fts = table(TABLE, column("rowid", Integer))


def matching_ids(connection, q, *, after=None, limit=50, plan=None):
    """Ids of the customers matching every word of `q` (see the module docstring), ascending, after `after`.

    `plan`: the words' Plan (see `make_plan`) when the caller has made it already."""
    plan = plan or make_plan(connection, q)
    terms, after = plan.terms, after or 0
    driver = plan.sources[0] if plan.sources else None
    if driver is None or driver.kind == "trgm":  # no index, or PostgreSQL plans the ILIKEs on its trigram indexes
        query = select(CUSTOMERS.c.id).where(CUSTOMERS.c.id > after, *(contains(t) for t in terms))
        return _ids(connection, query.order_by(CUSTOMERS.c.id).limit(limit), many=limit > FEW)
    phrase = fts_phrase(plan)
    if phrase is not None:  # the usual search (one word of 3+ characters on SQLite)
        return _ids(connection, FTS_PAGE, {"phrase": phrase, "after": after, "limit": limit}, many=limit > FEW)
    if not plan.rest():
        query = _driver_query(driver, after)
        return _ids(connection, query.order_by(query.selected_columns[0]).limit(limit), many=limit > FEW)
    return _filtered(connection, plan, after, limit)


def _filtered(connection, plan, after, limit):
    """The driver's ids with the other two-character words taken from the bigram index (one statement, in id
    order), the longer words then checked on the customer rows in growing batches, until a page is full.

    Rarest first, a two-character word's ids are merged with the driver's (both read in order: SQLite merges
    sorted lists for INTERSECT .. ORDER BY, PostgreSQL merge-joins) while that costs less than probing it for each
    candidate left (a probe costs about MERGE_RATIO ids read in order), else probed: 上海 精工 at a million
    customers, 16 ms probing 上海 for 精工's 25,000 ids, 3 ms merging; but 有限, in 750,000 customers, is probed
    on the 1,250 ids those two leave. Probes after a merge run in the second query, with the longer words' row
    checks (a plain query: the planner cannot swap the driver for a scan).

    On SQLite every two-character word comes from the blocks instead (see search_schema) when the driver's block
    rows, each joined with the other words' (about BLOCK_RATIO ids read), cost less than merging and probing: 精工's
    25,000 ids fill 1,250 blocks, so 上海 精工 takes 3 ms, not 7-12."""
    driver, pieces = plan.sources[0], plan.pieces()
    merged, probed, expected = [], [], plan.estimate(driver)  # expected: the candidates, about
    cost = expected  # of merging and probing, in ids read in order
    for piece in pieces:  # rarest first: each merged word thins the candidates the next would be probed on
        if plan.estimate(piece) <= MERGE_RATIO * expected:
            merged.append(piece)
            cost += plan.estimate(piece)
            expected *= plan.estimate(piece) / max(plan.top, 1)
        else:
            probed.append(piece)
            cost += MERGE_RATIO * expected
    blocks = (driver.kind == "bigram" and pieces and _has_table(connection, BLOCKS)
              and BLOCK_RATIO * _block_estimate(connection, driver.key, plan.top) < cost)
    if blocks:  # every two-character word from the blocks (see _block_ids)
        merged, probed = pieces, []
    answered = {t for piece in pieces for t in piece.answered}
    checked = [t for t in plan.rest() if t not in answered]  # in the second query
    later = probed if merged else []  # probed in the second query too (SQLite merges only under the compound's
    probed = [] if merged else probed  # own ORDER BY; PostgreSQL would merge those words' whole index ranges)
    checked += [t for p in later for t in p.answered]
    filters = [contains(t) for t in checked if t not in answered]

    def check(ids):
        """Those of the candidate ids that pass the second query's checks."""
        if filters or not later:  # the customer rows, and the probes
            column, query, probes = CUSTOMERS.c.id, select(CUSTOMERS.c.id).where(*filters), later
        else:  # probes alone: the ids in the first one's index range, and the others probed
            query, probes = _piece_query(later[0].key, None), later[1:]
            column = query.selected_columns[0]
        return _ids(connection, query.where(among(connection, column, ids),
                                            *(_has_piece(p.key, column, probe=True) for p in probes)),
                    many=len(ids) > FEW)

    def candidates(after, count):
        if blocks:
            return _block_ids(connection, [driver.key] + [p.key for p in merged], after, count)
        query = _driver_query(driver, after)
        if merged and connection.dialect.name == "sqlite":
            query = intersect(query, *(_piece_query(p.key, after) for p in merged))
        else:  # PostgreSQL plans merged words as a merge join of the sorted index ranges
            id_column = query.selected_columns[0]
            query = query.where(*(_has_piece(p.key, id_column) for p in merged),
                                *(_has_piece(p.key, id_column, probe=True) for p in probed))
        return _ids(connection, query.order_by(query.selected_columns[0]).limit(count), many=count > FEW)

    if not checked:
        return candidates(after, limit)
    # the first batch: the candidates that should yield the page twice over, by the share that has those words
    found, batch = [], min(max(int(2 * limit / max(plan.share(checked), 0.001)), MIN_BATCH), 16000)
    gin = gin_query(connection, plan)
    if gin is not None and gin.expected <= min(batch, GIN_PAGE):  # the batch would read every candidate
        return _gin_page(connection, gin, after, limit)
    while len(found) < limit:
        ids = candidates(after, batch)
        if ids:
            found += check(ids)
        if len(ids) < batch:
            break
        after, batch = ids[-1], min(batch * 4, 16000)
        if gin is not None and gin.expected <= GIN_PAGE and len(found) < limit:  # the words are rarer than their
            return found + _gin_page(connection, gin, after, limit - len(found))  # pieces told: the rest at once
    return found[:limit]


def _block_estimate(connection, piece, top):
    """About how many block rows (see search_schema) this two-character piece has, from the density of its first
    BLOCK_SAMPLE (customers whose ids cluster share blocks: 精工's 25,000 at a million customers fill 1,250)."""
    value = connection.execute(select(_value_of(_block_query(piece), BLOCK_SAMPLE))).scalar()
    return -value if value <= 0 else BLOCK_SAMPLE * (top // BLOCK_BITS + 1) // (value + 1)


def _block_query(piece):
    return select(_blocks.c.block).where(_blocks.c.gram == func.lower(literal(piece, literal_execute=True)))


def _block_ids(connection, pieces, after, count):
    """Ascending ids after `after` of the customers having every two-character piece of `pieces`, `count` of them
    (fewer: all there are): the first piece's block rows in order, each joined with the other pieces' rows of the
    same block and their bits ANDed (a block without a common bit is left out by the join itself)."""
    first, *others = [_blocks.alias(f"b{i}") for i in range(len(pieces))]
    bits, joined = first.c.bits, first
    for alias, piece in zip(others, pieces[1:]):
        bits = bits.op("&")(alias.c.bits)
        joined = joined.join(alias, and_(alias.c.gram == func.lower(literal(piece, literal_execute=True)),
                                         alias.c.block == first.c.block, bits != 0))
    query = (select(first.c.block, bits).select_from(joined)
             .where(first.c.gram == func.lower(literal(pieces[0], literal_execute=True)),
                    first.c.block >= after // BLOCK_BITS)
             .order_by(first.c.block).limit(count + 1))  # every row has an id; the first may have only ids <= after
    found = []
    for block, mask in connection.execute(query).all():
        mask &= (1 << BLOCK_BITS) - 1  # bit 63 comes back as the sign
        base = block * BLOCK_BITS
        while mask:
            low = mask & -mask
            found.append(base + low.bit_length() - 1)
            mask ^= low
    return [i for i in found if i > after][:count]


def gin_query(connection, plan):
    """A GinQuery: SELECT of the ids of the customers matching every word of `plan` (a Plan with estimates), in no
    order, from PostgreSQL's GIN index over the customers' pieces; None where that index cannot answer (SQLite, no
    index, no piece, no estimates).

    The rarest piece narrows the index scan, and each further piece while its posting list costs less than
    checking the rows it would remove (see GIN_RATIO); the words those pieces do not answer in full are checked on
    the rows the bitmap reads: 有限公司 上海 精工 at a million customers reads 精工 and 上海 (25,000 and 50,000
    entries) and checks 有限公司 on their 1,250 rows, 3 ms where the B-tree merge and a second query took 13."""
    pieces = [s for s in plan.sources if s.kind == "bigram"]  # rarest first
    if (connection.dialect.name != "postgresql" or not pieces or not plan.values or not plan.top
            or not _has_index(connection, GRAMS_INDEX)):
        return None
    chosen, expected = [], plan.top
    for piece in pieces:
        share = min(1.0, plan.estimate(piece) / plan.top)
        if not chosen or plan.estimate(piece) <= GIN_RATIO * expected * (1 - share):
            chosen.append(piece)
            expected *= share
    answered = {t for piece in chosen for t in piece.answered}
    grams = getattr(func, GRAMS)(*(CUSTOMERS.c[c] for c in COLUMNS))
    wanted = postgresql.array([func.lower(literal(p.key, literal_execute=True)) for p in chosen])
    query = select(CUSTOMERS.c.id).where(grams.op("@>")(wanted), *(contains(t) for t in plan.terms
                                                                    if t not in answered))
    return GinQuery(query, expected)


class GinQuery(NamedTuple):
    """`gin_query`'s SELECT and about how many rows its index scan reads (each checked for the other words)."""
    query: object
    expected: float


def _gin_page(connection, gin, after, limit):
    """A page of the matching ids after `after` through the GIN index (`gin`, see `gin_query`): its candidates all
    checked and sorted in one statement.

    `_filtered` turns to it when a batch would read every candidate anyway, and when its first batch did not fill
    the page (the longer words are rarer than their pieces told: 客户123 among 2,000 客户NNN took three batches
    and six statements, where this reads the 1,111 candidates once), if the scan reads at most GIN_PAGE rows. A
    first batch that fills the page costs less than reading every candidate (有限公司 上海 精工)."""
    query = gin.query.where(CUSTOMERS.c.id > after).order_by(CUSTOMERS.c.id).limit(limit)
    return _ids(connection, query, many=limit > FEW)


def _ids(connection, query, parameters=None, *, many=False):
    """The ids `query` selects (its first column), ascending; when there may be `many`, read as one aggregate (a
    PostgreSQL array, an SQLite comma-separated string): thousands of ids cost a fraction of what as many rows
    through SQLAlchemy cost (a page of 50 is read as rows: wrapping the query costs more than it saves)."""
    if not many:
        return sorted(connection.execute(query, parameters).scalars().all())
    inner = query.subquery()
    if connection.dialect.name == "postgresql":
        found = connection.execute(select(func.array_agg(inner.c[0])), parameters).scalar() or []
    else:
        found = connection.execute(select(func.group_concat(inner.c[0])), parameters).scalar()
        found = [int(i) for i in found.split(",")] if found else []
    found.sort()  # no aggregate promises its input's order (sorting sorted ids takes one pass)
    return found


def customer_checks(connection, q, customer_id, plan=None):
    """Conditions that the customer `customer_id` (a column of another table) matches every word of `q`: a probe
    of the bigram index for a two-character word, the customer row for longer ones; the rarest words first (by
    the estimates of `plan`, when it has them)."""
    plan = plan or make_plan(connection, q)
    pieces = [s for s in plan.sources if s.kind == "bigram" and s.answered]
    checks = [(plan.estimate(piece), _has_piece(piece.key, customer_id)) for piece in pieces]
    answered = {t for piece in pieces for t in piece.answered}
    rest = [contains(t) for t in plan.terms if t not in answered]
    if rest:
        rarest = min((plan.estimate(s) for s in plan.sources if s not in pieces), default=plan.top)
        checks.append((rarest, exists().where(CUSTOMERS.c.id == customer_id, *rest)))
    return [check for _estimate, check in sorted(checks, key=lambda c: c[0])]


def among(connection, column, ids):
    """`column` IN `ids` (integers) with the ids as one text parameter, so thousands cost one value rather than a
    bound parameter each: on PostgreSQL an array (= ANY), on SQLite a JSON array (IN json_each)."""
    if connection.dialect.name == "sqlite" and len(ids) <= FEW:  # a few bound parameters cost less to build
        return column.in_(ids)
    listed = ",".join(map(str, map(int, ids)))
    if connection.dialect.name == "postgresql":
        return column == any_(cast(bindparam(None, "{" + listed + "}", type_=String), postgresql.ARRAY(Integer)))
    return column.in_(select(func.json_each(bindparam(None, "[" + listed + "]", type_=String))
                             .table_valued("value").c.value))


def _pieces(term):
    """The two-character pieces of `term` the bigram table holds (not two ASCII digits)."""
    pieces = (term[i:i + 2] for i in range(len(term) - 1))
    return list(dict.fromkeys(p for p in pieces if not (p.isascii() and p.isdigit())))


def _loose_digits(term):
    """How many digits of `term` lie in none of its pieces (0 for a word without pieces: its own index counts it)."""
    pieces = set(_pieces(term))
    if not pieces:
        return 0
    held = {i + k for i in range(len(term) - 1) if term[i:i + 2] in pieces for k in (0, 1)}
    return sum(1 for i, ch in enumerate(term) if i not in held and ch.isdigit())


def _kind(connection, term):
    """How one word is answered: 'fts' (SQLite trigrams), 'bigram' (its pieces), 'trgm' (pg_trgm) or 'scan'."""
    dialect = connection.dialect.name
    if len(term) >= MIN_LENGTH and dialect == "sqlite" and _has_table(connection, TABLE):
        return "fts"
    if len(term) >= 2 and _pieces(term) and _has_table(connection, BIGRAMS):
        return "bigram"
    if len(term) >= MIN_LENGTH and dialect == "postgresql" and _has_index(connection, PG_INDEXES[1]):
        return "trgm"
    return "scan"


class Source(NamedTuple):
    """One indexed way into the customers: its kind, key (a piece, or words), the words it answers in full and the
    words it comes from."""
    kind: str
    key: object
    answered: tuple
    words: tuple

    @property
    def length(self):
        """The length of the longest word it comes from."""
        return max(map(len, self.words))


def _sources(connection, terms):
    """The indexed ways into the customers for these words: ('fts', words) for all words of 3+ characters on
    SQLite; ('bigram', piece) for each two-character piece (a two-character word is its piece, answered in full;
    a longer word is still checked on the rows); ('trgm', (word,)) for a word PostgreSQL's trigram indexes answer."""
    kinds = {t: _kind(connection, t) for t in terms}
    long_words = tuple(t for t in terms if kinds[t] == "fts")
    sources = [Source("fts", long_words, long_words, long_words)] if long_words else []
    pieces = {}
    for term in terms:
        if kinds[term] == "bigram":
            for piece in _pieces(term):
                answered, words = pieces.get(piece, ((), ()))
                pieces[piece] = (answered + ((term,) if term == piece else ()), words + (term,))
        elif kinds[term] == "trgm":
            sources.append(Source("trgm", (term,), (), (term,)))
    return sources + [Source("bigram", piece, answered, words) for piece, (answered, words) in pieces.items()]


class Plan(NamedTuple):
    """How a search's words are answered: `sources`, the indexed ways in, the one yielding the fewest customers
    first (it drives), by `values` (see `make_plan`; none with a single source), `top` the highest customer id."""
    terms: list
    sources: list
    values: dict
    top: int

    def estimate(self, source):
        """About how many customers `source` yields: its count when under COUNT_CAP, else the ids' density among
        its first COUNT_CAP (COUNT_CAP of them up to its COUNT_CAP-th id) times the customers; 0 when unknown."""
        value = self.values.get(source, 0)
        return -value if value <= 0 else COUNT_CAP * self.top // value

    def rest(self):
        """The words the driver does not answer in full (checked on its ids)."""
        return [t for t in self.terms if not self.sources or t not in self.sources[0].answered]

    def share(self, words, *, driven=True):
        """About which share of the customers has all these words (1 when unknown): for each word the rarest way
        in it comes from, each way counted once, as if independent; with `driven`, the driver's words count as
        had (they are checked on the driver's ids)."""
        rarest = {min((s for s in self.sources if t in s.words), key=self.estimate, default=None)
                  for t in words if not (driven and self.sources and t in self.sources[0].words)}
        share = 1.0
        for source in rarest - {None}:
            share *= min(1.0, self.estimate(source) / self.top) if self.values and self.top else 1.0
        for term in words:  # digits no piece holds (pairs of digits are not indexed) make a word rarer: 客户123
            if not (driven and self.sources and term in self.sources[0].answered):
                share *= 0.1 ** _loose_digits(term)
        return share

    def pieces(self):
        """The other sources answering a two-character word (its piece), rarest first."""
        rest = self.rest()
        return [s for s in self.sources[1:] if s.kind == "bigram" and s.answered and s.answered[0] in rest]


def make_plan(connection, q, *, estimate=False):
    """The Plan of the words of `q`: with several ways in (or `estimate`), each one's value from one query: its
    COUNT_CAP-th id when it has that many, else minus its count (a count alone for a pg_trgm word). Among equal
    estimates a piece of the longest word drives, whose other characters make a match rarer still."""
    terms = words(q)
    sources = _sources(connection, terms)
    if len(sources) < 2 and not (estimate and sources):
        return Plan(terms, sources, {}, 0)
    found = _estimates(connection, sources)
    plan = Plan(terms, sources, dict(zip(sources, found[1:])), found[0] or 0)
    order = sorted(range(len(sources)), key=lambda i: (plan.estimate(sources[i]), -sources[i].length, i))
    return plan._replace(sources=[sources[i] for i in order])


def _estimates(connection, sources, cap=COUNT_CAP):
    """(the highest customer id, each source's value, see `_value_of` with `cap`): the statement for these kinds of
    sources is built and
    compiled once, its pieces and phrases bound (a LIMIT read of the index in id order has one plan for any
    piece), and run as a FastStatement on the session's transaction (every caller's connection); building it per
    search cost 0.3-0.5 ms. With a pg_trgm word (digits) it is built each time, its patterns written in."""
    top = select(func.max(CUSTOMERS.c.id)).scalar_subquery()
    if any(source.kind == "trgm" for source in sources):
        return connection.execute(select(top, *(_value(source) for source in sources))).one()
    kinds = (cap, *(source.kind for source in sources))
    statement = _ESTIMATES.get(kinds)
    if statement is None:
        queries = [_bound_query(source.kind, f"key{i}") for i, source in enumerate(sources)]
        statement = _ESTIMATES[kinds] = FastStatement(select(top, *(_value_of(q, cap) for q in queries)))
    return statement.first({f"key{i}": source.key if source.kind == "bigram" else _phrase(source.key)
                            for i, source in enumerate(sources)})


_ESTIMATES = {}  # (cap, kinds of the sources) -> FastStatement


def _value(source):
    """The source's COUNT_CAP-th id, or minus its count when it has fewer (a count alone for a pg_trgm word)."""
    if source.kind == "trgm":  # in no id order: its count up to COUNT_CAP, read as a count
        query = select(literal(1)).select_from(CUSTOMERS).where(*(contains(t) for t in source.key))
        return -select(func.count()).select_from(query.limit(COUNT_CAP).subquery()).scalar_subquery()
    return _value_of(_driver_query(source, 0))


def _value_of(query, cap=COUNT_CAP):
    """The `cap`-th id `query` selects, or minus its count when it has fewer (one scalar; the count is only
    run when there is no such id): on both databases a LIMIT over the index, in id order."""
    nth = query.order_by(query.selected_columns[0]).limit(1).offset(cap - 1).scalar_subquery()
    count = select(func.count()).select_from(query.limit(cap).subquery()).scalar_subquery()
    return func.coalesce(nth, -count)


def _bound_query(kind, name):
    """SELECT of the ids a source of this kind yields, its piece or phrase the bound parameter `name`."""
    if kind == "bigram":
        return select(_bigrams.c.customer_id).where(_bigrams.c.gram == func.lower(bindparam(name, type_=String)))
    return select(_fts.c.rowid).where(text(f"{TABLE} MATCH :{name}").bindparams(bindparam(name, type_=String)))


def _piece_query(piece, after):
    """SELECT of the ids of the customers with this two-character piece, after `after`.

    The piece is written into the statement: a prepared statement's generic plan (psycopg prepares after 5 runs)
    cannot tell a rare piece from a common one and picks a scan."""
    query = select(_bigrams.c.customer_id).where(_bigrams.c.gram == func.lower(literal(piece, literal_execute=True)))
    return query if after is None else query.where(_bigrams.c.customer_id > after)


def _has_piece(piece, customer_id, probe=False):
    """The customer `customer_id` (a column of the outer query) has this two-character piece: EXISTS, or with
    `probe` a lookup per row that PostgreSQL cannot turn into a join (its planner would merge-join the piece's
    whole index range, 250,000 ids for 集团, where probing 5,000 candidates costs a fifth)."""
    entry = _bigrams.alias()
    where = (entry.c.gram == func.lower(literal(piece, literal_execute=True)), entry.c.customer_id == customer_id)
    if probe:  # a scalar subquery with LIMIT stays a subplan
        return select(entry.c.customer_id).where(*where).limit(1).scalar_subquery().is_not(None)
    return exists().where(*where)


def _driver_query(source, after):
    """SELECT of the ids the source yields, after `after` (ordered by the caller)."""
    if source.kind == "bigram":
        return _piece_query(source.key, after)
    return select(_fts.c.rowid).where(text(f"{TABLE} MATCH :phrase").bindparams(phrase=_phrase(source.key)),
                                      _fts.c.rowid > after)


# the ids of a page of customers matching an FTS5 phrase (`fts_phrase`), after `after`, ascending; built once
# (building it per search cost more than running it)
FTS_PAGE = (select(_fts.c.rowid).where(text(f"{TABLE} MATCH :phrase"), _fts.c.rowid > bindparam("after"))
            .order_by(_fts.c.rowid).limit(bindparam("limit")))


def fts_phrase(plan):
    """The FTS5 phrase answering every word of `plan` (see `make_plan`) when its driver, the trigram table, answers
    them all (the usual search on SQLite: one word of three or more characters); else None."""
    driver = plan.sources[0] if plan.sources else None
    if driver is None or driver.kind != "fts" or plan.rest():
        return None
    return _phrase(driver.key)


def _phrase(terms):
    """An FTS5 query: every term as one string (its trigrams in a row, i.e. the substring), all of them."""
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)


def contains(term):
    """The condition that number, name, phone or contact person contains `term` (any case): a row check."""
    pattern = literal("%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
                      literal_execute=True)
    columns = COLUMNS if term.isascii() else TEXT_COLUMNS
    if term.lower() == term == term.upper():  # no cased character (Chinese, digits): a plain LIKE matches the same,
        return or_(*(CUSTOMERS.c[c].like(pattern, escape="\\") for c in columns))  # without lower() of each value
    return or_(*(CUSTOMERS.c[c].ilike(pattern, escape="\\") for c in columns))


# the columns that may hold other than ASCII: numbers are C + year + counter, phones 11 digits (customers.service)
TEXT_COLUMNS = ("name", "contact_person")
