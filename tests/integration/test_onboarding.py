"""New-customer onboarding (workflows/onboarding.bpmn, R3-1): registration with onboarding, qualification review
(approve / request more information / refuse with a reason), profile completion, the service agreement uploaded
and confirmed, then the customer is active; its tasks live in the inbox without a ticket; a ticket for a customer
still in onboarding says so (page banner, API field)."""
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from app.customers.models import Customer
from app.extensions import db
from app.tasks.models import HumanTask
from tests.integration.test_pages import login

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
PROFILE = {"registered_address": "上海市浦东新区张江路100号", "credit_code": "91310115MA1K4ABC2X",
           "billing_contact": "钱会计", "billing_phone": "13600136000"}


def register(api, name="苏州新创科技有限公司", **extra):
    body = {"name": name, "industry": "it", "cooperation_start": "2026-03-01", "contact_person": "孙总",
            "phone": "13500135000", "email": "sun@xinchuang.example.cn", "onboarding": True, **extra}
    response = api.post("/customers", "agent1", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def customer_task(api, user, number, name):
    items = api.get("/tasks?limit=200", user).get_json()["items"]
    found = [t for t in items if t["customer_number"] == number and t["name"] == name]
    assert found, f"{user} has no task {name} for {number}: {[(t['name'], t['customer_number']) for t in items]}"
    assert found[0]["ticket_number"] is None
    return found[0]


def complete(api, user, number, name, **data):
    task = customer_task(api, user, number, name)
    response = api.post(f"/tasks/{task['id']}/complete", user, json={"data": data})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def upload(api, number, content=b"%PDF-1.4 signed agreement", filename="服务协议.pdf"):
    return api.client.post(f"/api/v1/customers/{number}/agreement", headers=api._headers("agent1"),
                           data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def open_task_names(number):
    customer = db.session.scalar(select(Customer).where(Customer.number == number))
    return sorted(db.session.scalars(select(HumanTask.name).where(
        HumanTask.customer_id == customer.id, HumanTask.state == "open")))


def test_approve_profile_agreement_then_active(api):
    with time_machine.travel(T0, tick=False) as clock:
        customer = register(api)
        number = customer["number"]
        assert customer["status"] == "onboarding"
        assert open_task_names(number) == ["review_qualification"]
        # a ticket for a customer still in onboarding says so: API field and page banner
        ticket = api.new_ticket(customer_number=number)
        assert api.ticket(ticket["number"])["customer_status"] == "onboarding"
        login(api.client, "agent1")
        page = api.client.get(f"/tickets/{ticket['number']}").get_data(as_text=True)
        assert 'id="onboarding-banner"' in page

        clock.shift(timedelta(hours=1))
        body = complete(api, "supervisor1", number, "review_qualification", qualification_decision="approve")
        assert body["number"] == number and body["status"] == "onboarding"
        refused = api.post(f"/tasks/{customer_task(api, 'agent1', number, 'complete_profile')['id']}/complete",
                           "agent1", json={"data": {**PROFILE, "credit_code": "123"}})
        assert refused.status_code == 422 and "credit_code" in refused.get_json()["errors"]
        complete(api, "agent1", number, "complete_profile", **PROFILE)
        assert db.session.scalar(select(Customer.profile).where(Customer.number == number))["credit_code"] == \
            PROFILE["credit_code"]

        # submitting the upload step without a file brings the step back
        complete(api, "agent1", number, "upload_agreement")
        assert open_task_names(number) == ["upload_agreement"]
        bad = upload(api, number, filename="agreement.exe")
        assert bad.status_code == 422 and "file" in bad.get_json()["errors"]
        empty = upload(api, number, content=b"")
        assert empty.status_code == 422 and "file" in empty.get_json()["errors"]
        assert upload(api, number).status_code == 201
        complete(api, "agent1", number, "upload_agreement", agreement_signed_on="2026-03-02")
        assert open_task_names(number) == ["confirm_agreement"]

        # returned once, uploaded again, then confirmed: active
        returned = api.post(f"/tasks/{customer_task(api, 'supervisor1', number, 'confirm_agreement')['id']}/complete",
                            "supervisor1", json={"data": {"agreement_decision": "return"}})
        assert returned.status_code == 422 and "agreement_comment" in returned.get_json()["errors"]
        complete(api, "supervisor1", number, "confirm_agreement", agreement_decision="return",
                 agreement_comment="缺少盖章页")
        assert open_task_names(number) == ["upload_agreement"]
        complete(api, "agent1", number, "upload_agreement")  # the earlier file is still on file
        body = complete(api, "supervisor1", number, "confirm_agreement", agreement_decision="confirm")
        assert body["status"] == "active"
        assert open_task_names(number) == []
        assert api.ticket(ticket["number"])["customer_status"] == "active"
        page = api.client.get(f"/tickets/{ticket['number']}").get_data(as_text=True)
        assert 'id="onboarding-banner"' not in page


def test_request_more_information_then_approve(api):
    with time_machine.travel(T0, tick=False) as clock:
        number = register(api, name="无锡补充资料有限公司")["number"]
        missing = api.post(f"/tasks/{customer_task(api, 'supervisor1', number, 'review_qualification')['id']}/complete",
                           "supervisor1", json={"data": {"qualification_decision": "more_info"}})
        assert missing.status_code == 422 and "review_comment" in missing.get_json()["errors"]
        complete(api, "supervisor1", number, "review_qualification", qualification_decision="more_info",
                 review_comment="请提供营业执照副本")
        assert open_task_names(number) == ["supplement_information"]
        task = customer_task(api, "agent1", number, "supplement_information")
        detail = api.get(f"/tasks/{task['id']}", "agent1").get_json()
        assert detail["data"]["review_comment"] == "请提供营业执照副本"
        clock.shift(timedelta(hours=2))
        complete(api, "agent1", number, "supplement_information", supplement_note="已补充营业执照副本")
        assert open_task_names(number) == ["review_qualification"]
        complete(api, "supervisor1", number, "review_qualification", qualification_decision="approve")
        assert open_task_names(number) == ["complete_profile"]
        assert api.get(f"/customers/{number}", "agent1").get_json()["status"] == "onboarding"


def test_refuse_with_reason(api):
    with time_machine.travel(T0, tick=False):
        number = register(api, name="常州拒绝测试有限公司")["number"]
        complete(api, "supervisor1", number, "review_qualification", qualification_decision="refuse",
                 review_comment="经营范围不符合合作要求")
        body = api.get(f"/customers/{number}", "agent1").get_json()
        assert body["status"] == "refused" and body["status_reason"] == "经营范围不符合合作要求"
        assert open_task_names(number) == []
        login(api.client, "agent1")
        page = api.client.get(f"/customers/{number}").get_data(as_text=True)
        assert "经营范围不符合合作要求" in page


def test_without_onboarding_the_customer_is_active_and_demo_customers_are_active(api):
    body = register(api, name="直接生效有限公司", onboarding=False)
    assert body["status"] == "active" and open_task_names(body["number"]) == []
    assert set(db.session.scalars(select(Customer.status).where(Customer.name != "直接生效有限公司"))) == {"active"}
    bad = api.post("/customers", "agent1", json={"name": "x公司", "industry": "it", "cooperation_start": "2026-03-01",
                                                 "contact_person": "x", "phone": "13500135001", "onboarding": "yes"})
    assert bad.status_code == 422 and "onboarding" in bad.get_json()["errors"]


def test_pages_register_with_onboarding_and_work_the_task(client, api):
    login(client, "agent1")
    form = client.get("/customers/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/customers/new", data={
        "csrf_token": token, "name": "页面入驻有限公司", "industry": "retail", "cooperation_start": "2026-01-05",
        "contact_person": "周店长", "phone": "13700137001", "email": "", "onboarding": "1"})
    assert response.status_code == 302
    number = response.headers["Location"].rstrip("/").rpartition("/")[2]
    detail = client.get(f"/customers/{number}").get_data(as_text=True)
    assert 'id="customer-status-banner"' in detail and 'id="agreement"' in detail
    # the supervisor sees the review in the inbox and completes it on the task page
    client.get("/logout")
    login(client, "supervisor1")
    inbox = client.get("/").get_data(as_text=True)
    assert "页面入驻有限公司" in inbox
    task = db.session.scalar(select(HumanTask).where(HumanTask.name == "review_qualification",
                                                     HumanTask.state == "open"))
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert number in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(f"/tasks/{task.id}", data={"csrf_token": token, "qualification_decision": "approve",
                                                  "review_comment": ""})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/customers/{number}")
    assert open_task_names(number) == ["complete_profile"]
    # the agreement upload form on the customer page
    client.get("/logout")
    login(client, "agent1")
    page = client.get(f"/customers/{number}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    bad = client.post(f"/customers/{number}/agreement", data={"csrf_token": token, "file": (io.BytesIO(b"x"), "a.txt")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "PDF" in bad.get_data(as_text=True)
    good = client.post(f"/customers/{number}/agreement",
                       data={"csrf_token": token, "file": (io.BytesIO(b"%PDF"), "signed.pdf")},
                       content_type="multipart/form-data")
    assert good.status_code == 302
    page = client.get(f"/customers/{number}").get_data(as_text=True)
    link = re.search(r'href="(/customers/[^"]+/documents/\d+)"', page).group(1)
    assert client.get(link).data == b"%PDF"
