"""Move running tickets to a newer version of their process (issue 12 part 5): preview and migrate.

`preview` lists every running instance of an older version of the process with whether it can move to the
chosen version and, when not, why (the engine's migrate.Blockers, in words). `migrate` moves the chosen instances
(or all of them), each in its own transaction: one that cannot move or fails is reported and the others still
move. A moved ticket keeps its open tasks and its timers' due times; its history records the move.
Only process owners and admins (`require_owner`).
"""
import logging

from sqlalchemy import and_, bindparam, select

from app.engine import ProcessDefinition, ProcessInstance
from app.engine.migrate import MigrationRefused, check_instance, move_instance
from app.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.i18n import _, _l
from app.tickets import flow
from app.tasks.models import HumanTask
from app.tickets.models import Ticket, TicketEvent

from .service import require_owner, version_of

REASONS = {
    "removed_token": _l("the ticket waits at an element this version removed"),
    "removed_completed": _l("a completed task was removed"),
    "changed_completed": _l("a completed task changed"),
    "changed_started": _l("a started task changed"),
    "changed_ready": _l("the task the ticket waits at changed"),
    "changed_waiting": _l("the event the ticket waits for changed"),
    "subprocess_removed": _l("a running subprocess was removed"),
    "unaligned": _l("an element of the ticket's path has no counterpart in this version"),
    "not_older": _l("the ticket is not on an older version of this process"),
    "not_running": _l("the process has ended"),
    "moved_meanwhile": _l("the ticket moved on meanwhile; preview again"),
}
MAX_BATCH = 1000
logger = logging.getLogger(__name__)

_defs = ProcessDefinition.__table__
_inst = ProcessInstance.__table__
_tickets = Ticket.__table__
_CANDIDATES = (
    select(_inst.c.id.label("instance_id"), _defs.c.version, _tickets.c.number.label("ticket"))
    .join(_defs, _defs.c.id == _inst.c.definition_id)
    .outerjoin(_tickets, _tickets.c.process_instance_id == _inst.c.id)
    .where(_defs.c.name == bindparam("name"), _defs.c.version < bindparam("version"), _inst.c.status == "running")
    .order_by(_inst.c.id)
)


_DONE_TASKS = select(HumanTask.__table__.c.name).where(
    HumanTask.__table__.c.instance_id == bindparam("instance_id"), HumanTask.__table__.c.state == "completed")
_FIRED = select(TicketEvent.__table__.c.detail).join(_tickets, _tickets.c.id == TicketEvent.__table__.c.ticket_id).where(
    _tickets.c.process_instance_id == bindparam("instance_id"), TicketEvent.__table__.c.action == "timer_fired")


def completed_elements(instance_id):
    """The elements (BPMN ids) instance `instance_id` completed by the records: its completed task rows and the
    timers that fired on its ticket (the engine's tree forgets finished rounds of loops)."""
    params = {"instance_id": instance_id}
    done = set(db.session.scalars(_DONE_TASKS, params))
    done.update((d or {}).get("timer") for d in db.session.scalars(_FIRED, params))
    done.discard(None)
    return done


def reason_text(blocker):
    """A Blocker (or a reason code) in words, naming its element."""
    code = getattr(blocker, "reason", blocker)
    text = str(REASONS.get(code, code))
    element = getattr(blocker, "name", "") or getattr(blocker, "element", "")
    return f"{text}: {element}" if element else text


def _reasons(found):
    return [{"reason": b.reason, "element": b.element, "name": b.name, "message": reason_text(b)} for b in found]


def _target(name, version):
    target = version_of(name, version)
    if not db.session.scalar(select(_defs.c.id).where(_defs.c.name == name, _defs.c.version < version).limit(1)):
        raise Conflict(_("Version %(version)s is the first version: there is nothing to move to it.",
                         version=version))
    return target


def preview(user, name, version):
    """Which running instances of older versions of `name` can move to `version`: a dict with `items` (per
    instance: instance_id, ticket (number or None), version, movable, reasons [{reason, element, name, message}]),
    `movable` and `blocked` counts. Loads each candidate instance (the diff needs its tasks); writes nothing."""
    require_owner(user)
    target = _target(name, version)
    engine = flow.engine()
    items = []
    for row in db.session.execute(_CANDIDATES, {"name": name, "version": version}):
        found = check_instance(engine, row.instance_id, target.id, completed_elements(row.instance_id))
        items.append({"instance_id": row.instance_id, "ticket": row.ticket, "version": row.version,
                      "movable": not found, "reasons": _reasons(found)})
    return {"name": name, "version": version, "items": items,
            "movable": sum(i["movable"] for i in items), "blocked": sum(not i["movable"] for i in items)}


