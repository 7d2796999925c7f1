"""The API's answers: 200/201 shapes and the 400/401/403/404/409/422 errors of the contract."""


def test_login_and_token(api, client):
    response = client.post("/api/v1/login", json={"username": "agent1", "password": "pw-demo-123"})
    body = response.get_json()
    assert response.status_code == 200
    assert body["user"] == {"username": "agent1", "roles": ["agent"], "department": "customer_service"}
    assert client.post("/api/v1/login", json={"username": "agent1", "password": "nope"}).status_code == 401
    missing = client.post("/api/v1/login", json={"username": "agent1"})
    assert missing.status_code == 422 and "password" in missing.get_json()["errors"]


def test_401_without_or_with_bad_token(client):
    assert client.get("/api/v1/tasks").status_code == 401
    response = client.get("/api/v1/tasks", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401 and "error" in response.get_json()


def test_400_for_malformed_json_and_422_for_non_object(api):
    bad = api.post("/customers", "agent1", data="{not json", content_type="application/json")
    assert bad.status_code == 400 and "error" in bad.get_json()
    array = api.post("/customers", "agent1", json=[1, 2])
    assert array.status_code == 422 and "body" in array.get_json()["errors"]


def test_customer_create_validation_and_immutable_number(api):
    bad = api.post("/customers", "agent1", json={"name": "", "industry": "space", "cooperation_start": "2024/01/01",
                                                 "contact_person": "", "phone": "1380013800"})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"name", "industry", "cooperation_start", "contact_person", "phone"}
    good = api.post("/customers", "agent1", json={"name": "苏州新材料", "industry": "manufacturing",
                                                  "cooperation_start": "2024-01-01", "contact_person": "孙工",
                                                  "phone": "13812345678"})
    assert good.status_code == 201
    customer = good.get_json()
    assert customer["number"].startswith("C") and customer["number"][1:].isdigit()
    editable = {k: v for k, v in customer.items() if k != "created_at"}
    changed = api.put(f"/customers/{customer['number']}", "agent1",
                      json={**editable, "number": "C1", "name": "苏州新材料股份"})
    assert changed.status_code == 422 and "number" in changed.get_json()["errors"]
    renamed = api.put(f"/customers/{customer['number']}", "agent1", json={**editable, "name": "苏州新材料股份"})
    assert renamed.status_code == 200 and renamed.get_json()["number"] == customer["number"]


def test_customer_fuzzy_search(api):
    assert [c["name"] for c in api.get("/customers?q=精工", "agent1").get_json()["items"]] == ["上海精工制造有限公司"]
    assert len(api.get("/customers?q=1390013", "agent1").get_json()["items"]) == 1  # part of a phone number
    assert len(api.get("/customers?q=吴主", "agent1").get_json()["items"]) == 1  # contact person
    assert api.get("/customers?q=%00", "agent1").status_code == 200
    assert api.get("/customers?limit=0", "agent1").status_code == 422
    page = api.get("/customers?limit=2", "agent1").get_json()
    assert len(page["items"]) == 2 and "next" in page
    rest = api.client.get(page["next"], headers=api._headers("agent1")).get_json()
    assert len(rest["items"]) == 1 and "next" not in rest


def test_customer_profile_lists_tickets(api):
    ticket = api.new_ticket()
    profile = api.get(f"/customers/{ticket['customer_number']}", "agent1").get_json()
    assert [t["number"] for t in profile["tickets"]] == [ticket["number"]]
    assert api.get("/customers/C0000000", "agent1").status_code == 404


def test_ticket_validation_and_roles(api):
    bad = api.post("/tickets", "agent1", json={"customer_number": "C0", "type": "x", "urgency": "extreme",
                                               "description": "", "channel": "fax"})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"customer_number", "type", "urgency", "description", "channel"}
    forbidden = api.post("/tickets", "engineer1", json={"customer_number": api.customer_number()})
    assert forbidden.status_code == 403
    assert api.get("/tickets/SR0", "agent1").status_code == 404


