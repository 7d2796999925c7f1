"""The live diagram in a real browser (Debian's headless Chromium, Selenium, a live server): the studio's heatmap
of version 1 colours the acceptance task where two tickets wait and labels it; a ticket's page shows its diagram
with the completed acceptance and the handling task it waits at. Screenshots go to the test's tmp dir (or to
$E2E_SCREENSHOTS)."""
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.auth.principal import load_principal
from app.customers.models import Customer
from app.extensions import db
from app.tasks import service as tasks
from app.tickets import service as tickets
from tests.conftest import PASSWORD
from tests.e2e.test_browser import WAIT, browser, page_changed  # noqa: F401  (the Chromium fixture)
from tests.e2e.test_studio_browser import studio_server  # noqa: F401  (the live server)

pytestmark = pytest.mark.e2e


def three_tickets(app):
    """Two tickets waiting for acceptance, one accepted (waiting at handling): its number."""
    with app.app_context():
        def who(name):
            return load_principal(db.session.scalar(select(User.id).where(User.username == name)))

        customer = db.session.scalar(select(Customer.number).order_by(Customer.id))
        numbers = [tickets.create_ticket(data={
            "customer_number": customer, "type": "complaint", "urgency": "high", "channel": "phone",
            "description": "生产线设备无法启动，影响交付"}, actor=who("agent1")) for _ in range(3)]
        task = next(t for t in tasks.open_tasks_of(tickets.get_ticket(numbers[2])) if t.name == "accept_ticket")
        tasks.complete_task(task_id=task.id, user=who("engineer1"), data={"contact_note": "已电话联系客户"})
        db.session.commit()
        db.session.remove()
        return numbers[2]


def log_in(browser, base, user, wait):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    browser.get(f"{base}/login")
    browser.find_element(By.ID, "f-username").send_keys(user)
    browser.find_element(By.ID, "f-password").send_keys(PASSWORD)
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait.until(page_changed(old))


def classes(browser, element_id):  # noqa: F811
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f'g.djs-element[data-element-id="{element_id}"]').get_attribute("class")


def test_the_heatmap_and_a_tickets_diagram_render(studio_server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, app = studio_server
    accepted = three_tickets(app)
    shots = Path(os.environ.get("E2E_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT)

    log_in(browser, base, "owner1", wait)
    browser.get(f"{base}/studio/quick_response/versions")
    browser.find_element(By.CSS_SELECTOR, "#version-1 a[href$='/versions/1/live']").click()
    wait.until(lambda d: d.find_element(By.ID, "live-canvas").get_attribute("data-ready") == "1")
    assert "heat-5" in classes(browser, "accept_ticket")  # the most tickets wait there
    assert "heat-3" in classes(browser, "handle_ticket")  # half as many
    badges = {b.text for b in browser.find_elements(By.CSS_SELECTOR, ".live-badge")}
    assert any(text.startswith("2 个等待") for text in badges), badges
    assert any(text.startswith("1 个等待") for text in badges), badges
    status = browser.find_element(By.ID, "live-status").text
    assert "共有 3 个未结工单在等待" in status, status
    browser.save_screenshot(str(shots / "live-1-heatmap.png"))

    browser.get(f"{base}/tickets/{accepted}")
    diagram = browser.find_element(By.ID, "ticket-diagram")
    browser.execute_script("arguments[0].scrollIntoView();", diagram)
    wait.until(lambda d: diagram.get_attribute("data-ready") == "1")
    assert "path-done" in classes(browser, "accept_ticket")
    assert "path-current" in classes(browser, "handle_ticket")
    assert "path-current" not in classes(browser, "accept_ticket")
    labels = [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".path-badge")]
    assert "已完成 1 次" in labels and "当前位置" in labels, labels
    browser.save_screenshot(str(shots / "live-2-ticket.png"))
