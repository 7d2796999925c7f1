"""Deploy-time validation names the file and element; changed diagrams deploy as new versions."""
import shutil
from pathlib import Path

import pytest

from app.auth.models import ROLES
from app.engine import DeployError, deploy_directory
from app.engine.definitions import check_timer_expression, read_bundles
from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tree(tmp_path):
    """A copy of workflows/ and forms/ the test may break."""
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    return tmp_path


def edit(tree, old, new, name="quick_response.bpmn"):
    path = tree / "workflows" / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def errors_of(tree):
    _bundles, errors = read_bundles(tree / "workflows", tree / "forms", set(ROLES))
    return errors


def test_shipped_diagrams_are_valid(tree):
    assert errors_of(tree) == []


def test_unquoted_duration_is_refused(tree):
    edit(tree, '>"PT30M"<', ">PT30M<")
    assert errors_of(tree) == [
        'workflows/quick_response.bpmn:accept_timeout: timer expression PT30M must be quoted: write "PT30M"'
    ]


def test_invalid_iso_literal_is_refused(tree):
    edit(tree, '>"PT30M"<', '>"30 minutes"<')
    [error] = errors_of(tree)
    assert error.startswith("workflows/quick_response.bpmn:accept_timeout: timer expression")
    assert "ISO 8601" in error


def test_missing_form_is_refused(tree):
    (tree / "forms" / "feedback.json").unlink()
    assert errors_of(tree) == ["workflows/quick_response.bpmn:feedback: form 'feedback.json' is missing from forms/"]


def test_unknown_lane_is_refused(tree):
    edit(tree, '<bpmn:lane id="lane_supervisor" name="supervisor">', '<bpmn:lane id="lane_supervisor" name="boss">')
    errors = errors_of(tree)
    assert "workflows/quick_response.bpmn:reassign_ticket: lane 'boss' is not a known role" in errors[0]


def test_broken_xml_names_the_line(tree):
    edit(tree, "</bpmn:process>", "</bpmn:proces>")
    [error] = errors_of(tree)
    assert error.startswith("workflows/quick_response.bpmn:line ") and "XML error" in error


def test_schema_violation_is_refused(tree):
    edit(tree, '<bpmn:userTask id="feedback"', '<bpmn:userTask bogus="1" id="feedback"')
    [error] = errors_of(tree)
    assert error.startswith("workflows/quick_response.bpmn:") and "bogus" in error


def test_script_syntax_error_is_refused(tree):
    edit(tree, 'status = "pending_accept"\nreopen_count = 0', 'status = = "pending_accept"')
    [error] = errors_of(tree)
    assert error.startswith("workflows/quick_response.bpmn:plan: script has a syntax error")


def test_script_the_sandbox_refuses_is_refused_at_deploy(tree):
    edit(tree, 'status = "pending_accept"\nreopen_count = 0', 'status = ().__class__.__name__')
    [error] = errors_of(tree)
    assert error.startswith("workflows/quick_response.bpmn:plan: script is refused by the sandbox")


def test_bad_form_is_refused(tree):
    (tree / "forms" / "feedback.json").write_text('{"type": 5}', encoding="utf-8")
    assert any(e.startswith("forms/feedback.json: not a valid JSON Schema") for e in errors_of(tree))


def test_timer_expression_rules():
    assert check_timer_expression('"PT30M"') is None
    assert check_timer_expression("response_due") is None
    assert check_timer_expression('"2026-03-02T09:00:00+08:00"') is None
    assert "must be quoted" in check_timer_expression("PT2H")
    assert "not valid" in check_timer_expression("PT30M +")


def test_versions_and_running_instances_stay_on_theirs(app, api, tree):
    app.config.update(WORKFLOWS_DIR=str(tree / "workflows"), FORMS_DIR=str(tree / "forms"))
    deploy = lambda: deploy_directory(tree / "workflows", tree / "forms", set(ROLES))  # noqa: E731
    [(definition, created)] = deploy()
    assert (definition.version, created) == (1, False)  # the template already deployed the same content
    old = api.new_ticket()
    edit(tree, 'name="受理工单"', 'name="受理工单（新版）"')
    [(definition, created)] = deploy()
    db.session.commit()
    assert (definition.version, created) == (2, True)
    new = api.new_ticket()
    assert api.ticket(new["number"])["process"]["version"] == 2
    assert api.ticket(new["number"])["open_tasks"][0]["title"] == "受理工单（新版）"
    assert api.ticket(old["number"])["process"]["version"] == 1
    ticket = api.complete("engineer1", old["number"], "accept_ticket", contact_note="旧版本继续运行")
    assert ticket["status"] == "processing" and ticket["process"]["version"] == 1


def test_refused_deploy_keeps_the_last_good_version(app, tree):
    edit(tree, '>"PT30M"<', ">PT30M<")
    with pytest.raises(DeployError) as caught:
        deploy_directory(tree / "workflows", tree / "forms", set(ROLES))
    assert "accept_timeout" in caught.value.errors[0]
