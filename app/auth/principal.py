"""Who is acting: an immutable snapshot of a user, their department and roles, read once per request.

Services take a Principal as `user`/`actor`; they need who the person is, not an ORM object to change.
Code that changes a user (binding a profile, logging in) loads the User row itself.
"""
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import bindparam, select

from app.fast_statements import FastStatement

from .models import Department, User, user_roles

_users, _departments = User.__table__, Department.__table__


@dataclass(frozen=True)
class DepartmentRef:
    id: int
    code: str
    name: str
    name_en: str


@dataclass(frozen=True)
class Principal:
    id: int
    username: str
    display_name: str
    active: bool
    department: Optional[DepartmentRef]
    role_codes: tuple  # sorted
    away: bool = False  # marked away: gets no new tickets (app.capabilities.pick_assignee)

    # Flask-Login protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self):
        return self.active

    @property
    def department_id(self):
        return self.department.id if self.department else None

    @property
    def roles(self):
        return self.role_codes

    def get_id(self):
        return str(self.id)

    def has_role(self, *codes):
        return any(code in self.role_codes for code in codes)


# One statement, built once: the user, their department and one row per role.
_LOAD = FastStatement(
    select(
        _users.c.id, _users.c.username, _users.c.display_name, _users.c.active, _users.c.away,
        _departments.c.id.label("dept_id"), _departments.c.code, _departments.c.name, _departments.c.name_en,
        user_roles.c.role_code,
    )
    .select_from(
        _users.outerjoin(_departments, _departments.c.id == _users.c.department_id)
        .outerjoin(user_roles, user_roles.c.user_id == _users.c.id)
    )
    .where(_users.c.id == bindparam("user_id"))
)


def load_principal(user_id):
    """The Principal of user `user_id`, or None when there is no such user."""
    rows = _LOAD.execute({"user_id": user_id}).all()
    if not rows:
        return None
    first = rows[0]
    department = (
        DepartmentRef(first.dept_id, first.code, first.name, first.name_en) if first.dept_id is not None else None
    )
    roles = tuple(sorted({r.role_code for r in rows if r.role_code}))
    return Principal(first.id, first.username, first.display_name or "", bool(first.active), department, roles,
                     bool(first.away))
