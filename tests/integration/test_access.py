"""Who may use which route: every route of the pages and the API, walked as anonymous and as every demo user.

ACCESS below is the contract. A route missing from it fails `test_every_route_is_in_the_access_table`.
For each route and principal the walk sends a request with real path values (a customer, a ticket with an
attachment, a fresh task) and an empty body, and checks only the access decision, not the business outcome:

* anonymous: a page redirects to the log-in page, the API answers 401 (public routes: neither);
* a user the row does not list: 403. No route hides existence behind 404 today: a user who may not use a
  route learns that it exists (404 means only that the customer/ticket/task itself does not exist);
* a user the row lists: neither 401 nor 403 (nor a redirect to log-in).

Within one route, anonymous and the refused users go first, so the allowed users' requests (which may change
state, e.g. claim the task) cannot change what the refused ones see.
"""
import io

import pytest
from flask import url_for
from sqlalchemy import select, update
from werkzeug.datastructures import FileStorage

from app.auth.models import User
from app.auth.principal import load_principal
from app.customers.models import Customer
from app.extensions import db
from app.tasks import service as tasks
from app.tasks.models import HumanTask
from app.tickets import service as tickets
from tests.conftest import PASSWORD

USERS = ("agent1", "agent2", "service1", "engineer1", "product1", "supervisor1", "owner1", "admin")
PUBLIC = "public"  # anonymous too
EVERYONE = frozenset(USERS)  # every logged-in user
FRONT_DESK = frozenset({"agent1", "agent2", "supervisor1", "admin"})  # roles agent, supervisor, admin
SUPERVISORS = frozenset({"supervisor1", "admin"})  # roles supervisor, admin
PROCESS_OWNERS = frozenset({"owner1", "admin"})  # roles owner, admin: the studio
# The task of a task route: a complaint's accept_ticket waiting unclaimed in the after-sales handlers' queue.
TASK_WORKERS = frozenset({"engineer1"})  # a handler of that department (may_work)
TASK_VIEWERS = TASK_WORKERS | SUPERVISORS  # ... and supervisors (may_view)
ADMINS = frozenset({"admin"})  # role admin
PARTNER_KEY = "partner key"  # X-Partner-Key only: anonymous and every logged-in user get 401
# the world's ticket's progress table: kept by its assignee (engineer1, the complaint's handler) and supervisors
PROGRESS_KEEPERS = frozenset({"engineer1"}) | SUPERVISORS
# the world's ticket's transfer and collaboration: its current handler (engineer1) and supervisors
TRANSFERRERS = frozenset({"engineer1"}) | SUPERVISORS
# its comment area: its creator (agent1), the holder of its task (engineer1), supervisors
COMMENTERS = frozenset({"agent1", "engineer1"}) | SUPERVISORS

