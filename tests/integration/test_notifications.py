"""In-app notifications: who hears of which flow event, the bell, the list page, the API, and own rows only."""
from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.notifications.events import remind_due_tasks
from app.notifications.models import Notification
from app.timers.service import fire_due_timers
from tests.conftest import PASSWORD

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai


def notes(username, kind=None):
    """[(kind, ticket number, detail)] of the user's notifications, oldest first."""
    query = (select(Notification.kind, Notification.ticket_number, Notification.detail)
             .join(User, User.id == Notification.user_id).where(User.username == username)
             .order_by(Notification.id))
    rows = [tuple(r) for r in db.session.execute(query)]
    db.session.rollback()
    return [r for r in rows if kind is None or r[0] == kind]


def test_a_new_ticket_tells_its_assignee_and_nobody_hears_of_their_own_steps(api):
    number = api.new_ticket()["number"]  # agent1 opens it; complaint -> engineer1
    assert notes("engineer1") == [("assignment", number, {})]
    assert notes("agent1") == []
    api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
    later = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    api.complete("engineer1", number, "handle_ticket", action="远程排查", status="processing",
                 next_update_at=later, solution_ready=False)
    assert len(notes("engineer1")) == 1  # the next handle_ticket went to the person who acted: no notification
    api.complete("engineer1", number, "handle_ticket", action="更换部件", status="awaiting_customer",
                 solution="更换电源模块", solution_ready=True)
    assert notes("agent1") == [("assignment", number, {})]  # feedback goes back to who registered it
    # the first receiver (engineer1 accepted it) is asked to confirm the result, though their own step opened it
    assert notes("engineer1", "confirm_result") == [("confirm_result", number, {})]
    api.complete("agent1", number, "feedback", method="phone", opinion="needs_adjustment")
    assert notes("engineer1", "assignment")[-1][1] == number and len(notes("engineer1", "assignment")) == 2
    assert notes("engineer1", "transfer_in") == []  # the same holder again is no transfer


def test_redispatch_tells_the_new_and_the_previous_assignee(api):
    number = api.new_ticket()["number"]
    response = api.post(f"/tickets/{number}/redispatch", "supervisor1",
                        json={"assignee": "product1", "department": "product", "reason": "转产品部处理"})
    assert response.status_code == 200, response.get_json()
    assert notes("product1") == [("transfer_in", number, {"from": "张工", "to": "赵产品"})]
    assert notes("engineer1") == [("assignment", number, {}), ("transfer_out", number, {"from": "张工", "to": "赵产品"})]
    messages = {n["kind"]: n["message"] for n in api.get("/notifications", "engineer1").get_json()["items"]}
    assert messages["transfer_out"] == f"已转交：工单 {number} 的“受理工单”已改由 赵产品 处理。"


def test_a_lapsed_window_escalates_to_supervisors_then_the_reassignment_is_a_transfer(api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]  # after-sales has no supervisor: every supervisor hears
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        assert fire_due_timers() == 1
        assert notes("supervisor1") == [("escalation", number, {})]
        assert notes("admin") == [("escalation", number, {})]
        assert notes("agent1") == [] and notes("owner1") == []
        api.complete("supervisor1", number, "reassign_ticket", assignee="product1", department="product",
                     reason="售后工程师外出，转产品部处理")
    assert notes("product1", "transfer_in") == [("transfer_in", number, {"from": "张工", "to": "赵产品"})]
    assert notes("engineer1", "transfer_out")[0][1] == number


