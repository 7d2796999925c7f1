"""API routes: parse the request, call one service function, serialize the result."""
import json
from functools import wraps

from flask import current_app, g, jsonify, request, url_for

from app.api import api_bp
from app.api.openapi import openapi_document
from app.api.serialize import customer_json, iso, task_json, ticket_json, ticket_row_json
from app.auth import access
from app.auth import service as auth
from app.customers import service as customers
from app.customers.models import SERVICE_DATES
from app.errors import DomainError, Forbidden, NotFound, Unauthorized, ValidationFailed
from app.forms_schema import schema_for
from app.i18n import _
from app.surveys import service as surveys
from app.tasks import service as tasks
from app.tickets import search as ticket_search
from app.tickets import dispatch
from app.tickets import service as tickets


class BadRequestBody(DomainError):
    status = 400


def json_body(fields=None):
    """The request body as a JSON object, or a 400/422 naming the problem.

    With `fields`, a body field not among them is refused (422 naming it), as the OpenAPI document says.
    """
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequestBody(_("The body is not valid JSON; send a JSON object with Content-Type: application/json."))
    if not isinstance(data, dict):
        raise ValidationFailed({"body": _("The body must be a JSON object.")})
    bad = _fields_with_nul(data)
    if bad:
        raise ValidationFailed({field: _("Must not contain NUL characters.") for field in bad})
    unknown = [name for name in data if fields is not None and name not in fields]
    if unknown:
        raise ValidationFailed({name: _("Unknown field.") for name in unknown})
    return data


def _fields_with_nul(value, path=""):
    """Dotted paths of the strings (keys included) holding a NUL character, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found += [where] if "\x00" in str(key) else _fields_with_nul(item, where)
        return found
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _fields_with_nul(item, f"{path}[{i}]")]
    return []


# query parameters each endpoint takes; anything else is refused with 422 naming it
QUERY_PARAMETERS = {
    "api.list_customers": {"q", "limit", "after"},
    "api.list_tickets": {"overdue", "limit", "after", *ticket_search.FILTERS},
    "api.list_tasks": {"limit", "cursor"},
    "api.list_notifications": {"limit", "after", "unread"},
    "api.ticket_pool": {"limit", "after"},
}


@api_bp.before_request
def check_request():
    """Refuse unknown query parameters (422) and NUL characters in the path or query (404/422)."""
    if any("\x00" in str(v) for v in (request.view_args or {}).values()):
        raise NotFound(_("No such resource."))
    allowed = QUERY_PARAMETERS.get(request.endpoint, set())
    errors = {name or "(empty)": _("Unknown query parameter.") for name in request.args if name not in allowed}
    errors.update({name: _("Must not contain NUL characters.") for name, value in request.args.items(multi=True)
                   if name in allowed and name != "q" and "\x00" in value})
    if errors:
        raise ValidationFailed(errors)


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise Unauthorized(_("Log in first: send Authorization: Bearer <token>."))
        g.user = auth.user_from_token(header[7:].strip())
        return view(*args, **kwargs)

    return wrapper


def roles_required(*roles):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            access.require_role(g.user, roles)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def page_args():
    """(limit, after) from the query string: limit defaults to 50, at most 200."""
    errors = {}
    raw_limit = request.args.get("limit", str(current_app.config["API_PAGE_DEFAULT"]))
    try:
        limit = int(raw_limit)
        if not 1 <= limit <= current_app.config["API_PAGE_MAX"]:
            raise ValueError
    except ValueError:
        errors["limit"] = _("Must be an integer from 1 to %(n)s.", n=current_app.config["API_PAGE_MAX"])
        limit = 0
    after = request.args.get("after")
    if after is not None:
        try:
            after = int(after)
            if not 0 <= after < 2**53:
                raise ValueError
        except ValueError:
            errors["after"] = _("Must be an integer from 0 to 2^53.")
    if errors:
        raise ValidationFailed(errors)
    return limit, after


def paged(items, limit, endpoint, cursor, **params):
    body = {"items": items}
    if len(items) == limit and items:
        body["next"] = url_for(endpoint, limit=limit, after=cursor, **params)
    return body


@api_bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@api_bp.post("/login")
def login():
    data = json_body(("username", "password"))
    username, password = data.get("username"), data.get("password")
    errors = {}
    if not isinstance(username, str) or not username:
        errors["username"] = _("This field is required.")
    if not isinstance(password, str) or not password:
        errors["password"] = _("This field is required.")
    if errors:
        raise ValidationFailed(errors)
    user = auth.authenticate(username=username, password=password, address=request.remote_addr)
    return jsonify(token=auth.issue_token(user), user={
        "username": user.username,
        "roles": user.role_codes,
        "department": user.department.code if user.department else None,
    })


@api_bp.get("/customers")
@login_required
def list_customers():
    limit, after = page_args()
    q = request.args.get("q", "")
    found = customers.search_customers(q=q, limit=limit, after=after)  # rows
    return jsonify(paged([customer_json(c) for c in found], limit, "api.list_customers",
                         found[-1].id if found else None, q=q))


@api_bp.post("/customers")
@login_required
@roles_required(*access.FRONT_DESK)
def create_customer():
    body = json_body(customers.FIELDS + SERVICE_DATES + ("allow_duplicate", "onboarding"))
    customer = customers.create_customer(data=body, allow_duplicate=body.get("allow_duplicate", False),
                                         onboarding=body.get("onboarding", False), actor=g.user)
    return jsonify(customer_json(customer)), 201


@api_bp.get("/customers/<number>")
@login_required
def get_customer(number):
    customer = customers.customer_row(number)
    body = customer_json(customer)
    body["tickets"] = [ticket_json(t, brief=True) for t in customers.customer_tickets(customer)]
    return jsonify(body)


@api_bp.put("/customers/<number>")
@login_required
@roles_required(*access.FRONT_DESK)
def update_customer(number):
    body = json_body(customers.FIELDS + SERVICE_DATES + ("number", "status", "status_reason"))
    return jsonify(customer_json(customers.update_customer(number=number, data=body, actor=g.user)))


@api_bp.post("/customers/<number>/agreement")
@login_required
@roles_required(*access.FRONT_DESK)
def upload_customer_agreement(number):
    """The signed service agreement of the customer's onboarding (multipart field `file`)."""
    document = customers.upload_agreement(number=number, file=request.files.get("file"), actor=g.user)
    return jsonify({"id": document.id, "filename": document.filename, "size": document.size,
                    "uploaded_at": iso(document.uploaded_at)}), 201


