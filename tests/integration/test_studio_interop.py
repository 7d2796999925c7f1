"""Opening .bpmn files made elsewhere in the studio (app/studio/imports.py, interop.py): as the draft of a deployed
process or as a new process, Camunda Modeler and spiff-arena files converted to the engine's extensions, the new
process deployed as version 1 through the studio's deploy gate, and a ticket run through it. Real SQLite, real
engine."""
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from lxml import etree
from sqlalchemy import select

from app.auth.models import User
from app.auth.principal import load_principal
from app.customers.models import Customer
from app.engine import ProcessDefinition
from app.engine.validation.model import NS, extension_properties
from app.extensions import db
from app.studio import interop, juel
from app.studio.models import StudioDraft
from app.tickets import service as tickets
from app.tickets.flow import engine
from app.tickets.models import Ticket
from app.timers.service import fire_due_timers
from tests.conftest import Api
from tests.integration.test_studio import log_in, shipped

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "interop"
ROLES = frozenset({"agent", "handler", "supervisor", "owner", "admin"})
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)


def fixture(name):
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def owner(app, client):
    return log_in(app, client, "owner1")


def upload(client, url, data, filename="diagram.bpmn"):
    return client.post(url, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def flashes(client):
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def deploy(client, name, comment="从文件导入"):
    return client.post(f"/studio/{name}/deploy", json={"comment": comment})


# ------------------------------------------------------------------------------------------ conversion (unit)

def converted(name_or_text, roles=ROLES):
    text = name_or_text if name_or_text.lstrip().startswith("<") else (FIXTURES / name_or_text).read_text("utf-8")
    result = interop.convert(text, roles)
    return result, etree.fromstring(result.xml.encode())


def element(root, element_id):
    return root.xpath("//*[@id=$id]", id=element_id)[0]


def test_juel_expressions_become_python():
    assert juel.to_python('${urgency == "high" && !empty contact_note}') == 'urgency == "high" and not not contact_note'
    assert juel.to_python("${amount gt 100 || vip eq true}") == "amount > 100 or vip == True"
    assert juel.to_python("${x != null}") == "x != None"
    assert juel.to_python("urgency == 'high'") is None  # not JUEL
    assert juel.to_python("${execution.getVariable('a') +}") is None  # does not compile
    assert juel.timer_to_python("PT30M") == '"PT30M"' and juel.timer_to_python('"PT30M"') == '"PT30M"'
    assert juel.timer_to_python("${due}") == "due" and juel.timer_to_python("2026-07-01T09:00:00Z") == \
        '"2026-07-01T09:00:00Z"'
    assert juel.value_to_python("demo") == '"demo"' and juel.value_to_python("${assignee}") == "assignee"


def test_a_camunda_modeler_file_is_converted_to_the_spiff_extensions(app):
    result, root = converted("camunda_complaint.bpmn")
    assert result.source == "camunda" and not result.problems
    assert "camunda.org/schema/1.0/bpmn" not in result.xml  # nothing of Camunda's extensions is left
    task = element(root, "Activity_call_back")
    assert extension_properties(task) == {"formJsonSchemaFilename": "accept_ticket.json", "assignee": "assignee",
                                          "department": "department"}
    assert task.find("bpmn:extensionElements/spiffworkflow:preScript", NS).text == 'status = "processing"'
    assert task.find("bpmn:extensionElements/spiffworkflow:postScript", NS).text == \
        "handled_by = assignee\ncalled_back_at = now_iso()"
    assert element(root, "Activity_route").find("bpmn:extensionElements/spiffworkflow:calledDecisionId",
                                                NS).text == "route_by_type"
    assert extension_properties(element(root, "Activity_follow_up")) == {
        "formJsonSchemaFilename": "review_overdue.json"}
    lanes = {lane.get("name"): [r.text for r in lane.findall("bpmn:flowNodeRef", NS)]
             for lane in root.iter("{%s}lane" % NS["bpmn"])}
    assert lanes == {"handler": ["Activity_call_back"], "supervisor": ["Activity_follow_up"]}
    assert root.find(".//bpmn:timeDuration", NS).text == '"PT30M"'
    assert element(root, "Flow_urgent").find("bpmn:conditionExpression", NS).text == \
        'urgency == "high" and not not contact_note'
    assert {n.element for n in result.notes} == {"Activity_call_back", "Activity_follow_up"}  # the new lanes


def test_what_the_engine_cannot_run_is_a_problem_naming_its_element(app):
    result, _root = converted("camunda_java_service.bpmn")
    assert [(p.element, p.field) for p in result.problems] == [("Activity_send_mail", "camunda:class")]
    assert "com.example.desk.SendMailDelegate" in result.problems[0].message
    text = (FIXTURES / "camunda_complaint.bpmn").read_text("utf-8")
    cases = {
        'scriptFormat="python"': ('scriptFormat="javascript"', ("Activity_assign", "scriptFormat")),
        'camunda:decisionRef="route_by_type"': ('camunda:type="external" camunda:topic="route"',
                                                ("Activity_route", "camunda:type")),
        '<camunda:executionListener event="end">': ('<camunda:executionListener event="take">',
                                                    ("Activity_call_back", "camunda:executionListener")),
        '<camunda:properties>': ('<camunda:connector><camunda:connectorId>http-connector</camunda:connectorId>'
                                 '</camunda:connector><camunda:properties>',
                                 ("Activity_call_back", "camunda:connector")),
        "${assignee}</camunda:outputParameter>": ("${a.b(}</camunda:outputParameter>",
                                                   ("Activity_call_back", "camunda:outputParameter")),
    }
    for old, (new, where) in cases.items():
        assert old in text
        result = interop.convert(text.replace(old, new, 1), ROLES)
        assert (result.problems[0].element, result.problems[0].field) == where, (new, result.problems)


def test_candidate_groups_that_name_no_role_and_an_existing_lane(app):
    text = (FIXTURES / "camunda_complaint.bpmn").read_text("utf-8")
    result, root = converted(text.replace('camunda:candidateGroups="supervisor"', 'camunda:candidateGroups="managers"'))
    assert any(n.element == "Activity_follow_up" and "managers" in n.message for n in result.notes)
    assert [lane.get("name") for lane in root.iter("{%s}lane" % NS["bpmn"])] == ["handler"]
    assert not result.problems  # the deploy validation reports the task without a lane on its element


def test_a_spiff_arena_file_is_kept_as_it_is_with_notes_for_what_is_not_used(app):
    text = (FIXTURES / "spiff_callback.bpmn").read_text("utf-8")
    result = interop.convert(text, ROLES)
    assert result.source == "spiffworkflow" and result.xml == text and not result.problems
    assert sorted((n.element, n.field) for n in result.notes) == [
        ("Activity_assign", "unitTests"), ("Activity_call_back", "formUiSchemaFilename"),
        ("Activity_call_back", "instructionsForEndUser")]
    operator = text.replace("<bpmn:businessRuleTask id=\"Activity_route\" name=\"确定部门\">",
                            "<bpmn:serviceTask id=\"Activity_route\" name=\"确定部门\">", 1)
    operator = operator.replace("<spiffworkflow:calledDecisionId>route_by_type</spiffworkflow:calledDecisionId>",
                                '<spiffworkflow:serviceTaskOperator id="http/GetRequest" />', 1)
    operator = operator.replace("</bpmn:businessRuleTask>", "</bpmn:serviceTask>", 1)
    assert [(p.element, p.field) for p in interop.convert(operator, ROLES).problems] == [
        ("Activity_route", "serviceTaskOperator")]


# ------------------------------------------------------------------------------------------ endpoints

def test_a_spiff_arena_file_opens_as_a_new_process_and_deploys_as_version_1(app, owner):
    response = upload(owner, "/studio/import", fixture("spiff_callback.bpmn"), "spiff_callback.bpmn")
    assert response.status_code == 302 and response.headers["Location"].endswith("/studio/spiff_callback")
    assert any("instructionsForEndUser" in m for m in flashes(owner))
    draft = db.session.get(StudioDraft, "spiff_callback")
    assert draft.base_version == 0 and draft.saved_by == "owner1"
    assert "spiff_callback" in owner.get("/studio").get_data(as_text=True)  # listed as a new process
    page = owner.get("/studio/spiff_callback")
    assert page.status_code == 200 and 'href="/studio/spiff_callback/versions"' not in page.get_data(as_text=True)
    body = owner.get("/studio/spiff_callback/diagram").get_json()
    assert body["new"] is True and body["source"] == "draft" and body["newest"] == 0 and body["scenarios"] == {}
    assert owner.post("/studio/spiff_callback/validate", json={"xml": body["xml"]}).get_json()["problems"] == []
    deployed = deploy(owner, "spiff_callback")
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["version"] == 1
    definition = db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.name == "spiff_callback"))
    assert definition.filename == "spiff_callback.bpmn" and "route_by_type.dmn" in definition.dmn_xml
    assert set(definition.forms) == {"accept_ticket.json", "review_overdue.json"}
    assert db.session.get(StudioDraft, "spiff_callback") is None
    assert owner.get("/studio/spiff_callback/diagram").get_json()["new"] is False
    api = Api(app.test_client())
    with time_machine.travel(NOW, tick=False):
        number = new_ticket("spiff_callback")
        task = api.task_for("engineer1", number, "Activity_call_back")  # the handler lane, pick_assignee's choice
        assert task["assignee"] == "engineer1"
        instance = db.session.scalar(select(Ticket.process_instance_id).where(Ticket.number == number))
        assert engine().process_data(instance)["status"] == "processing"  # the pre-script ran
        assert api.complete("engineer1", number, "Activity_call_back", contact_note="已回访")["open_tasks"] == []
        assert engine().process_data(instance)["called_back_at"]  # the post-script ran


