"""Form rules shared by pages and API: choices of reference fields, the department of an assignee, blank text,
formats and future times, unknown fields. Every form in forms/ and every API endpoint with a body is walked."""
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine

from app.clock import now
from app.engine import ProcessDefinition, latest_definition_id
from app.errors import ValidationFailed
from app.extensions import db
from app.forms_schema import schema_for, validate_submission, writable_fields
from app.timers.service import fire_due_timers
from tests.integration.test_pages import login, text

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
BLANK = "不能为空（不能只填空格）。"
UNKNOWN = "未知字段。"
FORMS_DIR = Path(__file__).resolve().parents[2] / "forms"
HANDLERS = {"service1": "customer_service", "engineer1": "after_sales", "product1": "product"}


def page_error(page, field):
    """The message the page shows under `field`, or None."""
    found = re.search(rf'id="err-{field}">([^<]*)<', page)
    return found.group(1) if found else None


def deployed_forms():
    """Every form of the newest deployed version of each shipped process."""
    forms = {}
    for process in ("quick_response", "satisfaction_survey", "service_request", "customer_onboarding", "customer_care",
                    "after_sales"):
        forms.update(db.session.get(ProcessDefinition, latest_definition_id(process)).forms)
    return forms


# ------------------------------------------------------------------------------ every form, generically

PATTERN_SAMPLES = {"^[0-9A-HJ-NPQRTUWXY]{18}$": "91310000MA1FL8XQ3B",  # a unified social credit code
                   "^1[0-9]{10}$": "13800138000"}  # a mobile number


def filled(schema, context):
    """A valid submission of `schema`: the first choice of each list, text long enough, a time tomorrow."""
    resolved = schema_for(schema, context)
    data = {}
    for name in writable_fields(resolved):
        prop = resolved["properties"][name]
        if prop.get("type") == "boolean":
            data[name] = prop.get("default", False)
        elif prop.get("x-ref") == "user" and prop.get("x-in-department"):
            field = prop["x-in-department"]
            department = data.get(field) or context.get(field)
            data[name] = next(c["const"] for c in prop["oneOf"] if c.get("x-department") == department)
        elif "default" in prop:
            data[name] = prop["default"]
        elif prop.get("oneOf"):
            data[name] = prop["oneOf"][0]["const"]
        elif prop.get("format") == "date-time":
            data[name] = (now() + timedelta(days=1)).isoformat()
        elif prop.get("format") == "date":
            data[name] = now().date().isoformat()
        elif prop.get("examples"):
            data[name] = prop["examples"][0]
        elif prop.get("pattern") in PATTERN_SAMPLES:
            data[name] = PATTERN_SAMPLES[prop["pattern"]]
        else:
            data[name] = "合格的内容".ljust(prop.get("minLength", 1), "好")
    return data


def required_texts(schema):
    """(field, data that makes it required) for every required string field, conditional ones included."""
    found = [(name, {}) for name in schema.get("required", [])]
    condition = schema.get("if", {})
    first = condition.get("anyOf", [condition])[0].get("properties", {})  # one branch that makes `then` apply
    when = {k: v["const"] if "const" in v else v["enum"][0] for k, v in first.items() if "const" in v or "enum" in v}
    found += [(name, when) for name in schema.get("then", {}).get("required", [])]
    otherwise = {k: not v for k, v in when.items() if isinstance(v, bool)}
    found += [(name, otherwise) for name in schema.get("else", {}).get("required", [])]
    return [(name, when) for name, when in found if schema["properties"][name].get("type") == "string"]


