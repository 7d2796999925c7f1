"""Deploy validation: every problem names file, process, element and field; a batch with any problem deploys nothing.

Broken fixtures are the shipped files with one edit (made by `edit`) or tests/fixtures/deploy/minimal.bpmn.
"""
import json
import logging
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from app.database import COMPLETION_DATA, START_DATA, deploy_rules
from app.engine import DeployError, ProcessDefinition, ProcessInstance, deploy_directory
from app.engine.definitions import read_bundles
from app.engine.validation import Problem, check_timer_expression
from app.extensions import db
from app.tickets.flow import engine

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "tests" / "fixtures" / "deploy" / "minimal.bpmn"
BPMN = "workflows/quick_response.bpmn"
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def tree(tmp_path):
    """A copy of workflows/ and forms/ the test may break."""
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    return tmp_path


def edit(tree, old, new, name="quick_response.bpmn"):
    path = tree / "workflows" / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def edit_form(tree, name, change):
    path = tree / "forms" / name
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")


def add_minimal(tree, name="minimal.bpmn"):
    shutil.copy(MINIMAL, tree / "workflows" / name)


def problems_of(tree, **options):
    with time_machine.travel(NOW, tick=False):
        _bundles, problems = read_bundles(tree / "workflows", tree / "forms", deploy_rules(), **options)
    return problems


def where(problems):
    """(file, process, element, field) of each problem."""
    return [(p.file, p.process, p.element, p.field) for p in problems]


def only(tree):
    [problem] = problems_of(tree)
    assert isinstance(problem, Problem)
    return problem


# ---------------------------------------------------------------- the shipped files and the message format

def test_shipped_diagrams_and_forms_are_valid(tree):
    bundles, problems = read_bundles(tree / "workflows", tree / "forms", deploy_rules())
    assert problems == []
    by_name = {bundle.name: bundle for bundle in bundles}
    assert {(b.name, b.filename) for b in bundles} == {("quick_response", "quick_response.bpmn"),
                                                       ("satisfaction_survey", "survey.bpmn"),
                                                       ("service_request", "service_request.bpmn"),
                                                       ("customer_onboarding", "onboarding.bpmn"),
                                                       ("customer_care", "care.bpmn"),
                                                       ("after_sales", "aftersales.bpmn")}
    assert set(by_name["satisfaction_survey"].forms) == {"survey.json"}  # named by its send task
    assert "redispatch.json" in by_name["service_request"].forms  # its message form, shared with quick_response
    assert set().union(*(b.forms for b in bundles)) == {p.name for p in (ROOT / "forms").glob("*.json")}


def quick_response(results):
    """(definition, created) of quick_response among deploy_directory's results."""
    [found] = [(d, created) for d, created in results if d.name == "quick_response"]
    return found


def test_problem_line_names_file_process_element_and_field():
    problem = Problem("workflows/x.bpmn", "x", "accept_timeout", "timeDuration", "timer 'd': it is empty")
    assert str(problem) == "workflows/x.bpmn:x:accept_timeout: timeDuration: timer 'd': it is empty"
    assert problem.as_dict()["element"] == "accept_timeout"
    assert str(Problem("forms/a.json", message="not valid JSON")) == "forms/a.json: not valid JSON"


# ---------------------------------------------------------------- timers

@pytest.mark.parametrize("blank", ["", "   ", '""', '"  "'])
def test_timer_empty_expression_is_a_clear_message(tree, blank):
    edit(tree, '>"PT30M"<', f">{blank}<")
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "accept_timeout", "timeDuration")]
    assert "timer 'accept_timeout_def'" in problem.message and "empty" in problem.message
    assert "Traceback" not in str(problem)


def test_timer_without_specification_is_refused(tree):
    edit(tree, '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT30M"</bpmn:timeDuration>', "")
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "accept_timeout", "timerEventDefinition")]
    assert "no timeDate, timeDuration or timeCycle" in problem.message


def test_timer_unparsable_literal_is_refused(tree):
    edit(tree, '>"PT30M"<', '>"30 minutes"<')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "accept_timeout", "timeDuration")]
    assert "not a valid ISO 8601 duration" in problem.message


def test_timer_unquoted_duration_is_refused(tree):
    edit(tree, '>"PT30M"<', ">PT30M<")
    assert str(only(tree)) == (f'{BPMN}:quick_response:accept_timeout: timeDuration: timer \'accept_timeout_def\': '
                               'the timer expression PT30M must be quoted: write "PT30M"')


