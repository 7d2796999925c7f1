"""The studio's migration page per process version (preview, move the chosen or all movable tickets) and its
JSON twins for scripts (session log-in, CSRF header). Each view calls one function of studio.migration."""
from flask import jsonify, render_template, request

from app.errors import ValidationFailed
from app.extensions import db
from app.web import web_bp
from app.web.auth import me

from . import migration
from .pages import _body, json_endpoint
from .service import require_owner


@web_bp.get("/studio/<name>/versions/<int:version>/migration")
def studio_migration(name, version):
    found = migration.preview(me(), name, version)
    return render_template("studio/migration.html", name=name, version=version, preview=found, report=None)


@web_bp.post("/studio/<name>/versions/<int:version>/migration")
def studio_migration_run(name, version):
    """The page form: `instance` (repeated) names the chosen instances; `all=1` moves every movable one."""
    user = me()
    require_owner(user)
    if request.form.get("all") == "1":
        chosen = None
    else:
        chosen = [int(v) for v in request.form.getlist("instance") if v.isdigit()]
    try:
        report = migration.migrate(user, name, version, chosen)
    except ValidationFailed as exc:
        db.session.rollback()
        found = migration.preview(user, name, version)
        return render_template("studio/migration.html", name=name, version=version, preview=found, report=None,
                               errors=exc.errors), 422
    found = migration.preview(user, name, version)
    return render_template("studio/migration.html", name=name, version=version, preview=found, report=report)


@web_bp.get("/studio/<name>/versions/<int:version>/migration.json")
@json_endpoint
def studio_migration_preview(name, version):
    return jsonify(migration.preview(me(), name, version))


@web_bp.post("/studio/<name>/versions/<int:version>/migrate")
@json_endpoint
def studio_migrate(name, version):
    user = me()
    require_owner(user)
    return jsonify(migration.migrate(user, name, version, _body().get("instances")))
