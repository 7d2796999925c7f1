"""Scenarios in the studio (issue 12 part 7): a process's scenario files are stored with each deployed version,
shown and edited in the studio, run against the diagram and tables being edited, and a studio deploy or
roll-back runs them first: one failing refuses it and nothing is deployed. Real SQLite, real engine."""
from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine import ProcessDefinition
from app.extensions import db
from app.studio.models import StudioDraft
from tests import studio_scenarios
from tests.conftest import PASSWORD
from tests.studio_scenarios import FILE, HIGH_RESPONSE_1H_EDITS, WINDOW_15_EDITS, edited, shipped_scenarios

ROOT = Path(__file__).resolve().parents[2]
TIMER = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT30M"</bpmn:timeDuration>'
LAPSE = "acceptance window lapses to the supervisor's reassign task"


def window_15():
    xml = (ROOT / "workflows" / "quick_response.bpmn").read_text(encoding="utf-8")
    return xml.replace(TIMER, TIMER.replace("PT30M", "PT15M"))


def high_1h(table):
    changed = table.replace('<outputEntry id="sla_high_response"><text>"PT2H"</text>',
                            '<outputEntry id="sla_high_response"><text>"PT1H"</text>')
    assert changed != table
    return changed


def newest():
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.name == "quick_response")
                             .order_by(ProcessDefinition.version.desc()).limit(1))


@pytest.fixture
def owner(app, client):
    assert client.post("/login", data={"username": "owner1", "password": PASSWORD}).status_code == 302
    return client


def test_the_file_deploy_stores_the_scenarios_with_the_version_and_the_studio_shows_them(owner):
    assert newest().scenarios == {FILE: shipped_scenarios()}
    body = owner.get("/studio/quick_response/diagram").get_json()
    assert body["scenarios"] == {FILE: shipped_scenarios()} and body["scenarios_draft"] is False
    page = owner.get("/studio/quick_response").get_data(as_text=True)
    assert FILE in page and "运行场景" in page and 'id="scenario-text-0"' in page
    assert "运行场景" in owner.get("/studio/quick_response/decisions").get_data(as_text=True)


def test_a_version_deployed_before_scenarios_were_stored_shows_the_files(owner):
    newest().scenarios = None
    db.session.commit()
    assert owner.get("/studio/quick_response/diagram").get_json()["scenarios"] == {FILE: shipped_scenarios()}


def test_run_names_the_failing_scenario_and_step_and_passes_once_the_text_is_fixed(owner):
    response = owner.post("/studio/quick_response/scenarios/run", json={"xml": window_15()})
    assert response.status_code == 200
    body = response.get_json()
    assert body["failed"] == 1 and body["passed"] == 16
    [failed] = [r for r in body["results"] if not r["passed"]]
    assert (failed["file"], failed["scenario"], failed["step"]) == (FILE, LAPSE, 1)
    assert "advance" in failed["step_label"] and "reassign_ticket" in failed["message"]
    fixed = owner.post("/studio/quick_response/scenarios/run",
                       json={"xml": window_15(), "scenarios": {FILE: edited(WINDOW_15_EDITS)}}).get_json()
    assert (fixed["failed"], fixed["passed"]) == (0, 17)
    assert db.session.get(StudioDraft, "quick_response") is None  # running saves nothing


def test_run_takes_the_tables_being_edited(owner):
    tables = {"sla_by_urgency.dmn": high_1h(newest().dmn_xml["sla_by_urgency.dmn"])}
    body = owner.post("/studio/quick_response/scenarios/run", json={"tables": tables}).get_json()
    assert body["failed"] == 3
    body = owner.post("/studio/quick_response/scenarios/run",
                      json={"tables": tables, "scenarios": {FILE: edited(HIGH_RESPONSE_1H_EDITS)}}).get_json()
    assert body["failed"] == 0


def test_a_broken_scenario_text_is_one_failed_result_naming_the_problem(owner):
    body = owner.post("/studio/quick_response/scenarios/run", json={"scenarios": {FILE: "scenarios: ["}}).get_json()
    assert body["failed"] == 1 and body["results"][0]["scenario"] == "" and "YAML" in body["results"][0]["message"]