def test_timer_cycle_repeating_zero_times_is_refused(tree):
    edit(tree, '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT30M"</bpmn:timeDuration>',
         '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">"R0/PT30M"</bpmn:timeCycle>')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "accept_timeout", "timeCycle")]
    assert "repeats zero times" in problem.message


@pytest.mark.parametrize("value, words", [('"PT0M"', "is zero"), ('"P0D"', "is zero"), ('"-PT5M"', "negative"),
                                          ('-PT5M', "negative")])
def test_timer_zero_or_negative_duration_is_refused(tree, value, words):
    edit(tree, '>"PT30M"<', f">{value}<")
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "accept_timeout", "timeDuration")]
    assert words in problem.message


def test_timer_fixed_date_already_past_is_refused(tree):
    edit(tree, ">response_due<", '>"2026-03-02T09:00:00+08:00"<')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "response_timer", "timeDate")]
    assert "already past" in problem.message


def test_timer_fixed_date_in_the_future_is_accepted_and_a_duration_is_not_a_date(tree):
    edit(tree, ">response_due<", '>"2026-07-01T09:00:00+08:00"<')
    assert problems_of(tree) == []
    edit(tree, '>"2026-07-01T09:00:00+08:00"<', '>"PT2H"<')
    problem = only(tree)
    assert (problem.element, problem.field) == ("response_timer", "timeDate") and "is a duration" in problem.message


def test_timer_expression_rules():
    assert check_timer_expression("timeDuration", '"PT30M"', NOW) is None
    assert check_timer_expression("timeDate", "response_due", NOW) is None
    assert check_timer_expression("timeDate", '"2027-03-02T09:00:00+08:00"', NOW) is None
    assert check_timer_expression("timeCycle", '"R3/PT1H"', NOW) is None
    assert "must be quoted" in check_timer_expression("timeDuration", "PT2H", NOW)
    assert "not valid" in check_timer_expression("timeDuration", "PT30M +", NOW)
    assert "zero interval" in check_timer_expression("timeCycle", '"R2/PT0S"', NOW)


def test_timer_variable_must_be_provided_upstream(tree):
    edit(tree, ">response_due<", ">respond_by<")
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "response_timer", "timeDate")]
    assert "reads 'respond_by'" in problem.message


# ---------------------------------------------------------------- forms

def test_form_schema_not_valid_json_schema_names_the_field_path(tree):
    edit_form(tree, "feedback.json", lambda s: s["properties"]["opinion"].update(type=5))
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "feedback", "properties.opinion.type")]
    assert "form 'feedback.json': not a valid JSON Schema" in problem.message


def test_form_required_field_missing_from_properties(tree):
    edit_form(tree, "feedback.json", lambda s: s["required"].append("rating"))
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "feedback", "required")]
    assert "'rating'" in problem.message and "not in the form's properties" in problem.message


def test_form_required_in_a_branch_is_checked_too(tree):
    edit_form(tree, "handle_ticket.json", lambda s: s["then"]["required"].append("solutoin"))
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "handle_ticket", "then.required")]
    assert "'solutoin'" in problem.message


def test_form_x_ref_to_an_unknown_kind(tree):
    edit_form(tree, "reassign_ticket.json", lambda s: s["properties"]["department"].update({"x-ref": "departments"}))
    problems = problems_of(tree)  # both processes whose reassign task uses the form
    assert sorted(where(problems)) == [
        ("workflows/aftersales.bpmn", "after_sales", "reassign_ticket", "properties.department.x-ref"),
        (BPMN, "quick_response", "reassign_ticket", "properties.department.x-ref")]
    assert all("unknown kind 'departments'" in p.message and "department, user" in p.message for p in problems)


def test_form_of_a_message_is_checked_on_the_catching_event(tree):
    edit_form(tree, "redispatch.json", lambda s: s["properties"]["assignee"].update({"x-role": "boss"}))
    problems = problems_of(tree)  # every process that catches the redispatch message
    assert sorted(where(problems)) == [
        ("workflows/aftersales.bpmn", "after_sales", "redispatch_requested", "properties.assignee.x-role"),
        (BPMN, "quick_response", "redispatch_requested", "properties.assignee.x-role"),
        ("workflows/service_request.bpmn", "service_request", "redispatch_requested", "properties.assignee.x-role")]


def test_user_task_form_file_missing(tree):
    (tree / "forms" / "feedback.json").unlink()
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "feedback", "formJsonSchemaFilename")]
    assert "form 'feedback.json' does not exist" in problem.message


