"""The form editor and the modeler's lint in a real browser (Debian's headless Chromium, Selenium, a live server):
owner1 opens the acceptance form, renames a field's label and adds a choice field without typing JSON, watches the
preview (rendered by the task page's own template) follow, sees a broken reference marked on its field, fixes it
and deploys; the modeler shows bpmnlint's findings on their elements. Screenshots go to the test's tmp dir (or to
$E2E_SCREENSHOTS)."""
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine import ProcessDefinition
from app.extensions import db
from tests import studio_scenarios
from tests.conftest import PASSWORD
from tests.e2e.test_browser import WAIT, browser, page_changed  # noqa: F401  (the Chromium fixture)
from tests.e2e.test_studio_browser import studio_server  # noqa: F401  (the live server)

pytestmark = pytest.mark.e2e


def log_in(browser, base, wait):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    browser.get(f"{base}/login")
    browser.find_element(By.ID, "f-username").send_keys("owner1")
    browser.find_element(By.ID, "f-password").send_keys(PASSWORD)
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait.until(page_changed(old))


def newest_forms(app):
    with app.app_context():
        row = db.session.execute(
            select(ProcessDefinition.version, ProcessDefinition.forms, ProcessDefinition.comment)
            .where(ProcessDefinition.name == "quick_response").order_by(ProcessDefinition.version.desc()).limit(1)
        ).one()
        db.session.remove()
        return row


