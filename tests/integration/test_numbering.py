"""Numbers: customers C+year+counter (R0-8), tickets SR+date+daily counter (R1-1); deadlines from ISO durations."""
from datetime import datetime, timezone

import time_machine

from app.capabilities import deadline, pick_assignee
from app.numbering import customer_number, ticket_number


def test_ticket_numbers_count_per_day_in_shanghai_time(app):
    with time_machine.travel(datetime(2026, 5, 1, 3, 0, tzinfo=timezone.utc), tick=False):
        assert [ticket_number(), ticket_number()] == ["SR20260501001", "SR20260501002"]
    with time_machine.travel(datetime(2026, 5, 1, 16, 30, tzinfo=timezone.utc), tick=False):  # 00:30 on 2 May in Shanghai
        assert ticket_number() == "SR20260502001"


def test_customer_numbers_count_per_year(app):
    with time_machine.travel(datetime(2030, 6, 1, tzinfo=timezone.utc), tick=False):
        assert [customer_number(), customer_number()] == ["C2030001", "C2030002"]


def test_deadline_adds_an_iso_duration():
    with time_machine.travel(datetime(2026, 5, 1, 3, 0, tzinfo=timezone.utc), tick=False):
        assert deadline("PT2H") == "2026-05-01T05:00:00+00:00"
        assert deadline("P1DT30M", "2026-05-01T00:00:00+08:00") == "2026-05-02T00:30:00+08:00"


def test_pick_assignee_prefers_the_least_loaded_handler(app, api):
    assert pick_assignee("after_sales") == "engineer1"
    assert pick_assignee("customer_service") == "service1"
    assert pick_assignee("nowhere") is None


def test_pick_assignee_balances_between_handlers(app, api):
    from app.auth.models import Department, Role, User
    from app.extensions import db

    second = User(username="engineer2", display_name="李工")
    second.department = db.session.scalar(db.select(Department).filter_by(code="after_sales"))
    second.roles = [db.session.get(Role, "handler")]
    second.set_password("x-123456")
    db.session.add(second)
    db.session.commit()
    first = api.new_ticket()["assignee"]
    then = api.new_ticket()["assignee"]
    assert {first, then} == {"engineer1", "engineer2"}