def test_form_that_is_not_json(tree):
    (tree / "forms" / "feedback.json").write_text('{"type": "object",', encoding="utf-8")
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "feedback", "formJsonSchemaFilename")]
    assert "not valid JSON" in problem.message and "line 1" in problem.message


def test_unused_broken_form_is_reported_on_its_file(tree):
    (tree / "forms" / "draft.json").write_text('{"type": 5}', encoding="utf-8")
    problem = only(tree)
    assert where([problem]) == [("forms/draft.json", "", "", "type")]


def test_form_property_named_like_a_capability(tree):
    edit_form(tree, "feedback.json", lambda s: s["properties"].update(deadline={"type": "string"}))
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "feedback", "properties.deadline")]


# ---------------------------------------------------------------- expressions and scripts

def test_condition_syntax_error_names_the_sequence_flow(tree):
    edit(tree, '>opinion == "satisfied"<', '>opinion == = "satisfied"<')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "flow_satisfied", "conditionExpression")]
    assert "condition of the flow from 'gw_opinion' has a syntax error" in problem.message


def test_condition_on_a_field_nothing_provides(tree):
    edit(tree, '>opinion == "satisfied"<', '>mood == "satisfied"<')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "flow_satisfied", "conditionExpression")]
    assert "reads 'mood', which no earlier form, start data, decision, message or script provides" in problem.message


def test_condition_on_a_field_only_a_later_form_provides(tree):
    # `opinion` comes from the feedback form, which runs only after the response timer's gateway
    edit(tree, 'has_open_task(ticket_number, "review_response")', 'opinion == "satisfied"')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "flow_response_dup", "conditionExpression")]
    assert "reads 'opinion'" in problem.message


def test_condition_may_read_start_data_decisions_scripts_and_completion_data(tree):
    edit(tree, '>opinion == "satisfied"<',
         '>opinion == "satisfied" and urgency and department and resolved_at and completed_by and redispatch<')
    assert problems_of(tree) == []


def test_property_expression_reading_nothing_provided(tree):
    edit(tree, '<spiffworkflow:property name="assignee" value="created_by" />',
         '<spiffworkflow:property name="assignee" value="creator" />')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "feedback", "property 'assignee'")]


def test_script_assigning_a_capability_name_is_refused(tree):
    edit(tree, 'status = "pending_accept"\nreopen_count = 0', 'status = "pending_accept"\nreopen_count = 0\n'
                                                              'deadline = response_due')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "plan", "script")]
    assert "assigns 'deadline', the name of a capability" in problem.message


def test_script_syntax_error_is_refused(tree):
    edit(tree, 'status = "pending_accept"\nreopen_count = 0', 'status = = "pending_accept"')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "plan", "script")]
    assert "script has a syntax error (line 7)" in problem.message


def test_script_the_sandbox_refuses_is_refused_at_deploy(tree):
    edit(tree, 'status = "pending_accept"\nreopen_count = 0', 'status = ().__class__.__name__')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "plan", "script")]
    assert problem.message.startswith("script is refused by the sandbox")


def test_condition_the_sandbox_refuses(tree):
    edit(tree, '>opinion == "satisfied"<', '>opinion.__class__ == "satisfied"<')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "flow_satisfied", "conditionExpression")]
    assert "refused by the sandbox" in problem.message


def test_script_reading_a_name_nothing_provides(tree):
    edit(tree, "reopen_count = reopen_count + 1", "reopen_count = reopen_counter + 1")
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "reopen", "script")]
    assert "reads 'reopen_counter'" in problem.message


# ---------------------------------------------------------------- graph

def test_element_no_path_reaches(tree):
    edit(tree, "</bpmn:process>", '<bpmn:scriptTask id="orphan"><bpmn:outgoing>f_orphan</bpmn:outgoing>'
                                  '<bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>'
                                  '<bpmn:sequenceFlow id="f_orphan" sourceRef="orphan" targetRef="end_closed" />'
                                  "</bpmn:process>")
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "orphan", "incoming")]
    assert "no path from a start event" in problem.message


def test_element_with_no_path_to_an_end_event(tree):
    edit(tree, '<bpmn:sequenceFlow id="f23" sourceRef="review_resolution" targetRef="end_resolution" />', "")
    problems = problems_of(tree)
    assert where(problems) == [
        (BPMN, "quick_response", "end_resolution", "incoming"),
        (BPMN, "quick_response", "review_resolution", "outgoing"),
    ]
    assert "no path leads from this element to an end event: it has no outgoing sequence flow" in problems[1].message


