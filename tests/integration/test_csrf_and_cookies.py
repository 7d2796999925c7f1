"""Every page form post carries a CSRF token and is refused (400) without one; the bearer-token API needs none.
Session and remember-me cookies are HttpOnly and SameSite=Lax, Secure when configured."""
import html
import re
import shutil
from pathlib import Path

import pytest
from flask_login import login_user
from sqlalchemy import select, update

from app.auth.models import User
from app.auth.principal import load_principal
from app.customers.models import Customer
from app.extensions import db
from app.tasks import service as tasks
from app.tasks.models import HumanTask
from app.tickets import service as tickets
from tests.conftest import PASSWORD, make_app

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"

# POST endpoint of a page form -> (who posts it, the page that carries the form); "{customer}", "{ticket}" and
# "{task}" are filled in with real objects. A new form post route must be added here.
FORMS = {
    "web.login": (None, "/login"),
    "web.logout": ("agent1", "/"),
    "web.bind_profile": ("newcomer", "/profile/bind"),
    "web.claim": ("engineer1", "/tasks/{task}"),
    "web.task_page": ("engineer1", "/tasks/{task}"),
    "web.customer_new": ("agent1", "/customers/new"),
    "web.customer_edit": ("agent1", "/customers/{customer}/edit"),
    "web.customer_agreement": ("agent1", "/customers/{customer}"),
    "web.ticket_new": ("agent1", "/customers/{customer}/tickets/new"),
    "web.ticket_redispatch": ("supervisor1", "/tickets/{ticket}"),
    "web.notification_read": ("engineer1", "/notifications"),  # before read-all: the form shows while unread
    "web.notifications_read_all": ("engineer1", "/notifications"),
    "web.survey_page": (None, "/survey/{survey}"),  # the customer's, without a log-in
    "web.ticket_survey_send": ("supervisor1", "/tickets/{closed_ticket}"),
    "web.calendar_hours": ("admin", "/admin/calendar"),
    "web.calendar_day_add": ("admin", "/admin/calendar"),
    "web.calendar_day_remove": ("admin", "/admin/calendar"),
    "web.calendar_import": ("admin", "/admin/calendar"),
    "web.set_away": ("engineer1", "/"),
    "web.ticket_confirm": ("engineer1", "/tickets/{resolved}"),  # engineer1 received it first
    "web.studio_rollback": ("owner1", "/studio/quick_response/versions"),
    "web.studio_import_new": ("owner1", "/studio"),  # open a .bpmn file as a new process
    "web.studio_import": ("owner1", "/studio/quick_response"),  # ... or as the process's draft
    "web.customers_import": ("agent1", "/customers/import"),
    "web.intake": (None, "/intake"),  # the public request form, without a log-in
    "web.intake_status": (None, "/intake/status"),
    "web.partner_keys": ("admin", "/admin/partner-keys"),
    "web.partner_key_revoke": ("admin", "/admin/partner-keys"),
    "web.studio_migration_run": ("owner1", "/studio/quick_response/versions/2/migration"),  # tickets on version 1
    "web.progress_add": ("engineer1", "/tickets/{ticket}"),  # the ticket's handler keeps its progress table
    "web.progress_update": ("engineer1", "/tickets/{ticket}"),
    "web.ticket_transfer": ("engineer1", "/tickets/{handling}"),  # the handler of an accepted ticket
    "web.ticket_collaborate": ("engineer1", "/tickets/{handling}"),
    "web.ticket_comment": ("engineer1", "/tickets/{handling}"),
    "web.ticket_priority": ("supervisor1", "/tickets/{service_request}"),  # a process that can change it
}
# Endpoints a page's script calls with JSON: the token comes from the page's <meta name="csrf-token"> and goes in
# the X-CSRFToken header. endpoint -> (method, who, the page that carries the token).
SCRIPT_CALLS = {
    "web.studio_draft": ("PUT", "owner1", "/studio/quick_response"),
    "web.studio_validate": ("POST", "owner1", "/studio/quick_response"),
    "web.studio_deploy": ("POST", "owner1", "/studio/quick_response"),
    "web.studio_decision_draft": ("PUT", "owner1", "/studio/quick_response/decisions"),
    "web.studio_migrate": ("POST", "owner1", "/studio/quick_response/versions/2/migration"),
    "web.studio_lint": ("POST", "owner1", "/studio/quick_response"),
    "web.studio_scenarios": ("PUT", "owner1", "/studio/quick_response"),
    "web.studio_run_scenarios": ("POST", "owner1", "/studio/quick_response/decisions"),
    "web.studio_form_draft": ("PUT", "owner1", "/studio/forms/accept_ticket.json"),
    "web.studio_form_preview": ("POST", "owner1", "/studio/forms/accept_ticket.json"),
    "web.studio_form_validate": ("POST", "owner1", "/studio/forms/accept_ticket.json"),
    "web.studio_form_deploy": ("POST", "owner1", "/studio/forms/accept_ticket.json"),
}
PATH_VALUES = {"web.studio_decision_draft": {"name": "quick_response", "filename": "sla_by_urgency.dmn"},
               "web.studio_form_draft": {"filename": "accept_ticket.json"},
               "web.studio_form_preview": {"filename": "accept_ticket.json"},
               "web.studio_form_validate": {"filename": "accept_ticket.json"},
               "web.studio_form_deploy": {"filename": "accept_ticket.json"},
               "web.studio_migrate": {"name": "quick_response", "version": 2}}