def new_ticket(process, urgency="high"):
    agent = load_principal(db.session.scalar(select(User.id).where(User.username == "agent1")))
    customer = db.session.scalar(select(Customer.number).order_by(Customer.id))
    return tickets.create_ticket(data={"customer_number": customer, "type": "complaint", "urgency": urgency,
                                       "channel": "phone", "description": "回访：设备无法启动"},
                                 actor=agent, process=process)


def test_a_camunda_file_opens_deploys_and_a_ticket_runs_through_it(app, owner):
    response = upload(owner, "/studio/import", fixture("camunda_complaint.bpmn"), "camunda_complaint.bpmn")
    assert response.status_code == 302 and response.headers["Location"].endswith("/studio/camunda_complaint")
    assert deploy(owner, "camunda_complaint").status_code == 201
    api = Api(app.test_client())
    with time_machine.travel(NOW, tick=False):
        number = new_ticket("camunda_complaint")
        ticket = api.ticket(number)
        assert [t["name"] for t in ticket["open_tasks"]] == ["Activity_call_back"]
        assert ticket["open_tasks"][0]["assignee"] == "engineer1"  # camunda:assignee="${assignee}"
        instance = db.session.scalar(select(Ticket.process_instance_id).where(Ticket.number == number))
        assert engine().process_data(instance)["status"] == "processing"  # the input parameter, as pre-script
        done = api.complete("engineer1", number, "Activity_call_back", contact_note="已电话回访客户")
        assert done["open_tasks"] == []
        data = engine().process_data(instance)
        assert data["handled_by"] == "engineer1" and data["called_back_at"]  # output parameter, end listener
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):  # the 30-minute timer of a second ticket
        late = new_ticket("camunda_complaint")
    with time_machine.travel(NOW + timedelta(minutes=32), tick=False):
        fire_due_timers()
        api.tokens.clear()
        assert [t["name"] for t in api.ticket(late)["open_tasks"]] == ["Activity_follow_up"]


