"""The studio in a real browser (Debian's headless Chromium, Selenium, a live server): owner1 opens the
quick-response diagram, selects the acceptance timer, types a wrong duration and sees the problem on the element,
corrects it to 15 minutes through the properties panel, validates, deploys with a comment, and the newest version
has the 15-minute timer. Screenshots go to the test's tmp dir (or to $E2E_SCREENSHOTS)."""
import os
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from app.engine import ProcessDefinition
from app.extensions import db
from tests.conftest import PASSWORD, make_app
from tests.e2e.test_browser import WAIT, browser  # noqa: F401  (the Chromium fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture
def studio_server(template_db, tmp_path):
    """(base URL, app) of the app served on a free port, on a copy of the template database."""
    path = tmp_path / "studio.db"
    shutil.copy(template_db, path)
    app = make_app(path, tmp_path, WTF_CSRF_ENABLED=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="studio-e2e", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def newest(app):
    with app.app_context():
        row = db.session.execute(
            select(ProcessDefinition.version, ProcessDefinition.bpmn_xml, ProcessDefinition.deployed_by,
                   ProcessDefinition.comment)
            .where(ProcessDefinition.name == "quick_response").order_by(ProcessDefinition.version.desc()).limit(1)
        ).one()
        db.session.remove()
        return row


def test_owner_changes_the_acceptance_window_to_15_minutes_and_deploys(studio_server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    base, app = studio_server
    before = newest(app)
    shots = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT)

    browser.get(f"{base}/login")
    browser.find_element(By.ID, "f-username").send_keys("owner1")
    browser.find_element(By.ID, "f-password").send_keys(PASSWORD)
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait.until(EC.staleness_of(old))

    # the studio link in the top bar, then the process
    browser.find_element(By.LINK_TEXT, "流程工作室").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "流程工作室")
    browser.find_element(By.LINK_TEXT, "quick_response").click()
    status = wait.until(EC.presence_of_element_located((By.ID, "studio-status")))
    wait.until(lambda d: f"显示的是版本 {before.version}" in status.text)
    timer = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, 'g.djs-element[data-element-id="accept_timeout"]')))
    timer.click()
    value = wait.until(EC.visibility_of_element_located((By.ID, "p-timer-value")))
    assert value.get_attribute("value") == "PT30M"
    assert browser.find_element(By.ID, "p-timer-kind").get_attribute("value") == "timeDuration"
    assert browser.find_element(By.ID, "p-name").get_attribute("value") == "30分钟未受理"

    # a wrong duration: validation names the timer and marks it in the diagram
    value.clear()
    value.send_keys("PT15 minutes", Keys.TAB)
    browser.find_element(By.ID, "studio-validate").click()
    item = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#studio-problems li")))
    assert item.get_attribute("data-element") == "accept_timeout" and "timeDuration" in item.text
    assert "studio-problem" in browser.find_element(
        By.CSS_SELECTOR, 'g.djs-element[data-element-id="accept_timeout"]').get_attribute("class")
    browser.save_screenshot(str(shots / "studio-1-problem.png"))

    # corrected through the panel (the name too), validated, deployed with a comment
    item.click()  # selects the element again
    value = wait.until(EC.visibility_of_element_located((By.ID, "p-timer-value")))
    value.clear()
    value.send_keys("PT15M", Keys.TAB)
    name = browser.find_element(By.ID, "p-name")
    name.clear()
    name.send_keys("15分钟未受理", Keys.TAB)
    browser.find_element(By.ID, "studio-validate").click()
    wait.until(lambda d: "没有问题" in status.text)
    assert not browser.find_elements(By.CSS_SELECTOR, "#studio-problems li")
    browser.find_element(By.ID, "studio-comment").send_keys("受理窗口缩短为15分钟")
    browser.save_screenshot(str(shots / "studio-2-valid.png"))
    browser.find_element(By.ID, "studio-deploy").click()
    wait.until(lambda d: f"已发布为版本 {before.version + 1}" in status.text)
    assert browser.find_element(By.ID, "studio-newest").text == str(before.version + 1)
    browser.save_screenshot(str(shots / "studio-3-deployed.png"))

    deployed = newest(app)
    assert deployed.version == before.version + 1
    assert (deployed.deployed_by, deployed.comment) == ("owner1", "受理窗口缩短为15分钟")
    assert '>"PT15M"</bpmn:timeDuration>' in deployed.bpmn_xml and '"PT30M"' not in deployed.bpmn_xml
    assert 'name="15分钟未受理"' in deployed.bpmn_xml
    assert 'name="formJsonSchemaFilename" value="accept_ticket.json"' in deployed.bpmn_xml  # extensions survive
    assert "<spiffworkflow:calledDecisionId>route_by_type</spiffworkflow:calledDecisionId>" in deployed.bpmn_xml

    # the version list shows it as the newest, with author and comment
    browser.get(f"{base}/studio/quick_response/versions")
    row = browser.find_element(By.ID, f"version-{before.version + 1}")
    assert "最新" in row.text and "owner1" in row.text and "受理窗口缩短为15分钟" in row.text
    browser.save_screenshot(str(shots / "studio-4-versions.png"))


