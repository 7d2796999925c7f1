"""How values look on the pages: local times, time left until a deadline, labels of codes, form values."""
from datetime import date, datetime

from flask_babel import format_date, format_datetime

from app.auth.models import ROLES
from app.clock import as_utc, now
from app.customers.models import INDUSTRIES
from app.i18n import _, _l, is_english, label, schema_title
from app.tickets.models import CHANNELS, PRIORITIES, STATUSES, TICKET_TYPES, URGENCIES
from app.tickets.service import file_size

DASH = "—"

SATISFACTION = {
    "very_satisfied": _l("Very satisfied"),  # after_sales (seed 001): four levels
    "satisfied": _l("Satisfied"),
    "average": _l("Average"),
    "needs_adjustment": _l("Needs adjustment"),
    "unsatisfied": _l("Unsatisfied"),
}

ACTIONS = {
    "created": _l("Ticket created"),
    "task_opened": _l("Task opened"),
    "task_claimed": _l("Task claimed"),
    "task_completed": _l("Task completed"),
    "timer_fired": _l("Deadline reached"),
    "redispatched": _l("Redispatched by a supervisor"),
    "new_round": _l("New round of handling"),
    "survey_sent": _l("Satisfaction survey sent"),
    "survey_completed": _l("Satisfaction survey answered"),
    "survey_expired": _l("Satisfaction survey expired"),
    "clock_paused": _l("Clock paused while waiting for the customer"),
    "clock_resumed": _l("Clock resumed; deadlines moved by the paused working time"),
    "deadlines_recomputed": _l("Deadlines recomputed after a calendar change"),
    "migrated": _l("Moved to a newer process version"),
    "progress_added": _l("Progress entry added"),
    "progress_updated": _l("Progress entry updated"),
    "transferred": _l("Transferred"),
    "collaboration_started": _l("Collaboration started"),
    "priority_changed": _l("Priority changed by a supervisor"),
}

SURVEY_STATES = {
    "sent": _l("Sent, awaiting the answer"),
    "completed": _l("Answered"),
    "expired": _l("Expired"),
    "revoked": _l("Replaced by a newer survey"),
}

TIMERS = {
    "accept_timeout": _l("Not accepted within the acceptance window"),
    "response_timer": _l("Response deadline passed"),
    "resolution_timer": _l("Resolution deadline passed"),
    "next_update_due": _l("Promised next update is due"),
    # workflows/service_request.bpmn
    "emergency_due": _l("Emergency response not started within 10 minutes"),
    "contact_due_accept": _l("First-contact window passed"),
    "contact_due_contact": _l("First-contact window passed"),
    "plan_overdue": _l("No handling plan within 1 working day"),
    "update_due_timer": _l("Handling has taken more than 2 working days"),
    # workflows/aftersales.bpmn (accept_timeout and the first-contact timers above are shared)
    "analysis_overdue": _l("No initial analysis report within 24 hours"),
    "improvement_overdue": _l("No improvement plan within 24 hours"),
    "progress_timer": _l("Progress update for the customer is due"),
}

URGENCY_HINTS = {
    "high": _l("System failure or major complaint"),
    "medium": _l("Routine change"),
    "low": _l("Information query"),
    "normal": _l("Service request: the type's default priority"),
    "urgent": _l("Money at risk or system down: first contact within 10 minutes"),
    "critical": _l("Outage or a key customer's business down: emergency response within 10 minutes"),
}


def localtime(value, fmt="yyyy-MM-dd HH:mm"):
    """A stored time (naive = UTC) in the display time zone (Asia/Shanghai)."""
    if value is None:
        return DASH
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_datetime(as_utc(value), fmt)


def localdate(value):
    if value is None:
        return DASH
    if isinstance(value, datetime):
        return localtime(value, "yyyy-MM-dd")
    if isinstance(value, date):
        return format_date(value, "yyyy-MM-dd")
    return str(value)