@api_bp.post("/tickets")
@login_required
@roles_required(*access.FRONT_DESK)
def create_ticket():
    number = tickets.create_ticket(data=json_body(tickets.INPUT_FIELDS), actor=g.user)
    return jsonify(_ticket_detail(number)), 201


@api_bp.get("/tickets")
@login_required
@roles_required(*access.FRONT_DESK)
def list_tickets():
    limit, after = page_args()
    overdue_values = request.args.getlist("overdue")
    if any(v not in ("0", "1") for v in overdue_values) or len(overdue_values) > 1:
        raise ValidationFailed({"overdue": _("Must be 0 or 1.")})
    overdue = overdue_values == ["1"]
    if ticket_search.is_search(request.args):  # every ticket, newest first (R2-4)
        filters = ticket_search.parse_filters(request.args)
        found = ticket_search.search_tickets(**filters, overdue=overdue, limit=limit, after=after)
        given = {name: request.args[name] for name in ticket_search.FILTERS if request.args.get(name)}
        return jsonify(paged([ticket_row_json(r) for r in found], limit, "api.list_tickets",
                             found[-1].id if found else None, overdue=int(overdue), **given))
    found = tickets.monitor(overdue=overdue, limit=limit, after=after)
    return jsonify(paged([ticket_json(t, brief=True) for t in found], limit, "api.list_tickets",
                         found[-1].id if found else None, overdue=int(overdue)))


@api_bp.get("/tickets/<number>")
@login_required
def get_ticket(number):
    return jsonify(_ticket_detail(number))


def _ticket_detail(number):
    """The ticket's JSON with its process version, open tasks and history: two statements."""
    ticket, open_tasks = tickets.ticket_row(number)
    return ticket_json(ticket, open_tasks=open_tasks)


