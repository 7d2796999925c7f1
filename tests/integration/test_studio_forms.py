"""The studio's form editor (list, open, draft, preview with the task page's rendering, validation with the field at
fault, deploy as new process versions) and the modeler's lint (bpmnlint with node, and the lane checks).
Real SQLite, the real engine, real node."""
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.auth.models import User, user_roles
from app.database import deploy_workflows
from app.engine import ProcessDefinition
from app.extensions import db
from app.studio.form_models import StudioFormDraft
from tests import studio_scenarios
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def log_in(app, client, user):
    with app.app_context():
        response = client.post("/login", data={"username": user, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def owner(app, client):
    return log_in(app, client, "owner1")


def shipped_form(name="accept_ticket.json"):
    return json.loads((ROOT / "forms" / name).read_text(encoding="utf-8"))


def newest(name="quick_response"):
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.name == name)
                             .order_by(ProcessDefinition.version.desc()).limit(1))


def with_field(schema):
    """accept_ticket.json with a new required choice field (titles in both languages)."""
    schema = json.loads(json.dumps(schema))
    schema["properties"]["contact_channel"] = {
        "type": "string", "title": "联系方式", "x-title-en": "Contact channel",
        "oneOf": [{"const": "phone", "title": "电话", "x-title-en": "Phone"},
                  {"const": "mail", "title": "邮件", "x-title-en": "E-mail"}],
    }
    schema["required"] = schema["required"] + ["contact_channel"]
    return schema


# ------------------------------------------------------------------------------------------------ pages

def test_the_form_list_and_the_editor_page(owner):
    listing = owner.get("/studio/forms")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert "accept_ticket.json" in text and "受理工单" in text and "quick_response" in text
    assert "survey.json" in text and "satisfaction_survey" in text  # a script task's form counts as shown
    page = owner.get("/studio/forms/accept_ticket.json")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'name="csrf-token"' in body and "/studio-forms.js" in body
    assert "contact_note" in body  # the form's text is in the page's config
    assert '/studio/forms"' in owner.get("/studio").get_data(as_text=True)  # the studio links to the forms


def test_an_unknown_form_is_404(owner):
    assert owner.get("/studio/forms/nope.json").status_code == 404
    assert owner.put("/studio/forms/..%2Fsecret.json/draft", json={"text": "{}"}).status_code == 404


# ------------------------------------------------------------------------------------------------ drafts

def test_a_saved_draft_is_what_the_editor_opens_and_discard_drops_it(owner):
    text = json.dumps(with_field(shipped_form()), ensure_ascii=False, indent=2)
    saved = owner.put("/studio/forms/accept_ticket.json/draft", json={"text": text})
    assert saved.status_code == 200 and saved.get_json()["saved_by"] == "owner1"
    draft = db.session.get(StudioFormDraft, "accept_ticket.json")
    assert draft.text == text and draft.saved_by == "owner1"
    assert "contact_channel" in owner.get("/studio/forms/accept_ticket.json").get_data(as_text=True)
    assert "owner1" in owner.get("/studio/forms").get_data(as_text=True)  # the list shows who saved it
    assert newest().forms["accept_ticket.json"] == shipped_form()  # nothing deployed
    assert owner.delete("/studio/forms/accept_ticket.json/draft").status_code == 200
    db.session.expire_all()
    assert db.session.get(StudioFormDraft, "accept_ticket.json") is None


def test_a_draft_that_is_not_a_json_object_is_refused_with_a_field_message(owner):
    response = owner.put("/studio/forms/accept_ticket.json/draft", json={"text": '{"type": "object",'})
    assert response.status_code == 422
    assert "第 1 行" in response.get_json()["errors"]["text"]
    assert owner.put("/studio/forms/accept_ticket.json/draft", json={"text": "[1]"}).status_code == 422
    assert db.session.get(StudioFormDraft, "accept_ticket.json") is None


# ------------------------------------------------------------------------------------------------ preview

def test_the_preview_renders_the_fields_as_the_task_page_does(owner):
    text = json.dumps(with_field(shipped_form()), ensure_ascii=False)
    body = owner.post("/studio/forms/accept_ticket.json/preview", json={"text": text}).get_json()
    html = body["html"]
    assert body["errors"] == {}
    assert "受理工单" in html  # the form's title
    assert 'id="f-contact_note"' in html and "<textarea" in html and 'maxlength="2000"' in html
    assert 'id="f-contact_channel"' in html and 'type="radio" name="contact_channel" value="phone"' in html
    assert "电话" in html and "邮件" in html
    english = owner.post("/studio/forms/accept_ticket.json/preview?lang=en", json={"text": text}).get_json()["html"]
    assert "Contact channel" in english and "Phone" in english


