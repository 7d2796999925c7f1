"""The report's SQL: every figure is aggregated by the database (GROUP BY), never counted in Python.

A report covers the tickets whose `basis` time (created_at, or closed_at for the daily archive) falls in a
half-open UTC range, optionally narrowed to one department, type, urgency (priority) and channel. Rows are
grouped by a time bucket (day, ISO week from Monday, month, in the desk's time zone) or by a dimension.
Expressions that differ between SQLite and PostgreSQL (date truncation, time differences) are built per dialect
here and nowhere else.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select

from app.auth.models import Department
from app.tickets.models import Ticket, TicketEvent

T = Ticket.__table__
H = TicketEvent.__table__
D = Department.__table__

GRANULARITIES = ("day", "week", "month")
GROUPS = {"department": T.c.department_id, "type": T.c.type, "urgency": T.c.urgency, "priority": T.c.priority,
          "channel": T.c.channel}
BASES = {"created": T.c.created_at, "closed": T.c.closed_at}
OPINIONS = ("satisfied", "needs_adjustment", "unsatisfied")  # the feedback step's opinion (ticket column)


def duration_seconds(dialect, start, end):
    """Seconds from `start` to `end` as a SQL expression (NULL when either is NULL).

    Wall-clock time. The working-time averages read the tickets' `response_working_seconds` and
    `resolution_working_seconds` instead, measured in each ticket's calendar when the time was recorded.
    """
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def bucket(dialect, column, granularity, tzname):
    """The local period `column` falls in as 'YYYY-MM-DD' (its first day): day, ISO week (Monday) or month."""
    if dialect == "postgresql":
        local = func.timezone(tzname, column)
        return func.to_char(func.date_trunc(granularity, local), "YYYY-MM-DD")
    offset = datetime.now(ZoneInfo(tzname)).utcoffset()  # fixed-offset zones (Asia/Shanghai has no DST)
    shift = f"{int(offset.total_seconds() // 60):+d} minutes"
    if granularity == "day":
        return func.date(column, shift)
    if granularity == "week":
        return func.date(column, shift, "-6 days", "weekday 1")
    return func.strftime("%Y-%m-01", column, shift)


def transferred():
    """SQL condition: the ticket was moved to someone else at least once (app.tickets.models.is_transfer; each
    step counts them into `transfer_count`)."""
    return T.c.transfer_count > 0


class Scope:
    """Which tickets a report covers: the basis time in [start, end) (aware UTC), and equality filters."""

    def __init__(self, *, dialect, start, end, basis="created", filters=None, tzname="Asia/Shanghai",
                 granularity="day", now=None):
        self.dialect, self.start, self.end, self.basis = dialect, start, end, basis
        self.filters = dict(filters or {})
        self.tzname, self.granularity, self.now = tzname, granularity, now

    @property
    def basis_column(self):
        return BASES[self.basis]

    def bucket(self):
        return bucket(self.dialect, self.basis_column, self.granularity, self.tzname)

    def conditions(self):
        column = self.basis_column
        found = [column >= _naive_utc(self.start, self.dialect), column < _naive_utc(self.end, self.dialect)]
        for name, value in self.filters.items():
            found.append(GROUPS[name] == value)
        return found

    def duration(self, start, end):
        return duration_seconds(self.dialect, start, end)


def _naive_utc(value, dialect):
    """SQLite keeps UTC times without a zone; PostgreSQL compares aware values."""
    return value.replace(tzinfo=None) if dialect == "sqlite" else value


def cube(conn, scope, group):
    """One pass over the scope's tickets: the metric columns per (bucket, group value, type).

    The database aggregates every ticket; the few hundred cells it answers are rolled up into the totals, the
    series, the group table and the type ranking by the service (sums and counts, so averages stay exact).
    """
    stamp = _naive_utc(scope.now, scope.dialect)
    due_passed = and_(T.c.response_due_at.is_not(None),
                      or_(T.c.first_responded_at.is_not(None), T.c.response_due_at < stamp))
    on_time = T.c.first_responded_at <= T.c.response_due_at
    keys = (scope.bucket().label("bucket"), GROUPS[group].label("key"), T.c.type.label("type"))
    query = select(
        *keys,
        func.count().label("tickets"),
        func.count(T.c.closed_at).label("closed"),
        func.count(T.c.resolved_at).label("resolved"),
        func.sum(case((due_passed, 1), else_=0)).label("response_due"),
        func.sum(case((on_time, 1), else_=0)).label("responded_on_time"),
        func.count(T.c.first_responded_at).label("responses"),
        func.sum(scope.duration(T.c.created_at, T.c.first_responded_at)).label("response_seconds"),
        func.sum(scope.duration(T.c.created_at, T.c.resolved_at)).label("resolution_seconds"),
        func.sum(T.c.response_working_seconds).label("response_working_seconds"),
        func.count(T.c.response_working_seconds).label("working_responses"),
        func.sum(T.c.resolution_working_seconds).label("resolution_working_seconds"),
        func.count(T.c.resolution_working_seconds).label("working_resolutions"),
        func.sum(case((T.c.reopen_count > 0, 1), else_=0)).label("reopened"),
        func.sum(T.c.transfer_count).label("transfers"),
        *(func.sum(case((T.c.satisfaction == opinion, 1), else_=0)).label(f"opinion_{opinion}")
          for opinion in OPINIONS),
        func.sum(T.c.reopen_count).label("reopens"),
    ).where(*scope.conditions()).group_by(*keys)
    return conn.execute(query).all()


def department_names(conn, ids):
    """{department id: (code, name, name_en)}."""
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    rows = conn.execute(select(D.c.id, D.c.code, D.c.name, D.c.name_en).where(D.c.id.in_(ids)))
    return {r.id: (r.code, r.name, r.name_en) for r in rows}


def department_id(conn, code):
    return conn.execute(select(D.c.id).where(D.c.code == code)).scalar()
