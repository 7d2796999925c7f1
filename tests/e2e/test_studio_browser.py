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
from tests.e2e.klm import Walk
from tests.e2e.test_browser import WAIT, browser, page_changed  # noqa: F401  (the Chromium fixture)

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
            select(ProcessDefinition.id, ProcessDefinition.version, ProcessDefinition.bpmn_xml,
                   ProcessDefinition.deployed_by, ProcessDefinition.comment, ProcessDefinition.scenarios)
            .where(ProcessDefinition.name == "quick_response").order_by(ProcessDefinition.version.desc()).limit(1)
        ).one()
        db.session.remove()
        return row


def log_in(browser, wait, base, username):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    browser.get(f"{base}/login")
    browser.find_element(By.ID, "f-username").send_keys(username)
    browser.find_element(By.ID, "f-password").send_keys(PASSWORD)
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait.until(page_changed(old))


def log_out(browser, wait):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "header form button[type=submit]").click()
    wait.until(page_changed(old))


def test_a_wrong_timer_duration_is_marked_on_its_element(studio_server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    base, app = studio_server
    shots = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT)
    log_in(browser, wait, base, "owner1")
    browser.get(f"{base}/studio/quick_response")
    status = wait.until(EC.presence_of_element_located((By.ID, "studio-status")))
    wait.until(lambda d: "显示的是版本" in status.text)
    timer = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, 'g.djs-element[data-element-id="accept_timeout"]')))
    timer.click()
    value = wait.until(EC.visibility_of_element_located((By.ID, "p-timer-value")))
    assert value.get_attribute("value") == "PT30M"
    assert browser.find_element(By.ID, "p-timer-kind").get_attribute("value") == "timeDuration"
    assert browser.find_element(By.ID, "p-name").get_attribute("value") == "30分钟未受理"
    value.clear()
    value.send_keys("PT15 minutes", Keys.TAB)
    browser.find_element(By.ID, "studio-validate").click()
    item = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#studio-problems li")))
    assert item.get_attribute("data-element") == "accept_timeout" and "timeDuration" in item.text
    assert "studio-problem" in browser.find_element(
        By.CSS_SELECTOR, 'g.djs-element[data-element-id="accept_timeout"]').get_attribute("class")
    browser.save_screenshot(str(shots / "studio-1-problem.png"))


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
    wait.until(page_changed(old))
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
    wait.until(page_changed(old))
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


# ------------------------------------------------------------------------ the timed walks (issue 12 part 9)

def select_and_type(browser, within, old, new):
    """In the scenario editor, select `old` inside the one place `within` occurs (as a person double-clicks a
    number there) and type `new` over it."""
    from selenium.webdriver.common.action_chains import ActionChains

    browser.execute_script(
        "var area = document.getElementById('scenario-text-0'), text = area.value, at = text.indexOf(arguments[0]);"
        "if (at < 0 || text.indexOf(arguments[0], at + 1) >= 0) { throw new Error('not once: ' + arguments[0]); }"
        "var start = at + arguments[0].indexOf(arguments[1]);"
        "area.focus(); area.setSelectionRange(start, start + arguments[1].length);", within, old)
    ActionChains(browser).send_keys(new).perform()


def run_scenarios(browser, wait, walk, what):
    from selenium.webdriver.common.by import By

    walk.think(f"decide to run the scenarios ({what})")
    walk.point_click("运行场景")
    browser.find_element(By.ID, "scenarios-run").click()
    status = browser.find_element(By.ID, "scenarios-status")
    with walk.response(f"scenario run ({what})"):
        wait.until(lambda d: "通过" in status.text and "正在运行" not in status.text)
    walk.think(f"read the results ({what})")
    return status.text


