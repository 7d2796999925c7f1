"""Survey use cases: send (the diagram's capability, or a supervisor with a reason), open and answer through the
public link, expire, and read a ticket's surveys. Each is one transaction; pages, API and diagram share them."""
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from flask import current_app
from sqlalchemy import bindparam, insert, select, update

from app.auth.models import User, user_roles
from app.clock import as_utc, now
from app.customers.models import Customer
from app.engine import latest_definition_id
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.forms_schema import validate_submission
from app.i18n import _
from app.notifications.events import notify
from app.tickets.models import Ticket, TicketEvent

from .links import hash_of, new_nonce, survey_path
from .models import Survey, SurveyScore
from .scores import score_rows

PROCESS_NAME = "satisfaction_survey"  # the diagram that sends the survey; its deployed forms hold FORM_NAME
FORM_NAME = "survey.json"
MAX_REASON = 500
COMMENT_FIELD = "comment"

_surveys, _tickets, _customers = Survey.__table__, Ticket.__table__, Customer.__table__
_history, _users = TicketEvent.__table__, User.__table__
_TICKET = (
    select(_tickets.c.id, _tickets.c.number, _tickets.c.status, _tickets.c.type, _tickets.c.closed_at,
           _tickets.c.department_id, _tickets.c.assignee_id, _customers.c.email)
    .select_from(_tickets.join(_customers, _customers.c.id == _tickets.c.customer_id))
    .where(_tickets.c.number == bindparam("number"))
)
_LATEST_OF_TICKET = (
    select(_surveys).where(_surveys.c.ticket_id == bindparam("ticket_id"))
    .order_by(_surveys.c.sent_at.desc(), _surveys.c.id.desc())
)
_BY_HASH = select(_surveys).where(_surveys.c.token_hash == bindparam("token_hash"))
_SET_TICKET_STATUS = update(_tickets).where(_tickets.c.id == bindparam("ticket_row_id"))
_SUPERVISORS = (
    select(_users.c.id, _users.c.department_id)
    .select_from(_users.join(user_roles, user_roles.c.user_id == _users.c.id))
    .where(user_roles.c.role_code == "supervisor", _users.c.active.is_(True))
)


def state_of(row, at=None):
    """The survey's status as people read it: a `sent` survey past its expiry is `expired`."""
    if row.status == "sent" and as_utc(row.expires_at) <= (at or now()):
        return "expired"
    return row.status


# ------------------------------------------------------------------------------------------------ sending

def send_survey_for_process(ticket_number):
    """The diagram's send: mail the survey unless the ticket already has one out or answered (e.g. a supervisor
    sent it first). Returns {"id", "expires_at"} of the survey the process then waits on."""
    ticket = _ticket(ticket_number)
    for row in db.session.connection().execute(_LATEST_OF_TICKET, {"ticket_id": ticket.id}):
        if state_of(row) in ("sent", "completed"):
            return {"id": row.id, "expires_at": as_utc(row.expires_at).isoformat()}
    survey_id, expires_at = _send(ticket, sent_by="system", reason=None)
    return {"id": survey_id, "expires_at": expires_at.isoformat()}


def send_survey_now(*, number, actor, reason):
    """A supervisor sends the closed ticket's survey now, with a required reason; a survey still out is revoked
    (its link stops working). Returns the new survey's id. Forbidden for others, ValidationFailed without a reason,
    Conflict when the ticket is not closed or its survey was already answered."""
    if not actor.has_role("supervisor", "admin"):
        raise Forbidden(_("Only supervisors may send a survey."))
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationFailed({"reason": _("Give the reason for sending the survey.")})
    if len(text) > MAX_REASON:
        raise ValidationFailed({"reason": _("Enter at most %(n)s characters.", n=MAX_REASON)})
    ticket = _ticket(number)
    if ticket.status != "closed":
        raise Conflict(_("The survey can only be sent for a closed ticket."))
    conn = db.session.connection()
    rows = conn.execute(_LATEST_OF_TICKET, {"ticket_id": ticket.id}).all()
    if any(row.status == "completed" for row in rows):
        raise Conflict(_("The customer has already answered this ticket's survey."))
    pending = [row.id for row in rows if row.status == "sent"]
    if pending:
        conn.execute(update(_surveys).where(_surveys.c.id.in_(pending), _surveys.c.status == "sent")
                     .values(status="revoked"))
    survey_id, _expires = _send(ticket, sent_by=actor.username, reason=text)
    db.session.commit()
    return survey_id