def test_every_form_refuses_blank_required_text_trims_and_refuses_unknown_fields(app):
    forms = deployed_forms()
    assert set(forms) == {p.name for p in FORMS_DIR.glob("*.json")}  # every form file is walked
    context = {"department": "after_sales", "assignee": "engineer1"}
    walked = 0
    with app.test_request_context():
        for filename, schema in sorted(forms.items()):
            base = filled(schema, context)
            assert validate_submission(schema, base, context), filename
            for field, when in required_texts(schema):
                prop = schema["properties"][field]
                free_text = not any(k in prop for k in ("x-ref", "oneOf", "enum", "format")) \
                    and prop.get("pattern", "\\S") == "\\S"  # a shaped code (credit code, phone) is no free text
                walked += free_text
                for blank in ("   ", "\t\n ", "\u3000"):  # ideographic space too
                    with pytest.raises(ValidationFailed) as refused:
                        validate_submission(schema, {**base, **when, field: blank}, context)
                    assert refused.value.errors == {field: BLANK}, (filename, field)
                if free_text:
                    kept = validate_submission(schema, {**base, **when, field: "  值得保存的内容 \n"}, context)
                    assert kept[field] == "值得保存的内容", (filename, field)
            with pytest.raises(ValidationFailed) as refused:
                validate_submission(schema, {**base, "bogus": 1}, context)
            assert refused.value.errors == {"bogus": UNKNOWN}
    assert walked == 45  # after-sales: 14 (product model, place, symptom, contact note, on-the-spot solution, cause,
    # investigation, proposal, action, solution, progress message, unsatisfied reason, improvement plan, final result);
    # onboarding and care: 8 (comments, reasons, notes, profile texts); contact note, action, solution, 2 reasons, note, unsatisfied reason, improvement plan,
    # review comment; service requests: acceptance note (duplicate), 2 contact notes, emergency measures, plan, action,
    # update message, customer's comment (not accepted), final result; transfer reason, a supporter's result;
    # the reasons of a priority change (service request, after-sales, quick response)


def test_every_format_a_form_uses_is_checked_and_named(app):
    from app.formats import FORMATS, unchecked_formats

    used = set()
    with app.test_request_context():
        for filename, schema in deployed_forms().items():
            assert unchecked_formats(schema) == [], filename
            for name, prop in schema["properties"].items():
                if prop.get("format") and not prop.get("readOnly"):
                    used.add(prop["format"])
                    base = filled(schema, {"department": "after_sales"})
                    for bad in ("2026/12/05 10:00", "明天下午", "2026-12-05T10:00", "2026-02-30T10:00:00+08:00"):
                        with pytest.raises(ValidationFailed) as refused:
                            validate_submission(schema, {**base, name: bad}, {"department": "after_sales"})
                        assert set(refused.value.errors) == {name}, (filename, name, bad)
    assert used and used <= set(FORMATS)


def test_deploy_refuses_a_form_with_a_format_nobody_checks():
    from app.engine.validation.forms import check_schema

    schema = {"type": "object", "properties": {"site": {"type": "string", "format": "uri"}}}
    assert check_schema(schema) == [
        ("properties.site.format", "format 'uri' is not checked; use one of date, date-time, email")]


# ------------------------------------------------------------------- choices served = page = validation

def open_reassign(api):
    """A complaint (routed to after-sales) whose acceptance window lapsed: the reassign task is open."""
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        fire_due_timers()
    api.tokens.clear()  # issued in March; the reassign task waits for no clock
    return number, api.task_for("supervisor1", number, "reassign_ticket")


def page_options(page, field):
    select = re.search(rf'<select id="f-{field}" name="{field}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [v for v in re.findall(r'<option value="([^"]*)"', select) if v]


def test_task_form_lists_the_choices_the_page_offers_and_validation_accepts(client, api):
    number, task = open_reassign(api)
    body = api.get(f"/tasks/{task['id']}", "supervisor1").get_json()
    properties = body["form"]["properties"]
    departments = properties["department"]["oneOf"]
    assignees = properties["assignee"]["oneOf"]
    assert [c["const"] for c in departments] == ["customer_service", "after_sales", "product"]
    assert {c["const"]: c["x-department"] for c in assignees} == HANDLERS  # handlers only: no agents, no supervisors
    assert all(c["title"] for c in departments + assignees)
    assert properties["department"]["default"] == "after_sales"  # the department the ticket is routed to

    login(client, "supervisor1")
    page = text(client.get(f"/tasks/{task['id']}"))
    assert page_options(page, "department") == [c["const"] for c in departments]
    assert page_options(page, "assignee") == [c["const"] for c in assignees]
    assert '<option value="after_sales" selected>' in page
    assert "张工 (engineer1) · 售后部" in page

    refused = api.post(f"/tasks/{task['id']}/complete", "supervisor1",
                       json={"data": {"assignee": "agent1", "reason": "转给客服"}})  # an agent, not a handler
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"assignee": "该用户不具备 部门处理人 角色。"}
    nobody = api.post(f"/tasks/{task['id']}/complete", "supervisor1",
                      json={"data": {"assignee": "engineer1", "department": "moon", "reason": "转给月球"}})
    assert nobody.get_json()["errors"] == {"department": "请从列表中选择部门。"}


