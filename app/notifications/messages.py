"""What a notification says, in the reader's language (the bell list, the API) or in zh-CN (the e-mail)."""
from datetime import datetime

from flask import current_app
from flask_babel import force_locale, format_datetime

from app.clock import as_utc
from app.i18n import _


def message(note):
    """One line describing the notification `note` (a row or dict with kind, ticket_number, title, detail)."""
    number, title, detail = note["ticket_number"] or "—", note["title"], note["detail"] or {}
    kind = note["kind"]
    if kind == "assignment":
        return _("New task “%(title)s” on ticket %(number)s.", title=title, number=number)
    if kind == "escalation":
        return _("Escalation: “%(title)s” on ticket %(number)s needs a supervisor.", title=title, number=number)
    if kind == "due":
        return _("Due soon: “%(title)s” on ticket %(number)s is due at %(due)s.", title=title, number=number,
                 due=_due(detail.get("due_at")))
    if kind == "transfer_in":
        return _("Transferred to you: “%(title)s” on ticket %(number)s (previously %(person)s).", title=title,
                 number=number, person=detail.get("from") or "—")
    if kind == "transfer_out":
        return _("Transferred away: “%(title)s” on ticket %(number)s now goes to %(person)s.", title=title,
                 number=number, person=detail.get("to") or "—")
    if kind == "collaboration":
        return _("Collaboration notice: ticket %(number)s needs your department: %(task)s; milestone: %(milestone)s; "
                 "due %(due)s.", number=number, task=detail.get("task") or title, milestone=detail.get("milestone") or "—",
                 due=_due(detail.get("due_at")))
    if kind == "confirm_result":
        return _("Please confirm the result of ticket %(number)s: you received it first and it now goes back to "
                 "the customer.", number=number)
    if kind == "survey_result":
        return _("Survey result for ticket %(number)s: %(result)s", number=number, result=detail.get("result", ""))
    return _("Notification about ticket %(number)s.", number=number)


def kind_label(kind):
    """A short label of the notification's kind."""
    labels = {
        "assignment": _("New task"),
        "escalation": _("Escalation"),
        "due": _("Due soon"),
        "transfer_in": _("Transferred to you"),
        "transfer_out": _("Transferred away"),
        "collaboration": _("Collaboration notice"),
        "survey_result": _("Survey result"),
        "confirm_result": _("Confirm the result"),
    }
    return labels.get(kind, kind)


def _due(value):
    if not value:
        return "—"
    try:
        return format_datetime(as_utc(datetime.fromisoformat(value)), "yyyy-MM-dd HH:mm")
    except ValueError:
        return value


def mail_of(note):
    """(subject, body) of the e-mail for `note`, in zh-CN (the service teams' language)."""
    if note["kind"] == "survey_invitation":
        return _survey_invitation(note)
    with force_locale("zh_CN"):
        text = message(note)
        subject = _("[Service desk] %(message)s", message=text)
        lines = [text, ""]
        base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
        if base and note["ticket_number"]:
            lines.append(_("Ticket: %(url)s", url=f"{base}/tickets/{note['ticket_number']}"))
        lines.append(_("This message was sent by the service desk; notifications are also listed under the bell."))
    return subject, "\n".join(lines) + "\n"


def _survey_invitation(note):
    """The customer's survey mail: the ticket number and the survey link, nothing from the staff's side."""
    from app.surveys.links import survey_link

    with force_locale("zh_CN"):
        number = note["ticket_number"] or "—"
        subject = _("[Service desk] How did we do? Ticket %(number)s", number=number)
        link = survey_link((note["detail"] or {}).get("survey_id"), external=True)
        lines = [_("Thank you for contacting us about ticket %(number)s.", number=number),
                 _("Please rate our service; it takes a minute:"), link or "—", "",
                 _("The link can be used once and expires on %(date)s.",
                   date=_due((note["detail"] or {}).get("expires_at")))]
    return subject, "\n".join(lines) + "\n"