def _send(ticket, *, sent_by, reason):
    """Insert the survey, write the ticket's history and status, queue the customer's mail; (id, expires_at)."""
    definition_id = latest_definition_id(PROCESS_NAME)
    if definition_id is None:
        raise Conflict(_("The survey process is not deployed."))
    stamp = now()
    expires_at = stamp + timedelta(days=current_app.config["SURVEY_VALID_DAYS"])
    nonce = new_nonce()
    token = survey_path(nonce).rpartition("/")[2]
    send_mail = bool(current_app.config.get("SMTP_HOST") and ticket.email)
    conn = db.session.connection()
    survey_id = conn.execute(insert(_surveys).returning(_surveys.c.id), {
        "ticket_id": ticket.id, "definition_id": definition_id, "nonce": nonce, "token_hash": hash_of(token),
        "status": "sent", "sent_at": stamp, "expires_at": expires_at, "sent_by": sent_by, "reason": reason,
        "mailed_to": ticket.email if send_mail else None,
    }).scalar_one()
    conn.execute(_SET_TICKET_STATUS, {"ticket_row_id": ticket.id, "survey_status": "sent"})
    conn.execute(insert(_history), {"ticket_id": ticket.id, "at": stamp, "actor": sent_by, "action": "survey_sent",
                                    "detail": {"survey_id": survey_id, "reason": reason, "mailed": send_mail,
                                               "expires_at": expires_at.isoformat()}})
    if send_mail:
        notify([{"user_id": None, "mail_to": ticket.email, "kind": "survey_invitation", "ticket_id": ticket.id,
                 "ticket_number": ticket.number,
                 "detail": {"survey_id": survey_id, "expires_at": expires_at.isoformat()}}], stamp=stamp)
    return survey_id, expires_at


def expire_survey(survey_id):
    """Mark the survey expired when it is still unanswered (the diagram's expiry timer); True when it was."""
    conn = db.session.connection()
    row = conn.execute(select(_surveys.c.ticket_id, _surveys.c.status).where(_surveys.c.id == survey_id)).first()
    if row is None or row.status != "sent":
        return False
    conn.execute(update(_surveys).where(_surveys.c.id == survey_id, _surveys.c.status == "sent")
                 .values(status="expired"))
    latest = conn.execute(_LATEST_OF_TICKET, {"ticket_id": row.ticket_id}).first()
    if latest is not None and latest.id == survey_id:
        conn.execute(_SET_TICKET_STATUS, {"ticket_row_id": row.ticket_id, "survey_status": "expired"})
    conn.execute(insert(_history), {"ticket_id": row.ticket_id, "at": now(), "actor": "system",
                                    "action": "survey_expired", "detail": {"survey_id": survey_id}})
    return True


# ------------------------------------------------------------------------------------------ the public page

@dataclass
class PublicSurvey:
    """What the public page may show: the survey's state, its form and the ticket's number and type only."""

    id: int
    definition_id: int
    state: str  # sent (open), completed, expired, revoked
    ticket_number: str
    ticket_type: str
    closed_at: Optional[object]
    schema: dict


def open_survey(token):
    """The survey a link token opens, or NotFound (a forged or mistyped token). A token only ever opens its own
    survey: the lookup is by the token's hash, and the found hash is compared again in constant time."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound(_("This survey link is not valid."))
    digest = hash_of(token)
    row = db.session.connection().execute(_BY_HASH, {"token_hash": digest}).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise NotFound(_("This survey link is not valid."))
    ticket = db.session.connection().execute(
        select(_tickets.c.number, _tickets.c.type, _tickets.c.closed_at).where(_tickets.c.id == row.ticket_id)
    ).first()
    return PublicSurvey(id=row.id, definition_id=row.definition_id, state=state_of(row), ticket_number=ticket.number, ticket_type=ticket.type,
                        closed_at=ticket.closed_at, schema=survey_form(row.definition_id))


def survey_form(definition_id):
    """The survey's JSON Schema as deployed with the process version it was sent from."""
    engine = current_app.extensions["engine"]
    return (engine.definition_forms(definition_id) or {}).get(FORM_NAME) or {"type": "object", "properties": {}}