def test_a_file_opens_as_the_draft_of_its_deployed_process(app, owner):
    xml = shipped().replace('"PT30M"', '"PT20M"', 1).encode()
    response = upload(owner, "/studio/quick_response/import", xml, "quick_response.bpmn")
    assert response.status_code == 302 and response.headers["Location"].endswith("/studio/quick_response")
    body = owner.get("/studio/quick_response/diagram").get_json()
    assert body["source"] == "draft" and '"PT20M"' in body["xml"] and body["new"] is False


def test_refusals_name_what_is_wrong_and_save_nothing(app, owner):
    cases = [
        ("/studio/quick_response/import", fixture("spiff_callback.bpmn"), "x.bpmn",
         ["'spiff_callback'", "'quick_response'"]),
        ("/studio/import", shipped().encode(), "quick_response.bpmn", ["'quick_response'", "已发布"]),
        ("/studio/import", b"<bpmn:definitions", "broken.bpmn", ["line 1"]),
        ("/studio/import", b"<notbpmn/>", "other.bpmn", ["bpmn:definitions"]),
        ("/studio/import", b"x" * 2_000_001, "big.bpmn", ["2000000"]),
        ("/studio/import", "不是UTF-8".encode("gbk"), "gbk.bpmn", ["UTF-8"]),
        ("/studio/import", fixture("spiff_callback.bpmn"), "notes.txt", [".bpmn"]),
        ("/studio/import", b"", "", [".bpmn"]),
        ("/studio/import", fixture("camunda_java_service.bpmn"), "java.bpmn",
         ["Activity_send_mail", "camunda:class", "SendMailDelegate"]),
    ]
    before = db.session.scalars(select(StudioDraft.name)).all()
    for url, data, filename, words in cases:
        response = upload(owner, url, data, filename)
        assert response.status_code == 302, (filename, response.status_code)
        text = " ".join(flashes(owner))
        assert all(word in text for word in words), (filename, text)
        with owner.session_transaction() as session:
            session.pop("_flashes", None)
    db.session.expire_all()
    assert db.session.scalars(select(StudioDraft.name)).all() == before
    assert db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.name == "camunda_notify")) is None


def test_a_new_process_must_pass_the_deploy_gate_and_can_be_discarded(app, owner):
    text = fixture("spiff_callback.bpmn").decode().replace("accept_ticket.json", "no_such_form.json")
    upload(owner, "/studio/import", text.encode(), "spiff_callback.bpmn")
    refused = deploy(owner, "spiff_callback")
    assert refused.status_code == 422
    assert [p["element"] for p in refused.get_json()["problems"]] == ["Activity_call_back"]
    assert db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.name == "spiff_callback")) is None
    assert owner.delete("/studio/spiff_callback/draft").status_code == 200
    assert owner.get("/studio/spiff_callback").status_code == 404


def test_only_owners_open_files(app, client):
    log_in(app, client, "agent1")
    assert upload(client, "/studio/import", fixture("spiff_callback.bpmn")).status_code == 403
    assert upload(client, "/studio/quick_response/import", shipped().encode()).status_code == 403
    assert db.session.get(StudioDraft, "spiff_callback") is None