def duration(seconds):
    """A readable span: '25 min', '1 h 5 min', '2 d 3 h'."""
    minutes = int(abs(seconds) // 60)
    if minutes < 1:
        return _("less than 1 min")
    if minutes < 60:
        return _("%(n)s min", n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)s h %(m)s min", h=hours, m=minutes) if minutes else _("%(h)s h", h=hours)
    days, hours = divmod(hours, 24)
    return _("%(d)s d %(h)s h", d=days, h=hours) if hours else _("%(d)s d", d=days)


class TimeLeft:
    """Time until a deadline: `text` is '25 min left' or 'Overdue by 5 min'; `overdue` for styling."""

    def __init__(self, due, at=None):
        self.due = as_utc(due)
        seconds = (self.due - (at or now())).total_seconds()
        self.overdue = seconds < 0
        self.soon = not self.overdue and seconds < 15 * 60
        if self.overdue:
            self.text = _("Overdue by %(time)s", time=duration(seconds))
        else:
            self.text = _("%(time)s left", time=duration(seconds))

    def __str__(self):
        return self.text


def time_left(due, at=None):
    return TimeLeft(due, at) if due is not None else None


class Deadline:
    """One SLA deadline of a ticket and how it stands: pending, overdue, met on time or met late."""

    def __init__(self, title, due, met_at, open_ticket, at=None):
        self.title, self.due, self.met_at = title, as_utc(due), as_utc(met_at)
        at = at or now()
        self.left = None
        if self.due is None:
            self.state, self.text = "none", DASH
        elif self.met_at is not None:
            on_time = self.met_at <= self.due
            self.state = "met" if on_time else "late"
            self.text = _("Met on time") if on_time else _("Met late, by %(time)s",
                                                               time=duration((self.met_at - self.due).total_seconds()))
        elif not open_ticket:
            self.state, self.text = "none", DASH
        else:
            self.left = TimeLeft(self.due, at)
            self.state = "overdue" if self.left.overdue else "pending"
            self.text = self.left.text

    @property
    def overdue(self):
        return self.state in ("overdue", "late")


def deadlines(ticket, at=None):
    """The ticket's windows in the current round: acceptance, response, resolution, next update.

    After a reopen (or "needs adjustment") the diagram sets new response and resolution deadlines and clears
    the round's response and resolution times, so the earlier round's times no longer count as met.
    """
    open_ticket = ticket.status != "closed"
    return [
        Deadline(_("Acceptance window"), ticket.accept_due_at, ticket.accepted_at, open_ticket, at),
        Deadline(_("Response due"), ticket.response_due_at, ticket.responded_at, open_ticket, at),
        Deadline(_("Resolution due"), ticket.resolution_due_at, ticket.resolved_at, open_ticket, at),
        Deadline(_("Next progress update"), ticket.next_update_at, None, open_ticket, at),
    ]


def filesize(size):
    """'512 B', '3.4 KB', '2.1 MB' (1 KB = 1024 B)."""
    return file_size(int(size or 0))


def code_label(mapping, code):
    pair = mapping.get(code)
    return label(pair) if pair else (code or DASH)


def ticket_type(code):
    return code_label(TICKET_TYPES, code)


def urgency(code):
    return code_label(URGENCIES, code)


def priority(code):
    return code_label(PRIORITIES, code)


def channel(code):
    return code_label(CHANNELS, code)


def status(code):
    return code_label(STATUSES, code)


def industry(code):
    return code_label(INDUSTRIES, code)


def role(code):
    return code_label(ROLES, code)


def satisfaction(code):
    return str(SATISFACTION[code]) if code in SATISFACTION else (code or DASH)


def department(dept):
    if dept is None:
        return DASH
    return department_named(dept.name, dept.name_en)


def department_named(name, name_en):
    """A department's name in the current language, from its names (as list rows carry them)."""
    if name is None:
        return DASH
    return (name_en or name) if is_english() else name


def person(user):
    """'王小明 (agent1)' for a user, a dash for nobody."""
    if user is None:
        return DASH
    return person_named(user.display_name, user.username)


def person_named(display_name, username):
    """'王小明 (agent1)' from a display name and a username (as list rows carry them), a dash for nobody."""
    if username is None:
        return DASH
    if display_name and display_name != username:
        return f"{display_name} ({username})"
    return username


def task_title(task, forms=None):
    """A task's title in the current language: the BPMN name in Chinese, the form's English title otherwise."""
    if is_english() and forms is not None:
        schema = forms.get(task.form or "") or {}
        if schema.get("x-title-en"):
            return schema["x-title-en"]
    return task.title


def option_title(prop, value):
    for option in prop.get("oneOf", []) + prop.get("anyOf", []):
        if isinstance(option, dict) and option.get("const") == value:
            return schema_title(option) or str(value)
    return None


def form_value(prop, value, *, departments=None, users=None):
    """A submitted form value as a person reads it, using the schema's titles."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool) or prop.get("type") == "boolean":
        return _("Yes") if value else _("No")
    titled = option_title(prop, value)
    if titled is not None:
        return titled
    if prop.get("x-ref") == "department" and departments:
        match = next((d for d in departments if d.code == value), None)
        return department(match) if match else str(value)
    if prop.get("x-ref") == "user" and users and value in users:
        return person(users[value])
    if prop.get("format") == "date-time" and isinstance(value, str):
        return localtime(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)
