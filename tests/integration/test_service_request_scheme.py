"""Response schemes of service requests as decision tables (R2-2 seed 002, R3-7 seed 003): service_request_scheme.dmn
picks the scheme per department, type and channel ("seed002" as shipped), service_request_windows.dmn gives the
windows per scheme and priority. Switching a department to seed 003 is a table edit and a deploy; the deploy gate
then asks the scenarios that pin seed 002's windows to change with it."""
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from app.database import deploy_rules
from app.engine import DeployError, deploy_directory
from app.extensions import db
from app.scenarios import batch_problems
from tests.integration.test_service_request import TUE, clock, local, new_request

ROOT = Path(__file__).resolve().parents[2]


def decide(app, decision, **data):
    return app.extensions["engine"].decide(decision, data)


# ------------------------------------------------------------------------------------------ the tables' rows

@pytest.mark.parametrize("department, ticket_type, channel", [
    ("customer_service", "consultation", "phone"), ("customer_service", "handling", "branch"),
    ("after_sales", "complaint", "email"), ("after_sales", "technical_support", "online"),
    ("product", "suggestion", "partner"), ("", "other", ""),
])
def test_the_scheme_table_ships_seed_002_for_everyone(app, department, ticket_type, channel):
    assert decide(app, "service_request_scheme", department=department, ticket_type=ticket_type,
                  channel=channel) == {"sla_scheme": "seed002"}


SEED002 = [("critical", "PT10M"), ("urgent", "PT10M"), ("high", "PT30M"), ("medium", "PT2H"), ("low", "PT4H")]
SEED003 = [("critical", "PT10M"), ("urgent", "PT30M"), ("high", "PT2H"), ("medium", "PT2H"), ("low", "PT2H")]


@pytest.mark.parametrize("scheme, priority, contact", [("seed002", p, c) for p, c in SEED002]
                         + [("seed003", p, c) for p, c in SEED003])
def test_the_windows_table_rows_per_scheme_and_priority(app, scheme, priority, contact):
    assert decide(app, "service_request_windows", sla_scheme=scheme, priority=priority) == {
        "first_contact_within": contact, "contact_calendar": "", "plan_within": "P1D", "update_after": "P2D"}


def test_an_unknown_scheme_matches_no_row(app):
    assert decide(app, "service_request_windows", sla_scheme="seed009", priority="urgent") == {}


def test_a_new_request_records_its_scheme(api):
    with clock(api, TUE):
        number = new_request("technical_support", "urgent")
        task = api.task_for("engineer1", number, "accept_request")
        data = api.get(f"/tasks/{task['id']}", "engineer1").get_json()["data"]
        assert data["sla_scheme"] == "seed002" and data["first_contact_within"] == "PT10M"
        assert local(api.ticket(number)["response_due_at"]) == TUE + timedelta(minutes=10)


# ------------------------------------------------------------------------------------------ switching

def _tree_with_scheme(tmp_path, scheme):
    """A copy of workflows/ whose scheme table answers `scheme` for everyone (the one row's output edited)."""
    workflows = tmp_path / "workflows"
    shutil.copytree(ROOT / "workflows", workflows)
    table = workflows / "service_request_scheme.dmn"
    text = table.read_text(encoding="utf-8")
    edited = text.replace('<outputEntry id="scheme_default_out0"><text>"seed002"</text>',
                          f'<outputEntry id="scheme_default_out0"><text>"{scheme}"</text>')
    assert edited != text
    table.write_text(edited, encoding="utf-8")
    return workflows


def test_switching_the_scheme_table_to_seed_003_and_deploying_gives_urgent_requests_30_minutes(api, tmp_path):
    with clock(api, TUE):
        before = new_request("technical_support", "urgent")
    workflows = _tree_with_scheme(tmp_path, "seed003")
    deploy_directory(workflows, ROOT / "forms", deploy_rules())
    db.session.commit()
    with clock(api, TUE):
        number = new_request("technical_support", "urgent")
        ticket = api.ticket(number)
        assert local(ticket["response_due_at"]) == TUE + timedelta(minutes=30)
        [task] = ticket["open_tasks"]
        assert task["name"] == "accept_request" and local(task["due_at"]) == TUE + timedelta(minutes=30)
        assert local(api.ticket(before)["response_due_at"]) == TUE + timedelta(minutes=10)  # set when it started
        normal = new_request("complaint", "normal")  # high by type: seed 003 has no "high", a normal request 2 h
        assert local(api.ticket(normal)["response_due_at"]) == TUE + timedelta(hours=2)
        critical = new_request("technical_support", "critical")
        assert local(api.ticket(critical)["response_due_at"]) == TUE + timedelta(minutes=10)


def test_the_deploy_gate_names_the_scenarios_that_pin_seed_002s_windows(app, tmp_path):
    """The shipped scenarios describe the shipped scheme: a switch fails them, naming each, until they change too."""
    workflows = _tree_with_scheme(tmp_path, "seed003")
    with pytest.raises(DeployError) as refused:
        deploy_directory(workflows, ROOT / "forms", deploy_rules(),
                         check=lambda bundles: batch_problems(bundles, workflows))
    message = str(refused.value)
    assert "service_request.scenarios.yaml" in message
    assert "an urgent request gets a first contact within 10 minutes" in message
