"""The pages: inbox, customers, tickets, task forms, supervisor views. Each view calls one service per use case."""
from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from app.auth import access
from app.calendar.outcome import OUTCOMES, window_outcomes
from app.auth import service as auth
from app.clock import as_utc, now
from app.customers import service as customers
from app.customers.models import CUSTOMER_STATUSES, INDUSTRIES, SERVICE_DATES
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.forms_schema import coerce_form
from app.i18n import _, is_english, label, schema_title
from app.tasks import service as tasks
from app.tickets import search as ticket_search
from app.surveys import service as surveys
from app.tickets import service as tickets
from app.tickets.models import CHANNELS, STATUSES, TICKET_TYPES, URGENCIES
from app.progress.pages import progress_panel
from app.collab.pages import collab_panel
from app.collab.transfer import transfer_form
from app.priority.pages import priority_panel, timeline_lines as priority_lines
from app.web import display, web_bp
from app.web.auth import me, safe_next
from app.web.context import is_supervisor
from app.web.errors import error_page
from app.web.inputs import clean
from app.web.schema_form import build_fields, general_errors

PAGE = 50
CUSTOMER_FIELDS = ("name", "industry", "cooperation_start", "contact_person", "phone", "email")
CUSTOMER_FORM_FIELDS = CUSTOMER_FIELDS + SERVICE_DATES  # the service dates are edited on the same form
TICKET_FIELDS = ("description", "type", "urgency", "channel")


def _int_arg(name):
    """A positive integer query argument, or None when absent or malformed (bad input is never a 500)."""
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if 0 < value < 2**53 else None


def _choices(mapping):
    return [(code, label(pair)) for code, pair in mapping.items()]


def _form_values(names):
    return {name: clean(request.form.get(name) or "") for name in names}


def _posted_form():
    """request.form as a plain dict of cleaned strings (the first value of each field)."""
    return {key: clean(value) for key, value in request.form.items()}


def _titles_for(task_list):
    """{task id: title in the current language} (English titles come from the deployed forms)."""
    forms = tasks.forms_of_instances({t.instance_id for t in task_list}) if is_english() else {}
    return {t.id: display.task_title(t, forms.get(t.instance_id)) for t in task_list}


def _require_supervisor():
    if not is_supervisor(me()):
        raise Forbidden(_("Only supervisors may see this page."))


# ---------------------------------------------------------------------------------------------- inbox

def _inbox_cursor():
    raw = request.args.get("after", "")
    stamp, _sep, task_id = raw.rpartition("|")
    if not stamp or not task_id:
        return None
    try:
        return as_utc(datetime.fromisoformat(stamp)), task_id
    except ValueError:
        return None


@web_bp.route("/")
def index():
    user = me()
    items = tasks.inbox(user, limit=PAGE, after=_inbox_cursor())
    at = now()
    rows = [{"task": t, "left": display.time_left(t.due_at, at)} for t in items]
    next_url = None
    if len(items) == PAGE:
        last = items[-1]
        next_url = url_for("web.index", after=f"{as_utc(last.created_at).isoformat()}|{last.id}")
    return render_template("inbox.html", rows=rows, titles=_titles_for(items), next_url=next_url,
                           may_work=lambda t: tasks.may_work(user, t))


@web_bp.route("/tasks/<task_id>/claim", methods=["POST"])
def claim(task_id):
    back = safe_next(request.form.get("next")) or url_for("web.index")
    try:
        task = tasks.claim_task(task_id=task_id, user=me())
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back)
    flash(_("You now hold the task “%(title)s” of ticket %(number)s.", title=_titles_for([task])[task.id],
            number=task.ticket_number or "—"), "success")
    return redirect(back)


# ------------------------------------------------------------------------------------------ customers

@web_bp.route("/customers")
def customer_list():
    q = clean(request.args.get("q") or "").strip()
    found = customers.search_customers(q=q, limit=PAGE, after=_int_arg("after"))
    next_url = url_for("web.customer_list", q=q or None, after=found[-1].id) if len(found) == PAGE else None
    return render_template("customers/list.html", q=q, customers=found, next_url=next_url)


