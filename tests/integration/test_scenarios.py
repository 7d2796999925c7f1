"""Scenario tests for diagrams: run in memory against the batch's texts, on the scenario's own clock; a failing
scenario names its file, scenario and step; deploy refuses a batch whose scenarios fail; nothing is written."""
import shutil
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.clock import now
from app.database import deploy_workflows
from app.engine import DeployError, PendingTimer, ProcessDefinition, ProcessInstance
from app.extensions import db
from app.notifications.models import Notification
from app.scenarios import ScenarioFormatError, load_scenarios, run_directory, run_texts
from app.tasks.models import HumanTask
from app.tickets.models import Ticket, TicketEvent

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = "quick_response.scenarios.yaml"
HEADER = (ROOT / "workflows" / SHIPPED).read_text(encoding="utf-8").split("\nscenarios:")[0]


@pytest.fixture
def tree(tmp_path):
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    return tmp_path


def texts(tree, scenarios=None):
    """The tree's texts, with `scenarios` (YAML of the scenarios list) after the shipped file's header."""
    workflows, forms = tree / "workflows", tree / "forms"
    scenario_texts = {SHIPPED: (workflows / SHIPPED).read_text(encoding="utf-8")}
    if scenarios is not None:
        scenario_texts = {SHIPPED: HEADER + "\nscenarios:\n" + textwrap.indent(textwrap.dedent(scenarios), "  ")}
    return (scenario_texts,
            {p.name: p.read_text(encoding="utf-8") for p in workflows.glob("*.bpmn")},
            {p.name: p.read_text(encoding="utf-8") for p in workflows.glob("*.dmn")},
            {p.name: p.read_text(encoding="utf-8") for p in forms.glob("*.json")})


def run(tree, scenarios):
    [result] = run_texts(*texts(tree, scenarios))
    return result


def failure(tree, steps):
    """The message of the one scenario made of `steps` (YAML list), which must fail."""
    result = run(tree, "- name: probe\n  steps:\n" + textwrap.indent(textwrap.dedent(steps), "    "))
    assert not result.passed, result
    return result


def test_every_shipped_scenario_passes(app):
    results = run_directory(app.config["WORKFLOWS_DIR"], app.config["FORMS_DIR"])
    assert len(results) >= 13 and all(r.passed for r in results), [str(r) for r in results if not r.passed]


def test_a_passing_scenario_reports_its_steps(tree, app):
    result = run(tree, """
        - name: lapse
          steps:
            - advance: 31 minutes
              expect: {waiting_at: reassign_ticket, lane: supervisor, assignee: null}
    """)
    assert result.passed and result.steps_run == 1 and str(result) == f"PASS {SHIPPED}: lapse (1 steps)"


@pytest.mark.parametrize("expect, message", [
    ("{waiting_at: handle_ticket}", "expected to wait at handle_ticket, but waiting at: accept_ticket"),
    ("{not_waiting_at: accept_ticket}", "expected not to wait at accept_ticket, but it is waiting"),
    ("{waiting_at: accept_ticket, lane: supervisor}", "accept_ticket is in the lane 'handler', expected 'supervisor'"),
    ("{waiting_at: accept_ticket, assignee: engineer2}", "accept_ticket goes to 'engineer1', expected 'engineer2'"),
    ("{status: closed}", "status is 'pending_accept', expected 'closed'"),
    ("{variables: {department: product}}", "variable department is 'after_sales', expected 'product'"),
    ("{variables: {solution: x}}", "variable solution is not set, expected 'x'"),
    ("{filled: [accepted_at]}", "variable accepted_at is empty, expected a value"),
    ("{empty: [department]}", "variable department is 'after_sales', expected it empty"),
    ("{finished: true}", "the process is still running (waiting at: accept_ticket), expected it finished"),
    ("{timers: [resolution_timer]}", "expected the timer resolution_timer to be waiting, but waiting timers: "
                                     "accept_timeout, response_timer"),
    ("{passed: [close]}", "expected the process to have passed close, but it has not"),
])
def test_each_failing_expectation_says_what_differs(tree, app, expect, message):
    result = failure(tree, f"- advance: 5 minutes\n- expect: {expect}\n")
    assert (result.scenario, result.step, result.step_label) == ("probe", 2, "step 2 (expect)")
    assert result.message == message
    assert str(result) == f"FAIL {SHIPPED}: probe: step 2 (expect): {message}"