@api_bp.post("/tickets/<number>/redispatch")
@login_required
def redispatch_ticket(number):
    tickets.redispatch_ticket(number=number, actor=g.user, data=json_body())
    return jsonify(_ticket_detail(number))


@api_bp.get("/tickets/<number>/survey")
@login_required
def get_ticket_survey(number):
    return jsonify(_survey_json(number))


@api_bp.post("/tickets/<number>/survey")
@login_required
def send_ticket_survey(number):
    data = json_body(fields={"reason"})
    surveys.send_survey_now(number=number, actor=g.user, reason=data.get("reason"))
    return jsonify(_survey_json(number)), 201


def _survey_json(number):
    ticket, items = surveys.ticket_surveys(number)
    iso = lambda value: value.isoformat() if value else None  # noqa: E731
    return {"ticket_number": ticket.number, "items": [{
        "id": i["id"], "status": i["status"], "link": i["link"], "sent_at": iso(i["sent_at"]),
        "expires_at": iso(i["expires_at"]), "completed_at": iso(i["completed_at"]), "sent_by": i["sent_by"],
        "reason": i["reason"], "mailed": i["mailed_to"], "answers": i["answers"], "comment": i["comment"],
    } for i in items]}
@api_bp.post("/tickets/<number>/confirm")
@login_required
def confirm_ticket_result(number):
    body = json_body(("note",))
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        raise ValidationFailed({"note": _("Enter at most %(n)s characters.", n=500)})
    dispatch.confirm_result(number=number, actor=g.user, note=note.strip())
    return jsonify(_ticket_detail(number))


@api_bp.get("/pool")
@login_required
@roles_required(*access.SUPERVISORS)
def ticket_pool():
    limit, after = page_args()
    found = dispatch.pool(actor=g.user, limit=limit, after=after)
    return jsonify(paged([ticket_json(t, brief=True) for t in found], limit, "api.ticket_pool",
                         found[-1].id if found else None))


@api_bp.post("/me/away")
@login_required
def set_away():
    away = auth.set_away(actor=g.user, away=json_body(("away",)).get("away"))
    return jsonify(username=g.user.username, away=away)


@api_bp.get("/tasks")
@login_required
def list_tasks():
    limit, _after = page_args()
    items, count, last_at, last_id = tasks.inbox_json(g.user, limit=limit, after=_task_cursor())
    body = '{"items":' + items  # written by the database (see tasks.inbox_json)
    if count == limit:
        body += ',"next":' + json.dumps(url_for("api.list_tasks", limit=limit, cursor=f"{last_at}|{last_id}"))
    return current_app.response_class(body + "}", mimetype="application/json")


def _task_cursor():
    from datetime import datetime

    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        stamp, task_id = raw.rsplit("|", 1)
        return datetime.fromisoformat(stamp), task_id
    except ValueError as exc:
        raise ValidationFailed({"cursor": _("Not a valid cursor.")}) from exc


@api_bp.get("/tasks/<task_id>")
@login_required
def get_task(task_id):
    task = tasks.task_row(task_id, with_form_data=True)
    if not tasks.may_view(g.user, task):
        raise Forbidden(_("You may not see this task."))
    return jsonify(_task_detail(task))


def _task_detail(task):
    """A task row with its form's JSON Schema and the process data the form shows."""
    body = task_json(task)
    body["data"] = tasks.task_data(task)
    body["form"] = schema_for(tasks.task_form(task), body["data"])
    return body


@api_bp.post("/tasks/<task_id>/claim")
@login_required
def claim_task(task_id):
    return jsonify(task_json(tasks.claim_task(task_id=task_id, user=g.user)))


@api_bp.post("/tasks/<task_id>/complete")
@login_required
def complete_task(task_id):
    body = json_body(("data",))
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise ValidationFailed({"data": _("Must be an object of form fields.")})
    number = tasks.complete_task(task_id=task_id, user=g.user, data=data)
    if number is None:  # a task of a customer process (onboarding, care): answer the customer
        return jsonify(customer_json(customers.customer_row(tasks.task_row(task_id).task_customer_number)))
    return jsonify(_ticket_detail(number))