def test_task_permissions_claim_and_conflicts(api):
    number = api.new_ticket()["number"]
    accept = api.task_for("engineer1", number, "accept_ticket")
    assert api.get(f"/tasks/{accept['id']}", "engineer1").get_json()["form"]["title"] == "受理工单"
    assert api.post(f"/tasks/{accept['id']}/complete", "product1", json={"data": {"contact_note": "x"}}).status_code == 403
    assert api.post(f"/tasks/{accept['id']}/claim", "product1").status_code == 409  # held by engineer1
    assert api.post(f"/tasks/{accept['id']}/claim", "engineer1").status_code == 200  # idempotent for the holder
    assert api.get("/tasks/not-a-task", "engineer1").status_code == 404
    invalid = api.post(f"/tasks/{accept['id']}/complete", "engineer1", json={"data": {"contact_note": "x"}})
    assert invalid.status_code == 422 and "contact_note" in invalid.get_json()["errors"]
    assert api.post(f"/tasks/{accept['id']}/complete", "engineer1", json={"data": "text"}).status_code == 422
    done = api.post(f"/tasks/{accept['id']}/complete", "engineer1", json={"data": {"contact_note": "已联系客户"}})
    assert done.status_code == 200
    again = api.post(f"/tasks/{accept['id']}/complete", "engineer1", json={"data": {"contact_note": "已联系客户"}})
    assert again.status_code == 409


def test_unclaimed_role_task_is_claimed_by_completing(api):
    from app.auth.models import User
    from app.extensions import db

    api.login("service1")
    service1 = db.session.scalar(db.select(User).filter_by(username="service1"))
    service1.active = False  # nobody to pick: the task waits unassigned in the role queue
    db.session.commit()
    number = api.new_ticket(type="consultation")["number"]
    service1.active = True
    db.session.commit()
    task = api.task_for("service1", number, "accept_ticket")
    assert task["assignee"] is None and task["role"] == "handler"
    assert api.get("/tasks", "engineer1").get_json()["items"] == []  # another department's queue
    ticket = api.complete("service1", number, "accept_ticket", contact_note="客服直接受理")
    assert ticket["status"] == "processing" and ticket["open_tasks"][0]["assignee"] == "service1"


def test_openapi_document_lists_every_error(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    complete = doc["paths"]["/tasks/{task_id}/complete"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "422"} <= set(complete)


def test_monitor_lists_open_and_overdue(api):
    import time_machine
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    with time_machine.travel(t0, tick=False):
        number = api.new_ticket()["number"]
    with time_machine.travel(t0 + timedelta(minutes=5), tick=False):
        assert api.get("/tickets?overdue=1", "supervisor1").get_json()["items"] == []
        assert [t["number"] for t in api.get("/tickets", "supervisor1").get_json()["items"]] == [number]
    with time_machine.travel(t0 + timedelta(hours=3), tick=False):
        assert api.get("/tickets", "engineer1").status_code == 403  # handlers work from their inbox
        items = api.get("/tickets?overdue=1", "supervisor1").get_json()["items"]
        assert [t["number"] for t in items] == [number]


def test_task_list_pages_with_a_cursor(api):
    import time_machine
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    numbers = []
    for minute in range(3):
        with time_machine.travel(t0 + timedelta(minutes=minute), tick=False):
            numbers.append(api.new_ticket()["number"])
    with time_machine.travel(t0 + timedelta(minutes=5), tick=False):
        first = api.get("/tasks?limit=2", "engineer1").get_json()
        assert [t["ticket_number"] for t in first["items"]] == numbers[:2]
        rest = api.client.get(first["next"], headers=api._headers("engineer1")).get_json()
        assert [t["ticket_number"] for t in rest["items"]] == numbers[2:] and "next" not in rest
        assert api.get("/tasks?cursor=nonsense", "engineer1").status_code == 422
