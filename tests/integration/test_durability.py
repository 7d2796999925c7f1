"""State survives restarts; concurrent completions give one success and one 409; the CLI works."""
from datetime import datetime, timedelta, timezone

import time_machine

from app.extensions import db
from app.timers.service import fire_due_timers
from tests.conftest import Api, complete_at_once, make_app

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def test_state_survives_a_restart(template_db, tmp_path):
    import shutil

    path = tmp_path / "restart.db"
    shutil.copy(template_db, path)
    first = make_app(path, tmp_path)
    with first.app_context():
        api = Api(first.test_client())
        number = api.new_ticket()["number"]
        api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
        db.session.remove()
        db.engine.dispose()
    second = make_app(path, tmp_path)  # a new process: cold caches, state only from the database
    with second.app_context():
        api = Api(second.test_client())
        ticket = api.ticket(number)
        assert ticket["status"] == "processing"
        assert [t["name"] for t in ticket["open_tasks"]] == ["handle_ticket"]
        ticket = api.complete("engineer1", number, "handle_ticket", action="排查", status="processing",
                              solution="方案", solution_ready=True)
        assert ticket["status"] == "feedback"
        db.session.remove()
        db.engine.dispose()


def test_timer_lapsed_while_down_fires_on_next_pass(template_db, tmp_path):
    import shutil

    path = tmp_path / "down.db"
    shutil.copy(template_db, path)
    first = make_app(path, tmp_path)
    with time_machine.travel(T0, tick=False), first.app_context():
        number = Api(first.test_client()).new_ticket()["number"]
        db.engine.dispose()
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        second = make_app(path, tmp_path)
        with second.app_context():
            assert fire_due_timers() == 1  # both lapsed timers fire in one refresh of the instance
            ticket = Api(second.test_client()).ticket(number)
            # the acceptance window and the 2-hour response deadline both lapsed: both escalate
            assert sorted(t["name"] for t in ticket["open_tasks"]) == ["reassign_ticket", "review_response"]
            db.engine.dispose()


def test_two_users_complete_the_same_task_at_once(app, api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        fire_due_timers()
        task = api.task_for("supervisor1", number, "reassign_ticket")
        results = complete_at_once(app, api, task["id"], {
            "supervisor1": {"assignee": "engineer1", "reason": "supervisor1 改派"},
            "admin": {"assignee": "product1", "department": "product", "reason": "admin 改派"},
        })
        codes = sorted(code for code, _ in results.values())
        assert codes == [200, 409], results
        winner = next(u for u, (code, _) in results.items() if code == 200)
        ticket = api.ticket(number)
        completions = [h for h in ticket["history"] if h["action"] == "task_completed"]
        assert len(completions) == 1 and completions[0]["actor"] == winner
        assert [t["name"] for t in ticket["open_tasks"]] == ["accept_ticket"]
        assert ticket["assignee"] == ("engineer1" if winner == "supervisor1" else "product1")


def test_cli_deploy_seed_and_fire(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["deploy"])
    assert result.exit_code == 0 and "quick_response version 1: unchanged" in result.output
    result = runner.invoke(args=["seed-demo", "--password", "x-123456"])
    assert result.exit_code == 0 and "0 new rows" in result.output
    result = runner.invoke(args=["fire-timers"])
    assert result.exit_code == 0 and "fired 0 timer(s)" in result.output
    broken = tmp_path / "wf"
    broken.mkdir()
    (broken / "bad.bpmn").write_text("<bpmn:definitions", encoding="utf-8")
    app.config["WORKFLOWS_DIR"] = str(broken)
    result = runner.invoke(args=["deploy"])
    assert result.exit_code == 1 and "workflows/bad.bpmn: line 1: XML error" in result.output


def test_each_process_keeps_its_cached_workflows_in_step_with_the_database(template_db, tmp_path):
    """Two app processes (two engines with their own live caches) take turns on one ticket: each step starts
    from the version in the database, never from a workflow an older step left in a cache."""
    import shutil

    path = tmp_path / "shared.db"
    shutil.copy(template_db, path)
    first, second = make_app(path, tmp_path), make_app(path, tmp_path)
    assert first.extensions["engine"] is not second.extensions["engine"]

    def turn(app, user, number, name, **data):
        with app.app_context():
            api = Api(app.test_client())
            ticket = api.complete(user, number, name, **data) if name else api.new_ticket()
            db.session.remove()
            return ticket

    number = turn(first, "agent1", None, None)["number"]
    turn(first, "engineer1", number, "accept_ticket", contact_note="已联系客户")  # first caches version 2
    turn(second, "engineer1", number, "handle_ticket", action="排查", status="processing",
         solution="更换电源", solution_ready=True)  # second moves the instance to version 3
    closed = turn(first, "agent1", number, "feedback", method="phone", opinion="satisfied")
    assert closed["status"] == "closed"
    assert [e["action"] for e in closed["history"]].count("task_completed") == 3
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def test_sqlite_connections_have_their_settings(template_db, tmp_path):
    """WAL, foreign keys, a busy timeout and a page cache of SQLITE_CACHE_MB on every SQLite connection."""
    import shutil

    path = tmp_path / "pragmas.db"
    shutil.copy(template_db, path)
    application = make_app(path, tmp_path, SQLITE_CACHE_MB=7)
    with application.app_context():
        values = [db.session.execute(db.text(f"PRAGMA {name}")).scalar()
                  for name in ("journal_mode", "foreign_keys", "busy_timeout", "cache_size")]
        db.session.remove()
        db.engine.dispose()
    assert values == ["wal", 1, 10000, -7 * 1024]