@pytest.mark.parametrize("where", ["api", "page"])
def test_reassign_assignee_must_belong_to_the_chosen_or_routed_department(client, api, where):
    number, task = open_reassign(api)

    def submit(**data):
        if where == "api":
            response = api.post(f"/tasks/{task['id']}/complete", "supervisor1", json={"data": data})
            return response.status_code, (response.get_json() or {}).get("errors", {}).get("assignee")
        response = client.post(f"/tasks/{task['id']}", data=data)
        return response.status_code, page_error(text(response), "assignee")

    if where == "page":
        login(client, "supervisor1")
    status, message = submit(department="customer_service", assignee="engineer1", reason="转客服部")
    assert status == 422 and message == "该用户不属于客服部，请选择该部门的人员。"
    status, message = submit(assignee="product1", reason="未选部门：仍在售后部")  # routed: after-sales
    assert status == 422 and message == "该用户不属于售后部，请选择该部门的人员。"
    status, _message = submit(department="product", assignee="product1", reason="转产品部")
    assert status in (200, 302)
    ticket = api.ticket(number)
    assert ticket["department"] == "product" and ticket["assignee"] == "product1"


def test_second_handling_assignee_must_belong_to_the_department(api):
    from tests.integration.test_flow import accept_and_solve

    number = api.new_ticket()["number"]
    accept_and_solve(api, number)
    api.complete("agent1", number, "feedback", method="phone", opinion="unsatisfied")
    task = api.task_for("supervisor1", number, "second_handling")
    data = {"unsatisfied_reason": "故障复现", "improvement_plan": "上门检修"}
    wrong = api.post(f"/tasks/{task['id']}/complete", "supervisor1",
                     json={"data": {**data, "department": "customer_service", "assignee": "engineer1"}})
    assert wrong.status_code == 422 and set(wrong.get_json()["errors"]) == {"assignee"}
    english = api.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {**data, "assignee": "service1"}},
                              headers={**api._headers("supervisor1"), "Accept-Language": "en"})
    assert english.get_json()["errors"]["assignee"] == (
        "This user does not belong to the department After-sales; choose a user of that department.")
    ticket = api.complete("supervisor1", number, "second_handling", **data, department="customer_service",
                          assignee="service1")
    assert ticket["department"] == "customer_service" and ticket["assignee"] == "service1"


@pytest.mark.parametrize("where", ["api", "page"])
def test_redispatch_assignee_must_belong_to_the_department(client, api, where):
    number = api.new_ticket()["number"]  # routed to after-sales

    def submit(**data):
        if where == "api":
            response = api.post(f"/tickets/{number}/redispatch", "supervisor1", json=data)
            return response.status_code, (response.get_json() or {}).get("errors", {})
        response = client.post(f"/tickets/{number}/redispatch", data=data)
        page = text(response)
        return response.status_code, {f: page_error(page, f) for f in ("assignee", "reason") if page_error(page, f)}

    if where == "page":
        login(client, "supervisor1")
        page = text(client.get(f"/tickets/{number}"))
        assert page_options(page, "assignee") == sorted(HANDLERS)
        assert '<option value="after_sales" selected>' in page
    status, errors = submit(department="customer_service", assignee="engineer1", reason="转客服部")
    assert status == 422 and errors == {"assignee": "该用户不属于客服部，请选择该部门的人员。"}
    status, errors = submit(department="product", assignee="product1", reason="   ")
    assert status == 422 and errors == {"reason": BLANK}
    status, errors = submit(department="product", assignee="product1", reason="  属于产品需求  ")
    assert status in (200, 302), errors
    ticket = api.ticket(number)
    assert ticket["assignee"] == "product1" and ticket["department"] == "product"
    [event] = [h for h in ticket["history"] if h["action"] == "redispatched"]
    assert event["detail"]["data"]["reason"] == "属于产品需求"  # trimmed on save


