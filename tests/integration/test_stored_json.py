"""The JSON text the app stores (app/stored_json.py): orjson's compact UTF-8 text, the standard library for what
orjson will not write, and the values read back unchanged from a JSON column and from a task's form data."""
import dataclasses
import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from app import stored_json
from app.extensions import db
from app.tasks.models import HumanTask
from app.tickets.flow import form_data_json
from app.tickets.models import TicketEvent


def test_text_is_compact_utf8_and_parses_back_to_the_same_value():
    value = {"title": "受理工单", "n": 3, "x": 1.5, "ok": True, "none": None, "list": [1, "二"], 7: "int key"}
    written = stored_json.dumps(value)
    assert written == '{"title":"受理工单","n":3,"x":1.5,"ok":true,"none":null,"list":[1,"二"],"7":"int key"}'
    assert json.loads(written) == json.loads(json.dumps(value))


def test_what_orjson_will_not_write_goes_to_the_standard_library():
    huge = {"n": 2**70}
    assert json.loads(stored_json.dumps(huge)) == huge
    deep = current = []
    for _ in range(300):
        current.append([])
        current = current[0]
    assert json.loads(stored_json.dumps(deep)) == deep


@pytest.mark.parametrize("value", [
    {"at": datetime(2026, 12, 7, tzinfo=timezone.utc)},
    {"point": dataclasses.make_dataclass("Point", ["x"])(1)},
    {"raw": b"bytes"},
    {"set": {1, 2}},
])
def test_values_the_standard_library_refuses_are_still_refused(value):
    with pytest.raises(TypeError):
        stored_json.dumps(value)


def test_a_circular_value_is_refused():
    value = {}
    value["self"] = value
    with pytest.raises(ValueError):
        stored_json.dumps(value)


def test_a_json_column_stores_that_text_and_reads_the_value_back(app, api):
    number = api.new_ticket(description="设备无法启动")["number"]
    api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户，约好下午上门")
    with app.app_context():
        raw = db.session.execute(text(
            "SELECT h.detail FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id"
            " WHERE t.number = :n AND h.action = 'task_completed'"), {"n": number}).scalar_one()
        assert "已联系客户，约好下午上门" in raw and ", " not in raw  # UTF-8 and compact, not \\u escapes
        event = db.session.scalars(select(TicketEvent).where(TicketEvent.action == "task_completed")).one()
        assert event.detail["data"]["contact_note"] == "已联系客户，约好下午上门"


def test_a_tasks_form_data_is_that_text_without_hidden_variables(app, api):
    number = api.new_ticket(description="设备无法启动")["number"]
    with app.app_context():
        stored = db.session.scalars(select(HumanTask.form_data).where(HumanTask.name == "accept_ticket")).first()
        data = json.loads(stored)
        assert data["description"] == "设备无法启动" and data["ticket_number"] == number
        assert not [key for key in data if key.startswith("_")]
    assert form_data_json({"a": "二", "_hidden": 1}) == '{"a":"二"}'
    assert form_data_json({"at": datetime(2026, 12, 7)}) is None  # more than plain JSON: not stored
