"""A ticket's open tasks are read through the ticket's index on SQLite, never through an index that starts with the
task state (that reads every open task of every ticket: a scan that grows with the whole desk).

SQLite keeps no statistics here, so with `ticket_id = ? AND state = 'open'` it may pick either index; the
statements write the state test so that only the ticket's index fits (tasks.models.is_open). The test records
what the real functions send and asks SQLite for each statement's plan."""
from contextlib import contextmanager

from sqlalchemy import event, select

from app.extensions import db
from app.tasks import service as tasks
from app.tickets import service as tickets
from app.tickets.models import Ticket
from tests.conftest import Api


@contextmanager
def sent_statements():
    """The SQL text (values inlined) of every statement sent to SQLite meanwhile."""
    seen = []
    connection = db.session.connection().connection.dbapi_connection
    connection.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        connection.set_trace_callback(None)


def human_task_reads(statements):
    """The plan lines, per statement, of the statements that read human_tasks."""
    connection = db.session.connection().connection.dbapi_connection
    plans = {}
    for sql in statements:
        if "human_tasks" in sql and sql.lstrip().upper().startswith(("SELECT", "WITH")):
            plans[sql] = [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql)
                          if "human_tasks" in row[3] or "open_task" in row[3]]
    return plans


def test_a_tickets_open_tasks_are_read_through_the_tickets_index(app):
    api = Api(app.test_client())
    numbers = [api.new_ticket()["number"] for _ in range(3)]
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == numbers[0]))
    with sent_statements() as seen:
        tickets.ticket_row(numbers[0])
        assert tasks.open_tasks_of(ticket)
        assert tasks.open_tasks_by_ticket([ticket.id])
    plans = human_task_reads(seen)
    assert len(plans) == 3, seen
    for sql, lines in plans.items():
        assert lines and all("ix_human_tasks_ticket_name (ticket_id=?)" in line for line in lines), (sql, lines)


def test_the_escalation_page_reads_the_open_supervisor_tasks_in_order(app):
    with sent_statements() as seen:
        tasks.escalations(limit=200)
    plans = human_task_reads(seen)
    assert len(plans) == 1, seen
    [(sql, lines)] = plans.items()
    assert lines == ["SEARCH human_tasks USING INDEX ix_human_tasks_role_open (role=? AND state=?)"], (sql, lines)


def test_the_inbox_finds_its_task_rows_by_rowid(app):
    """The inbox's pages carry each task's rowid and read the row by it: through the string id each row cost one
    more descent in the id's own index (twice the statement's time once another process's write emptied the page
    cache). Both the page's rows and the API's JSON statement."""
    from app.auth.principal import load_principal
    from app.tasks.models import HumanTask

    api = Api(app.test_client())
    for _ in range(3):
        api.new_ticket()
    holder = db.session.scalar(select(HumanTask.assignee_id).where(HumanTask.state == "open",
                                                                  HumanTask.assignee_id.is_not(None)))
    user = load_principal(holder)
    with sent_statements() as seen:
        rows = tasks.inbox(user)
        items, count, _last_at, _last_id = tasks.inbox_json(user)
    assert rows and count == len(rows)
    plans = human_task_reads(seen)
    assert len(plans) == 2, seen
    for sql, lines in plans.items():
        assert "SEARCH human_tasks USING INTEGER PRIMARY KEY (rowid=?)" in lines, (sql, lines)
        assert not any("sqlite_autoindex_human_tasks" in line for line in lines), (sql, lines)