def submit_survey(token, data):
    """Record the customer's answers once: ValidationFailed names each wrong field; Conflict when the survey was
    already answered, expired or replaced. Marks the ticket's survey completed, writes the history and tells the
    supervisors of the ticket's department and its handler. Returns the PublicSurvey."""
    survey = open_survey(token)
    _refuse_closed(survey)
    cleaned = validate_submission(survey.schema, data)
    stamp = now()
    comment = cleaned.get(COMMENT_FIELD)
    conn = db.session.connection()
    done = conn.execute(
        update(_surveys).where(_surveys.c.id == survey.id, _surveys.c.status == "sent", _surveys.c.expires_at > stamp)
        .values(status="completed", completed_at=stamp, answers=cleaned,
                comment=comment if isinstance(comment, str) else None)
    )
    if done.rowcount != 1:  # answered (or expired) between the read and the write
        db.session.rollback()
        _refuse_closed(open_survey(token))
        raise Conflict(_("This survey has already been answered. Thank you!"))
    ticket = conn.execute(_TICKET, {"number": survey.ticket_number}).first()
    scores = score_rows(survey.schema, survey_id=survey.id, ticket_id=ticket.id, answers=cleaned)
    if scores:
        conn.execute(insert(SurveyScore.__table__), scores)
    conn.execute(_SET_TICKET_STATUS, {"ticket_row_id": ticket.id, "survey_status": "completed"})
    conn.execute(insert(_history), {"ticket_id": ticket.id, "at": stamp, "actor": "customer",
                                    "action": "survey_completed",
                                    "detail": {"survey_id": survey.id, "definition_id": survey.definition_id,
                                               "data": cleaned}})
    _notify_result(ticket, survey, cleaned, stamp)
    db.session.commit()
    survey.state = "completed"
    return survey


def _refuse_closed(survey):
    if survey.state == "completed":
        raise Conflict(_("This survey has already been answered. Thank you!"))
    if survey.state == "expired":
        raise Conflict(_("This survey link has expired."))
    if survey.state == "revoked":
        raise Conflict(_("This survey link has been replaced by a newer one."))


def _notify_result(ticket, survey, answers, stamp):
    """survey_result for the supervisors of the ticket's department (every supervisor when none) and its handler."""
    holders = db.session.connection().execute(_SUPERVISORS).all()
    chosen = {uid for uid, dept in holders if ticket.department_id is not None and dept == ticket.department_id}
    users = (chosen or {uid for uid, _dept in holders}) | ({ticket.assignee_id} if ticket.assignee_id else set())
    result = " · ".join(str(v) for k, v in answers.items() if k != COMMENT_FIELD)[:200]
    notify([{"user_id": uid, "kind": "survey_result", "ticket_id": ticket.id, "ticket_number": ticket.number,
             "detail": {"survey_id": survey.id, "result": result}} for uid in sorted(users)], stamp=stamp)


# -------------------------------------------------------------------------------------------- staff reading

def ticket_surveys(number):
    """The ticket's surveys, newest first, as dicts for staff: state, link path, times, who sent it and why,
    answers and comment. NotFound for an unknown ticket."""
    ticket = _ticket(number)
    at = now()
    rows = db.session.connection().execute(_LATEST_OF_TICKET, {"ticket_id": ticket.id}).all()
    return ticket, [{
        "id": row.id, "status": state_of(row, at), "link": survey_path(row.nonce) if state_of(row, at) == "sent" else None,
        "sent_at": as_utc(row.sent_at), "expires_at": as_utc(row.expires_at), "completed_at": as_utc(row.completed_at),
        "sent_by": row.sent_by, "reason": row.reason, "answers": row.answers, "comment": row.comment,
        "mailed_to": bool(row.mailed_to), "definition_id": row.definition_id,
    } for row in rows]


def _ticket(number):
    row = db.session.connection().execute(_TICKET, {"number": number}).first()
    if row is None:
        raise NotFound(_("No ticket with number %(number)s.", number=number))
    return row
