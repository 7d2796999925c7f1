"""What a new user ran into on the forms: duplicate customers, start dates, attachments, error summaries, task context."""
import io
import re
from datetime import datetime, timezone

import time_machine

from tests.integration.test_pages import first_customer, login, text, ticket_form

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)

CUSTOMER = {"name": "北辰精密仪器有限公司", "industry": "manufacturing", "cooperation_start": "2020-05-01",
            "contact_person": "周工", "phone": "13912345678", "email": ""}


# ---------------------------------------------------------------------------------- duplicate customers

def test_page_warns_about_a_customer_with_the_same_name_and_phone(client):
    login(client, "agent1")
    first = client.post("/customers/new", data=CUSTOMER)
    assert first.status_code == 302
    existing = first.headers["Location"].rsplit("/", 1)[1]
    again = client.post("/customers/new?lang=en", data=CUSTOMER)
    page = text(again)
    assert again.status_code == 409
    assert 'id="duplicate-warning"' in page and f'href="/customers/{existing}"' in page
    assert "A customer with the same name and phone already exists" in page
    assert 'value="北辰精密仪器有限公司"' in page  # the input is kept
    assert 'name="allow_duplicate"' in page
    confirmed = client.post("/customers/new", data={**CUSTOMER, "allow_duplicate": "1"})
    assert confirmed.status_code == 302 and confirmed.headers["Location"].rsplit("/", 1)[1] != existing
    # another phone is another customer
    assert client.post("/customers/new", data={**CUSTOMER, "phone": "13912345679"}).status_code == 302


def test_api_answers_409_with_the_existing_number_unless_intended(api):
    body = {**CUSTOMER, "email": None}
    created = api.post("/customers", "agent1", json=body)
    assert created.status_code == 201
    existing = created.get_json()["number"]
    again = api.post("/customers", "agent1", json={**body, "name": " 北辰精密仪器有限公司 "})
    assert again.status_code == 409
    assert again.get_json()["existing"] == existing and existing in again.get_json()["error"]
    bad = api.post("/customers", "agent1", json={**body, "allow_duplicate": "yes"})
    assert bad.status_code == 422 and "allow_duplicate" in bad.get_json()["errors"]
    intended = api.post("/customers", "agent1", json={**body, "allow_duplicate": True})
    assert intended.status_code == 201 and intended.get_json()["number"] != existing


# ------------------------------------------------------------------------------ cooperation start date

def test_cooperation_start_lies_between_1900_and_today(client, api):
    login(client, "agent1")
    with time_machine.travel(T0, tick=False):  # 2026-03-02 in Shanghai
        for value in ("2099-01-01", "1899-12-31", "2026-03-03"):
            page = client.post("/customers/new?lang=en", data={**CUSTOMER, "cooperation_start": value})
            assert page.status_code == 422, value
            assert "Enter a date from 1900-01-01 to today (2026-03-02)." in text(page)
            assert 'id="err-cooperation_start"' in text(page)
            response = api.post("/customers", "agent1", json={**CUSTOMER, "email": None, "cooperation_start": value})
            assert response.status_code == 422 and "cooperation_start" in response.get_json()["errors"]
        form = text(client.get("/customers/new"))
        assert 'min="1900-01-01"' in form and 'max="2026-03-02"' in form
        for value in ("1900-01-01", "2026-03-02"):
            body = {**CUSTOMER, "email": None, "cooperation_start": value, "allow_duplicate": True}
            assert api.post("/customers", "agent1", json=body).status_code == 201, value


# ------------------------------------------------------------------------------------------ attachments

def test_ticket_form_states_the_upload_limit_and_sizes_show_in_bytes(client, app):
    login(client, "agent1")
    number = first_customer(client)
    form = text(client.get(f"/customers/{number}/tickets/new?lang=en"))
    assert "Each file at most 20 MB, together at most 101 MB; empty files are refused." in form
    assert f'data-max-each="{app.config["MAX_UPLOAD_BYTES"]}"' in form and "attachments.js" in form
    created = client.post(f"/customers/{number}/tickets/new", content_type="multipart/form-data",
                          data={**ticket_form(), "attachments": [(io.BytesIO(b"x" * 512), "note.txt"),
                                                                 (io.BytesIO(b"y" * 3000), "log.txt")]})
    assert created.status_code == 302
    page = text(client.get(created.headers["Location"]))
    assert "(512 B)" in page and "(2.9 KB)" in page and "0.0 KB" not in page