@pytest.fixture
def csrf_app(template_db, tmp_path):
    """The app with CSRF protection on, as in production (TestConfig turns it off)."""
    path = tmp_path / "csrf.db"
    shutil.copy(template_db, path)
    application = make_app(path, tmp_path, WTF_CSRF_ENABLED=True)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def _forms_in(page):
    """[(action, csrf token or None)] of the post forms in an HTML page."""
    found = []
    for attributes, body in re.findall(r"<form\b([^>]*)>(.*?)</form>", page, flags=re.S | re.I):
        if not re.search(r'method="post"', attributes, flags=re.I):
            continue
        action = re.search(r'action="([^"]*)"', attributes)
        token = re.search(r'name="csrf_token" value="([^"]+)"', body)
        found.append((html.unescape(action.group(1)) if action else None, token.group(1) if token else None))
    return found


def _token_of(page, action):
    tokens = [token for form_action, token in _forms_in(page) if form_action == action]
    assert tokens, f"no post form with action {action} on the page"
    assert tokens[0], f"the form posting to {action} carries no csrf_token"
    return tokens[0]


class Site:
    """Real objects for the forms, and clients logged in through the protected log-in form."""

    def __init__(self, app):
        self.app = app
        agent = load_principal(db.session.scalar(select(User.id).where(User.username == "agent1")))
        customer = db.session.scalar(select(Customer.number).order_by(Customer.id))
        ticket = tickets.create_ticket(data={
            "customer_number": customer, "type": "complaint", "urgency": "high", "channel": "phone",
            "description": "生产线设备无法启动，影响交付"}, actor=agent)
        task = tasks.open_tasks_of(tickets.get_ticket(ticket))[0]
        db.session.execute(update(HumanTask).where(HumanTask.id == task.id).values(assignee_id=None))
        from app.engine import Bundle, ProcessDefinition, deploy_version

        first = db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.name == "quick_response"))
        deploy_version(Bundle(name=first.name, filename=first.filename, dmn_xml=dict(first.dmn_xml),  # so version 1
                              bpmn_xml=first.bpmn_xml.replace("工单已登记", "工单已登记。", 1),  # may be rolled back to
                              forms=dict(first.forms)), deployed_by="owner1", comment="second version")
        newcomer = User(username="newcomer", display_name="新同事")  # no department and role yet
        newcomer.set_password(PASSWORD)
        db.session.add(newcomer)
        db.session.commit()
        from app.notifications.models import Notification  # engineer1's, of the new ticket

        notification = db.session.scalar(select(Notification.id).order_by(Notification.id))
        closed, survey = self._closed_ticket_with_survey(customer, agent)
        from app.channels import partners  # a key the admin's page offers to revoke

        admin = load_principal(db.session.scalar(select(User.id).where(User.username == "admin")))
        partner_key = partners.create_key(actor=admin, partner="acme", name="Acme")[0].id
        from app.progress.service import add_entry

        engineer = load_principal(db.session.scalar(select(User.id).where(User.username == "engineer1")))
        entry = add_entry(number=ticket, actor=engineer, data={"stage": "资料审核", "note": "审核中",
                                                                "planned_date": "2999-12-31"})
        self.values = {"progress_entry": entry["id"], "customer": customer, "ticket": ticket, "task": task.id, "notification": notification,
                       "closed_ticket": closed, "survey": survey, "resolved": self._resolved_ticket(customer, agent),
                       "partner_key": partner_key, "handling": self._handling_ticket(customer, agent),
                       "service_request": tickets.create_ticket(data={
                           "customer_number": customer, "type": "consultation", "urgency": "normal",
                           "channel": "phone", "description": "咨询对公账户开通所需材料"}, actor=agent,
                           process="service_request")}

    @staticmethod
    def _closed_ticket_with_survey(customer, agent):
        """A ticket marked closed (the supervisor's send form shows) with a survey sent: (number, link token)."""
        from app.surveys.links import token_of
        from app.surveys.models import Survey
        from app.surveys.service import send_survey_for_process
        from app.tickets.models import Ticket

        number = tickets.create_ticket(data={
            "customer_number": customer, "type": "consultation", "urgency": "low", "channel": "phone",
            "description": "咨询产品保修期限"}, actor=agent)
        db.session.execute(update(Ticket).where(Ticket.number == number).values(status="closed"))
        send_survey_for_process(number)
        db.session.commit()
        return number, token_of(db.session.scalar(select(Survey.nonce).order_by(Survey.id.desc())))

    @staticmethod
    def _handling_ticket(customer, agent):
        """A ticket engineer1 accepted and is handling: its page offers transfer, collaboration and comments."""
        engineer = load_principal(db.session.scalar(select(User.id).where(User.username == "engineer1")))
        number = tickets.create_ticket(data={
            "customer_number": customer, "type": "complaint", "urgency": "high", "channel": "phone",
            "description": "客户投诉设备反复故障"}, actor=agent)
        task = next(t for t in tasks.open_tasks_of(tickets.get_ticket(number)) if t.name == "accept_ticket")
        tasks.complete_task(task_id=task.id, user=engineer, data={"contact_note": "已联系"})
        return number

    @staticmethod
    def _resolved_ticket(customer, agent):
        """A ticket engineer1 accepted and solved: its page shows engineer1 the confirm-result form."""
        engineer = load_principal(db.session.scalar(select(User.id).where(User.username == "engineer1")))
        number = tickets.create_ticket(data={
            "customer_number": customer, "type": "complaint", "urgency": "high", "channel": "phone",
            "description": "生产线设备无法启动，影响交付"}, actor=agent)
        for name, data in (("accept_ticket", {"contact_note": "已联系"}),
                           ("handle_ticket", {"action": "处理", "status": "processing", "solution": "方案",
                                              "solution_ready": True})):
            task = next(t for t in tasks.open_tasks_of(tickets.get_ticket(number)) if t.name == name)
            tasks.complete_task(task_id=task.id, user=engineer, data=data)
        return number

    def url(self, template):
        return template.format(**self.values)

    def get(self, client, url):
        with self.app.app_context():
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)

    def post(self, client, url, data):
        with self.app.app_context():
            return client.post(url, data=data)

    def client_for(self, user):
        client = self.app.test_client()
        if user is not None:
            token = _token_of(self.get(client, "/login"), "/login")
            response = self.post(client, "/login", {"username": user, "password": PASSWORD, "csrf_token": token})
            assert response.status_code == 302, (user, response.status_code)
        return client