ACCESS = {
    # pages
    ("static", "GET"): PUBLIC,
    ("web.static", "GET"): PUBLIC,
    ("web.vendor", "GET"): PUBLIC,
    ("web.login", "GET"): PUBLIC,
    ("web.login", "POST"): PUBLIC,
    ("web.logout", "POST"): EVERYONE,
    ("web.bind_profile", "GET"): EVERYONE,
    ("web.bind_profile", "POST"): EVERYONE,
    ("web.index", "GET"): EVERYONE,
    ("web.claim", "POST"): TASK_WORKERS,
    ("web.customer_list", "GET"): EVERYONE,
    ("web.customer_new", "GET"): FRONT_DESK,
    ("web.customer_new", "POST"): FRONT_DESK,
    ("web.customer_detail", "GET"): EVERYONE,
    ("web.customer_edit", "GET"): FRONT_DESK,
    ("web.customer_edit", "POST"): FRONT_DESK,
    ("web.customer_agreement", "POST"): FRONT_DESK,
    ("web.customer_document", "GET"): EVERYONE,
    ("web.ticket_new", "GET"): FRONT_DESK,
    ("web.ticket_new", "POST"): FRONT_DESK,
    ("web.ticket_list", "GET"): FRONT_DESK,
    ("web.ticket_detail", "GET"): EVERYONE,
    ("web.ticket_redispatch", "POST"): SUPERVISORS,
    ("web.ticket_priority", "POST"): SUPERVISORS,
    ("web.attachment", "GET"): EVERYONE,
    ("web.task_page", "GET"): TASK_VIEWERS,
    ("web.task_page", "POST"): TASK_WORKERS,
    ("web.escalations", "GET"): SUPERVISORS,
    ("web.monitor", "GET"): SUPERVISORS,
    ("web.notifications", "GET"): EVERYONE,
    ("web.notification_read", "POST"): EVERYONE,  # anyone else's notification: 404 (see test_notifications.py)
    ("web.notifications_read_all", "POST"): EVERYONE,
    ("web.survey_page", "GET"): PUBLIC,  # the customer's survey: its link's token is the only key
    ("web.survey_page", "POST"): PUBLIC,
    ("web.ticket_survey_send", "POST"): SUPERVISORS,
    ("web.intake", "GET"): PUBLIC,  # the customer's request form
    ("web.intake", "POST"): PUBLIC,
    ("web.intake_done", "GET"): PUBLIC,
    ("web.intake_status", "GET"): PUBLIC,  # number + secret are the key
    ("web.intake_status", "POST"): PUBLIC,
    ("web.partner_keys", "GET"): ADMINS,
    ("web.partner_keys", "POST"): ADMINS,
    ("web.partner_key_revoke", "POST"): ADMINS,
    ("web.calendar_edit", "GET"): ADMINS,
    ("web.calendar_hours", "POST"): ADMINS,
    ("web.calendar_day_add", "POST"): ADMINS,
    ("web.calendar_day_remove", "POST"): ADMINS,
    ("web.calendar_import", "POST"): ADMINS,
    ("web.set_away", "POST"): EVERYONE,
    ("web.ticket_pool", "GET"): SUPERVISORS,
    # only the ticket's first receiver confirms its result; the walk's ticket was never accepted, so nobody may
    # (the owner's confirmation: tests/integration/test_dispatch.py)
    ("web.ticket_confirm", "POST"): frozenset(),
    ("web.studio_home", "GET"): PROCESS_OWNERS,
    ("web.studio_modeler", "GET"): PROCESS_OWNERS,
    ("web.studio_diagram", "GET"): PROCESS_OWNERS,
    ("web.studio_draft", "PUT"): PROCESS_OWNERS,
    ("web.studio_draft", "DELETE"): PROCESS_OWNERS,
    ("web.studio_validate", "POST"): PROCESS_OWNERS,
    ("web.studio_scenarios", "PUT"): PROCESS_OWNERS,
    ("web.studio_run_scenarios", "POST"): PROCESS_OWNERS,
    ("web.studio_deploy", "POST"): PROCESS_OWNERS,
    ("web.studio_versions", "GET"): PROCESS_OWNERS,
    ("web.studio_rollback", "POST"): PROCESS_OWNERS,
    ("web.studio_decisions", "GET"): PROCESS_OWNERS,
    ("web.studio_compare", "GET"): PROCESS_OWNERS,
    ("web.studio_decision_draft", "PUT"): PROCESS_OWNERS,
    ("web.studio_migration", "GET"): PROCESS_OWNERS,
    ("web.studio_migration_run", "POST"): PROCESS_OWNERS,
    ("web.studio_migration_preview", "GET"): PROCESS_OWNERS,
    ("web.studio_migrate", "POST"): PROCESS_OWNERS,
    ("web.studio_live", "GET"): PROCESS_OWNERS,
    ("web.studio_heatmap", "GET"): PROCESS_OWNERS,
    ("web.ticket_diagram", "GET"): EVERYONE,  # whoever may see the ticket (every logged-in user today)
    ("web.studio_forms", "GET"): PROCESS_OWNERS,
    ("web.studio_form_editor", "GET"): PROCESS_OWNERS,
    ("web.studio_form_draft", "PUT"): PROCESS_OWNERS,
    ("web.studio_form_draft", "DELETE"): PROCESS_OWNERS,
    ("web.studio_form_preview", "POST"): PROCESS_OWNERS,
    ("web.studio_form_validate", "POST"): PROCESS_OWNERS,
    ("web.studio_form_deploy", "POST"): PROCESS_OWNERS,
    ("web.studio_lint", "POST"): PROCESS_OWNERS,
    ("web.studio_import_new", "POST"): PROCESS_OWNERS,  # open a .bpmn file as a new process
    ("web.studio_import", "POST"): PROCESS_OWNERS,  # ... or as a process's draft
    ("web.reports", "GET"): SUPERVISORS,
    ("web.report_preset", "GET"): SUPERVISORS,
    ("web.report_export", "GET"): SUPERVISORS,
    ("web.report_tickets", "GET"): SUPERVISORS,
    ("web.report_tickets_export", "GET"): SUPERVISORS,
    ("web.monitor_export", "GET"): SUPERVISORS,
    ("web.customers_export", "GET"): FRONT_DESK,
    ("web.customers_import", "GET"): FRONT_DESK,
    ("web.customers_import", "POST"): FRONT_DESK,
    ("web.progress_add", "POST"): PROGRESS_KEEPERS,
    ("web.progress_update", "POST"): PROGRESS_KEEPERS,
    ("web.ticket_transfer", "POST"): TRANSFERRERS,
    ("web.ticket_collaborate", "POST"): TRANSFERRERS,
    ("web.ticket_comment", "POST"): COMMENTERS,
    # API
    ("api.openapi", "GET"): PUBLIC,
    ("api.login", "POST"): PUBLIC,
    ("api.list_customers", "GET"): EVERYONE,
    ("api.create_customer", "POST"): FRONT_DESK,
    ("api.get_customer", "GET"): EVERYONE,
    ("api.update_customer", "PUT"): FRONT_DESK,
    ("api.upload_customer_agreement", "POST"): FRONT_DESK,
    ("api.create_ticket", "POST"): FRONT_DESK,
    ("api.list_tickets", "GET"): FRONT_DESK,
    ("api.get_ticket", "GET"): EVERYONE,
    ("api.redispatch_ticket", "POST"): SUPERVISORS,
    ("api.reprioritize_ticket", "POST"): SUPERVISORS,
    ("api.list_tasks", "GET"): EVERYONE,
    ("api.get_task", "GET"): TASK_VIEWERS,
    ("api.claim_task", "POST"): TASK_WORKERS,
    ("api.complete_task", "POST"): TASK_WORKERS,
    ("api.list_notifications", "GET"): EVERYONE,
    ("api.read_notification", "POST"): EVERYONE,  # anyone else's notification: 404
    ("api.read_all_notifications", "POST"): EVERYONE,
    ("api.get_ticket_survey", "GET"): EVERYONE,
    ("api.send_ticket_survey", "POST"): SUPERVISORS,
    ("api.get_calendar", "GET"): ADMINS,
    ("api.put_calendar_hours", "PUT"): ADMINS,
    ("api.put_calendar_day", "PUT"): ADMINS,
    ("api.delete_calendar_day", "DELETE"): ADMINS,
    ("api.set_away", "POST"): EVERYONE,
    ("api.ticket_pool", "GET"): SUPERVISORS,
    ("api.confirm_ticket_result", "POST"): frozenset(),  # the first receiver only, see web.ticket_confirm
    ("api.report", "GET"): SUPERVISORS,
    ("api.report_preset", "GET"): SUPERVISORS,
    ("api.report_tickets", "GET"): SUPERVISORS,
    ("api.report_export", "GET"): SUPERVISORS,
    ("api.report_tickets_export", "GET"): SUPERVISORS,
    ("api.tickets_export", "GET"): SUPERVISORS,
    ("api.customers_export", "GET"): FRONT_DESK,
    ("api.customers_import", "POST"): FRONT_DESK,
    ("api.partner_create_ticket", "POST"): PARTNER_KEY,
    ("api.partner_tickets", "GET"): PARTNER_KEY,
    ("api.list_partner_keys", "GET"): ADMINS,
    ("api.create_partner_key", "POST"): ADMINS,
    ("api.revoke_partner_key", "POST"): ADMINS,
    ("api.get_progress", "GET"): EVERYONE,
    ("api.add_progress", "POST"): PROGRESS_KEEPERS,
    ("api.update_progress", "PUT"): PROGRESS_KEEPERS,
    ("api.transfer_ticket", "POST"): TRANSFERRERS,
    ("api.list_transfers", "GET"): EVERYONE,
    ("api.list_comments", "GET"): EVERYONE,
    ("api.add_comment", "POST"): COMMENTERS,
    ("api.get_collaboration", "GET"): EVERYONE,
    ("api.start_collaboration", "POST"): TRANSFERRERS,
}