def test_empty_and_oversized_files_get_a_field_message_and_the_form_is_kept(client, app):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    login(client, "agent1")
    number = first_customer(client)
    empty = client.post(f"/customers/{number}/tickets/new?lang=en", content_type="multipart/form-data",
                        data={**ticket_form(), "attachments": (io.BytesIO(b""), "blank.pdf")})
    page = text(empty)
    assert empty.status_code == 422
    assert "“blank.pdf” is empty; choose a file with content." in page and 'id="err-attachments"' in page
    assert "生产线设备无法启动，影响交付" in page  # the description is kept
    big = client.post(f"/customers/{number}/tickets/new?lang=en", content_type="multipart/form-data",
                      data={**ticket_form(), "attachments": (io.BytesIO(b"z" * 1500), "scan.pdf")})
    page = text(big)
    assert big.status_code == 422
    assert "“scan.pdf” is 1.5 KB; each file may be at most 1000 B." in page
    assert '<a href="#f-attachments">Attachments</a>' in page  # the summary names the field
    assert "生产线设备无法启动，影响交付" in page


def test_a_request_over_the_whole_limit_comes_back_as_the_ticket_form(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 4000
    login(client, "agent1")
    number = first_customer(client)
    response = client.post(f"/customers/{number}/tickets/new?lang=en", content_type="multipart/form-data",
                           data={**ticket_form(), "attachments": (io.BytesIO(b"z" * 8000), "video.mp4")})
    page = text(response)
    assert response.status_code == 413
    assert "The files together were larger than 3.9 KB" in page
    assert 'name="description"' in page and "Create ticket" in page  # the form, not a bare error page


# -------------------------------------------------------------------------------------- error summaries

def test_error_summary_lists_the_wrong_fields_as_links(client):
    login(client, "agent1")
    page = text(client.post("/customers/new?lang=en", data={**CUSTOMER, "name": "", "phone": "123"}))
    summary = page[page.index('id="error-summary"'):page.index("</div>", page.index('id="error-summary"'))]
    assert '<a href="#f-name">Customer name</a>' in summary
    assert '<a href="#f-phone">Contact phone</a>' in summary
    assert "Industry" not in summary
    number = first_customer(client)
    page = text(client.post(f"/customers/{number}/tickets/new?lang=en", data=ticket_form(type="", description="")))
    assert '<a href="#f-description">Problem description</a>' in page and '<a href="#f-type">Type</a>' in page
    assert 'id="f-type"' in page  # the link has a target


def test_task_form_summary_names_its_fields(api, client):
    number = api.new_ticket()["number"]
    task = api.task_for("engineer1", number, "accept_ticket")
    login(client, "engineer1")
    page = text(client.post(f"/tasks/{task['id']}?lang=en", data={"contact_note": ""}))
    assert '<a href="#f-contact_note">First contact note</a>' in page


# ------------------------------------------------------------------------------------ task page context

def test_task_pages_show_the_customers_contact(api, client):
    number = api.new_ticket()["number"]
    api.complete("engineer1", number, "accept_ticket", contact_note="已联系")
    api.complete("engineer1", number, "handle_ticket", action="更换部件", status="awaiting_customer",
                 solution="更换电源模块", solution_ready=True)
    customer = api.get(f"/customers/{api.ticket(number)['customer_number']}", "agent1").get_json()
    task = api.task_for("agent1", number, "feedback")
    login(client, "agent1")
    page = text(client.get(f"/tasks/{task['id']}?lang=en"))
    contact = page[page.index('id="customer-contact"'):page.index("</dl>", page.index('id="customer-contact"'))]
    assert customer["contact_person"] in contact and f'href="tel:{customer["phone"]}"' in contact
    assert "更换电源模块" in page  # the solution to give


def test_readonly_fields_without_a_value_are_not_shown(api, client):
    number = api.new_ticket()["number"]
    api.complete("engineer1", number, "accept_ticket", contact_note="已联系")
    task = api.task_for("engineer1", number, "handle_ticket")
    login(client, "engineer1")
    page = text(client.get(f"/tasks/{task['id']}?lang=en"))
    assert "Reviewer's comment" not in page and "Customer's comment" not in page
    assert re.search(r'name="status" value="awaiting_review"', page)