def test_the_preview_offers_the_users_a_reference_field_accepts(owner):
    schema = shipped_form()
    schema["properties"]["helper"] = {"type": "string", "title": "协办人", "x-ref": "user", "x-role": "supervisor"}
    html = owner.post("/studio/forms/accept_ticket.json/preview",
                      json={"text": json.dumps(schema)}).get_json()["html"]
    assert '<select id="f-helper"' in html and 'value="supervisor1"' in html and 'value="agent1"' not in html


def test_the_preview_shows_the_problem_on_its_field(owner):
    schema = shipped_form()
    schema["properties"]["contact_note"]["type"] = "text"  # not a JSON type
    body = owner.post("/studio/forms/accept_ticket.json/preview", json={"text": json.dumps(schema)}).get_json()
    assert body["html"] is None  # not a schema the task page can render
    assert "not a JSON type" in body["errors"]["contact_note"]
    schema = shipped_form()
    schema["properties"]["owner_dept"] = {"type": "string", "title": "部门", "x-ref": "team"}
    body = owner.post("/studio/forms/accept_ticket.json/preview", json={"text": json.dumps(schema)}).get_json()
    assert "unknown kind 'team'" in body["errors"]["owner_dept"]
    assert 'id="err-owner_dept"' in body["html"]  # rendered, with the message on the field


# ------------------------------------------------------------------------------------------------ validate

def test_an_invalid_schema_is_refused_with_the_field_path(owner):
    schema = shipped_form()
    schema["properties"]["contact_note"]["minLength"] = "two"
    problems = owner.post("/studio/forms/accept_ticket.json/validate",
                          json={"text": json.dumps(schema)}).get_json()["problems"]
    assert problems and all(p["property"] == "contact_note" for p in problems)
    assert problems[0]["field"] == "properties.contact_note.minLength"
    assert problems[0]["element"] == "accept_ticket"  # the user task that shows the form


def test_a_required_field_missing_from_properties_is_refused(owner):
    schema = shipped_form()
    schema["required"] = ["contact_note", "callback_time"]
    problems = owner.post("/studio/forms/accept_ticket.json/validate",
                          json={"text": json.dumps(schema)}).get_json()["problems"]
    assert [(p["field"], p["property"]) for p in problems] == [("required", "")]
    assert "callback_time" in problems[0]["message"]


def test_removing_a_field_a_condition_reads_is_refused(owner):
    schema = shipped_form("review_solution.json")
    del schema["properties"]["review_decision"]
    schema["required"] = [r for r in schema.get("required", []) if r != "review_decision"]
    problems = owner.post("/studio/forms/review_solution.json/validate",
                          json={"text": json.dumps(schema)}).get_json()["problems"]
    assert any("review_decision" in p["message"] and p["field"] == "conditionExpression" for p in problems), problems


def test_the_shipped_form_validates(owner):
    text = (ROOT / "forms" / "handle_ticket.json").read_text(encoding="utf-8")
    assert owner.post("/studio/forms/handle_ticket.json/validate", json={"text": text}).get_json() == {"problems": []}


# ------------------------------------------------------------------------------------------------ deploy

