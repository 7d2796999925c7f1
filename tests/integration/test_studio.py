"""The process owner studio: open a deployed diagram, save a draft, validate it (problems name their element),
deploy it as a new version with author and comment, roll back, and who may do it. Real SQLite, real engine."""
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from app.clock import as_utc
from app.database import deploy_workflows
from app.engine import PendingTimer, ProcessDefinition, ProcessInstance
from app.extensions import db
from app.studio.models import StudioDraft
from app.tickets.models import Ticket
from tests import studio_scenarios
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
TIMER = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT30M"</bpmn:timeDuration>'


def shipped():
    return (ROOT / "workflows" / "quick_response.bpmn").read_text(encoding="utf-8")


def with_timer(xml, value):
    assert TIMER in xml
    return xml.replace(TIMER, f'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{value}</bpmn:timeDuration>')


def log_in(app, client, user):
    with app.app_context():
        response = client.post("/login", data={"username": user, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def owner(app, client):
    return log_in(app, client, "owner1")


def newest():
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.name == "quick_response")
                             .order_by(ProcessDefinition.version.desc()).limit(1))


def test_the_modeler_page_and_the_diagram(owner):
    page = owner.get("/studio/quick_response")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "/vendor/bpmn-js/bpmn-modeler.production.min.js" in text and 'name="csrf-token"' in text
    assert "accept_ticket.json" in text and "route_by_type" in text  # the panel's form and decision choices
    body = owner.get("/studio/quick_response/diagram").get_json()
    assert body["source"] == "version" and body["version"] == body["newest"] == newest().version
    assert body["xml"] == newest().bpmn_xml
    home = owner.get("/studio").get_data(as_text=True)
    assert "quick_response" in home and "/studio/quick_response/versions" in home


def test_unknown_process_and_version_are_404(owner):
    assert owner.get("/studio/nope/diagram").status_code == 404
    assert owner.get("/studio/quick_response/diagram?version=99").get_json()["error"]
    assert owner.get("/studio/nope").status_code == 404


def test_a_saved_draft_is_what_the_studio_opens_and_discard_drops_it(owner):
    xml = with_timer(shipped(), '"PT15M"')
    saved = owner.put("/studio/quick_response/draft", json={"xml": xml})
    assert saved.status_code == 200 and saved.get_json()["saved_by"] == "owner1"
    body = owner.get("/studio/quick_response/diagram").get_json()
    assert body["source"] == "draft" and '"PT15M"' in body["xml"] and body["draft_saved_by"] == "owner1"
    assert newest().version == body["newest"]  # nothing deployed by a save
    assert owner.delete("/studio/quick_response/draft").status_code == 200
    assert owner.get("/studio/quick_response/diagram").get_json()["source"] == "version"


def test_an_empty_draft_is_refused_with_a_field_message(owner):
    response = owner.put("/studio/quick_response/draft", json={"xml": "  "})
    assert response.status_code == 422 and "xml" in response.get_json()["errors"]
    assert owner.put("/studio/quick_response/draft", data="x").status_code == 422


def test_validate_maps_each_problem_to_its_element(owner):
    broken = with_timer(shipped(), '"PT30 minutes"')
    broken = broken.replace("solution_ready == True or status", "solution_ready == = True or status")
    problems = owner.post("/studio/quick_response/validate", json={"xml": broken}).get_json()["problems"]
    where = {(p["element"], p["field"]) for p in problems}
    assert ("accept_timeout", "timeDuration") in where
    assert ("flow_solved", "conditionExpression") in where
    assert all(p["file"] == "workflows/quick_response.bpmn" and p["message"] for p in problems)
    ok = owner.post("/studio/quick_response/validate", json={"xml": with_timer(shipped(), '"PT15M"')})
    assert ok.get_json() == {"problems": []}


def test_a_form_that_does_not_exist_is_a_problem_of_the_user_task(owner):
    xml = shipped().replace('value="reassign_ticket.json"', 'value="missing.json"')
    problems = owner.post("/studio/quick_response/validate", json={"xml": xml}).get_json()["problems"]
    assert [(p["element"], p["field"]) for p in problems] == [("reassign_ticket", "formJsonSchemaFilename")]


def test_a_changed_process_id_is_refused(owner):
    xml = shipped().replace('id="quick_response"', 'id="other_process"').replace(
        'processRef="quick_response"', 'processRef="other_process"')
    problems = owner.post("/studio/quick_response/validate", json={"xml": xml}).get_json()["problems"]
    assert [(p["element"], p["field"]) for p in problems] == [("other_process", "id")]


def test_deploy_refuses_a_draft_with_problems_and_deploys_nothing(owner):
    before = newest().version
    owner.put("/studio/quick_response/draft", json={"xml": with_timer(shipped(), '"soon"')})
    response = owner.post("/studio/quick_response/deploy", json={"comment": "shorter window"})
    assert response.status_code == 422
    assert [(p["element"], p["field"]) for p in response.get_json()["problems"]] == [("accept_timeout", "timeDuration")]
    db.session.expire_all()
    assert newest().version == before
    assert db.session.get(StudioDraft, "quick_response") is not None  # the work is kept