def _customer_form(template_values, errors, status, customer=None, duplicate=None):
    return render_template("customers/form.html", values=template_values, errors=errors, customer=customer,
                           industries=_choices(INDUSTRIES), duplicate=duplicate,
                           today=customers.today().isoformat(), earliest=customers.EARLIEST_START.isoformat(),
                           onboarding=request.form.get("onboarding") in ("1", "on", "true"),
                           general=[str(m) for k, m in errors.items() if k not in CUSTOMER_FORM_FIELDS]), status


@web_bp.route("/customers/new", methods=["GET", "POST"])
def customer_new():
    access.require_role(me(), access.FRONT_DESK)
    if request.method == "GET":
        values = dict.fromkeys(CUSTOMER_FORM_FIELDS, "")
        values["name"] = (request.args.get("name") or "").strip()
        return _customer_form(values, {}, 200)
    values = _form_values(CUSTOMER_FORM_FIELDS)
    confirmed = request.form.get("allow_duplicate") in ("1", "on", "true")
    onboarding = request.form.get("onboarding") in ("1", "on", "true")
    try:
        customer = customers.create_customer(data=values, allow_duplicate=confirmed, onboarding=onboarding,
                                             actor=me())
    except ValidationFailed as exc:
        db.session.rollback()
        return _customer_form(values, exc.errors, 422)
    except customers.DuplicateCustomer as exc:
        db.session.rollback()
        return _customer_form(values, {}, 409, duplicate=exc.existing)
    flash(_("Customer %(number)s registered; its onboarding has started.", number=customer.number) if onboarding
          else _("Customer %(number)s created.", number=customer.number), "success")
    return redirect(url_for("web.customer_detail", number=customer.number))


@web_bp.route("/customers/<number>")
def customer_detail(number, upload_error=None, status=200):
    customer = customers.get_customer(number)
    open_tasks = tasks.open_tasks_of_customer(customer.id)
    return render_template("customers/detail.html", customer=customer,
                           tickets=customers.customer_tickets(customer), open_tasks=open_tasks,
                           titles=_titles_for(open_tasks), documents=customers.customer_documents(customer),
                           status_label=label(CUSTOMER_STATUSES.get(customer.status, (customer.status,) * 2)),
                           limit_text=display.filesize(current_app.config["MAX_UPLOAD_BYTES"]),
                           upload_error=upload_error), status


@web_bp.route("/customers/<number>/agreement", methods=["POST"])
def customer_agreement(number):
    """Upload the signed service agreement (the onboarding's upload step checks that one is on file)."""
    access.require_role(me(), access.FRONT_DESK)
    try:
        customers.upload_agreement(number=number, file=request.files.get("file"), actor=me())
    except ValidationFailed as exc:
        db.session.rollback()
        return customer_detail(number, upload_error=exc.errors.get("file"), status=422)
    flash(_("The service agreement was uploaded."), "success")
    return redirect(url_for("web.customer_detail", number=number))