@pytest.mark.parametrize("body, field", [
    ({"scenarios": {"../x.scenarios.yaml": "a"}}, "scenarios.../x.scenarios.yaml"),
    ({"scenarios": {"notes.txt": "a"}}, "scenarios.notes.txt"),
    ({"scenarios": {FILE: 5}}, f"scenarios.{FILE}"),
    ({"scenarios": ["a"]}, "scenarios"),
    ({"tables": {"other.dmn": "<x/>"}}, "tables.other.dmn"),
    ({"xml": "  "}, "xml"),
    ({"xml": "<x/>", "extra": 1}, "extra"),
])
def test_bad_run_requests_are_field_errors(owner, body, field):
    response = owner.post("/studio/quick_response/scenarios/run", json=body)
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_a_deploy_whose_scenarios_fail_is_refused_and_deploys_nothing(owner):
    before = newest().version
    owner.put("/studio/quick_response/draft", json={"xml": window_15()})
    response = owner.post("/studio/quick_response/deploy", json={"comment": "15分钟"})
    assert response.status_code == 422
    body = response.get_json()
    assert "场景" in body["error"]
    [problem] = body["problems"]
    assert (problem["file"], problem["element"]) == (FILE, f"scenario '{LAPSE}'")
    assert "advance" in problem["field"] and "reassign_ticket" in problem["message"]
    db.session.expire_all()
    assert newest().version == before and db.session.get(StudioDraft, "quick_response").bpmn_xml == window_15()


def test_saved_scenarios_are_the_drafts_and_deploy_with_the_version(owner):
    before = newest()
    owner.put("/studio/quick_response/draft", json={"xml": window_15()})
    saved = studio_scenarios.save(owner, edited(WINDOW_15_EDITS)).get_json()
    assert saved["files"] == [FILE]
    shown = owner.get("/studio/quick_response/diagram").get_json()
    assert shown["scenarios"] == {FILE: edited(WINDOW_15_EDITS)} and shown["scenarios_draft"] is True
    assert owner.post("/studio/quick_response/scenarios/run", json={}).get_json()["failed"] == 0  # the saved ones
    response = owner.post("/studio/quick_response/deploy", json={"comment": "15分钟"})
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    assert newest().version == before.version + 1 and newest().scenarios == {FILE: edited(WINDOW_15_EDITS)}
    shown = owner.get("/studio/quick_response/diagram").get_json()
    assert shown["scenarios"] == {FILE: edited(WINDOW_15_EDITS)} and shown["scenarios_draft"] is False
    # the older version keeps its own
    assert owner.get(f"/studio/quick_response/diagram?version={before.version}").get_json()["scenarios"] == \
        {FILE: shipped_scenarios()}


def test_a_table_draft_deploy_runs_the_scenarios(owner):
    before = newest().version
    table = high_1h(newest().dmn_xml["sla_by_urgency.dmn"])
    owner.put("/studio/quick_response/decisions/sla_by_urgency.dmn", json={"xml": table})
    refused = owner.post("/studio/quick_response/deploy", json={"comment": "1小时"})
    assert refused.status_code == 422 and len(refused.get_json()["problems"]) == 3
    studio_scenarios.save(owner, edited(HIGH_RESPONSE_1H_EDITS))
    assert owner.post("/studio/quick_response/deploy", json={"comment": "1小时"}).status_code == 201
    db.session.expire_all()
    assert newest().version == before + 1 and '"PT1H"' in newest().dmn_xml["sla_by_urgency.dmn"]


def test_a_rollback_whose_scenarios_fail_is_refused(app, owner):
    first = newest()
    owner.put("/studio/quick_response/draft", json={"xml": window_15()})
    studio_scenarios.save(owner, edited(WINDOW_15_EDITS))
    assert owner.post("/studio/quick_response/deploy", json={"comment": "15"}).status_code == 201
    db.session.expire_all()
    first = db.session.get(ProcessDefinition, first.id)
    first.scenarios = {FILE: edited(WINDOW_15_EDITS)}  # scenarios that do not hold for the 30-minute window
    db.session.commit()
    response = owner.post(f"/studio/quick_response/versions/{first.version}/rollback", data={"comment": "恢复"},
                          follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "场景" in page and LAPSE.replace("'", "&#39;") in page
    db.session.expire_all()
    assert newest().version == first.version + 1


def test_only_owners_and_admins_save_or_run_scenarios(app):
    client = app.test_client()
    assert client.post("/login", data={"username": "supervisor1", "password": PASSWORD}).status_code == 302
    assert client.post("/studio/quick_response/scenarios/run", json={}).status_code == 403
    assert client.put("/studio/quick_response/scenarios", json={"scenarios": {FILE: "x"}}).status_code == 403
    assert db.session.get(StudioDraft, "quick_response") is None