def test_loop_that_never_reaches_an_end_event(tree):
    edit(tree, 'sourceRef="review_resolution" targetRef="end_resolution"',
         'sourceRef="review_resolution" targetRef="mark_escalated_resolution"')
    problems = problems_of(tree)
    assert where(problems) == [
        (BPMN, "quick_response", "end_resolution", "incoming"),
        (BPMN, "quick_response", "mark_escalated_resolution", "outgoing"),
    ]
    assert "loop that never reaches an end event" in problems[1].message


def test_element_in_a_subprocess_with_no_path_to_its_end(tree):
    edit(tree, '<bpmn:sequenceFlow id="flow_solved" name="是" sourceRef="gw_solved" targetRef="resolve_end">',
         '<bpmn:sequenceFlow id="flow_solved" name="是" sourceRef="gw_solved" targetRef="handle_ticket">')
    problems = problems_of(tree)
    assert ("quick_response", "resolve_end", "incoming") in [(p.process, p.element, p.field) for p in problems]
    assert ("quick_response", "gw_solved", "outgoing") in [(p.process, p.element, p.field) for p in problems]


def test_boundary_event_attached_to_a_missing_activity(tree):
    edit(tree, 'attachedToRef="accept_ticket" cancelActivity="true"><bpmn:outgoing>f5',
         'attachedToRef="accept_tikcet" cancelActivity="true"><bpmn:outgoing>f5')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "accept_timeout", "attachedToRef")]
    assert "'accept_tikcet', which is not an activity of process 'quick_response'" in problem.message


def test_gateway_without_outgoing_flows(tree):
    add_minimal(tree)
    edit(tree, '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>',
         '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
         '<bpmn:exclusiveGateway id="gw"><bpmn:incoming>f3</bpmn:incoming></bpmn:exclusiveGateway>'
         '<bpmn:sequenceFlow id="f3" sourceRef="start" targetRef="gw" />', name="minimal.bpmn")
    problem = only(tree)
    assert where([problem]) == [("workflows/minimal.bpmn", "minimal", "gw", "outgoing")]
    assert problem.message == "gateway has no outgoing sequence flow"


def test_sequence_flow_to_a_missing_element(tree):
    edit(tree, 'sourceRef="close" targetRef="end_closed"', 'sourceRef="close" targetRef="end_close"')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "f13", "targetRef")]


def test_process_marked_not_executable(tree):
    edit(tree, 'isExecutable="true"', 'isExecutable="false"')
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "quick_response", "isExecutable")]
    assert "process 'quick_response' is marked not executable" in problem.message


# ---------------------------------------------------------------- other per-file checks

def test_unknown_lane_is_refused(tree):
    edit(tree, '<bpmn:lane id="lane_supervisor" name="supervisor">', '<bpmn:lane id="lane_supervisor" name="boss">')
    problems = problems_of(tree)
    assert (BPMN, "quick_response", "reassign_ticket", "lane") in where(problems)
    assert "lane 'boss' is not a known role" in problems[0].message


def test_broken_xml_names_the_line(tree):
    edit(tree, "</bpmn:process>", "</bpmn:proces>")
    problem = only(tree)
    assert problem.file == BPMN and problem.field.startswith("line ") and "XML error" in problem.message


def test_schema_violation_is_refused(tree):
    edit(tree, '<bpmn:userTask id="feedback"', '<bpmn:userTask bogus="1" id="feedback"')
    problem = only(tree)
    assert problem.file == BPMN and "bogus" in problem.message


def test_unknown_decision_is_refused(tree):
    edit(tree, "<spiffworkflow:calledDecisionId>sla_by_urgency<", "<spiffworkflow:calledDecisionId>sla_by_urgncy<")
    problem = only(tree)
    assert where([problem]) == [(BPMN, "quick_response", "sla", "calledDecisionId")]


# ---------------------------------------------------------------- identity

def test_same_process_id_in_two_files_of_one_batch(tree):
    shutil.copy(tree / "workflows" / "quick_response.bpmn", tree / "workflows" / "quick_response_copy.bpmn")
    problems = problems_of(tree)
    assert where(problems) == [
        (BPMN, "quick_response", "quick_response", "id"),
        ("workflows/quick_response_copy.bpmn", "quick_response", "quick_response", "id"),
    ]
    assert "also used by workflows/quick_response_copy.bpmn" in problems[0].message


