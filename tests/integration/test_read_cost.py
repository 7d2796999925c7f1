"""The API's read endpoints answer in one or two statements that return rows: no ORM instance is loaded (so
nothing lazy-loads while serialising), and a token checked a moment ago costs no statement."""
import pytest
from sqlalchemy import event

from app.auth.models import Department, User
from app.customers.models import Customer
from app.engine import ProcessInstance
from app.extensions import db
from app.fast_statements import FastStatement
from app.tasks.models import HumanTask
from app.tickets.models import Ticket, TicketEvent

MODELS = (User, Department, Customer, Ticket, TicketEvent, HumanTask, ProcessInstance)


class Cost:
    """Statements sent (through SQLAlchemy and as FastStatements, which its cursor events do not see) and ORM
    instances loaded while it listens."""

    def __init__(self):
        self.statements, self.loaded = [], []
        self._originals = {}

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._statement)
        for model in MODELS:
            event.listen(model, "load", self._load)
        for name in ("execute", "executemany"):
            self._originals[name] = original = getattr(FastStatement, name)
            setattr(FastStatement, name, self._counting(original))
        return self

    def __exit__(self, *_exc):
        event.remove(db.engine, "before_cursor_execute", self._statement)
        for model in MODELS:
            event.remove(model, "load", self._load)
        for name, original in self._originals.items():
            setattr(FastStatement, name, original)

    def _counting(self, original):
        def run(statement, params=None):
            keys = params[0] if isinstance(params, list) else params
            if statement._compile(db.engine.dialect, keys) is not None:  # else Core runs it: the event counts it
                self.statements.append(str(statement.statement))
            return original(statement, params)

        return run

    def _statement(self, _conn, _cursor, statement, *_args):
        self.statements.append(statement)

    def _load(self, target, _context):
        self.loaded.append(type(target).__name__)


@pytest.fixture
def ticket(api):
    number = api.new_ticket()["number"]
    api.new_ticket(type="consultation")
    return number


@pytest.mark.parametrize("user, url, most", [
    ("engineer1", "/tasks", 1),
    ("supervisor1", "/tasks", 1),
    ("engineer1", "/tasks/{task}", 1),  # the task row with the form data stored as the task opened
    ("supervisor1", "/tickets", 1),
    ("supervisor1", "/tickets?overdue=1", 1),
    ("engineer1", "/tickets/{ticket}", 2),  # the ticket with its open tasks, and its history
    ("agent1", "/customers?q=精工", 2),  # two characters: the bigram index's ids, then their rows
    ("agent1", "/customers?q=精工制造", 2),  # three or more: the search index's ids, then their rows
    ("agent1", "/customers/{customer}", 2),  # the customer, and their tickets
])
def test_read_endpoints_cost_one_or_two_statements_and_load_no_objects(api, ticket, user, url, most):
    task = api.task_for("engineer1", ticket)
    customer = api.customer_number()
    url = url.format(task=task["id"], ticket=ticket, customer=customer)
    assert api.get(url, user).status_code == 200  # the token is checked here ...
    with Cost() as cost:
        response = api.get(url, user)  # ... and trusted here
    assert response.status_code == 200
    assert len(cost.statements) <= most, cost.statements
    assert cost.loaded == []


def test_claim_and_complete_answer_without_loading_objects(api, ticket):
    task = api.task_for("engineer1", ticket)
    db.session.execute(db.update(HumanTask).where(HumanTask.id == task["id"]).values(assignee_id=None))
    db.session.commit()
    with Cost() as cost:
        claimed = api.post(f"/tasks/{task['id']}/claim", "engineer1", json={})
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "engineer1"
    assert cost.loaded == []
    assert len(cost.statements) == 3, cost.statements  # read the task, claim it, record it in the history
    with Cost() as cost:
        done = api.post(f"/tasks/{task['id']}/complete", "engineer1", json={"data": {"contact_note": "已联系客户"}})
    assert done.status_code == 200 and done.get_json()["number"] == ticket
    assert [t["name"] for t in done.get_json()["open_tasks"]] == ["handle_ticket"]
    assert "ProcessInstance" not in cost.loaded and "HumanTask" not in cost.loaded


def test_task_detail_shows_the_data_stored_when_the_task_opened_without_the_engine(api, app, ticket, monkeypatch):
    task = api.task_for("engineer1", ticket)
    stored = db.session.scalar(db.select(HumanTask.form_data).where(HumanTask.id == task["id"]))
    from_engine = app.extensions["engine"].task_data(db.session.get(HumanTask, task["id"]).instance_id, task["id"])
    assert stored is not None
    expected = {k: v for k, v in from_engine.items() if not k.startswith("_")}
    assert expected["description"] and expected["customer_number"]

    def no_restore(*_args):
        raise AssertionError("the task detail read the process state")

    monkeypatch.setattr(app.extensions["engine"], "task_data", no_restore)
    body = api.get(f"/tasks/{task['id']}", "engineer1").get_json()
    assert body["data"] == expected


def test_a_task_without_stored_form_data_reads_it_from_the_engine(api, ticket):
    task = api.task_for("engineer1", ticket)
    before = api.get(f"/tasks/{task['id']}", "engineer1").get_json()
    db.session.execute(db.update(HumanTask).where(HumanTask.id == task["id"]).values(form_data=None))
    db.session.commit()
    assert api.get(f"/tasks/{task['id']}", "engineer1").get_json() == before
