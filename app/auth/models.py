"""Departments, roles and users (R0-1)."""
from werkzeug.security import check_password_hash, generate_password_hash

from app.clock import now
from app.extensions import db

ROLES = {
    "agent": ("客服专员", "Agent"),
    "handler": ("部门处理人", "Department handler"),
    "supervisor": ("客服主管", "Supervisor"),
    "owner": ("流程负责人", "Process owner"),
    "admin": ("系统管理员", "Administrator"),
}

user_roles = db.Table(
    "user_roles",
    db.Column("user_id", db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    db.Column("role_code", db.String(32), db.ForeignKey("roles.code"), primary_key=True),
)


class Department(db.Model):
    __tablename__ = "departments"
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(32), unique=True, nullable=False)
    name = db.Column(db.String(100), nullable=False)
    name_en = db.Column(db.String(100), nullable=False, default="")


class Role(db.Model):
    __tablename__ = "roles"
    code = db.Column(db.String(32), primary_key=True)
    name = db.Column(db.String(100), nullable=False)
    name_en = db.Column(db.String(100), nullable=False, default="")


class User(db.Model):
    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), unique=True, nullable=False)
    display_name = db.Column(db.String(100), nullable=False, default="")
    email = db.Column(db.String(254))  # where notifications are mailed; none = in-app only
    password_hash = db.Column(db.String(256), nullable=False)
    department_id = db.Column(db.Integer, db.ForeignKey("departments.id"), index=True)
    active = db.Column(db.Boolean, nullable=False, default=True)
    away = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())  # gets no new tickets
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=now)
    last_login_at = db.Column(db.DateTime(timezone=True))

    department = db.relationship(Department, lazy="joined")
    roles = db.relationship(Role, secondary=user_roles, lazy="selectin")

    # Flask-Login protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return str(self.id)

    @property
    def role_codes(self):
        return sorted(r.code for r in self.roles)

    def has_role(self, *codes):
        return any(r.code in codes for r in self.roles)

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)


class LoginFailures(db.Model):
    """Failed log-ins of one account or one client address in the current throttle window (app/auth/throttle.py).

    A row lives only while it counts: a success deletes its account's row, expired rows are deleted on the next
    failure. Kept in the database so every app process sees the same counts.
    """

    __tablename__ = "login_failures"
    key = db.Column(db.String(200), primary_key=True)  # "account:<employee number>" or "address:<client address>"
    failures = db.Column(db.Integer, nullable=False)
    window_start = db.Column(db.DateTime(timezone=True), nullable=False, index=True)