def test_new_file_claiming_a_deployed_process_is_refused_unless_replacing(app, tree):
    (tree / "workflows" / "quick_response.bpmn").rename(tree / "workflows" / "quick_response_v2.bpmn")
    with pytest.raises(DeployError) as caught:
        deploy_directory(tree / "workflows", tree / "forms", deploy_rules())
    [problem] = caught.value.errors
    assert where([problem]) == [("workflows/quick_response_v2.bpmn", "quick_response", "quick_response", "id")]
    assert "deployed from workflows/quick_response.bpmn" in problem.message and "--replace-file" in problem.message
    db.session.rollback()
    definition, created = quick_response(
        deploy_directory(tree / "workflows", tree / "forms", deploy_rules(), replace_file=True))
    db.session.commit()
    assert not created and (definition.version, definition.filename) == (1, "quick_response_v2.bpmn")
    edit(tree, 'name="受理工单"', 'name="受理工单（新版）"', name="quick_response_v2.bpmn")
    definition, created = quick_response(deploy_directory(tree / "workflows", tree / "forms", deploy_rules()))
    assert created and (definition.version, definition.filename) == (2, "quick_response_v2.bpmn")


# ---------------------------------------------------------------- the batch, the command, the start

def count_definitions():
    return db.session.scalar(select(func.count()).select_from(ProcessDefinition))


def test_a_broken_file_refuses_the_whole_batch(app, tree):
    add_minimal(tree)
    edit(tree, '>"PT30M"<', '>"PT0M"<')
    before = count_definitions()
    with pytest.raises(DeployError) as caught:
        deploy_directory(tree / "workflows", tree / "forms", deploy_rules())
    db.session.rollback()
    assert [p.element for p in caught.value.errors] == ["accept_timeout"]
    assert count_definitions() == before
    assert db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.name == "minimal")) is None
    (tree / "workflows" / "quick_response.bpmn").write_text(
        (ROOT / "workflows" / "quick_response.bpmn").read_text(encoding="utf-8"), encoding="utf-8")
    results = deploy_directory(tree / "workflows", tree / "forms", deploy_rules())
    assert sorted((d.name, created) for d, created in results) == [
        ("after_sales", False), ("customer_care", False), ("customer_onboarding", False), ("minimal", True), ("quick_response", False),
        ("satisfaction_survey", False), ("service_request", False)]


def test_deploy_command_prints_problems_and_deploys_nothing(app, tree):
    app.config.update(WORKFLOWS_DIR=str(tree / "workflows"), FORMS_DIR=str(tree / "forms"))
    add_minimal(tree)
    edit(tree, 'isExecutable="true"', 'isExecutable="false"')
    before = count_definitions()
    result = app.test_cli_runner().invoke(args=["deploy"])
    assert result.exit_code == 1
    assert f"{BPMN}:quick_response:quick_response: isExecutable: process 'quick_response'" in result.output
    assert "nothing was deployed" in result.output
    assert count_definitions() == before


def test_deploy_command_help_names_replace_file(app):
    result = app.test_cli_runner().invoke(args=["deploy", "--help"])
    assert result.exit_code == 0 and "--replace-file" in result.output and "process id" in result.output


def test_deploy_command_replace_file(app, tree):
    app.config.update(WORKFLOWS_DIR=str(tree / "workflows"), FORMS_DIR=str(tree / "forms"))
    (tree / "workflows" / "quick_response.bpmn").rename(tree / "workflows" / "renamed.bpmn")
    (tree / "workflows" / "quick_response.scenarios.yaml").rename(tree / "workflows" / "renamed.scenarios.yaml")
    refused = app.test_cli_runner().invoke(args=["deploy"])
    assert refused.exit_code == 1 and "--replace-file" in refused.output
    done = app.test_cli_runner().invoke(args=["deploy", "--replace-file"])
    assert done.exit_code == 0, done.output
    assert "quick_response version 1: unchanged" in done.output
    again = app.test_cli_runner().invoke(args=["deploy"])  # the process now keeps its new file
    assert again.exit_code == 0, again.output


