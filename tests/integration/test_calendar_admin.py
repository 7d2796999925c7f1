"""The admin edits the business calendar in the browser and through the API; bad input names the field."""
from datetime import datetime

from app.calendar import service as calendars
from app.calendar.worktime import LOCAL
from tests.integration.test_pages import login, text


def test_admin_page_shows_hours_and_days_in_chinese(client):
    login(client, "admin")
    page = text(client.get("/admin/calendar"))
    assert "工作日历" in page and "周一" in page and "09:00-12:00, 13:00-18:00" in page
    assert "2026-10-01" in page and "调休上班" in page


def test_admin_edits_hours_and_a_bad_period_is_shown_with_what_was_typed(client):
    login(client, "admin")
    form = {f"hours_{d}": "09:00-12:00, 13:00-17:30" for d in range(5)}
    form.update(hours_5="", hours_6="")
    assert client.post("/admin/calendar/hours", data=form).status_code == 302
    assert calendars.describe()["hours"]["0"] == "09:00-12:00, 13:00-17:30"
    start = datetime(2026, 12, 1, 17, 0, tzinfo=LOCAL)
    assert calendars.add_working_time(start, "PT1H").astimezone(LOCAL) == datetime(2026, 12, 2, 9, 30, tzinfo=LOCAL)
    form["hours_2"] = "13:00-12:00"
    response = client.post("/admin/calendar/hours", data=form)
    assert response.status_code == 422
    page = text(response)
    assert "13:00-12:00" in page and 'aria-invalid="true"' in page
    assert calendars.describe()["hours"]["2"] == "09:00-12:00, 13:00-17:30"  # nothing saved


def test_admin_adds_and_removes_days(client):
    login(client, "admin")
    response = client.post("/admin/calendar/days", data={"date": "2026-12-28", "kind": "holiday", "name": "年终盘点"})
    assert response.status_code == 302
    assert {"date": "2026-12-28", "kind": "holiday", "name": "年终盘点"} in calendars.describe()["days"]
    bad = client.post("/admin/calendar/days", data={"date": "2026-13-01", "kind": "later", "name": "x"})
    assert bad.status_code == 422 and "2026-13-01" in text(bad)
    assert client.post("/admin/calendar/days/remove", data={"date": "2026-12-28"}).status_code == 302
    assert "2026-12-28" not in [d["date"] for d in calendars.describe()["days"]]
    assert client.post("/admin/calendar/import", data={"year": "1999"}).status_code == 422


def test_only_the_admin_sees_the_page(client):
    login(client, "supervisor1")
    assert client.get("/admin/calendar").status_code == 403


def test_api_reads_and_edits_the_calendar(api):
    body = api.get("/calendars/default", "admin").get_json()
    assert body["code"] == "default" and body["hours"]["5"] == ""
    version = body["version"]
    edited = api.put("/calendars/default/days/2026-12-26", "admin", json={"kind": "workday", "name": "调休"})
    assert edited.status_code == 200 and edited.get_json()["version"] == version + 1
    saturday = datetime(2026, 12, 26, 9, 0, tzinfo=LOCAL)
    assert calendars.add_working_time(saturday, "PT1H").astimezone(LOCAL) == datetime(2026, 12, 26, 10, 0, tzinfo=LOCAL)
    assert api.client.delete("/api/v1/calendars/default/days/2026-12-26",
                             headers={"Authorization": f"Bearer {api.tokens['admin']}"}).status_code == 200
    bad = api.put("/calendars/default/hours", "admin", json={"hours": {"0": "9-12"}})
    assert bad.status_code == 422 and "hours.0" in bad.get_json()["errors"]
    bad = api.put("/calendars/default/days/2026-02-30", "admin", json={"kind": "holiday"})
    assert bad.status_code == 422 and "date" in bad.get_json()["errors"]
    assert api.get("/calendars/nope", "admin").status_code == 404
    assert api.get("/calendars/default", "supervisor1").status_code == 403


def test_ticket_shows_on_time_or_breached(api, client):
    ticket = api.new_ticket(urgency="high")
    assert ticket["sla"] == {"response": "running", "resolution": "running"}
    ticket = api.complete("engineer1", ticket["number"], "accept_ticket", contact_note="已电话联系客户")
    assert ticket["sla"]["response"] == "on_time"
    login(client, "supervisor1")
    page = text(client.get(f"/tickets/{ticket['number']}"))
    assert 'id="sla-response" class="sla-on_time">按时' in page
