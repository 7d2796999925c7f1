"""The Principal: who acts, read in one query per request; services take it instead of an ORM User."""
from app.auth.models import Role, User
from app.auth.principal import load_principal
from app.extensions import db


def _user(username):
    return db.session.scalar(db.select(User).where(User.username == username))


def test_principal_carries_roles_and_department(app):
    admin = load_principal(_user("admin").id)
    assert admin.username == "admin" and admin.role_codes == ("admin", "supervisor")
    assert admin.has_role("supervisor") and not admin.has_role("agent")
    assert admin.is_authenticated and admin.get_id() == str(admin.id)

    engineer = load_principal(_user("engineer1").id)
    assert engineer.role_codes == ("handler",)
    assert engineer.department.code == "after_sales" and engineer.department_id == engineer.department.id


def test_unknown_user_has_no_principal(app):
    assert load_principal(999_999) is None


def test_principal_reflects_changes_on_next_load(app):
    user = _user("agent2")
    before = load_principal(user.id)
    user.active = False
    user.roles = [db.session.get(Role, "supervisor")]
    db.session.commit()
    after = load_principal(user.id)
    assert before.is_active and before.role_codes == ("agent",)
    assert not after.is_active and after.role_codes == ("supervisor",)


def test_user_without_department_or_roles(app):
    db.session.add(User(username="newbie", display_name="新人", password_hash="x"))
    db.session.commit()
    newbie = load_principal(_user("newbie").id)
    assert newbie.department is None and newbie.department_id is None and newbie.role_codes == ()