def test_every_page_form_post_needs_the_token_from_its_page(csrf_app):
    with csrf_app.test_request_context():
        from flask import url_for

        site = Site(csrf_app)
        posts = {rule.endpoint for rule in csrf_app.url_map.iter_rules()
                 if "POST" in rule.methods and rule.endpoint.startswith("web.")}
        missing = sorted(posts - set(FORMS) - set(SCRIPT_CALLS))
        assert not missing, f"page form posts not in FORMS (tests/integration/test_csrf_and_cookies.py): {missing}"
        actions = {}
        for endpoint in FORMS:
            rule = next(r for r in csrf_app.url_map.iter_rules() if r.endpoint == endpoint)
            values = {"task_id": site.values["task"]} if "task_id" in rule.arguments else {}
            if "notification_id" in rule.arguments:
                values["notification_id"] = site.values["notification"]
            if "number" in rule.arguments:
                values["number"] = site.values["customer"] if "/customers/" in rule.rule else site.values["ticket"]
                if endpoint == "web.ticket_survey_send":
                    values["number"] = site.values["closed_ticket"]
                if endpoint == "web.ticket_confirm":
                    values["number"] = site.values["resolved"]
                if endpoint in ("web.ticket_transfer", "web.ticket_collaborate", "web.ticket_comment"):
                    values["number"] = site.values["handling"]
                if endpoint == "web.ticket_priority":
                    values["number"] = site.values["service_request"]
            if "token" in rule.arguments:
                values["token"] = site.values["survey"]
            if "key_id" in rule.arguments:
                values["key_id"] = site.values["partner_key"]
            if "name" in rule.arguments:
                values["name"] = "quick_response"
                if "version" in rule.arguments:
                    values["version"] = 2 if "migrat" in endpoint else 1
            if "entry_id" in rule.arguments:
                values["entry_id"] = site.values["progress_entry"]
            actions[endpoint] = url_for(endpoint, **values)

    for endpoint, (user, page) in FORMS.items():
        client, action = site.client_for(user), actions[endpoint]
        refused = site.post(client, action, {})
        assert refused.status_code == 400, (endpoint, refused.status_code)
        assert "表单已过期" in refused.get_data(as_text=True), endpoint
        token = _token_of(site.get(client, site.url(page)), action)
        accepted = site.post(client, action, {"csrf_token": token})
        assert accepted.status_code != 400, (endpoint, accepted.status_code)
        assert accepted.status_code < 500, (endpoint, accepted.status_code)