def routes(app):
    """{(endpoint, method): rule} for every route the app serves (HEAD and OPTIONS come with GET)."""
    return {(rule.endpoint, method): rule for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})}


def test_every_route_is_in_the_access_table(app):
    served = routes(app)
    missing = sorted(set(served) - set(ACCESS))
    assert not missing, (f"routes without a row in ACCESS (tests/integration/test_access.py): {missing}; "
                         "add it to the access table with the users who may use it")
    stale = sorted(set(ACCESS) - set(served))
    assert not stale, f"rows in ACCESS for routes the app does not serve: {stale}; remove them"


# ---------------------------------------------------------------------------------------------- fixtures

class World:
    """Real objects for path values: a customer, a ticket with an attachment, and a fresh task per route."""

    def __init__(self, app):
        self.agent = load_principal(db.session.scalar(select(User.id).where(User.username == "agent1")))
        self.customer = db.session.scalar(select(Customer.number).order_by(Customer.id))
        upload = FileStorage(io.BytesIO(b"contract"), filename="contract.txt", content_type="text/plain")
        self.ticket = self.new_ticket(files=[upload])
        self.attachment = tickets.ticket_attachments(tickets.get_ticket(self.ticket))[0].id
        from app.customers.service import upload_agreement

        agreement = FileStorage(io.BytesIO(b"%PDF signed"), filename="agreement.pdf", content_type="application/pdf")
        self.document = upload_agreement(number=self.customer, file=agreement, actor=self.agent).id

    def new_ticket(self, files=()):
        return tickets.create_ticket(data={
            "customer_number": self.customer, "type": "complaint", "urgency": "high", "channel": "phone",
            "description": "生产线设备无法启动，影响交付"}, actor=self.agent, files=files)

    def fresh_task(self):
        """The accept_ticket task of a new complaint, put back into the after-sales handlers' queue."""
        task = tasks.open_tasks_of(tickets.get_ticket(self.new_ticket()))[0]
        assert task.name == "accept_ticket" and task.role == "handler"
        db.session.execute(update(HumanTask).where(HumanTask.id == task.id).values(assignee_id=None))
        db.session.commit()
        return task.id

    def notification(self):
        """The id of a notification (engineer1's, of the world's ticket)."""
        from app.notifications.models import Notification

        return db.session.scalar(select(Notification.id).order_by(Notification.id))

    def progress_entry(self):
        """The id of a row of the world's ticket's progress table."""
        from app.progress.models import ProgressEntry
        from app.tickets.models import Ticket

        ticket = db.session.scalar(select(Ticket).where(Ticket.number == self.ticket))
        entry = ProgressEntry(ticket_id=ticket.id, stage="资料审核", owner_id=ticket.assignee_id,
                              planned_date=ticket.created_at.date(), note="审核中", created_by_id=ticket.assignee_id)
        db.session.add(entry)
        db.session.commit()
        return entry.id

    def survey_token(self):
        """The link token of a survey sent for the world's ticket."""
        from app.surveys.links import token_of
        from app.surveys.models import Survey
        from app.surveys.service import send_survey_for_process

        send_survey_for_process(self.ticket)
        db.session.commit()
        return token_of(db.session.scalar(select(Survey.nonce).order_by(Survey.id.desc())))

    def partner_key(self):
        """The id of a partner key (created anew for each route that takes one)."""
        from app.channels import partners

        admin = load_principal(db.session.scalar(select(User.id).where(User.username == "admin")))
        return partners.create_key(actor=admin, partner="acme", name="Acme")[0].id

    def path_values(self, endpoint, rule):
        values = {}
        for name in rule.arguments:
            if name == "number":
                values[name] = self.customer if "/customers/<number>" in rule.rule else self.ticket
            elif name == "attachment_id":
                values[name] = self.attachment
            elif name == "document_id":
                values[name] = self.document
            elif name == "task_id":
                values[name] = self.fresh_task()
            elif name == "notification_id":
                values[name] = self.notification()
            elif name == "filename":
                values[name] = {"web.vendor": "echarts.min.js", "web.studio_decision_draft": "sla_by_urgency.dmn"}.get(
                    endpoint, "accept_ticket.json" if endpoint.startswith("web.studio_form") else "app.css")
            elif name == "package":
                values[name] = "echarts"
            elif name == "token":
                values[name] = self.survey_token()
            elif name == "code":
                values[name] = "default"  # the business calendar
            elif name == "day":
                values[name] = "2026-12-25"
            elif name == "name":  # a process (the studio)
                values[name] = "quick_response"
            elif name == "version":
                values[name] = 1
            elif name == "fmt":
                values[name] = "xlsx"
            elif name == "preset":
                values[name] = "monthly"
            elif name == "key_id":
                values[name] = self.partner_key()
            elif name == "entry_id":
                values[name] = self.progress_entry()
            else:
                pytest.fail(f"{endpoint}: no value for <{name}>; teach World.path_values one")
        return values