@web_bp.route("/customers/<number>/documents/<int:document_id>")
def customer_document(number, document_id):
    customer = customers.get_customer(number)
    item, path = customers.get_document(customer, document_id)
    if not path.is_file():
        raise NotFound(_("The attachment file is missing."))
    response = send_file(path, mimetype=item.content_type or "application/octet-stream", as_attachment=True,
                         download_name=item.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@web_bp.route("/customers/<number>/edit", methods=["GET", "POST"])
def customer_edit(number):
    access.require_role(me(), access.FRONT_DESK)
    customer = customers.get_customer(number)
    if request.method == "GET":
        values = {
            "name": customer.name,
            "industry": customer.industry,
            "cooperation_start": customer.cooperation_start.isoformat() if customer.cooperation_start else "",
            "contact_person": customer.contact_person,
            "phone": customer.phone,
            "email": customer.email or "",
            **{name: getattr(customer, name).isoformat() if getattr(customer, name) else "" for name in SERVICE_DATES},
        }
        return _customer_form(values, {}, 200, customer)
    values = _form_values(CUSTOMER_FORM_FIELDS)
    data = dict(values)
    if "number" in request.form:  # never editable; the service refuses a different number
        data["number"] = request.form["number"]
    try:
        customers.update_customer(number=number, data=data, actor=me())
    except ValidationFailed as exc:
        db.session.rollback()
        return _customer_form(values, exc.errors, 422, customers.get_customer(number))
    flash(_("Customer %(number)s saved.", number=number), "success")
    return redirect(url_for("web.customer_detail", number=number))


# -------------------------------------------------------------------------------------------- tickets

@web_bp.route("/customers/<number>/tickets/new", methods=["GET", "POST"])
def ticket_new(number):
    access.require_role(me(), access.FRONT_DESK)
    customer = customers.get_customer(number)
    values, errors, status = {"description": "", "type": "", "urgency": "", "channel": "phone"}, {}, 200
    if request.method == "POST":
        values = _form_values(TICKET_FIELDS)
        data = {**values, "customer_number": customer.number}
        try:
            created = tickets.create_ticket(data=data, actor=me(), files=request.files.getlist("attachments"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors, status = dict(exc.errors), 422
            for field in ("type", "urgency", "channel"):  # the service lists codes; the page has the labels
                if field in errors:
                    errors[field] = _("Choose one of the listed options.")
        else:
            flash(_("Ticket %(number)s created.", number=created), "success")
            return redirect(url_for("web.ticket_detail", number=created))
    return _ticket_form(customer, values, errors, status)


def _ticket_form(customer, values, errors, status):
    limits = {"each": current_app.config["MAX_UPLOAD_BYTES"], "total": current_app.config["MAX_CONTENT_LENGTH"]}
    return render_template(
        "tickets/new.html", customer=customer, values=values, errors=errors,
        general=[str(m) for k, m in errors.items() if k not in TICKET_FIELDS + ("attachments",)],
        types=_choices(TICKET_TYPES), urgencies=_choices(URGENCIES), channels=_choices(CHANNELS),
        urgency_hints={k: str(v) for k, v in display.URGENCY_HINTS.items()},
        limits=limits, limit_text={k: display.filesize(v) for k, v in limits.items()},
    ), status


@web_bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """A request over MAX_CONTENT_LENGTH cannot be read at all: the ticket form comes back saying why."""
    if request.endpoint == "web.intake":  # the public request form comes back saying why
        from app.channels.pages import too_large as intake_too_large

        return intake_too_large()
    if request.endpoint != "web.ticket_new" or not (request.view_args or {}).get("number"):
        return error_page(413, _("The upload is too large."))
    customer = customers.get_customer(request.view_args["number"])
    values = {"description": "", "type": "", "urgency": "", "channel": "phone"}
    message = _("The files together were larger than %(total)s, so nothing could be read or saved. Enter the "
                "ticket again and attach fewer or smaller files (each at most %(each)s).",
                total=display.filesize(current_app.config["MAX_CONTENT_LENGTH"]),
                each=display.filesize(current_app.config["MAX_UPLOAD_BYTES"]))
    return _ticket_form(customer, values, {"attachments": message}, 413)


def _timeline(ticket, history):
    """The history rows as a person reads them: action label, task title, form values with their titles."""
    forms = tasks.task_forms_of_ticket(ticket)
    people = auth.users_by_username({e.actor for e in history} | {
        v for e in history for k, v in (e.detail or {}).items() if k == "assignee" and isinstance(v, str)
    } | {
        v for e in history for v in ((e.detail or {}).get("data") or {}).values() if isinstance(v, str)
    })
    departments = auth.departments()
    items = []
    for event in history:
        detail = event.detail or {}
        schema = forms.get(detail.get("task"), {})
        if event.action == "redispatched":
            schema = tickets.redispatch_form(ticket) or {}
        elif event.action == "transferred":
            schema = transfer_form(ticket) or {}
        title = detail.get("title") or detail.get("task") or ""
        if event.action in ("redispatched", "transferred", "collaboration_started"):
            title = ""
        if is_english() and schema.get("x-title-en"):
            title = schema["x-title-en"]
        lines = []
        if event.action == "created":
            lines = [(_("Type"), display.ticket_type(detail.get("type"))),
                     (_("Urgency"), display.urgency(detail.get("urgency"))),
                     (_("Channel"), display.channel(detail.get("channel")))]
            title = ""
        elif event.action == "task_opened":
            lines = [(_("Role"), display.role(detail.get("role")))]
            if detail.get("assignee"):
                who = people.get(detail["assignee"])
                lines.append((_("Assignee"), display.person(who) if who else detail["assignee"]))
        elif event.action == "survey_sent":
            title = ""
            lines = [(_("Link expires"), display.localtime(detail.get("expires_at")))]
            if detail.get("reason"):
                lines.append((_("Reason"), detail["reason"]))
        elif event.action == "survey_completed":
            title = ""
            properties = surveys.survey_form(detail.get("definition_id")).get("properties", {}) \
                if detail.get("definition_id") else {}
            lines = [(schema_title(properties.get(k, {})) or k, display.form_value(properties.get(k, {}), v))
                     for k, v in (detail.get("data") or {}).items()]
        elif event.action == "collaboration_started":
            for item in detail.get("supporters") or []:
                department = next((dept for dept in departments if dept.code == item.get("department")), None)
                lines.append((display.department(department) if department else item.get("department"),
                              f"{item.get('task', '')} · {item.get('milestone', '')} · "
                              f"{display.localtime(item.get('due_at'))}"))
        elif event.action in ("task_completed", "redispatched", "transferred"):
            properties = schema.get("properties", {})
            order = {name: index for index, name in enumerate(properties)}
            data = detail.get("data") or {}
            for key in sorted(data, key=lambda k: (order.get(k, len(order)), str(k))):
                value = data[key]
                prop = properties.get(key, {})
                lines.append((schema_title(prop) or key,
                              display.form_value(prop, value, departments=departments, users=people)))
        elif event.action == "priority_changed":
            lines = priority_lines(ticket, detail)
        elif event.action == "new_round":
            previous = detail.get("previous") or {}
            lines = [(_("Earlier round: response due"), display.localtime(previous.get("response_due_at"))),
                     (_("Earlier round: responded"), display.localtime(previous.get("responded_at"))),
                     (_("Earlier round: resolution due"), display.localtime(previous.get("resolution_due_at"))),
                     (_("Earlier round: resolved"), display.localtime(previous.get("resolved_at"))),
                     (_("New response due"), display.localtime(detail.get("response_due_at"))),
                     (_("New resolution due"), display.localtime(detail.get("resolution_due_at")))]
        elif event.action in ("progress_added", "progress_updated"):
            title = detail.get("stage") or ""
            lines = [(label_, str(detail[key])) for key, label_ in (
                ("planned_date", _("Planned date")), ("actual_date", _("Actual date")), ("note", _("Progress note")),
                ("remarks", _("Remarks"))) if detail.get(key)]
        elif event.action == "timer_fired":
            timer = detail.get("timer") or ""
            if is_english():
                title = str(display.TIMERS.get(timer) or detail.get("title") or timer)
            else:
                title = detail.get("title") or str(display.TIMERS.get(timer, timer))
        actor = people.get(event.actor)
        items.append({
            "at": event.at,
            "actor": _("System") if event.actor == "system" else _("Customer") if event.actor == "customer" else (display.person(actor) if actor else event.actor),
            "action": str(display.ACTIONS.get(event.action, event.action)),
            "kind": event.action,
            "title": title,
            "lines": lines,
        })
    return items


@web_bp.route("/tickets")
def ticket_list():
    """Ticket search for agents and supervisors (R2-4): number, customer, creation days, status; newest first."""
    if not me().has_role("agent", "supervisor", "admin"):
        raise Forbidden(_("Only agents and supervisors may search tickets."))
    values = {name: clean(request.args.get(name) or "").strip() for name in ticket_search.FILTERS}
    errors, found = {}, []
    try:
        filters = ticket_search.parse_filters(values)
        found = ticket_search.search_tickets(**filters, limit=PAGE, after=_int_arg("after"))
    except ValidationFailed as exc:
        errors = exc.errors
    next_url = None
    if len(found) == PAGE:
        next_url = url_for("web.ticket_list", **{k: v for k, v in values.items() if v}, after=found[-1].id)
    return render_template("tickets/list.html", rows=found, values=values, errors=errors,
                           statuses=_choices(STATUSES), searched=any(values.values()), next_url=next_url,
                           first_page=_int_arg("after") is None), 422 if errors else 200


@web_bp.route("/tickets/<number>")
def ticket_detail(number, redispatch_values=None, redispatch_errors=None, status=200, survey_reason=None,
                  survey_errors=None, progress_form=None, collab_form=None, priority_form=None):
    ticket = tickets.get_ticket(number)
    redispatch = None
    if is_supervisor(me()) and tickets.can_redispatch(ticket):
        schema = tickets.redispatch_form(ticket)
        redispatch = {
            "title": schema_title(schema), "help": schema_title(schema, "description"),
            "fields": build_fields(schema, submitted=redispatch_values, errors=redispatch_errors or {},
                                 data=tickets.process_context(ticket)),
            "open": bool(redispatch_errors),
        }
    history = tickets.ticket_history(ticket)
    open_tasks = tasks.open_tasks_of(ticket)
    titles = _titles_for(open_tasks)
    # the stored step is the diagram's (Chinese) task names; in English name the open tasks instead
    current_step = "; ".join(titles[t.id] for t in open_tasks) if is_english() and open_tasks else ticket.current_step
    return render_template(
        "tickets/detail.html", ticket=ticket, timeline=_timeline(ticket, history), current_step=current_step,
        attachments=tickets.ticket_attachments(ticket), open_tasks=open_tasks, titles=titles,
        deadlines=display.deadlines(ticket), overdue=tickets.is_overdue(ticket), redispatch=redispatch,
        round_restarted=any(e.action == "new_round" for e in history),
        onboarding=ticket.customer.status == "onboarding",
        survey=_survey_panel(ticket, survey_reason, survey_errors),
        progress=progress_panel(ticket, progress_form), collab=collab_panel(ticket, collab_form),
        reprioritize=priority_panel(ticket, priority_form),
        sla=window_outcomes(ticket), sla_label=lambda code: label(OUTCOMES[code]) if code else display.DASH,
    ), status


def _survey_panel(ticket, reason, errors):
    """The ticket page's survey section: each survey sent (state, link, scores) and a supervisor's send form."""
    _ticket, items = surveys.ticket_surveys(ticket.number)
    for item in items:
        schema = surveys.survey_form(item["definition_id"])
        properties = schema.get("properties", {})
        item["lines"] = [(schema_title(properties.get(k, {})) or k, display.form_value(properties.get(k, {}), v))
                         for k, v in (item["answers"] or {}).items()]
    can_send = is_supervisor(me()) and ticket.status == "closed" and not any(i["status"] == "completed" for i in items)
    return {"entries": items, "can_send": can_send, "reason": reason or "", "errors": errors or {}}


@web_bp.route("/tickets/<number>/redispatch", methods=["POST"])
def ticket_redispatch(number):
    ticket = tickets.get_ticket(number)
    schema = tickets.redispatch_form(ticket) or {"properties": {}}
    submitted = _posted_form()
    try:
        tickets.redispatch_ticket(number=number, actor=me(), data=coerce_form(schema, submitted))
    except ValidationFailed as exc:
        db.session.rollback()
        return ticket_detail(number, redispatch_values=submitted, redispatch_errors=exc.errors, status=422)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("web.ticket_detail", number=number))
    flash(_("Ticket %(number)s was redispatched.", number=number), "success")
    return redirect(url_for("web.ticket_detail", number=number))


@web_bp.route("/tickets/<number>/attachments/<int:attachment_id>")
def attachment(number, attachment_id):
    ticket = tickets.get_ticket(number)
    if attachment_id >= 2**53:  # larger ids overflow SQLite's INTEGER binding
        raise NotFound(_("No such attachment."))
    item, path = tickets.get_attachment(ticket, attachment_id)
    if not path.is_file():
        raise NotFound(_("The attachment file is missing."))
    response = send_file(path, mimetype=item.content_type or "application/octet-stream", as_attachment=True,
                         download_name=item.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------------------------------------- tasks

@web_bp.route("/tasks/<task_id>", methods=["GET", "POST"])
def task_page(task_id):
    user = me()
    task = tasks.get_task(task_id)
    if not tasks.may_view(user, task):
        raise Forbidden(_("You may not see this task."))
    schema = tasks.task_form(task)
    errors, conflict, submitted, status = {}, None, None, 200
    if request.method == "POST":
        submitted = _posted_form()
        try:
            number = tasks.complete_task(task_id=task.id, user=user, data=coerce_form(schema, submitted))
        except ValidationFailed as exc:
            db.session.rollback()
            errors, status = exc.errors, 422
        except Conflict as exc:
            db.session.rollback()
            conflict, status = exc.message, 409
        else:
            if number is None:  # a task of a customer process (onboarding, care)
                flash(_("“%(title)s” completed.", title=_titles_for([task])[task.id]), "success")
                return redirect(url_for("web.customer_detail", number=task.customer.number))
            ticket = tickets.get_ticket(number)
            flash(_("“%(title)s” completed. Ticket %(number)s is now: %(status)s.",
                    title=_titles_for([task])[task.id], number=number,
                    status=display.status(ticket.status)), "success")
            return redirect(url_for("web.ticket_detail", number=number))
        task = tasks.get_task(task_id)
    is_open = task.state == "open"
    can_work = is_open and tasks.may_work(user, task)
    fields = build_fields(schema, submitted=submitted, errors=errors, data=tasks.task_data(task) if is_open else {})
    ticket = task.ticket
    return render_template(
        "tasks/detail.html", task=task, ticket=ticket, customer=task.customer, title=_titles_for([task])[task.id],
        form_title=schema_title(schema), form_help=schema_title(schema, "description"),
        fields=fields, general=general_errors(errors, fields), conflict=conflict, is_open=is_open,
        can_work=can_work, can_claim=can_work and task.assignee_id is None,
        left=display.time_left(task.due_at) if is_open else None,
    ), status


# ----------------------------------------------------------------------------------------- supervisor

@web_bp.route("/supervisor/escalations")
def escalations():
    _require_supervisor()
    items = tasks.escalations(limit=200)
    at = now()
    rows = [{"task": t, "left": display.time_left(t.due_at, at)} for t in items]
    return render_template("supervisor/escalations.html", rows=rows, titles=_titles_for(items))


@web_bp.route("/supervisor/monitor")
def monitor():
    _require_supervisor()
    overdue = request.args.get("overdue") in ("1", "true", "on")
    status = request.args.get("status") or None
    if status not in STATUSES:
        status = None
    found = tickets.monitor(overdue=overdue, status=status, limit=PAGE, after=_int_arg("after"))
    at = now()
    steps = {t.id: t.current_step for t in found}
    if is_english():  # the stored step holds the diagram's Chinese task names
        open_by_ticket = tasks.open_tasks_by_ticket([t.id for t in found])
        all_open = [task for group in open_by_ticket.values() for task in group]
        titles = _titles_for(all_open)
        steps.update({tid: "; ".join(titles[task.id] for task in group) for tid, group in open_by_ticket.items()})
    rows = [{"ticket": t, "overdue": tickets.is_overdue(t, at), "deadlines": display.deadlines(t, at),
             "step": steps.get(t.id)} for t in found]
    next_url = None
    if len(found) == PAGE:
        next_url = url_for("web.monitor", overdue="1" if overdue else None, status=status, after=found[-1].id)
    return render_template("supervisor/monitor.html", rows=rows, overdue=overdue, status=status,
                           statuses=[(c, label(p)) for c, p in STATUSES.items() if c != "closed"],
                           next_url=next_url, first_page=_int_arg("after") is None)