def test_escalation_goes_to_the_supervisors_of_the_tickets_department(api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket(type="consultation", urgency="low")["number"]  # customer service: supervisor1, admin
        db.session.execute(db.update(User).where(User.username == "admin").values(department_id=None))
        db.session.commit()
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        assert fire_due_timers() == 1
    assert notes("supervisor1") == [("escalation", number, {})]
    assert notes("admin") == []


def test_due_reminder_once_per_task_within_the_window(api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]  # accept_ticket is due at T0 + 30 min
    with time_machine.travel(T0 + timedelta(minutes=14), tick=False):
        assert remind_due_tasks() == 0  # due in 16 minutes: not yet
    with time_machine.travel(T0 + timedelta(minutes=16), tick=False):
        assert remind_due_tasks() == 1
        assert remind_due_tasks() == 0
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        assert remind_due_tasks() == 0
    [(kind, ticket, detail)] = notes("engineer1", "due")
    assert ticket == number and detail["due_at"] == (T0 + timedelta(minutes=30)).isoformat()
    message = [n for n in api.get("/notifications", "engineer1").get_json()["items"] if n["kind"] == "due"][0]
    assert message["message"] == f"即将到期：工单 {number} 的“受理工单”将于 2026-03-02 09:30 到期。"


def test_without_an_smtp_server_no_mail_is_queued(app, api):
    api.new_ticket()
    states = db.session.scalars(select(Notification.mail_state)).all()
    assert states == [None]


def test_bell_list_and_mark_read_pages(app, client, api):
    first = api.new_ticket()["number"]
    second = api.new_ticket()["number"]
    client.post("/login", data={"username": "engineer1", "password": PASSWORD})
    page = client.get("/").get_data(as_text=True)
    assert 'class="bell-count">2<' in page and "通知：2 条未读" in page
    listing = client.get("/notifications").get_data(as_text=True)
    assert f"新待办：工单 {second} 的“受理工单”。" in listing
    assert listing.index(second) < listing.index(first)  # newest first
    newest = db.session.scalar(select(Notification.id).where(Notification.ticket_number == second))
    response = client.post(f"/notifications/{newest}/read", data={"next": "/notifications?unread=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/notifications?unread=1"
    unread = client.get("/notifications?unread=1").get_data(as_text=True)
    assert first in unread and second not in unread
    assert 'class="bell-count">1<' in unread
    response = client.post("/notifications/read-all", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "已将 1 条通知标记为已读。" in body and "bell-count" not in body
    english = client.get("/notifications?lang=en").get_data(as_text=True)
    assert f"New task “受理工单” on ticket {second}." in english


def test_a_user_cannot_read_or_mark_anyone_elses_notifications(app, client, api):
    api.new_ticket()
    theirs = db.session.scalar(select(Notification.id))
    client.post("/login", data={"username": "product1", "password": PASSWORD})
    assert "暂无通知。" in client.get("/notifications").get_data(as_text=True)
    assert client.post(f"/notifications/{theirs}/read").status_code == 404
    assert api.post(f"/notifications/{theirs}/read", "product1").status_code == 404
    assert api.get("/notifications", "product1").get_json() == {"items": [], "unread": 0}
    assert db.session.scalar(select(Notification.read_at).where(Notification.id == theirs)) is None


def test_api_pages_filters_and_marks_read(api):
    numbers = [api.new_ticket()["number"] for _ in range(3)]
    body = api.get("/notifications?limit=2", "engineer1").get_json()
    assert body["unread"] == 3
    assert [n["ticket_number"] for n in body["items"]] == numbers[:0:-1]
    assert body["items"][0]["kind"] == "assignment" and body["items"][0]["read_at"] is None
    rest = api.get(body["next"].removeprefix("/api/v1"), "engineer1").get_json()
    assert [n["ticket_number"] for n in rest["items"]] == numbers[:1] and "next" not in rest
    response = api.post(f"/notifications/{rest['items'][0]['id']}/read", "engineer1")
    assert response.status_code == 200 and response.get_json() == {"unread": 2}
    assert api.post(f"/notifications/{rest['items'][0]['id']}/read", "engineer1").get_json() == {"unread": 2}
    unread = api.get("/notifications?unread=1", "engineer1").get_json()["items"]
    assert [n["ticket_number"] for n in unread] == numbers[:0:-1]
    assert api.post("/notifications/read-all", "engineer1").get_json() == {"marked": 2, "unread": 0}
    assert api.get("/notifications?unread=1", "engineer1").get_json() == {"items": [], "unread": 0}
    english = api.client.get("/api/v1/notifications?limit=1", headers={
        "Authorization": f"Bearer {api.tokens['engineer1']}", "Accept-Language": "en"})
    assert english.get_json()["items"][0]["message"] == f"New task “受理工单” on ticket {numbers[2]}."


def test_api_refuses_bad_paging_and_anonymous_callers(api):
    assert api.get("/notifications").status_code == 401
    assert api.post("/notifications/read-all").status_code == 401
    bad = api.get("/notifications?limit=0&unread=2&page=1", "engineer1")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"page"}
    bad = api.get("/notifications?limit=0&unread=2", "engineer1")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"limit"}
    bad = api.get("/notifications?unread=2", "engineer1")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"unread"}


def test_survey_results_can_be_notified(app, api):
    from app.notifications.events import notify

    number = api.new_ticket()["number"]
    agent = db.session.scalar(select(User.id).where(User.username == "agent1"))
    notify([{"user_id": agent, "kind": "survey_result", "ticket_number": number, "detail": {"result": "满意"}}])
    db.session.commit()
    [item] = api.get("/notifications", "agent1").get_json()["items"]
    assert item["message"] == f"工单 {number} 的满意度调查结果：满意"
