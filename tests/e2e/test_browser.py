"""The pages in a real browser: Debian's Chromium, headless, driven by Selenium against a live server.

agent1 finds a customer and opens a ticket through the form; engineer1 sees the acceptance task in the inbox,
submits its form, and the ticket moves to 处理中. CSRF protection is on, as in production.
Screenshots go to the test's tmp dir (or to $E2E_SCREENSHOTS when set).
"""
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.extensions import db
from tests.conftest import PASSWORD, make_app

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 15


def page_changed(old):
    """A wait condition: `old`, an element of the page before a navigation, is gone. Chromium reports a node of a
    page that was replaced either as a stale element or as "does not belong to the document"; both mean gone
    (Selenium's staleness_of knows only the first)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def gone(driver):
        try:
            old.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
    return gone


@pytest.fixture
def live_server(template_db, tmp_path):
    """The app on 127.0.0.1 and a free port, in a background thread, on a copy of the template database."""
    path = tmp_path / "e2e.db"
    shutil.copy(template_db, path)
    app = make_app(path, tmp_path, WTF_CSRF_ENABLED=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def browser(tmp_path):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1366,900",
                "--lang=zh-CN"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_agent_opens_ticket_engineer_accepts_it(live_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT)

    def h1():
        return wait.until(EC.presence_of_element_located((By.TAG_NAME, "h1"))).text

    def submit_main_form():
        old = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        wait.until(page_changed(old))

    def log_in(username):
        browser.get(f"{live_server}/login")
        browser.find_element(By.ID, "f-username").send_keys(username)
        browser.find_element(By.ID, "f-password").send_keys(PASSWORD)
        submit_main_form()
        wait.until(lambda d: "工作台" in d.find_element(By.TAG_NAME, "h1").text)

    # agent1: search the customer, open the profile, create a ticket through the form
    log_in("agent1")
    browser.find_element(By.LINK_TEXT, "客户").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "客户")
    search = browser.find_element(By.ID, "q")
    search.send_keys("精工")
    old = browser.find_element(By.TAG_NAME, "html")
    search.submit()
    wait.until(page_changed(old))
    assert "上海精工制造有限公司" in browser.page_source and "杭州惠民银行" not in browser.page_source
    browser.find_element(By.LINK_TEXT, "上海精工制造有限公司").click()
    assert "上海精工制造有限公司" in h1()
    assert "交互记录" in browser.page_source
    browser.find_element(By.LINK_TEXT, "新建工单").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "新建工单")
    browser.find_element(By.ID, "f-description").send_keys("生产线设备无法启动，影响交付，请尽快处理")
    browser.find_element(By.CSS_SELECTOR, "input[name=type][value=complaint]").click()
    browser.find_element(By.CSS_SELECTOR, "input[name=urgency][value=high]").click()
    assert browser.find_element(By.CSS_SELECTOR, "input[name=channel][value=phone]").is_selected()
    submit_main_form()
    heading = h1()
    assert heading.startswith("工单 SR"), heading
    number = heading.split()[1]
    assert f"工单 {number} 已创建。" in browser.page_source
    assert browser.find_element(By.ID, "ticket-status").text == "待受理"
    browser.save_screenshot(str(shots / "1-ticket-created.png"))

    # log out, engineer1 sees the acceptance task in the inbox
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "header form button[type=submit]").click()
    wait.until(page_changed(old))
    assert "您已退出登录。" in browser.page_source
    log_in("engineer1")
    row = browser.find_element(By.XPATH, f"//tr[td/a[text()='{number}']]")
    assert "受理工单" in row.text and "剩余" in row.text
    browser.save_screenshot(str(shots / "2-inbox.png"))
    row.find_element(By.LINK_TEXT, "受理工单").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "受理工单")
    assert "首次联系记录" in browser.page_source
    browser.find_element(By.ID, "f-contact_note").send_keys("已电话联系周经理，确认故障现象")
    browser.save_screenshot(str(shots / "3-task.png"))
    submit_main_form()

    # the ticket page shows the new status and the completed task in the timeline
    assert h1().startswith(f"工单 {number}")
    assert browser.find_element(By.ID, "ticket-status").text == "处理中"
    assert "“受理工单”已完成" in browser.page_source and "已电话联系周经理，确认故障现象" in browser.page_source
    browser.save_screenshot(str(shots / "4-processing.png"))
    assert (shots / "4-processing.png").stat().st_size > 0


def test_browser_refuses_an_empty_attachment_before_sending(live_server, browser, tmp_path):
    """The new-ticket form's script names an empty file and keeps the form from being sent."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT)
    browser.get(f"{live_server}/login")
    browser.find_element(By.ID, "f-username").send_keys("agent1")
    browser.find_element(By.ID, "f-password").send_keys(PASSWORD)
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait.until(page_changed(old))
    browser.get(f"{live_server}/customers?q=精工")
    customer = browser.find_element(By.LINK_TEXT, "上海精工制造有限公司").get_attribute("href").rsplit("/", 1)[1]
    browser.get(f"{live_server}/customers/{customer}/tickets/new")
    assert "每个文件最大 20 MB" in browser.page_source
    empty = tmp_path / "空白.txt"
    empty.write_bytes(b"")
    browser.find_element(By.ID, "f-description").send_keys("生产线设备无法启动，影响交付")
    browser.find_element(By.ID, "f-attachments").send_keys(str(empty))
    live = wait.until(EC.visibility_of_element_located((By.ID, "err-attachments-live")))
    assert live.text == "“空白.txt”是空文件，请选择有内容的文件。"
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "新建工单"  # not sent: still the form, input kept
    assert browser.find_element(By.ID, "f-description").get_attribute("value") == "生产线设备无法启动，影响交付"