def test_two_mismatches_of_one_step_are_both_named(tree, app):
    result = failure(tree, "- expect: {status: closed, finished: true}\n")
    assert result.message.startswith("status is 'pending_accept', expected 'closed'; the process is still running")


def test_finished_false_on_a_closed_ticket(tree, app):
    result = failure(tree, """
        - complete: accept_ticket
        - complete: handle_ticket
        - complete: feedback
          expect: {finished: false}
    """)
    assert (result.step, result.message) == (3, "the process finished, expected it still running")


@pytest.mark.parametrize("steps, label, message", [
    ("- complete: feedback\n", "step 1 (complete feedback)", "the task feedback is not waiting; waiting at: accept_ticket"),
    ("- complete: accept_ticket\n  with: {contact_note: x}\n", "step 1 (complete accept_ticket)",
     "the answer to accept_ticket does not fit the form accept_ticket.json: contact_note: "),
    ("- complete: accept_ticket\n  with: {note: 已联系}\n", "step 1 (complete accept_ticket)",
     "the answer to accept_ticket does not fit the form accept_ticket.json: "),
    ("- complete: accept_ticket\n- message: redispatch\n  with: {assignee: engineer2, reason: 改派原因}\n",
     "step 2 (message redispatch)", "the message redispatch failed: The process is not waiting for the message"),
])
def test_an_action_that_cannot_be_done_fails_its_step(tree, app, steps, label, message):
    result = failure(tree, steps)
    assert result.step_label == label and result.message.startswith(message), result.message


def test_a_task_without_an_answer_fails_naming_it(tree, app):
    scenario_texts, bpmn, dmn, forms = texts(tree)
    answer = "  review_overdue.json: {note: 已督促处理人跟进}"
    assert answer in scenario_texts[SHIPPED]  # the answer by form file serves review_response
    scenario_texts[SHIPPED] = scenario_texts[SHIPPED].replace(answer, "")
    results = {r.scenario: r for r in run_texts(scenario_texts, bpmn, dmn, forms)}
    broken = results["nobody accepts within the response window - the supervisor is asked once"]
    assert broken.step_label == "step 8 (complete review_response)"
    assert broken.message == "no answer for review_response: give it with 'with' or under 'answers'"


def test_the_scenario_runs_the_diagram_texts_given_not_the_deployed_version(tree, app):
    scenario_texts, bpmn, dmn, forms = texts(tree)
    bpmn["quick_response.bpmn"] = bpmn["quick_response.bpmn"].replace('"PT30M"', '"PT15M"')
    dmn["sla_by_urgency.dmn"] = dmn["sla_by_urgency.dmn"].replace('"PT2H"', '"PT3H"')
    failed = {r.scenario: r for r in run_texts(scenario_texts, bpmn, dmn, forms) if not r.passed}
    lapse = failed["acceptance window lapses to the supervisor's reassign task"]
    assert (lapse.step_label, lapse.message) == (
        "step 1 (advance 0:29:00)", "expected to wait at accept_ticket, but waiting at: reassign_ticket; "
                                    "expected not to wait at reassign_ticket, but it is waiting")
    first = failed["satisfied customer closes the ticket"]
    assert first.message == ("variable response_due is '2025-03-03T04:00:00+00:00', "
                             "expected '2025-03-03T11:00:00+08:00'")


