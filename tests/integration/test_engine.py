"""Engine internals: specs parsed once per version, state stored without the spec, live cache and cold loads agree."""
import json

from app.engine import definitions
from app.engine.models import ProcessInstance
from app.extensions import db
from app.tickets.flow import engine


def test_specs_are_parsed_once_per_version(app, api, monkeypatch):
    calls = []
    original = definitions.parse_specs

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(definitions, "parse_specs", counting)
    engine().specs.clear()
    engine().live.clear()
    for _ in range(3):
        number = api.new_ticket()["number"]
        api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
    assert len(calls) == 1


def test_instance_state_has_no_spec_and_restores_cold(app, api):
    number = api.new_ticket()["number"]
    instance = db.session.scalars(db.select(ProcessInstance)).one()
    state = json.loads(instance.state)
    assert "spec" not in state and "subprocess_specs" not in state
    assert instance.serializer_version and instance.version == 1
    engine().live.clear()  # the next step must rebuild the workflow from the stored state
    engine().specs.clear()
    ticket = api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
    assert ticket["status"] == "processing"
    db.session.refresh(instance)
    assert instance.version == 2


def test_a_failing_diagram_script_saves_nothing(app, api, monkeypatch):
    number = api.new_ticket()["number"]
    instance = db.session.scalars(db.select(ProcessInstance)).one()
    task = api.task_for("engineer1", number, "accept_ticket")

    def broken():
        raise RuntimeError("clock unavailable")

    # mark_accepted (the script after acceptance) calls now_iso()
    monkeypatch.setitem(engine().script_engine.environment.helpers, "now_iso", broken)
    response = api.post(f"/tasks/{task['id']}/complete", "engineer1", json={"data": {"contact_note": "已联系客户"}})
    assert response.status_code == 422
    assert "mark_accepted" in response.get_json()["error"]
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance.id).version == instance.version
    ticket = api.ticket(number)
    assert ticket["status"] == "pending_accept" and [t["id"] for t in ticket["open_tasks"]] == [task["id"]]
    assert "task_completed" not in [h["action"] for h in ticket["history"]]
    monkeypatch.undo()
    assert api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")["status"] == "processing"