def test_deploy_creates_a_new_version_of_the_process_that_shows_the_form(owner, api):
    before = newest()
    survey_before = newest("satisfaction_survey").version
    owner.put("/studio/forms/accept_ticket.json/draft", json={"text": json.dumps(with_field(shipped_form()))})
    assert owner.post("/studio/forms/accept_ticket.json/deploy", json={"comment": ""}).status_code == 422
    # the process's scenarios answer the acceptance without the new required field: the deploy runs them first
    refused = owner.post("/studio/forms/accept_ticket.json/deploy", json={"comment": "受理时记录联系方式"})
    assert refused.status_code == 422 and "contact_channel" in str(refused.get_json()["problems"])
    assert newest().version == before.version
    studio_scenarios.save(owner, studio_scenarios.edited(
        [("accept_ticket: {contact_note: 已电话联系客户}", "accept_ticket: {contact_note: 已电话联系客户, contact_channel: phone}")]))
    response = owner.post("/studio/forms/accept_ticket.json/deploy", json={"comment": "受理时记录联系方式"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["versions"][0]["process"] == "quick_response"
    db.session.expire_all()
    definition = newest()
    assert definition.version == before.version + 1
    assert (definition.deployed_by, definition.comment) == ("owner1", "受理时记录联系方式")
    assert definition.bpmn_xml == before.bpmn_xml and definition.dmn_xml == before.dmn_xml
    assert "contact_channel" in definition.forms["accept_ticket.json"]["properties"]
    assert definition.forms["handle_ticket.json"] == before.forms["handle_ticket.json"]
    assert newest("satisfaction_survey").version == survey_before  # it does not show the form
    assert db.session.get(StudioFormDraft, "accept_ticket.json") is None
    # new tickets show the new field, validated as the form says
    ticket = api.new_ticket()
    task = api.task_for("engineer1", ticket["number"], "accept_ticket")
    refused = api.post(f"/tasks/{task['id']}/complete", "engineer1",
                       json={"data": {"contact_note": "已电话联系"}})
    assert refused.status_code == 422 and "contact_channel" in refused.get_json()["errors"]
    # the editor now opens the deployed form; a studio diagram deploy keeps it; so does the next start
    assert "contact_channel" in owner.get("/studio/forms/accept_ticket.json").get_data(as_text=True)
    owner.put("/studio/quick_response/draft", json={"xml": definition.bpmn_xml.replace("受理工单", "受理工单并联系")})
    assert owner.post("/studio/quick_response/deploy", json={"comment": "改名"}).status_code == 201
    db.session.expire_all()
    assert "contact_channel" in newest().forms["accept_ticket.json"]["properties"]
    deploy_workflows()
    db.session.commit()
    assert "contact_channel" in newest().forms["accept_ticket.json"]["properties"]


def test_deploy_refuses_an_invalid_form_and_deploys_nothing(owner):
    before = newest().version
    schema = shipped_form()
    schema["properties"]["contact_note"]["x-ref"] = "customer"
    owner.put("/studio/forms/accept_ticket.json/draft", json={"text": json.dumps(schema)})
    response = owner.post("/studio/forms/accept_ticket.json/deploy", json={"comment": "坏的引用"})
    assert response.status_code == 422
    body = response.get_json()
    assert "表单有" in body["error"] and "unknown kind 'customer'" in body["errors"]["contact_note"]
    assert body["problems"][0]["field"] == "properties.contact_note.x-ref"
    db.session.expire_all()
    assert newest().version == before and db.session.get(StudioFormDraft, "accept_ticket.json") is not None


def test_deploy_needs_a_draft_that_changes_something(owner):
    assert owner.post("/studio/forms/accept_ticket.json/deploy", json={"comment": "x"}).status_code == 409
    owner.put("/studio/forms/accept_ticket.json/draft", json={"text": json.dumps(shipped_form())})
    assert owner.post("/studio/forms/accept_ticket.json/deploy", json={"comment": "x"}).status_code == 409


@pytest.mark.parametrize("user", ["agent1", "supervisor1"])
def test_only_owners_and_admins_edit_forms(app, client, user):
    log_in(app, client, user)
    assert client.get("/studio/forms").status_code == 403
    assert client.get("/studio/forms/accept_ticket.json").status_code == 403
    assert client.post("/studio/forms/accept_ticket.json/preview", json={"text": "{}"}).status_code == 403


# ------------------------------------------------------------------------------------------------ lint

def test_lint_reports_a_bpmnlint_problem_with_its_element(owner):
    xml = newest().bpmn_xml
    lone = '<bpmn:task id="lonely_task" name="孤立的任务" />'
    xml = xml.replace("</bpmn:process>", lone + "</bpmn:process>", 1)
    response = owner.post("/studio/quick_response/lint", json={"xml": xml})
    assert response.status_code == 200, response.get_json()
    issues = response.get_json()["issues"]
    disconnected = [i for i in issues if i["rule"] == "no-disconnected"]
    assert [i["element"] for i in disconnected] == ["lonely_task"]
    assert disconnected[0]["category"] == "error" and disconnected[0]["message"] == "该元素未连接到流程中。"


def test_lint_of_the_shipped_diagram_and_of_broken_xml(owner):
    issues = owner.post("/studio/quick_response/lint", json={"xml": newest().bpmn_xml}).get_json()["issues"]
    assert {i["rule"] for i in issues} <= {"fake-join"}  # advice only: the shipped diagram has no lint error
    broken = owner.post("/studio/quick_response/lint", json={"xml": "<bpmn:definitions"}).get_json()["issues"]
    assert broken[0]["rule"] == "xml" and broken[0]["element"] == ""


def test_lint_warns_when_nobody_active_holds_a_lanes_role(owner):
    supervisors = select(user_roles.c.user_id).where(user_roles.c.role_code == "supervisor")
    db.session.execute(update(User).where(User.id.in_(supervisors)).values(active=False))
    db.session.commit()
    issues = owner.post("/studio/quick_response/lint", json={"xml": newest().bpmn_xml}).get_json()["issues"]
    lanes = [i for i in issues if i["rule"] == "lane-role-members"]
    assert [i["element"] for i in lanes] == ["lane_supervisor"] and lanes[0]["category"] == "warn"
    assert "客服主管" in lanes[0]["message"]