@pytest.mark.parametrize("text, message", [
    ("scenarios: [{name: a, steps: [{advance: 3 parsecs}]}]",
     "scenario 'a': step 1: field 'advance': '3 parsecs' is not a duration; write e.g. '31 minutes'"),
    ("scenarios: [{name: a, steps: [{expect: {waiting: accept_ticket}}]}]",
     "scenario 'a': step 1: field 'expect.waiting': unknown field; allowed here: assignee, empty, filled"),
    ("scenarios: [{name: a, steps: [{complete: accept_ticket, advance: 1 minute}]}]",
     "scenario 'a': step 1: one action per step, not complete and advance"),
    ("scenarios: [{steps: [{advance: 1 minute}]}]", "field 'scenarios[1].name': every scenario needs a name"),
    ("scenarios: [{name: a, steps: []}]", "scenario 'a': field 'steps': must be a non-empty list of steps"),
    ("scenarios: [{name: a, steps: [{advance: 1 minute, by: x}]}]",
     "scenario 'a': step 1: field 'by': only goes with complete or message"),
    ("scenarios: [{name: a, steps: [{expect: {lane: handler}}]}]",
     "scenario 'a': step 1: field 'expect.lane': needs waiting_at"),
    ("start_at: tomorrow\nscenarios: [{name: a, steps: [{advance: 1 minute}]}]",
     "field 'start_at': 'tomorrow' is not an ISO time"),
    ("scenario: []", "field 'scenario': unknown field"),
    ("scenarios: [{name: a, steps: [{advance: 1 minute}]}", "not valid YAML"),
])
def test_a_malformed_file_names_the_field(text, message):
    with pytest.raises(ScenarioFormatError) as caught:
        load_scenarios("x.scenarios.yaml", text)
    assert str(caught.value).startswith(f"x.scenarios.yaml: {message}"), str(caught.value)


def test_a_malformed_file_is_one_failed_result_and_json_files_load(tree, app):
    scenario_texts, bpmn, dmn, forms = texts(tree)
    scenario_texts = {"quick_response.scenarios.json": '{"scenarios": [{"name": "a", "steps": [{"advance": 5}]}]}'}
    [result] = run_texts(scenario_texts, bpmn, dmn, forms)
    assert not result.passed and result.scenario == ""
    assert result.message.startswith("scenario 'a': step 1: field 'advance': 5 is not a duration")
    loaded = load_scenarios("quick_response.scenarios.json",
                            '{"scenarios": [{"name": "a", "steps": [{"advance": "PT31M"}]}]}')
    assert loaded.diagram == "quick_response.bpmn" and loaded.scenarios[0].steps[0].advance == timedelta(minutes=31)


def _break_the_window(tree):
    path = tree / "workflows" / "quick_response.bpmn"
    path.write_text(path.read_text(encoding="utf-8").replace('"PT30M"', '"PT15M"'), encoding="utf-8")


def test_deploy_is_refused_when_a_scenario_fails(app, tree):
    app.config.update(WORKFLOWS_DIR=str(tree / "workflows"), FORMS_DIR=str(tree / "forms"))
    _break_the_window(tree)
    before = db.session.scalar(select(func.count()).select_from(ProcessDefinition))
    with pytest.raises(DeployError) as caught:
        deploy_workflows(deployed_by="test")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ProcessDefinition)) == before
    messages = [str(p) for p in caught.value.errors]
    assert ("workflows/quick_response.scenarios.yaml:quick_response:scenario 'acceptance window lapses to the "
            "supervisor's reassign task': step 1 (advance 0:29:00): expected to wait at accept_ticket") in "\n".join(messages)
    problem = caught.value.errors[0]
    assert (problem.file, problem.process) == ("workflows/quick_response.scenarios.yaml", "quick_response")