class Principals:
    """A logged-in test client per user for the pages, a bearer token per user for the API."""

    def __init__(self, app):
        self.app = app
        self.clients = {None: app.test_client()}
        self.tokens = {}
        for user in USERS:
            self.clients[user] = app.test_client()
            self.log_in(user)
            response = self.clients[None].post("/api/v1/login", json={"username": user, "password": PASSWORD})
            self.tokens[user] = response.get_json()["token"]

    def log_in(self, user):
        with self.app.app_context():
            response = self.clients[user].post("/login", data={"username": user, "password": PASSWORD})
        assert response.status_code == 302, (user, response.status_code)

    def request(self, user, method, url, api):
        """One request in its own app context, as in production (Flask-Login keeps the user in `g`)."""
        with self.app.app_context():
            response = self._request(user, method, url, api)
            response.close()  # a streamed download (stream_with_context) ends its contexts now, in order
            return response

    def _request(self, user, method, url, api):
        client = self.clients[user]
        if api:
            headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
            body = {"json": {}} if method in ("POST", "PUT") else {}
            response = client.open(url, method=method, headers=headers, **body)
        else:
            response = client.open(url, method=method, data={} if method == "POST" else None)
            if user is not None and not _logged_in(client):  # the log-out route: log in again
                self.log_in(user)
        return response


