"""Moving running tickets to a newer process version (issue 12 part 5): the preview says which tickets move and
why others cannot; a moved ticket keeps its open task and its timers' due times; a bulk move commits each ticket
on its own. Real SQLite, real engine, the clock moved by time-machine."""
from datetime import datetime, timedelta, timezone
import re
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from app.clock import as_utc
from app.engine import PendingTimer, ProcessDefinition, ProcessInstance
from app.extensions import db
from app.tickets.models import Ticket, TicketEvent
from app.timers.service import fire_due_timers
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


@pytest.fixture
def owner(app):
    """A separate client for the owner, logged in when first used (inside the test's clock)."""
    return Owner(app)


class Owner:
    def __init__(self, app):
        self.client, self.logged_in = app.test_client(), False

    def __getattr__(self, method):
        if not self.logged_in:
            assert self.client.post("/login", data={"username": "owner1", "password": PASSWORD}).status_code == 302
            self.logged_in = True
        return getattr(self.client, method)


def deploy(owner, xml, comment="change"):
    assert owner.put("/studio/quick_response/draft", json={"xml": xml}).status_code == 200
    if '"PT15M"' in xml:  # the scenarios the deploy runs say the shorter window
        studio_scenarios.save(owner, studio_scenarios.edited(studio_scenarios.WINDOW_15_EDITS))
    response = owner.post("/studio/quick_response/deploy", json={"comment": comment})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["version"]


def instance_of(number):
    return db.session.scalar(select(Ticket.process_instance_id).where(Ticket.number == number))


def version_of_ticket(number):
    return db.session.scalar(
        select(ProcessDefinition.version).join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .join(Ticket, Ticket.process_instance_id == ProcessInstance.id).where(Ticket.number == number))


def timers_of(number):
    return {t.name: as_utc(t.due_at) for t in db.session.scalars(
        select(PendingTimer).where(PendingTimer.instance_id == instance_of(number)))}


def test_a_waiting_ticket_moves_to_a_shorter_window_and_keeps_its_due_time(app, owner, api):
    with time_machine.travel(NOW, tick=False):
        ticket = api.new_ticket()
    number = ticket["number"]
    task_id = api.task_for("engineer1", number, "accept_ticket")["id"]
    before = timers_of(number)
    assert before["accept_timeout"] == NOW + timedelta(minutes=30)
    old = version_of_ticket(number)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        new = deploy(owner, with_timer(shipped(), '"PT15M"'), "15分钟")
        preview = owner.get(f"/studio/quick_response/versions/{new}/migration.json").get_json()
        item = next(i for i in preview["items"] if i["ticket"] == number)
        assert item["movable"] and item["reasons"] == [] and item["version"] == old
        moved = owner.post(f"/studio/quick_response/versions/{new}/migrate", json={"instances": [item["instance_id"]]})
        assert moved.status_code == 200, moved.get_json()
        assert moved.get_json()["moved"] == 1 and moved.get_json()["results"][0]["moved"]
    db.session.expire_all()
    assert version_of_ticket(number) == new
    assert timers_of(number) == before  # the 30-minute window it was armed with, not 15 minutes from the move
    history = db.session.scalars(select(TicketEvent).join(Ticket).where(Ticket.number == number,
                                                                        TicketEvent.action == "migrated")).all()
    assert [(e.actor, e.detail["from_version"], e.detail["to_version"]) for e in history] == [("owner1", old, new)]
    # the ticket goes on on the new version: its old window lapses at 30 minutes (not 15), the supervisor's
    # reassign task opens, and the re-armed window is the new version's 15 minutes
    assert api.task_for("engineer1", number, "accept_ticket")["id"] == task_id  # the same open task row
    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        assert fire_due_timers() == 0
    assert timers_of(number)["accept_timeout"] == NOW + timedelta(minutes=30)
    with time_machine.travel(NOW + timedelta(minutes=31), tick=False):
        assert fire_due_timers() == 1
        api.complete("supervisor1", number, "reassign_ticket", assignee="engineer1", reason="请尽快受理")
    db.session.expire_all()
    assert timers_of(number)["accept_timeout"] == NOW + timedelta(minutes=31 + 15)


def renamed(xml, task, old, new):
    """A version where user task `task` has another name."""
    assert f'id="{task}" name="{old}"' in xml
    return xml.replace(f'id="{task}" name="{old}"', f'id="{task}" name="{new}"', 1)