def test_script_calls_need_the_token_of_their_page_in_a_header(csrf_app):
    site = Site(csrf_app)
    for endpoint, (method, user, page) in SCRIPT_CALLS.items():
        with csrf_app.test_request_context():
            from flask import url_for

            url = url_for(endpoint, **PATH_VALUES.get(endpoint, {"name": "quick_response"}))
        client = site.client_for(user)
        with csrf_app.app_context():
            refused = client.open(url, method=method, json={})
        assert refused.status_code == 400, (endpoint, refused.status_code)
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', site.get(client, page)).group(1)
        with csrf_app.app_context():
            accepted = client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
        assert accepted.status_code not in (400, 403) and accepted.status_code < 500, (endpoint, accepted.status_code)


def test_a_token_from_another_session_is_refused(csrf_app):
    site = Site(csrf_app)
    stranger = site.client_for(None)
    token = _token_of(site.get(stranger, "/login"), "/login")
    victim = site.client_for("agent1")
    forged = site.post(victim, "/customers/new", {"csrf_token": token, "name": "伪造客户"})
    assert forged.status_code == 400


def test_the_bearer_token_api_needs_no_csrf_token(csrf_app):
    client = csrf_app.test_client()
    login = client.post("/api/v1/login", json={"username": "agent1", "password": PASSWORD})
    assert login.status_code == 200
    created = client.post("/api/v1/customers", json={}, headers={"Authorization": f"Bearer {login.get_json()['token']}"})
    assert created.status_code == 422


def test_every_post_form_in_the_templates_carries_the_token():
    checked = 0
    for template in sorted(TEMPLATES.rglob("*.html")):
        source = template.read_text(encoding="utf-8")
        for attributes, body in re.findall(r"<form\b([^>]*)>(.*?)</form>", source, flags=re.S | re.I):
            if re.search(r'method="post"', attributes, flags=re.I):
                checked += 1
                assert '<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">' in body, \
                    f"{template.relative_to(TEMPLATES)}: a post form without the csrf_token input"
    assert checked >= len(FORMS) - 1  # the claim button's form lives in a macro shared by two pages


# ---------------------------------------------------------------------------------------------- cookies

def _set_cookie(response, name):
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{name}=")]
    assert cookies, f"no {name} cookie set"
    return [part.strip().lower() for part in cookies[-1].split(";")]


def test_the_session_cookie_is_httponly_and_samesite_lax(client):
    response = client.post("/login", data={"username": "agent1", "password": PASSWORD})
    parts = _set_cookie(response, "session")
    assert "httponly" in parts and "samesite=lax" in parts
    assert "secure" not in parts  # off by default so http://127.0.0.1 works; SESSION_COOKIE_SECURE turns it on


def test_cookies_are_secure_when_configured(template_db, tmp_path):
    path = tmp_path / "secure.db"
    shutil.copy(template_db, path)
    app = make_app(path, tmp_path, SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    with app.app_context():
        response = app.test_client().post("/login", data={"username": "agent1", "password": PASSWORD})
        assert "secure" in _set_cookie(response, "session")
        assert "secure" in _remember_cookie(app)
        db.engine.dispose()


def test_the_remember_me_cookie_is_httponly_and_samesite_lax(app):
    parts = _remember_cookie(app)
    assert "httponly" in parts and "samesite=lax" in parts and "secure" not in parts


def _remember_cookie(app):
    """The Set-Cookie of Flask-Login's remember-me cookie for a log-in with remember=True."""
    user = load_principal(db.session.scalar(select(User.id).where(User.username == "agent1")))
    with app.test_request_context("/login", method="POST"):
        login_user(user, remember=True)
        response = app.process_response(app.make_response("logged in"))
    return _set_cookie(response, app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))


def test_api_answers_do_not_vary_on_the_session_cookie(app):
    """The API authenticates by token and picks its language from Accept-Language: nothing it answers depends on
    the session cookie, so no answer says `Vary: Cookie` (Flask-Login's remember-me upkeep, which reads the
    session, is skipped after API requests). A page still does."""
    client = app.test_client()
    token = client.post("/api/v1/login", json={"username": "agent1", "password": PASSWORD}).get_json()["token"]
    answer = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and "cookie" not in {v.lower() for v in answer.vary}
    assert "cookie" in {v.lower() for v in client.get("/login").vary}