def _logged_in(client):
    with client.session_transaction() as session:
        return "_user_id" in session


def _is_login_redirect(response):
    """The guard's answer to a visitor who is not logged in (log-out's own redirect to /login has no `next`)."""
    return response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


# ------------------------------------------------------------------------------------------------- walk

def test_every_route_as_anonymous_and_every_user(app):
    world, principals = World(app), Principals(app)
    wrong = []
    for (endpoint, method), rule in sorted(routes(app).items(), key=lambda item: item[0]):
        allowed = ACCESS.get((endpoint, method))
        if allowed is None:
            continue  # reported by test_every_route_is_in_the_access_table
        api = endpoint.startswith("api.")
        with app.test_request_context():
            url = url_for(endpoint, **world.path_values(endpoint, rule))
        ordered = [None] + sorted(EVERYONE - _users(allowed)) + sorted(_users(allowed))
        for user in ordered:
            response = principals.request(user, method, url, api)
            expected = _expected(allowed, user, api)
            if not _meets(expected, response, api):
                wrong.append(f"{method} {url} ({endpoint}) as {user or 'anonymous'}: {response.status_code} "
                             f"{response.headers.get('Location', '')}, expected {expected}")
    assert not wrong, "\n".join(wrong)


def _users(allowed):
    return EVERYONE if allowed == PUBLIC else frozenset() if allowed == PARTNER_KEY else allowed


def _expected(allowed, user, api):
    if allowed == PARTNER_KEY:
        return "401"
    if allowed == PUBLIC or (user is not None and user in allowed):
        return "allowed"
    if user is None:
        return "401" if api else "log-in redirect"
    return "403"


def _meets(expected, response, api):
    if expected == "allowed":
        return response.status_code not in (401, 403) and not (not api and _is_login_redirect(response))
    if expected == "401":
        return response.status_code == 401 and "error" in response.get_json()
    if expected == "log-in redirect":
        return _is_login_redirect(response)
    return response.status_code == 403


def test_pages_offer_customer_and_ticket_entry_only_to_those_who_may(app, client):
    number = db.session.scalar(select(Customer.number).order_by(Customer.id))
    links = (f'href="/customers/{number}/tickets/new"', f'href="/customers/{number}/edit"', 'href="/customers/new')
    for user, shown in (("agent1", True), ("supervisor1", True), ("engineer1", False), ("owner1", False)):
        with app.app_context():
            client.post("/login", data={"username": user, "password": PASSWORD})
        with app.app_context():
            pages = client.get(f"/customers/{number}").get_data(as_text=True) + \
                client.get("/customers").get_data(as_text=True) + client.get("/customers?q=无此客户").get_data(as_text=True)
        with app.app_context():
            client.post("/logout")
        assert all((link in pages) is shown for link in links), user
