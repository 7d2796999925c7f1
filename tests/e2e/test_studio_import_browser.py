"""Opening a file made in the desktop Camunda Modeler, in a real browser (Debian's headless Chromium, Selenium, a
live server): owner1 chooses tests/fixtures/interop/camunda_complaint.bpmn in the studio home page's file input,
the studio opens it converted as a new process in the modeler, and owner1 deploys it as version 1.
Screenshots go to the test's tmp dir (or to $E2E_SCREENSHOTS)."""
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine import ProcessDefinition
from app.extensions import db
from tests.e2e.test_browser import WAIT, browser, page_changed  # noqa: F401  (the Chromium fixture)
from tests.e2e.test_studio_browser import log_in, studio_server  # noqa: F401  (the live server fixture)

pytestmark = pytest.mark.e2e
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "interop" / "camunda_complaint.bpmn"


def test_a_camunda_modeler_file_opens_in_the_modeler_and_deploys(studio_server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    base, app = studio_server
    shots = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT)
    log_in(browser, wait, base, "owner1")
    browser.get(f"{base}/studio")
    browser.find_element(By.ID, "studio-import-file").send_keys(str(FIXTURE))
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "form.studio-import button[type=submit]").click()
    wait.until(page_changed(old))
    assert browser.current_url.endswith("/studio/camunda_complaint")
    assert "新流程" in browser.find_element(By.ID, "studio-newest-label").text
    status = wait.until(EC.presence_of_element_located((By.ID, "studio-status")))
    wait.until(lambda d: "新流程" in status.text)
    flashes = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".flash"))
    assert "camunda_complaint" in flashes and "handler" in flashes  # opened; the task put into the handler lane
    for element in ("Activity_call_back", "Activity_route", "Event_timeout", "Gateway_urgent"):
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, f'g.djs-element[data-element-id="{element}"]')))
    browser.save_screenshot(str(shots / "import-1-opened.png"))
    browser.find_element(By.ID, "studio-comment").send_keys("从 Camunda Modeler 导入")
    browser.find_element(By.ID, "studio-deploy").click()
    wait.until(lambda d: "已发布为版本 1" in status.text)
    assert browser.find_element(By.ID, "studio-newest-label").text == "最新版本"
    browser.save_screenshot(str(shots / "import-2-deployed.png"))
    with app.app_context():
        row = db.session.execute(select(ProcessDefinition.version, ProcessDefinition.deployed_by,
                                        ProcessDefinition.filename, ProcessDefinition.bpmn_xml)
                                 .where(ProcessDefinition.name == "camunda_complaint")).one()
        db.session.remove()
    assert (row.version, row.deployed_by, row.filename) == (1, "owner1", "camunda_complaint.bpmn")
    assert 'value="accept_ticket.json"' in row.bpmn_xml and "camunda.org/schema/1.0/bpmn" not in row.bpmn_xml
