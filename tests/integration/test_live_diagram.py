"""The live diagram (issue 12 part 6): the heatmap's figures per element against a small hand-made set of rows
(open task rows, waiting timers, instances of several versions), with the clock moved by time-machine, on SQLite
and PostgreSQL; a ticket's diagram data (the path taken and where it waits) from a real flow."""
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import insert, select

from app.engine import PendingTimer, ProcessDefinition, ProcessInstance
from app.extensions import db
from app.tasks.models import HumanTask
from tests.conftest import PASSWORD, Api
from tests.integration.test_postgres import pg_app, pg_url  # noqa: F401  (fixtures)

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)


def minutes(n):
    return T0 + timedelta(minutes=n)


def definition(name):
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.name == name)
                             .order_by(ProcessDefinition.version.desc()).limit(1))


def instance(definition_id, status="running"):
    return db.session.execute(insert(ProcessInstance.__table__).returning(ProcessInstance.__table__.c.id), {
        "definition_id": definition_id, "state": "{}", "serializer_version": "hand-made", "version": 1,
        "snapshot_version": 1, "status": status, "created_at": T0, "updated_at": T0}).scalar_one()


def task(instance_id, name, created, due=None, state="open"):
    db.session.execute(insert(HumanTask.__table__), {
        "id": f"{name}-{instance_id}-{state}", "instance_id": instance_id, "name": name, "title": name,
        "role": "handler", "state": state, "created_at": created, "due_at": due})


def timer(instance_id, name, due):
    db.session.execute(insert(PendingTimer.__table__), {
        "instance_id": instance_id, "task_id": f"{name}-{instance_id}", "name": name, "due_at": due})


def hand_made_rows():
    """Three running tickets and one ended one on the newest quick_response version, two surveys waiting."""
    qr, survey = definition("quick_response"), definition("satisfaction_survey")
    first, second, third = instance(qr.id), instance(qr.id), instance(qr.id)
    ended = instance(qr.id, status="completed")
    task(first, "accept_ticket", minutes(0), due=minutes(30))  # past its deadline at minute 60
    timer(first, "accept_timeout", minutes(30))  # a boundary timer: the task's deadline, not a place of its own
    task(second, "accept_ticket", minutes(40), due=minutes(70))
    timer(second, "accept_timeout", minutes(70))
    task(third, "accept_ticket", minutes(0), state="completed")
    task(third, "handle_ticket", minutes(30))
    task(ended, "handle_ticket", minutes(0))  # not running: not counted
    waiting_a, waiting_b = instance(survey.id), instance(survey.id)
    timer(waiting_a, "survey_delay", minutes(50))  # lapsed, not fired yet
    timer(waiting_b, "survey_delay", minutes(70))
    db.session.commit()
    return qr, survey


def heat(client, name, version):
    response = client.get(f"/studio/{name}/versions/{version}/heatmap")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def check_heatmap(application):
    client = application.test_client()
    with time_machine.travel(minutes(60), tick=False):
        qr, survey = hand_made_rows()
        assert client.post("/login", data={"username": "owner1", "password": PASSWORD}).status_code == 302
        body = heat(client, "quick_response", qr.version)
        surveys = heat(client, "satisfaction_survey", survey.version)
    assert body["elements"] == {
        "accept_ticket": {"kind": "task", "waiting": 2, "avg_wait_seconds": 40 * 60, "overdue": 1, "heat": 1.0},
        "handle_ticket": {"kind": "task", "waiting": 1, "avg_wait_seconds": 30 * 60, "overdue": 0, "heat": 0.5},
    }
    assert (body["waiting"], body["overdue"]) == (3, 1)
    assert body["xml"] == qr.bpmn_xml and body["at"] == minutes(60).isoformat()
    assert surveys["elements"] == {
        "survey_delay": {"kind": "timer", "waiting": 2, "avg_wait_seconds": None, "overdue": 1, "heat": 1.0}}
    with time_machine.travel(minutes(80), tick=False):  # twenty minutes later both acceptance windows lapsed
        later = heat(client, "quick_response", qr.version)["elements"]["accept_ticket"]
    assert (later["avg_wait_seconds"], later["overdue"]) == (60 * 60, 2)


def test_heatmap_figures_per_element(app):
    check_heatmap(app)


@pytest.mark.postgres
def test_heatmap_figures_per_element_on_postgres(pg_app):  # noqa: F811
    check_heatmap(pg_app)


def test_heatmap_is_for_process_owners(app, client):
    assert client.post("/login", data={"username": "supervisor1", "password": PASSWORD}).status_code == 302
    assert client.get("/studio/quick_response/versions/1/heatmap").status_code == 403
    assert client.get("/studio/quick_response/versions/1/live").status_code == 403


def test_the_live_page_loads_the_viewer(app, client):
    assert client.post("/login", data={"username": "owner1", "password": PASSWORD}).status_code == 302
    page = client.get("/studio/quick_response/versions/1/live")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "bpmn-navigated-viewer.production.min.js" in text
    assert "/studio/quick_response/versions/1/heatmap" in text
    assert client.get("/studio/quick_response/versions/9/live").status_code == 404


def test_a_tickets_diagram_shows_the_path_taken_and_where_it_waits(app):
    api = Api(app.test_client())
    with time_machine.travel(T0, tick=False):
        lapsed = api.new_ticket()["number"]
        handled = api.new_ticket()["number"]
        api.complete("engineer1", handled, "accept_ticket", contact_note="已电话联系客户")
    with time_machine.travel(minutes(31), tick=False):
        from app.timers.service import fire_due_timers

        assert fire_due_timers() >= 1  # the first ticket's acceptance window lapses
    viewer = app.test_client()
    assert viewer.post("/login", data={"username": "agent2", "password": PASSWORD}).status_code == 302
    body = viewer.get(f"/tickets/{handled}/diagram").get_json()
    newest = definition("quick_response")
    assert (body["process"], body["version"], body["xml"]) == ("quick_response", newest.version, newest.bpmn_xml)
    assert body["completed"] == {"accept_ticket": 1} and body["current"] == ["handle_ticket"]
    body = viewer.get(f"/tickets/{lapsed}/diagram").get_json()
    assert body["completed"] == {"accept_timeout": 1} and body["current"] == ["reassign_ticket"]
    page = viewer.get(f"/tickets/{lapsed}").get_data(as_text=True)
    assert f"/tickets/{lapsed}/diagram" in page and 'data-mode="path"' in page
    assert viewer.get("/tickets/NOPE/diagram").status_code == 404