def _instance_ids(value):
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValidationFailed({"instances": _("Give a list of process instance ids, or nothing for all.")})
    if not value:
        raise ValidationFailed({"instances": _("Choose at least one ticket to move.")})
    if len(value) > MAX_BATCH:
        raise ValidationFailed({"instances": _("At most %(n)s tickets at once.", n=MAX_BATCH)})
    return list(dict.fromkeys(value))


def migrate(user, name, version, instance_ids=None):
    """Move instances of older versions of `name` to `version`: the ids in `instance_ids`, or every running one
    when None. Each moves in its own transaction (committed here); one that cannot move is reported and the
    others still move. Returns {"moved": n, "failed": n, "results": [{instance_id, ticket, version, moved,
    reasons}]}."""
    require_owner(user)
    instance_ids = _instance_ids(instance_ids)
    target = _target(name, version)
    username = user.username
    if instance_ids is None:
        instance_ids = [r.instance_id for r in db.session.execute(_CANDIDATES, {"name": name, "version": version})]
    db.session.commit()  # end the reading transaction: each move below is its own
    results = [_move_one(username, name, target, instance_id) for instance_id in instance_ids]
    moved = sum(r["moved"] for r in results)
    return {"moved": moved, "failed": len(results) - moved, "results": results}


_ONE = (
    select(_inst.c.status, _defs.c.name, _defs.c.version, _tickets.c.number.label("ticket"))
    .join(_defs, _defs.c.id == _inst.c.definition_id)
    .outerjoin(_tickets, _tickets.c.process_instance_id == _inst.c.id)
    .where(_inst.c.id == bindparam("instance_id"))
)


def _move_one(username, name, target, instance_id):
    """Move one instance in its own transaction; the result dict `migrate` reports."""
    result = {"instance_id": instance_id, "ticket": None, "version": None, "moved": False, "reasons": []}
    try:
        row = db.session.execute(_ONE, {"instance_id": instance_id}).first()
        if row is None:
            raise NotFound(_("Process instance %(id)s does not exist.", id=instance_id))
        result.update(ticket=row.ticket, version=row.version)
        if row.name != name or row.version >= target.version:
            raise MigrationRefused([_code("not_older")])
        if row.status != "running":
            raise MigrationRefused([_code("not_running")])
        step = move_instance(flow.engine(), instance_id, target.id, completed_elements(instance_id))
        head = flow.ticket_head(instance_id=instance_id)
        if head is not None:
            flow.apply_step(head, step, actor=username, events=[
                ("migrated", {"from_version": row.version, "to_version": target.version,
                              "title": _("Version %(old)s → %(new)s", old=row.version, new=target.version)})])
        db.session.commit()
        result["moved"] = True
    except MigrationRefused as exc:
        db.session.rollback()
        result["reasons"] = _reasons(exc.blockers)
    except DomainError as exc:
        db.session.rollback()
        code = "moved_meanwhile" if isinstance(exc, Conflict) else "error"
        result["reasons"] = [{"reason": code, "element": "", "name": "", "message": exc.message}]
    except Exception as exc:  # noqa: BLE001 - one instance's failure must not stop the others of a bulk move
        db.session.rollback()
        logger.exception("moving process instance %s to %s version %s failed", instance_id, name, target.version)
        result["reasons"] = [{"reason": "error", "element": "", "name": "", "message": f"{type(exc).__name__}: {exc}"}]
    return result


class _code:
    """A Blocker without an element (the instance as a whole)."""

    def __init__(self, reason):
        self.reason, self.element, self.name = reason, "", ""


def running_on(name, version):
    """How many instances run on versions of `name` older than `version` (the page's summary)."""
    return db.session.scalar(
        select(db.func.count()).select_from(_inst.join(_defs, and_(_defs.c.id == _inst.c.definition_id)))
        .where(_defs.c.name == name, _defs.c.version < version, _inst.c.status == "running"))
