"""Proactive care (workflows/care.bpmn, R0-9): service dates per customer start care tasks from the diagram's
timers (usage training 7 days after delivery, renewal 30 days before the contract ends, a satisfaction check 90
days after delivery), a care task can open a ticket, and a changed date re-times the waiting timers."""
from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import select

from app.customers.models import Customer
from app.engine import PendingTimer
from app.extensions import db
from app.tasks.models import HumanTask
from app.tickets.models import Ticket
from app.timers.service import fire_due_timers

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
CN = timezone(timedelta(hours=8))
SECOND = timedelta(seconds=1)  # SpiffWorkflow fires a date timer once its time has passed


def at_nine(day):
    """09:00 Shanghai time of an ISO date, as UTC."""
    return datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=CN).astimezone(timezone.utc)


def demo_customer(api):
    return api.customer_number()


def set_dates(api, number, **dates):
    customer = api.get(f"/customers/{number}", "agent1").get_json()
    body = {k: customer[k] for k in ("name", "industry", "cooperation_start", "contact_person", "phone", "email")}
    response = api.put(f"/customers/{number}", "agent1", json={**body, **dates})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def open_care_tasks(number):
    customer_id = db.session.scalar(select(Customer.id).where(Customer.number == number))
    db.session.rollback()
    return sorted(db.session.scalars(select(HumanTask.name).where(
        HumanTask.customer_id == customer_id, HumanTask.state == "open")))


def due_times(number):
    instance = db.session.scalar(select(Customer.care_instance_id).where(Customer.number == number))
    rows = db.session.execute(select(PendingTimer.name, PendingTimer.due_at)
                              .where(PendingTimer.instance_id == instance)).all()
    db.session.rollback()
    return {name: due.replace(tzinfo=timezone.utc) if due.tzinfo is None else due for name, due in rows}


def care_task(api, number, name):
    items = api.get("/tasks?limit=200", "agent1").get_json()["items"]
    return next(t for t in items if t["customer_number"] == number and t["name"] == name)


def test_training_after_delivery_fires_at_the_right_time(api):
    with time_machine.travel(T0, tick=False) as clock:
        number = demo_customer(api)
        body = set_dates(api, number, delivery_date="2026-03-05")
        assert body["delivery_date"] == "2026-03-05"
        # training 7 days after delivery; the satisfaction check 90 days after; no contract end: no renewal timer
        assert due_times(number) == {"training_due": at_nine("2026-03-12"),
                                     "satisfaction_due": at_nine("2026-06-03")}
        clock.move_to(at_nine("2026-03-12") - timedelta(minutes=1))
        assert fire_due_timers() == 0 and open_care_tasks(number) == []
        clock.move_to(at_nine("2026-03-12") + SECOND)
        assert fire_due_timers() == 1
        assert open_care_tasks(number) == ["usage_training"]
        api.tokens.clear()
        task = care_task(api, number, "usage_training")
        done = api.post(f"/tasks/{task['id']}/complete", "agent1", json={"data": {"care_outcome": "done"}})
        assert done.status_code == 200 and done.get_json()["number"] == number
        assert open_care_tasks(number) == []


def test_renewal_before_contract_end_and_satisfaction_check(api):
    with time_machine.travel(T0, tick=False) as clock:
        number = demo_customer(api)
        set_dates(api, number, purchase_date="2026-02-01", contract_start="2026-03-01", contract_end="2026-12-31")
        # no delivery date: the satisfaction check counts from the purchase; no training timer yet
        assert due_times(number) == {"renewal_due": at_nine("2026-12-01"),
                                     "satisfaction_due": at_nine("2026-05-02")}
        clock.move_to(at_nine("2026-05-02") + SECOND)
        assert fire_due_timers() == 1
        assert open_care_tasks(number) == ["satisfaction_check"]
        clock.move_to(at_nine("2026-12-01") + SECOND)
        assert fire_due_timers() == 1
        assert open_care_tasks(number) == ["renewal_reminder", "satisfaction_check"]


def test_a_care_task_opens_a_ticket(api):
    with time_machine.travel(T0, tick=False) as clock:
        number = demo_customer(api)
        set_dates(api, number, delivery_date="2026-03-01")
        clock.move_to(at_nine("2026-03-08") + SECOND)
        assert fire_due_timers() == 1
        api.tokens.clear()
        task = care_task(api, number, "usage_training")
        missing = api.post(f"/tasks/{task['id']}/complete", "agent1",
                           json={"data": {"care_outcome": "done", "needs_ticket": True}})
        assert missing.status_code == 422 and "ticket_description" in missing.get_json()["errors"]
        done = api.post(f"/tasks/{task['id']}/complete", "agent1", json={"data": {
            "care_outcome": "done", "needs_ticket": True, "ticket_type": "after_sales_support",
            "ticket_urgency": "high", "ticket_description": "培训中发现设备固件版本过旧，需要升级"}})
        assert done.status_code == 200, done.get_json()
        tickets = api.get(f"/customers/{number}", "agent1").get_json()["tickets"]
        assert [t["type"] for t in tickets] == ["after_sales_support"]
        ticket = api.ticket(tickets[0]["number"])
        assert ticket["description"] == "培训中发现设备固件版本过旧，需要升级" and ticket["urgency"] == "high"
        assert ticket["open_tasks"], "the ticket's own process started"
        created_by = db.session.scalar(select(Ticket.created_by_id).where(Ticket.number == tickets[0]["number"]))
        assert created_by is not None


def test_a_changed_date_re_times_the_waiting_timers(api):
    with time_machine.travel(T0, tick=False) as clock:
        number = demo_customer(api)
        set_dates(api, number, delivery_date="2026-03-05", contract_start="2026-03-01", contract_end="2027-02-28")
        instance = db.session.scalar(select(Customer.care_instance_id).where(Customer.number == number))
        assert due_times(number)["renewal_due"] == at_nine("2027-01-29")
        # the delivery slips a week and the contract is extended: the same instance waits for the new times
        set_dates(api, number, delivery_date="2026-03-12", contract_end="2027-03-31")
        assert db.session.scalar(select(Customer.care_instance_id).where(Customer.number == number)) == instance
        assert due_times(number) == {"training_due": at_nine("2026-03-19"), "renewal_due": at_nine("2027-03-01"),
                                     "satisfaction_due": at_nine("2026-06-10")}
        clock.move_to(at_nine("2026-03-12") + SECOND)
        assert fire_due_timers() == 0  # the old training time passes without a task
        clock.move_to(at_nine("2026-03-19") + SECOND)
        assert fire_due_timers() == 1 and open_care_tasks(number) == ["usage_training"]


def test_bad_dates_are_refused_with_the_field_named(api):
    number = demo_customer(api)
    customer = api.get(f"/customers/{number}", "agent1").get_json()
    body = {k: customer[k] for k in ("name", "industry", "cooperation_start", "contact_person", "phone", "email")}
    bad = api.put(f"/customers/{number}", "agent1", json={**body, "delivery_date": "2026-13-01"})
    assert bad.status_code == 422 and "delivery_date" in bad.get_json()["errors"]
    bad = api.put(f"/customers/{number}", "agent1",
                  json={**body, "contract_start": "2026-05-01", "contract_end": "2026-04-30"})
    assert bad.status_code == 422 and "contract_end" in bad.get_json()["errors"]
    assert api.get(f"/customers/{number}", "agent1").get_json()["contract_start"] is None