def fix_scenarios(browser, walk, edits):
    """Each edit: find the line (M), double-click the number (P + 2K), type the new one (H, keys, H)."""
    for within, old, new in edits:
        walk.think(f"find {within!r}")
        walk.point_click(f"double-click {old!r}", clicks=2)
        walk.home()
        walk.keys(f"type {new!r}", new)
        walk.home()
        select_and_type(browser, within, old, new)


def comment_and_deploy(browser, wait, walk, comment_id, button_id, status_id, comment, version):
    from selenium.webdriver.common.by import By

    walk.think("decide to deploy")
    walk.point_click("comment field")
    walk.home()
    walk.keys("comment", comment)
    browser.find_element(By.ID, comment_id).send_keys(comment)
    walk.home()
    walk.point_click(button_id)
    browser.find_element(By.ID, button_id).click()
    status = browser.find_element(By.ID, status_id)
    with walk.response("deploy"):
        wait.until(lambda d: f"已发布为版本 {version}" in status.text)
    walk.stop()


def open_quick_response(browser, wait, walk, base):
    """From the start page: the studio link in the top bar, then the process (timed from here)."""
    from selenium.webdriver.common.by import By

    walk.start()
    walk.think("go to the studio")
    walk.point_click("流程工作室")
    browser.find_element(By.LINK_TEXT, "流程工作室").click()
    with walk.response("studio page"):
        wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "流程工作室")
    walk.think("find quick_response")
    walk.point_click("quick_response")
    browser.find_element(By.LINK_TEXT, "quick_response").click()


