"""Read-only look-ups the pages need and no service offers yet (see the report: candidates for services).

- users for an `x-ref: user` select (active users holding a role),
- display names for the usernames in a ticket's history,
- the deployed forms of a process instance (for English task titles and readable history details).
Each is one query, memoised for the request in `g`.
"""
from flask import g
from sqlalchemy import select

from app.auth.models import User
from app.engine import ProcessDefinition, ProcessInstance
from app.extensions import db
from app.tasks.models import HumanTask


def _memo(name):
    if not hasattr(g, "_web_memo"):
        g._web_memo = {}
    return g._web_memo.setdefault(name, {})


def active_users(role=None):
    """Active users, by username; only those holding `role` when given."""
    memo = _memo("users")
    if "all" not in memo:
        memo["all"] = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)).all()
    users = memo["all"]
    return [u for u in users if role is None or u.has_role(role)]


def users_by_username(usernames):
    """{username: User} for the given usernames (unknown ones are left out)."""
    names = {n for n in usernames if n}
    if not names:
        return {}
    return {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(names)))}


def forms_of_instances(instance_ids):
    """{instance_id: {form filename: JSON Schema}} as deployed with each instance's process version."""
    memo = _memo("forms")
    wanted = {i for i in instance_ids if i is not None and i not in memo}
    if wanted:
        rows = db.session.execute(
            select(ProcessInstance.id, ProcessDefinition.forms)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
            .where(ProcessInstance.id.in_(wanted))
        ).all()
        for instance_id, forms in rows:
            memo[instance_id] = forms or {}
        for instance_id in wanted:
            memo.setdefault(instance_id, {})
    return {i: memo.get(i, {}) for i in instance_ids if i is not None}


def task_forms_of_ticket(ticket):
    """{task name: JSON Schema} for every task the ticket's process has opened so far."""
    if ticket.process_instance_id is None:
        return {}
    forms = forms_of_instances([ticket.process_instance_id]).get(ticket.process_instance_id, {})
    rows = db.session.execute(
        select(HumanTask.name, HumanTask.form).where(HumanTask.ticket_id == ticket.id).distinct()
    ).all()
    return {name: forms.get(form, {}) for name, form in rows if form}


def open_tasks_by_ticket(ticket_ids):
    """{ticket id: [open HumanTask, oldest first]} for many tickets in one query (the monitor, in English)."""
    ids = {i for i in ticket_ids if i is not None}
    if not ids:
        return {}
    found = {}
    for task in db.session.scalars(
        select(HumanTask).where(HumanTask.ticket_id.in_(ids), HumanTask.state == "open")
        .order_by(HumanTask.created_at, HumanTask.id)
    ):
        found.setdefault(task.ticket_id, []).append(task)
    return found