def test_owner_edits_a_form_with_a_live_preview_and_deploys_it(studio_server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base, app = studio_server
    before = newest_forms(app)
    shots = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT)
    log_in(browser, base, wait)

    browser.get(f"{base}/studio")
    browser.find_element(By.LINK_TEXT, "表单").click()
    browser.find_element(By.LINK_TEXT, "受理工单").click()
    preview = wait.until(EC.presence_of_element_located((By.ID, "form-preview")))
    wait.until(lambda d: "首次联系记录" in preview.text)

    def field(name, key):
        return browser.find_element(By.CSS_SELECTOR, f'fieldset[data-field="{name}"] [data-key="{key}"]')

    # a label changed in the field editor shows in the preview
    label = field("contact_note", "title")
    label.clear()
    label.send_keys("首次联系情况")
    wait.until(lambda d: "首次联系情况" in preview.text)
    assert browser.find_element(By.CSS_SELECTOR, "#form-preview textarea#f-contact_note")

    # a new field: name, label, required, two choices; the preview shows them as radios
    browser.find_element(By.ID, "form-add-field").click()
    name = wait.until(lambda d: field("new_field", "name"))
    name.clear()
    name.send_keys("contact_channel", Keys.TAB)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'fieldset[data-field="contact_channel"]'))
    field("contact_channel", "title").send_keys("联系方式")
    field("contact_channel", "required").click()
    box = browser.find_element(By.CSS_SELECTOR, 'fieldset[data-field="contact_channel"]')
    for value, title in (("phone", "电话"), ("mail", "邮件")):
        box.find_element(By.XPATH, ".//button[text()='添加选项']").click()
        box = browser.find_element(By.CSS_SELECTOR, 'fieldset[data-field="contact_channel"]')
        row = box.find_elements(By.CSS_SELECTOR, ".fe-choice")[-1]
        const = row.find_element(By.CSS_SELECTOR, '[data-key="choice-const"]')
        const.clear()
        const.send_keys(value)
        row.find_element(By.CSS_SELECTOR, '[data-key="choice-title"]').send_keys(title)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#form-preview input[type=radio][value="mail"]'))
    assert "联系方式" in preview.text and "电话" in preview.text and "邮件" in preview.text
    browser.save_screenshot(str(shots / "form-1-preview.png"))

    # a reference to a kind that does not exist: the field is marked, in the editor and in the preview
    Select(field("contact_channel", "x-ref")).select_by_value("user")
    browser.execute_script("var s = window.studioForm.schema(); s.properties.contact_channel['x-ref'] = 'team';")
    browser.find_element(By.ID, "form-validate").click()
    status = browser.find_element(By.ID, "form-status")
    wait.until(lambda d: "问题" in status.text)
    marked = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, 'fieldset.fe-field.has-error[data-field="contact_channel"]'))
    assert "team" in marked.text
    browser.save_screenshot(str(shots / "form-2-problem.png"))
    Select(field("contact_channel", "x-ref")).select_by_value("")
    browser.find_element(By.ID, "form-validate").click()
    wait.until(lambda d: "没有问题" in status.text)

    # the JSON tab shows the same form
    browser.find_element(By.ID, "tab-raw").click()
    raw = wait.until(EC.visibility_of_element_located((By.ID, "form-json")))
    assert '"contact_channel"' in raw.get_attribute("value") and '"首次联系情况"' in raw.get_attribute("value")
    browser.find_element(By.ID, "tab-fields").click()

    browser.find_element(By.ID, "form-comment").send_keys("受理时记录联系方式")
    browser.find_element(By.ID, "form-deploy").click()
    # the deploy runs quick_response's scenarios first: they accept without the new required field, so it refuses
    failing = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#form-problems li")))
    assert "quick_response · scenario" in failing.text and "contact_channel" in failing.text
    assert newest_forms(app).version == before.version
    # the owner answers the new field in the process's scenarios (as the studio's scenario editor saves them)
    text = studio_scenarios.edited([("accept_ticket: {contact_note: 已电话联系客户}",
                                     "accept_ticket: {contact_note: 已电话联系客户, contact_channel: phone}")])
    saved = browser.execute_async_script("""
        var done = arguments[arguments.length - 1];
        fetch('/studio/quick_response/scenarios', {method: 'PUT', headers: {'Content-Type': 'application/json',
              'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content},
              body: JSON.stringify({scenarios: arguments[0]})}).then(function (r) { done(r.status); });
    """, {studio_scenarios.FILE: text})
    assert saved == 200
    browser.find_element(By.ID, "form-deploy").click()
    wait.until(lambda d: "已部署" in status.text)
    assert f"quick_response 第 {before.version + 1} 版" in status.text
    browser.save_screenshot(str(shots / "form-3-deployed.png"))
    deployed = newest_forms(app)
    form = deployed.forms["accept_ticket.json"]
    assert deployed.version == before.version + 1 and deployed.comment == "受理时记录联系方式"
    assert form["properties"]["contact_note"]["title"] == "首次联系情况"
    assert form["properties"]["contact_channel"]["oneOf"] == [{"const": "phone", "title": "电话"},
                                                             {"const": "mail", "title": "邮件"}]
    assert "contact_channel" in form["required"] and "x-ref" not in form["properties"]["contact_channel"]


def test_the_modeler_shows_lint_findings_on_their_elements(studio_server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    base, _app = studio_server
    shots = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT)
    log_in(browser, base, wait)
    browser.get(f"{base}/studio/quick_response")
    summary = wait.until(EC.presence_of_element_located((By.ID, "studio-lint-summary")))
    wait.until(lambda d: "规范检查发现" in summary.text)
    # a task dropped on the canvas and left unconnected: bpmnlint reports it on the new element
    new_id = browser.execute_script("""
        var m = window.studioModeler, factory = m.get('elementFactory');
        var process = m.get('elementRegistry').filter(function (e) { return e.type === 'bpmn:Participant'; })[0];
        var shape = m.get('modeling').createShape(factory.createShape({ type: 'bpmn:Task' }), { x: 400, y: 700 }, process);
        return shape.id;""")
    item = wait.until(lambda d: d.find_element(
        By.CSS_SELECTOR, f'#studio-lint li[data-element="{new_id}"][data-rule="no-disconnected"]'))
    assert "未连接" in item.text
    assert browser.find_elements(By.CSS_SELECTOR, f'.djs-overlay-container [data-container-id="{new_id}"] .studio-lint-badge')
    browser.save_screenshot(str(shots / "lint-1-findings.png"))