def test_openapi_lists_redispatch_choices_and_closes_bodies(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    redispatch = schemas["Redispatch"]
    assert redispatch["additionalProperties"] is False
    assert {c["const"] for c in redispatch["properties"]["assignee"]["oneOf"]} == set(HANDLERS)
    assert {c["const"] for c in redispatch["properties"]["department"]["oneOf"]} == set(HANDLERS.values())
    for name in ("Login", "CustomerInput", "CustomerUpdate", "TicketInput", "Redispatch", "Completion"):
        assert schemas[name]["additionalProperties"] is False, name


# ------------------------------------------------------------------------------ times: format, future

@pytest.mark.parametrize("bad", ["2026/12/05 10:00", "明天下午", "2026-03-02T15:00:00+08:60"])
def test_malformed_next_update_time_is_a_field_error_in_api_and_page(client, api, bad):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
        api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
        task = api.task_for("engineer1", number, "handle_ticket")
        data = {"action": "远程排查", "status": "processing", "next_update_at": bad}
        response = api.post(f"/tasks/{task['id']}/complete", "engineer1", json={"data": data})
        assert response.status_code == 422
        assert response.get_json()["errors"] == {"next_update_at": "请输入有效的日期和时间，例如 2026-12-05T10:00:00+08:00。"}
        login(client, "engineer1")
        page = client.post(f"/tasks/{task['id']}", data=data)
        assert page.status_code == 422
        assert page_error(text(page), "next_update_at").startswith("请输入有效的日期和时间")
        assert f'value="{bad}"' in text(page) and ">远程排查</textarea>" in text(page)  # what was typed is kept


def test_next_update_time_must_lie_in_the_future(client, api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
        api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
        task = api.task_for("engineer1", number, "handle_ticket")
        for past in ((T0 - timedelta(minutes=1)).isoformat(), T0.isoformat()):
            response = api.post(f"/tasks/{task['id']}/complete", "engineer1", json={"data": {
                "action": "远程排查", "status": "processing", "next_update_at": past}})
            assert response.status_code == 422
            assert response.get_json()["errors"] == {"next_update_at": "必须是将来的时间。"}
        login(client, "engineer1")
        page = client.post(f"/tasks/{task['id']}", data={"action": "远程排查", "status": "processing",
                                                         "next_update_at": "2026-03-02T08:59"})  # 1 minute ago
        assert page.status_code == 422 and page_error(text(page), "next_update_at") == "必须是将来的时间。"
        ticket = api.complete("engineer1", number, "handle_ticket", action="远程排查", status="processing",
                              next_update_at="2026-03-02T09:01:00.123456789+08:00")
        assert ticket["next_update_at"] == "2026-03-02T01:01:00.123456+00:00"
        assert fire_due_timers() == 0  # nothing fires at once


# ------------------------------------------------------------------------ every API endpoint with a body

def test_login_refuses_unknown_fields(api):
    response = api.post("/login", json={"username": "agent1", "password": "x", "remember": True})
    assert response.status_code == 422 and response.get_json()["errors"] == {"remember": UNKNOWN}


CUSTOMER = {"name": "苏州新材料", "industry": "manufacturing", "cooperation_start": "2024-01-01",
            "contact_person": "孙工", "phone": "13812345678"}


@pytest.mark.parametrize("method", ["post", "put"])
def test_customer_bodies_refuse_blank_text_and_unknown_fields_and_trim(api, method):
    number = api.customer_number()
    send = (lambda body: api.post("/customers", "agent1", json=body)) if method == "post" else \
        (lambda body: api.put(f"/customers/{number}", "agent1", json=body))
    for field in ("name", "contact_person"):
        response = send({**CUSTOMER, field: " \t "})
        assert response.status_code == 422 and response.get_json()["errors"] == {field: BLANK}
    response = send({**CUSTOMER, "vip": True, "created_at": "2026-01-01T00:00:00Z"})
    assert response.status_code == 422 and response.get_json()["errors"] == {"vip": UNKNOWN, "created_at": UNKNOWN}
    response = send({**CUSTOMER, "name": "  苏州新材料  ", "contact_person": " 孙工 ", "email": "  "})
    assert response.status_code in (200, 201)
    saved = response.get_json()
    assert (saved["name"], saved["contact_person"], saved["email"]) == ("苏州新材料", "孙工", None)


def test_ticket_body_refuses_blank_text_and_unknown_fields_and_trims(api):
    body = {"customer_number": api.customer_number(), "type": "complaint", "urgency": "high", "channel": "phone",
            "description": "生产线设备无法启动"}
    for field in ("description", "customer_number"):
        response = api.post("/tickets", "agent1", json={**body, field: "     "})
        assert response.status_code == 422 and response.get_json()["errors"] == {field: BLANK}
    response = api.post("/tickets", "agent1", json={**body, "status": "closed"})
    assert response.status_code == 422 and response.get_json()["errors"] == {"status": UNKNOWN}
    response = api.post("/tickets", "agent1", json={**body, "description": "  生产线设备无法启动 \n"})
    assert response.status_code == 201 and response.get_json()["description"] == "生产线设备无法启动"


def test_task_completion_refuses_blank_text_and_unknown_fields_and_trims(api):
    number = api.new_ticket()["number"]
    task = api.task_for("engineer1", number, "accept_ticket")
    url = f"/tasks/{task['id']}/complete"
    response = api.post(url, "engineer1", json={"data": {"contact_note": "   "}})
    assert response.status_code == 422 and response.get_json()["errors"] == {"contact_note": BLANK}
    response = api.post(url, "engineer1", json={"data": {"contact_note": "已联系", "accepted_at": "x"}})
    assert response.status_code == 422 and response.get_json()["errors"] == {"accepted_at": UNKNOWN}
    response = api.post(url, "engineer1", json={"data": {"contact_note": "已联系"}, "comment": "hi"})
    assert response.status_code == 422 and response.get_json()["errors"] == {"comment": UNKNOWN}
    ticket = api.complete("engineer1", number, "accept_ticket", contact_note="  已联系客户  ")
    [done] = [h for h in ticket["history"] if h["action"] == "task_completed"]
    assert done["detail"]["data"] == {"contact_note": "已联系客户"}


def test_redispatch_refuses_unknown_fields(api):
    number = api.new_ticket()["number"]
    response = api.post(f"/tickets/{number}/redispatch", "supervisor1",
                        json={"assignee": "engineer1", "reason": "再提醒", "urgency": "low"})
    assert response.status_code == 422 and response.get_json()["errors"] == {"urgency": UNKNOWN}


# ------------------------------------------------------------------------------------ every page form

def test_pages_refuse_blank_required_text_naming_the_field_and_keep_input(client, api):
    number = api.customer_number()
    ticket = api.new_ticket()["number"]
    accept = api.task_for("engineer1", ticket, "accept_ticket")
    customer = {**CUSTOMER, "email": ""}
    cases = [
        ("agent1", "/customers/new", {**customer, "name": "   "}, "name"),
        ("agent1", "/customers/new", {**customer, "contact_person": "\u3000"}, "contact_person"),
        ("agent1", f"/customers/{number}/edit", {**customer, "name": " "}, "name"),
        ("agent1", f"/customers/{number}/tickets/new",
         {"description": "      ", "type": "complaint", "urgency": "high", "channel": "phone"}, "description"),
        ("engineer1", f"/tasks/{accept['id']}", {"contact_note": "   "}, "contact_note"),
        ("supervisor1", f"/tickets/{ticket}/redispatch",
         {"department": "product", "assignee": "product1", "reason": "  "}, "reason"),
    ]
    for user, url, data, field in cases:
        login(client, user)
        response = client.post(url, data=data)
        page = text(response)
        assert response.status_code == 422, url
        assert page_error(page, field) == BLANK, (url, field)
        client.post("/logout")
    login(client, "agent1")
    page = text(client.post("/customers/new", data={**customer, "name": "   ", "contact_person": "孙工很忙"}))
    assert 'value="孙工很忙"' in page  # the rest of what was typed is kept
    done = client.post("/customers/new", data={**customer, "name": "  苏州新材料  "})
    assert done.status_code == 302
    saved = api.get(f"/customers/{done.headers['Location'].rsplit('/', 1)[-1]}", "agent1").get_json()
    assert saved["name"] == "苏州新材料"