def test_deploy_command_refuses_and_validation_comes_first(app, tree):
    app.config.update(WORKFLOWS_DIR=str(tree / "workflows"), FORMS_DIR=str(tree / "forms"))
    _break_the_window(tree)
    refused = app.test_cli_runner().invoke(args=["deploy"])
    assert refused.exit_code == 1 and "step 1 (advance 0:29:00)" in refused.output
    assert "nothing was deployed" in refused.output
    path = tree / "workflows" / "quick_response.bpmn"
    path.write_text(path.read_text(encoding="utf-8").replace('isExecutable="true"', 'isExecutable="false"'),
                    encoding="utf-8")
    invalid = app.test_cli_runner().invoke(args=["deploy"])
    assert invalid.exit_code == 1 and "isExecutable" in invalid.output and "scenario" not in invalid.output


def test_test_flows_command_exit_codes(app, tree):
    app.config.update(WORKFLOWS_DIR=str(tree / "workflows"), FORMS_DIR=str(tree / "forms"))
    passing = app.test_cli_runner().invoke(args=["test-flows"])
    assert passing.exit_code == 0, passing.output
    assert f"PASS {SHIPPED}: satisfied customer closes the ticket" in passing.output
    assert "0 failed" in passing.output
    _break_the_window(tree)
    failing = app.test_cli_runner().invoke(args=["test-flows", "--file", str(tree / "workflows" / SHIPPED)])
    assert failing.exit_code == 1
    assert (f"FAIL {SHIPPED}: acceptance window lapses to the supervisor's reassign task: step 1 (advance 0:29:00): "
            "expected to wait at accept_ticket") in failing.output
    for scenarios in (tree / "workflows").glob("*.scenarios.yaml"):  # quick_response's, after_sales' and service_request's
        scenarios.unlink()
    empty = app.test_cli_runner().invoke(args=["test-flows"])
    assert empty.exit_code == 1 and "no scenario files found" in empty.output


def test_running_scenarios_writes_nothing_and_leaves_the_clock_alone(app):
    tables = (ProcessDefinition, ProcessInstance, PendingTimer, Ticket, TicketEvent, HumanTask, Notification)

    def counts():
        return [db.session.scalar(select(func.count()).select_from(t)) for t in tables]

    before = counts()
    results = run_directory(app.config["WORKFLOWS_DIR"], app.config["FORMS_DIR"])
    assert results and all(r.passed for r in results)
    assert counts() == before
    assert abs(now() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_the_scenario_clock_holds_only_in_its_own_context():
    from app.clock import scenario_clock

    seen = {}
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    with scenario_clock(start) as clock:
        clock.move_to(start + timedelta(hours=1))
        thread = threading.Thread(target=lambda: seen.update(other=now()))
        thread.start()
        thread.join()
        seen["inside"] = now()
    assert seen["inside"] == start + timedelta(hours=1)
    assert seen["other"].year < 2030 and now().year < 2030


def test_deploy_on_start_skips_scenarios_that_passed_against_the_deployed_content(app, tree, monkeypatch):
    import app.scenarios.service as service

    calls = []
    real = service.run_texts
    monkeypatch.setattr(service, "run_texts", lambda *texts: calls.append(1) or real(*texts))
    app.config.update(WORKFLOWS_DIR=str(tree / "workflows"), FORMS_DIR=str(tree / "forms"))
    deploy_workflows(deployed_by="test", skip_passed=True)
    assert calls == []  # the shipped content and scenarios are deployed already: they passed then

    deploy_workflows(deployed_by="test")
    assert calls == [1]  # the deploy command always runs them

    shipped = tree / "workflows" / SHIPPED
    shipped.write_text(shipped.read_text(encoding="utf-8") + "\n# a changed scenario text\n", encoding="utf-8")
    deploy_workflows(deployed_by="test", skip_passed=True)
    assert calls == [1, 1]
    db.session.rollback()

    _break_the_window(tree)  # a changed diagram is run against its scenarios, and refused
    with pytest.raises(DeployError):
        deploy_workflows(deployed_by="test", skip_passed=True)
    db.session.rollback()