def test_deploy_creates_a_version_with_author_and_comment_used_by_new_tickets(owner, api):
    before = newest().version
    owner.put("/studio/quick_response/draft", json={"xml": with_timer(shipped(), '"PT15M"')})
    studio_scenarios.save(owner, studio_scenarios.edited(studio_scenarios.WINDOW_15_EDITS))
    assert owner.post("/studio/quick_response/deploy", json={"comment": ""}).status_code == 422  # comment required
    response = owner.post("/studio/quick_response/deploy", json={"comment": "受理窗口缩短为15分钟"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == before + 1
    db.session.expire_all()
    definition = newest()
    assert (definition.version, definition.deployed_by, definition.comment) == (before + 1, "owner1", "受理窗口缩短为15分钟")
    assert '"PT15M"' in definition.bpmn_xml and set(definition.forms) and set(definition.dmn_xml)
    assert db.session.get(StudioDraft, "quick_response") is None
    # nothing to deploy without a draft; a new ticket starts on the new version with the 15-minute window
    assert owner.post("/studio/quick_response/deploy", json={"comment": "again"}).status_code == 409
    with time_machine.travel(NOW, tick=False):
        ticket = api.new_ticket()
    api.task_for("engineer1", ticket["number"], "accept_ticket")
    instance = db.session.scalar(select(ProcessInstance).join(Ticket, Ticket.process_instance_id == ProcessInstance.id)
                                 .where(Ticket.number == ticket["number"]))
    assert instance.definition_id == definition.id
    due = {as_utc(t.due_at) for t in db.session.scalars(select(PendingTimer).where(
        PendingTimer.instance_id == instance.id))}
    assert NOW + timedelta(minutes=15) in due and NOW + timedelta(minutes=30) not in due


def test_a_draft_equal_to_the_newest_version_is_not_deployed(owner):
    owner.put("/studio/quick_response/draft", json={"xml": newest().bpmn_xml})
    response = owner.post("/studio/quick_response/deploy", json={"comment": "nothing"})
    assert response.status_code == 409 and response.get_json()["error"]


def test_rollback_deploys_an_earlier_version_again_as_the_newest_and_is_logged(app, owner):
    first = newest()
    owner.put("/studio/quick_response/draft", json={"xml": with_timer(shipped(), '"PT15M"')})
    studio_scenarios.save(owner, studio_scenarios.edited(studio_scenarios.WINDOW_15_EDITS))
    assert owner.post("/studio/quick_response/deploy", json={"comment": "15 minutes"}).status_code == 201
    refused = owner.post(f"/studio/quick_response/versions/{first.version}/rollback", data={"comment": ""})
    assert refused.status_code == 302
    db.session.expire_all()
    assert newest().version == first.version + 1
    response = owner.post(f"/studio/quick_response/versions/{first.version}/rollback",
                          data={"comment": "客户投诉太多，恢复30分钟"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/studio/quick_response/versions")
    db.session.expire_all()
    restored = newest()
    assert restored.version == first.version + 2 and restored.restored_from == first.version
    assert restored.bpmn_xml == first.bpmn_xml and restored.content_hash == first.content_hash
    assert (restored.deployed_by, restored.comment) == ("owner1", "客户投诉太多，恢复30分钟")
    page = owner.get("/studio/quick_response/versions").get_data(as_text=True)
    assert "客户投诉太多，恢复30分钟" in page and "15 minutes" in page and f"回滚到版本 {first.version}" in page
    # the newest version is not rolled back to
    again = owner.post(f"/studio/quick_response/versions/{restored.version}/rollback", data={"comment": "x"})
    assert again.status_code == 409


def test_deploy_on_start_does_not_undo_a_studio_deploy(app, owner):
    """The file in workflows/ still has the 30-minute window: its content was deployed before, so a start (or
    `flask deploy`) creates no version and the studio's version stays the newest."""
    owner.put("/studio/quick_response/draft", json={"xml": with_timer(shipped(), '"PT15M"')})
    studio_scenarios.save(owner, studio_scenarios.edited(studio_scenarios.WINDOW_15_EDITS))
    assert owner.post("/studio/quick_response/deploy", json={"comment": "15"}).status_code == 201
    db.session.expire_all()
    studio_version = newest().version
    results = deploy_workflows(deployed_by="startup")
    db.session.commit()
    assert not any(created for _definition, created in results)
    assert newest().version == studio_version and '"PT15M"' in newest().bpmn_xml


@pytest.mark.parametrize("user", ["agent1", "supervisor1", "engineer1"])
def test_only_owners_and_admins_use_the_studio(app, client, user):
    log_in(app, client, user)
    assert client.get("/studio").status_code == 403
    assert client.get("/studio/quick_response/diagram").status_code == 403
    assert client.put("/studio/quick_response/draft", json={"xml": shipped()}).status_code == 403
    assert client.post("/studio/quick_response/deploy", json={"comment": "x"}).status_code == 403
    assert db.session.get(StudioDraft, "quick_response") is None
    assert "/studio" not in client.get("/").get_data(as_text=True)


def test_admin_uses_the_studio_and_the_owner_sees_the_link(app, client):
    log_in(app, client, "admin")
    assert client.get("/studio").status_code == 200
    assert 'href="/studio"' in client.get("/").get_data(as_text=True)


def test_decision_tables_page_shows_the_versions_tables(owner):
    page = owner.get("/studio/quick_response/decisions").get_data(as_text=True)
    assert "route_by_type.dmn" in page and "sla_by_urgency.dmn" in page and "dmn-modeler.production.min.js" in page
    assert "/studio/quick_response/decisions/sla_by_urgency.dmn" in page


def test_a_decision_table_draft_is_deployed_with_the_diagram(owner, api):
    """The high urgency's response window from 2 hours to 1 hour in the table: saved, shown, deployed, used."""
    first = newest()
    table = first.dmn_xml["sla_by_urgency.dmn"]
    changed = table.replace('<outputEntry id="sla_high_response"><text>"PT2H"</text>',
                            '<outputEntry id="sla_high_response"><text>"PT1H"</text>')
    assert changed != table
    saved = owner.put("/studio/quick_response/decisions/sla_by_urgency.dmn", json={"xml": changed})
    assert saved.status_code == 200
    assert "草稿" in owner.get("/studio/quick_response/decisions").get_data(as_text=True)
    shown = owner.get("/studio/quick_response/diagram").get_json()
    assert (shown["source"], shown["draft_tables"]) == ("version", ["sla_by_urgency.dmn"])  # the diagram is unchanged
    assert owner.put("/studio/quick_response/decisions/other.dmn", json={"xml": changed}).status_code == 404
    studio_scenarios.save(owner, studio_scenarios.edited(studio_scenarios.HIGH_RESPONSE_1H_EDITS))
    response = owner.post("/studio/quick_response/deploy", json={"comment": "高紧急程度1小时内响应"})
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    deployed = newest()
    assert deployed.version == first.version + 1 and deployed.bpmn_xml == first.bpmn_xml
    assert '"PT1H"' in deployed.dmn_xml["sla_by_urgency.dmn"]
    assert deployed.dmn_xml["route_by_type.dmn"] == first.dmn_xml["route_by_type.dmn"]
    with time_machine.travel(NOW, tick=False):
        ticket = api.new_ticket(urgency="high")
    due = db.session.scalar(select(Ticket.response_due_at).where(Ticket.number == ticket["number"]))
    assert as_utc(due) == NOW + timedelta(hours=1)


def test_a_broken_decision_table_draft_refuses_the_deploy(owner):
    table = newest().dmn_xml["sla_by_urgency.dmn"]
    owner.put("/studio/quick_response/decisions/sla_by_urgency.dmn", json={"xml": table.replace("</definitions>", "")})
    response = owner.post("/studio/quick_response/deploy", json={"comment": "broken"})
    assert response.status_code == 422
    assert [p["file"] for p in response.get_json()["problems"]] == ["workflows/sla_by_urgency.dmn"]


def test_compare_lists_the_elements_changed_between_two_versions(owner):
    first = newest().version
    xml = with_timer(shipped(), '"PT15M"').replace('name="超时改派"', 'name="超时改派处理"')
    xml = xml.replace('<dc:Bounds x="1125" y="420"', '<dc:Bounds x="1135" y="430"')  # a moved shape is no change
    owner.put("/studio/quick_response/draft", json={"xml": xml})
    studio_scenarios.save(owner, studio_scenarios.edited(studio_scenarios.WINDOW_15_EDITS))
    assert owner.post("/studio/quick_response/deploy", json={"comment": "15"}).status_code == 201
    page = owner.get(f"/studio/quick_response/compare?from={first}&to={first + 1}").get_data(as_text=True)
    rows = re.findall(r"<tr><td><code>([^<]+)</code></td><td>([^<]+)</td><td>[^<]*</td><td>([^<]+)</td></tr>", page)
    assert rows == [("accept_timeout", "boundaryEvent", "修改"), ("reassign_ticket", "userTask", "修改")]
    assert f'href="/studio/quick_response/compare?to={first + 1}"' in \
        owner.get("/studio/quick_response/versions").get_data(as_text=True)


def test_changes_name_added_and_removed_elements():
    from app.studio.diff import changes

    old = shipped()
    new = old.replace('<bpmn:endEvent id="end_response" name="升级已处理"><bpmn:incoming>f20</bpmn:incoming></bpmn:endEvent>',
                      '<bpmn:endEvent id="end_response_new" name="升级已处理"><bpmn:incoming>f20</bpmn:incoming>'
                      '</bpmn:endEvent>')
    new = new.replace('<bpmn:flowNodeRef>end_response</bpmn:flowNodeRef>', '<bpmn:flowNodeRef>end_response_new</bpmn:flowNodeRef>')
    found = {(c.element, c.change) for c in changes(old, new)}
    assert found == {("end_response_new", "added"), ("end_response", "removed"), ("lane_supervisor", "changed")}
    assert changes(old, old) == []