def test_preview_says_why_and_a_bulk_move_commits_each_ticket_on_its_own(app, owner, api):
    with time_machine.travel(NOW, tick=False):
        waiting = api.new_ticket()["number"]  # waits at accept_ticket
        accepted = api.new_ticket()["number"]
        api.complete("engineer1", accepted, "accept_ticket", contact_note="已电话联系客户")  # now waits at handle_ticket
        timers_before = {n: timers_of(n) for n in (waiting, accepted)}
        old = version_of_ticket(waiting)
        new = deploy(owner, renamed(shipped(), "handle_ticket", "处理并更新进度", "处理工单"), "处理任务改名")
        preview = owner.get(f"/studio/quick_response/versions/{new}/migration.json").get_json()
    items = {i["ticket"]: i for i in preview["items"]}
    assert items[waiting]["movable"] and items[waiting]["reasons"] == []  # handling is still ahead of it
    assert not items[accepted]["movable"]
    assert [(r["reason"], r["element"]) for r in items[accepted]["reasons"]] == [("changed_ready", "handle_ticket")]
    assert "处理并更新进度" in items[accepted]["reasons"][0]["message"]
    assert (preview["movable"], preview["blocked"]) == (1, 1)
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        report = owner.post(f"/studio/quick_response/versions/{new}/migrate", json={}).get_json()
    results = {r["ticket"]: r for r in report["results"]}
    assert (report["moved"], report["failed"]) == (1, 1)
    assert results[waiting]["moved"] and not results[accepted]["moved"]
    assert results[accepted]["reasons"][0]["reason"] == "changed_ready"
    db.session.expire_all()
    assert version_of_ticket(waiting) == new and version_of_ticket(accepted) == old  # each in its own transaction
    assert {n: timers_of(n) for n in (waiting, accepted)} == timers_before
    # moved once: nothing more to move to this version
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        again = owner.get(f"/studio/quick_response/versions/{new}/migration.json").get_json()
    assert [i["ticket"] for i in again["items"]] == [accepted]


def test_a_completed_task_that_changed_keeps_the_ticket_on_its_version(app, owner, api):
    with time_machine.travel(NOW, tick=False):
        accepted = api.new_ticket()["number"]
        api.complete("engineer1", accepted, "accept_ticket", contact_note="已电话联系客户")
        new = deploy(owner, renamed(shipped(), "accept_ticket", "受理工单", "受理并联系客户"), "受理任务改名")
        preview = owner.get(f"/studio/quick_response/versions/{new}/migration.json").get_json()
        item = next(i for i in preview["items"] if i["ticket"] == accepted)
        assert [(r["reason"], r["element"]) for r in item["reasons"]] == [("changed_completed", "accept_ticket")]
        moved = owner.post(f"/studio/quick_response/versions/{new}/migrate",
                           json={"instances": [item["instance_id"]]}).get_json()
    assert moved["moved"] == 0 and moved["results"][0]["reasons"][0]["reason"] == "changed_completed"


def test_bad_requests_are_field_errors_and_the_first_version_has_nothing_to_move(owner):
    with time_machine.travel(NOW, tick=False):
        new = deploy(owner, with_timer(shipped(), '"PT15M"'))
        for body in ({"instances": "all"}, {"instances": []}, {"instances": [True]}):
            response = owner.post(f"/studio/quick_response/versions/{new}/migrate", json=body)
            assert response.status_code == 422 and "instances" in response.get_json()["errors"]
        assert owner.get("/studio/quick_response/versions/1/migration.json").status_code == 409
        assert owner.get("/studio/quick_response/versions/99/migration.json").status_code == 404


def test_the_migration_page_lists_and_moves_the_chosen_tickets(app, owner, api):
    with time_machine.travel(NOW, tick=False):
        number = api.new_ticket()["number"]
        new = deploy(owner, with_timer(shipped(), '"PT15M"'))
        page = owner.get(f"/studio/quick_response/versions/{new}/migration")
        assert page.status_code == 200 and number in page.get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        nothing = owner.post(f"/studio/quick_response/versions/{new}/migration", data={"csrf_token": token})
        assert nothing.status_code == 422
        instance = instance_of(number)
        done = owner.post(f"/studio/quick_response/versions/{new}/migration",
                          data={"csrf_token": token, "instance": str(instance)})
        assert done.status_code == 200 and 'id="migration-report"' in done.get_data(as_text=True)
    db.session.expire_all()
    assert version_of_ticket(number) == new


@pytest.mark.parametrize("user", ["agent1", "supervisor1"])
def test_only_owners_and_admins_move_tickets(app, client, user):
    assert client.post("/login", data={"username": user, "password": PASSWORD}).status_code == 302
    assert client.get("/studio/quick_response/versions/1/migration").status_code == 403
    assert client.post("/studio/quick_response/versions/1/migrate", json={}).status_code == 403