def test_owner_shortens_the_acceptance_window_runs_the_scenarios_deploys_and_a_ticket_escalates_at_16_minutes(
        studio_server, browser, tmp_path):  # noqa: F811
    """owner1: studio → quick_response → the acceptance timer 30 → 15 minutes in the panel → run the scenarios: the
    lapse scenario fails (it expects no escalation at 29 minutes) → fix it in the editor (14 minutes) → run: all pass
    → deploy with a comment. Then a ticket is created, the clock moves 16 minutes, the timers fire, and
    supervisor1's inbox shows the reassign task. The walk is timed (automated, and a person's by KLM)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    base, app = studio_server
    before = newest(app)
    shots = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT)
    walk = Walk("acceptance-window-15-minutes")
    log_in(browser, wait, base, "owner1")

    open_quick_response(browser, wait, walk, base)
    status = wait.until(EC.presence_of_element_located((By.ID, "studio-status")))
    with walk.response("diagram opens"):
        wait.until(lambda d: f"显示的是版本 {before.version}" in status.text)
        timer = wait.until(EC.element_to_be_clickable(
            (By.CSS_SELECTOR, 'g.djs-element[data-element-id="accept_timeout"]')))
    assert "quick_response.scenarios.yaml" in browser.find_element(By.ID, "studio-scenarios").text

    walk.think("find the 30-minute timer")
    walk.point_click("the timer on the diagram")
    timer.click()
    value = wait.until(EC.visibility_of_element_located((By.ID, "p-timer-value")))
    assert value.get_attribute("value") == "PT30M"
    walk.point_click("the timer value field", clicks=3)  # a triple click selects the value
    walk.home()
    walk.keys("PT15M and Tab", "PT15M\t")
    walk.home()
    value.clear()
    value.send_keys("PT15M", Keys.TAB)

    # the shipped scenario still says "no escalation at 29 minutes": it fails, naming the scenario and the step
    text = run_scenarios(browser, wait, walk, "after the change")
    assert "1 个场景未通过，16 个通过" in text
    failed = browser.find_element(By.CSS_SELECTOR, "#scenario-results li.fail")
    assert failed.get_attribute("data-scenario") == "acceptance window lapses to the supervisor's reassign task"
    assert "第 1 步" in failed.text and "reassign_ticket" in failed.text
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", failed)
    browser.save_screenshot(str(shots / "walk-1-scenario-fails.png"))

    fix_scenarios(browser, walk, [("advance: 29 minutes", "29", "14")])
    assert "全部 17 个场景通过" in run_scenarios(browser, wait, walk, "after the fix")
    assert not browser.find_elements(By.CSS_SELECTOR, "#scenario-results li.fail")
    browser.save_screenshot(str(shots / "walk-2-scenarios-pass.png"))

    browser.execute_script("window.scrollTo(0, 0)")
    comment_and_deploy(browser, wait, walk, "studio-comment", "studio-deploy", "studio-status", "受理窗口缩短为15分钟",
                       before.version + 1)
    assert browser.find_element(By.ID, "studio-newest").text == str(before.version + 1)
    browser.save_screenshot(str(shots / "walk-3-deployed.png"))
    report = walk.write(shots)
    assert report["klm_estimate_s"] < 120, report

    deployed = newest(app)
    assert (deployed.version, deployed.deployed_by, deployed.comment) == \
        (before.version + 1, "owner1", "受理窗口缩短为15分钟")
    assert '>"PT15M"</bpmn:timeDuration>' in deployed.bpmn_xml and '"PT30M"' not in deployed.bpmn_xml
    assert 'name="formJsonSchemaFilename" value="accept_ticket.json"' in deployed.bpmn_xml  # extensions survive
    # the collaboration's multi-instance task still names its collection (a variable, not an element id)
    assert "<bpmn:loopDataInputRef>supporters</bpmn:loopDataInputRef>" in deployed.bpmn_xml
    assert "advance: 14 minutes" in deployed.scenarios["quick_response.scenarios.yaml"]  # stored with the version

    # a new ticket; the clock moves 16 minutes and the timers fire: the supervisor has the reassign task
    number = new_ticket_and_move_clock(app, minutes=16)
    log_out(browser, wait)
    log_in(browser, wait, base, "supervisor1")
    row = wait.until(EC.presence_of_element_located((By.XPATH, f"//tr[td/a[text()='{number}']]")))
    assert "超时改派" in row.text
    browser.save_screenshot(str(shots / "walk-4-supervisor-inbox.png"))

    # the version list shows the new version with author and comment
    log_out(browser, wait)
    log_in(browser, wait, base, "owner1")
    browser.get(f"{base}/studio/quick_response/versions")
    row = browser.find_element(By.ID, f"version-{before.version + 1}")
    assert "最新" in row.text and "owner1" in row.text and "受理窗口缩短为15分钟" in row.text


def new_ticket_and_move_clock(app, *, minutes, urgency="high"):
    """agent1 creates a ticket now (through the API, in-process); then, with the clock `minutes` later, the due
    timers fire. Returns the ticket number."""
    from datetime import datetime, timedelta, timezone

    import time_machine

    from app.timers.service import fire_due_timers
    from tests.conftest import Api

    created = datetime.now(timezone.utc).replace(microsecond=0)
    with app.app_context():
        api = Api(app.test_client())
        with time_machine.travel(created, tick=False):
            number = api.new_ticket(urgency=urgency)["number"]
        with time_machine.travel(created + timedelta(minutes=minutes), tick=False):
            assert fire_due_timers() >= 1
        db.session.remove()
    return number


def test_owner_shortens_the_high_response_window_in_the_table_runs_the_scenarios_and_deploys(
        studio_server, browser, tmp_path):  # noqa: F811
    """owner1: studio → quick_response → decision tables → sla_by_urgency's high response window PT2H → PT1H in
    dmn-js → run the scenarios: three fail (deadlines an hour earlier) → fix them in the editor → all pass → deploy
    from the table page. A new high ticket's response deadline is 1 hour after its creation, and when it lapses
    the supervisor is asked to review the response. The walk is timed."""
    from datetime import timedelta

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from app.clock import as_utc
    from app.tickets.models import Ticket

    base, app = studio_server
    before = newest(app)
    shots = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT)
    walk = Walk("high-response-window-1-hour")
    log_in(browser, wait, base, "owner1")

    open_quick_response(browser, wait, walk, base)
    status = wait.until(EC.presence_of_element_located((By.ID, "studio-status")))
    with walk.response("diagram opens"):
        wait.until(lambda d: "显示的是版本" in status.text)
    walk.think("the window is in a decision table")
    walk.point_click("决策表")
    browser.find_element(By.LINK_TEXT, "决策表").click()
    with walk.response("decision tables open"):
        cell = wait.until(EC.element_to_be_clickable(
            (By.CSS_SELECTOR, '[data-element-id="sla_high_response"] .content-editable')))
    assert cell.text == '"PT2H"'
    walk.think("find the high urgency's response cell")
    walk.point_click("the cell")
    walk.home()
    walk.keys("End, 5 backspaces, PT1H\"", count=1 + 5 + 5)
    walk.home()
    cell.click()
    browser.switch_to.active_element.send_keys(Keys.END, Keys.BACKSPACE * 5, 'PT1H"')
    assert browser.find_element(By.CSS_SELECTOR, '[data-element-id="sla_high_response"]').text == '"PT1H"'

    walk.point_click("scroll down to the scenarios")
    text = run_scenarios(browser, wait, walk, "after the change")
    assert "3 个场景未通过，14 个通过" in text
    failing = [li.get_attribute("data-scenario") for li in
               browser.find_elements(By.CSS_SELECTOR, "#scenario-results li.fail")]
    assert failing == ["satisfied customer closes the ticket", "needs adjustment starts a new round with new deadlines",
                       "nobody accepts within the response window - the supervisor is asked once"]
    browser.execute_script("document.getElementById('scenario-results').scrollIntoView({block: 'center'})")
    browser.save_screenshot(str(shots / "walk-5-table-scenarios-fail.png"))

    fix_scenarios(browser, walk, [
        ('response_due: "2025-03-03T11:00:00+08:00"', "11", "10"),
        ('response_due: "2025-03-03T12:00:00+08:00"', "12", "11"),
        ("advance: 80 minutes", "80", "20"),
        ('escalated_at: "2025-03-03T11:00:01', "11", "10"),
    ])
    assert "全部 17 个场景通过" in run_scenarios(browser, wait, walk, "after the fix")
    browser.save_screenshot(str(shots / "walk-6-table-scenarios-pass.png"))

    comment_and_deploy(browser, wait, walk, "dmn-comment", "dmn-deploy", "dmn-deploy-status",
                       "高紧急程度1小时内响应", before.version + 1)
    browser.save_screenshot(str(shots / "walk-7-table-deployed.png"))
    report = walk.write(shots)
    assert report["klm_estimate_s"] < 120, report

    deployed = newest(app)
    assert deployed.version == before.version + 1 and deployed.bpmn_xml == before.bpmn_xml
    with app.app_context():
        table = db.session.get(ProcessDefinition, deployed.id).dmn_xml["sla_by_urgency.dmn"]
        db.session.remove()
    assert '"PT1H"' in table and '"PT2H"' not in table.split('id="sla_high_response"')[1][:60]

    # a high ticket: its response deadline is one hour after creation; 61 minutes later the supervisor reviews it
    number = new_ticket_and_move_clock(app, minutes=61)
    with app.app_context():
        created, due = db.session.execute(select(Ticket.created_at, Ticket.response_due_at)
                                          .where(Ticket.number == number)).one()
        db.session.remove()
    assert as_utc(due) - as_utc(created) == timedelta(hours=1)
    log_out(browser, wait)
    log_in(browser, wait, base, "supervisor1")
    rows = browser.find_elements(By.XPATH, f"//tr[td/a[text()='{number}']]")
    assert rows and any("响应" in row.text for row in rows), [row.text for row in rows]
    browser.get(f"{base}/tickets/{number}")
    assert "响应时限" in browser.page_source
    browser.save_screenshot(str(shots / "walk-8-ticket-1-hour.png"))