def test_the_panel_edits_form_lane_gateway_condition_and_script(studio_server, browser):  # noqa: F811
    """Each panel field changes the model the way the engine reads it; the saved draft carries the changes."""
    from lxml import etree
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from app.studio.models import StudioDraft

    base, app = studio_server
    wait = WebDriverWait(browser, WAIT)
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "f-username").send_keys("owner1")
    browser.find_element(By.ID, "f-password").send_keys(PASSWORD)
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait.until(EC.staleness_of(old))
    browser.get(f"{base}/studio/quick_response")
    status = wait.until(EC.presence_of_element_located((By.ID, "studio-status")))
    wait.until(lambda d: "显示的是版本" in status.text)

    def select_element(element_id):
        browser.execute_script("var m = window.studioModeler; m.get('selection').select("
                               "m.get('elementRegistry').get(arguments[0]));", element_id)
        wait.until(lambda d: d.find_element(By.ID, "studio-panel").get_attribute("data-element") == element_id)

    select_element("review_response")
    Select(browser.find_element(By.ID, "p-form")).select_by_value("feedback.json")
    Select(browser.find_element(By.ID, "p-lane")).select_by_value("lane_handler")
    select_element("gw_opinion")
    Select(browser.find_element(By.ID, "p-default")).select_by_value("flow_adjust")
    condition = wait.until(EC.visibility_of_element_located((By.ID, "p-condition-flow_unsatisfied")))
    condition.send_keys('opinion == "unsatisfied"', Keys.TAB)
    satisfied = browser.find_element(By.ID, "p-condition-flow_satisfied")
    satisfied.clear()
    satisfied.send_keys('opinion in ("satisfied", "ok")', Keys.TAB)
    select_element("after_reassign")
    script = browser.find_element(By.ID, "p-script")
    script.clear()
    script.send_keys('status = "pending_accept"\nreassigned = True', Keys.TAB)
    browser.find_element(By.ID, "studio-save").click()
    wait.until(lambda d: "草稿已保存" in status.text)

    with app.app_context():
        xml = db.session.get(StudioDraft, "quick_response").bpmn_xml
        db.session.remove()
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "s": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
    root = etree.fromstring(xml.encode())

    def one(path):
        [found] = root.xpath(path, namespaces=ns)
        return found

    assert one("//bpmn:userTask[@id='review_response']//s:property[@name='formJsonSchemaFilename']/@value") == \
        "feedback.json"
    assert one("//bpmn:lane[bpmn:flowNodeRef='review_response']/@id") == "lane_handler"
    assert one("//bpmn:exclusiveGateway[@id='gw_opinion']/@default") == "flow_adjust"
    assert one("//bpmn:sequenceFlow[@id='flow_unsatisfied']/bpmn:conditionExpression/text()") == \
        'opinion == "unsatisfied"'
    assert one("//bpmn:sequenceFlow[@id='flow_satisfied']/bpmn:conditionExpression/text()") == \
        'opinion in ("satisfied", "ok")'
    assert one("//bpmn:scriptTask[@id='after_reassign']/bpmn:script/text()") == \
        'status = "pending_accept"\nreassigned = True'
    # what the panel did not touch is kept as it was
    assert one("//bpmn:userTask[@id='accept_ticket']//s:property[@name='assignee']/@value") == "assignee"
    assert one("//bpmn:boundaryEvent[@id='accept_timeout']//bpmn:timeDuration/text()") == '"PT30M"'


def test_a_decision_table_cell_is_edited_in_dmn_js_and_saved_as_a_draft(studio_server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from selenium.webdriver.common.keys import Keys

    base, app = studio_server
    shots = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path)
    wait = WebDriverWait(browser, WAIT)
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "f-username").send_keys("owner1")
    browser.find_element(By.ID, "f-password").send_keys(PASSWORD)
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait.until(EC.staleness_of(old))
    browser.get(f"{base}/studio/quick_response/decisions")
    # a version carries every table of its deploy batch (the service-request tables too)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".dmn-canvas table")) >= 2)
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "route_by_type.dmn" in text and "sla_by_urgency.dmn" in text

    # the high urgency's response window from 2 hours to 1 hour, typed into the cell, saved as a draft
    cell = browser.find_element(By.CSS_SELECTOR, '[data-element-id="sla_high_response"] .content-editable')
    assert cell.text == '"PT2H"'
    cell.click()
    browser.switch_to.active_element.send_keys(Keys.END, Keys.BACKSPACE * 5, 'PT1H"')
    assert browser.find_element(By.CSS_SELECTOR, '[data-element-id="sla_high_response"]').text == '"PT1H"'
    browser.find_element(By.CSS_SELECTOR, 'button.dmn-save[data-file="sla_by_urgency.dmn"]').click()
    wait.until(lambda d: "草稿已保存" in d.find_element(By.CSS_SELECTOR, '[id="table-sla_by_urgency.dmn"] .dmn-status').text)
    browser.save_screenshot(str(shots / "studio-5-decisions.png"))
    with app.app_context():
        from app.studio.models import StudioDraft

        tables = db.session.get(StudioDraft, "quick_response").dmn_xml
        db.session.remove()
    assert list(tables) == ["sla_by_urgency.dmn"]
    assert '"PT1H"' in tables["sla_by_urgency.dmn"] and '"PT2H"' not in tables["sla_by_urgency.dmn"]