def test_deploy_on_start_refuses_the_batch_logs_each_problem_and_starts(template_db, tmp_path, tree, caplog):
    from tests.conftest import make_app

    add_minimal(tree)
    edit(tree, ">response_due<", ">respond_by<")
    path = tmp_path / "start.db"
    shutil.copy(template_db, path)
    with caplog.at_level(logging.ERROR, logger="app.database"):
        application = make_app(path, tmp_path, AUTO_DEPLOY=True, WORKFLOWS_DIR=str(tree / "workflows"),
                               FORMS_DIR=str(tree / "forms"))
    messages = [r.getMessage() for r in caplog.records if r.name == "app.database"]
    assert any("nothing of them was deployed" in m for m in messages)
    assert f"deploy refused: {BPMN}:quick_response:response_timer: timeDate: timer 'response_timer_def': " \
           "the expression reads 'respond_by', which no earlier form, start data, decision, message or script " \
           "provides" in messages
    with application.app_context():
        assert db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.name == "minimal")) is None
        db.engine.dispose()


def test_versions_and_running_instances_stay_on_theirs(app, api, tree):
    app.config.update(WORKFLOWS_DIR=str(tree / "workflows"), FORMS_DIR=str(tree / "forms"))
    deploy = lambda: deploy_directory(tree / "workflows", tree / "forms", deploy_rules())  # noqa: E731
    definition, created = quick_response(deploy())
    assert (definition.version, created) == (1, False)  # the template already deployed the same content
    old = api.new_ticket()
    edit(tree, 'name="受理工单"', 'name="受理工单（新版）"')
    definition, created = quick_response(deploy())
    db.session.commit()
    assert (definition.version, created) == (2, True)
    new = api.new_ticket()
    assert api.ticket(new["number"])["process"]["version"] == 2
    assert api.ticket(new["number"])["open_tasks"][0]["title"] == "受理工单（新版）"
    assert api.ticket(old["number"])["process"]["version"] == 1
    ticket = api.complete("engineer1", old["number"], "accept_ticket", contact_note="旧版本继续运行")
    assert ticket["status"] == "processing" and ticket["process"]["version"] == 1


def test_start_and_completion_data_match_what_the_services_give(app, api):
    """The names deploy validation assumes every instance has are the ones the services really pass."""
    number = api.new_ticket()["number"]
    instance_id = db.session.scalar(select(ProcessInstance.id))
    workflow, _version, _before = engine()._load(instance_id)
    assert set(workflow.task_tree.data) == set(START_DATA)
    engine().live.clear()
    api.complete("engineer1", number, "accept_ticket", contact_note="已联系客户")
    task = api.task_for("engineer1", number, "handle_ticket")
    assert set(COMPLETION_DATA) <= set(engine().task_data(instance_id, task["id"]))


def test_broken_decision_table_names_its_file_and_line(tree):
    path = tree / "workflows" / "sla_by_urgency.dmn"
    path.write_text(path.read_text(encoding="utf-8").replace("</definitions>", "</definition>"), encoding="utf-8")
    problem = only(tree)
    assert problem.file == "workflows/sla_by_urgency.dmn" and problem.field.startswith("line ")


def test_doctype_and_entities_are_refused(tree):
    edit(tree, '<?xml version="1.0" encoding="UTF-8"?>',
         '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
    edit(tree, '>"PT30M"<', ">&x;<")
    problem = only(tree)
    assert (problem.file, problem.field) == (BPMN, "DOCTYPE") and "root:" not in problem.message


def test_link_events_join_the_paths(tree):
    add_minimal(tree)
    edit(tree, '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />',
         '<bpmn:intermediateThrowEvent id="go"><bpmn:incoming>f1</bpmn:incoming>'
         '<bpmn:linkEventDefinition id="go_def" name="L" /></bpmn:intermediateThrowEvent>'
         '<bpmn:intermediateCatchEvent id="arrive"><bpmn:outgoing>f0</bpmn:outgoing>'
         '<bpmn:linkEventDefinition id="arrive_def" name="L" /></bpmn:intermediateCatchEvent>'
         '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="go" />'
         '<bpmn:sequenceFlow id="f0" sourceRef="arrive" targetRef="work" />', name="minimal.bpmn")
    assert problems_of(tree) == []
    edit(tree, 'id="arrive_def" name="L"', 'id="arrive_def" name="M"', name="minimal.bpmn")
    assert [(p.element, p.field) for p in problems_of(tree)] == [("arrive", "incoming"), ("go", "outgoing")]


def test_a_task_other_than_a_user_task_may_name_a_form_and_it_must_exist(tree):
    edit(tree, 'value="survey.json"', 'value="no_such_survey.json"', name="survey.bpmn")
    problem = only(tree)
    assert where([problem]) == [("workflows/survey.bpmn", "satisfaction_survey", "send", "formJsonSchemaFilename")]
    assert "form 'no_such_survey.json' does not exist" in problem.message
