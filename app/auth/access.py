"""Who may do what by role, shared by the pages and the API (R0-1: agents enter customer data, supervisors
assign and monitor). Who may see or work a task depends on the task: see may_view/may_work in
app/tasks/service.py; redispatching is checked in app/tickets/service.py."""
from app.errors import Forbidden
from app.i18n import _

FRONT_DESK = ("agent", "supervisor", "admin")  # register and edit customers, open tickets
SUPERVISORS = ("supervisor", "admin")  # the monitor, the escalation queue, the ticket list
PROCESS_OWNERS = ("owner", "admin")  # the studio: edit, validate, deploy and roll back diagrams


def require_role(user, roles):
    """Raise Forbidden (403) unless `user` holds one of `roles`."""
    if not user.has_role(*roles):
        raise Forbidden(_("Your role may not do this."))
