"""The studio's pages and the JSON endpoints its modeler script calls (session log-in, CSRF token in the
X-CSRFToken header). Each view calls one service function; JSON endpoints answer errors as
{"error": message, "errors": {field: message}, "problems": [Problem dicts]}."""
from functools import wraps

from flask import flash, jsonify, redirect, render_template, request, url_for

from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.i18n import _
from app.web import web_bp
from app.web.auth import me
from app.web.inputs import clean

from . import imports, service
from .i18n import scenario_messages, script_messages

web_bp.add_app_template_global(scenario_messages, "studio_scenario_messages")  # the scenario panel


def json_endpoint(view):
    """Answer a DomainError as JSON (the modeler shows it) instead of the error page."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except DomainError as exc:
            db.session.rollback()
            body = {"error": exc.message, "errors": exc.errors}
            if isinstance(exc, service.DeployRefused):
                body["problems"] = [p.as_dict() for p in exc.problems]
            return jsonify(body), exc.status
    return wrapper


def _body(allowed=None):
    """The JSON object sent; with `allowed`, a field not in it is refused (422 naming it)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed({"body": _("Send a JSON object.")})
    unknown = sorted(set(body) - set(allowed)) if allowed is not None else []
    if unknown:
        raise ValidationFailed({field: _("Unknown field.") for field in unknown})
    return body


# ---------------------------------------------------------------------------------------------- pages

@web_bp.get("/studio")
def studio_home():
    user = me()
    return render_template("studio/home.html", processes=service.processes(user), new_drafts=service.new_drafts(user),
                           max_bytes=imports.MAX_FILE_BYTES)


@web_bp.get("/studio/<name>")
def studio_modeler(name):
    user = me()
    service.require_owner(user)
    latest = service.base(name)
    config = {
        "name": name,
        "urls": {
            "diagram": url_for("web.studio_diagram", name=name),
            "draft": url_for("web.studio_draft", name=name),
            "validate": url_for("web.studio_validate", name=name),
            "deploy": url_for("web.studio_deploy", name=name),
            "versions": url_for("web.studio_versions", name=name),
            "moddle": url_for("web.static", filename="spiffworkflow-moddle.json"),
            "home": url_for("web.studio_home"),
        },
        "isNew": latest.version == 0,
        "version": request.args.get("version", type=int),
        "forms": service.form_names(),
        "decisions": service.decision_ids(name),
        "messages": script_messages(),
    }
    texts, drafted = service.scenarios(user, name)
    return render_template("studio/modeler.html", name=name, latest=latest, config=config, scenarios=texts,
                           scenarios_drafted=drafted)


@web_bp.get("/studio/<name>/versions")
def studio_versions(name):
    rows = service.versions(me(), name)
    return render_template("studio/versions.html", name=name, versions=rows, newest=rows[0]["version"])


@web_bp.post("/studio/<name>/versions/<int:version>/rollback")
def studio_rollback(name, version):
    comment = clean(request.form.get("comment") or "")
    try:
        definition = service.rollback(me(), name, version, comment)
    except (ValidationFailed, service.DeployRefused) as exc:
        db.session.rollback()
        messages = list(exc.errors.values()) if isinstance(exc, ValidationFailed) else \
            [exc.message] + [str(p) for p in exc.problems]
        for message in messages:
            flash(message, "error")
        return redirect(url_for("web.studio_versions", name=name))
    flash(_("Version %(old)s was deployed again as version %(new)s.", old=version, new=definition.version),
          "success")
    return redirect(url_for("web.studio_versions", name=name))


@web_bp.get("/studio/<name>/compare")
def studio_compare(name):
    user = me()
    service.require_owner(user)
    newest_version = service.newest(name).version
    new = request.args.get("to", type=int) or newest_version
    old = request.args.get("from", type=int) or max(new - 1, 1)
    found = service.compare(user, name, old, new)
    return render_template("studio/compare.html", name=name, old=old, new=new, changes=found)


@web_bp.get("/studio/<name>/decisions")
def studio_decisions(name):
    user = me()
    tables, drafted = service.decision_tables(user, name)
    texts, scenarios_drafted = service.scenarios(user, name)
    config = {"urls": {file: url_for("web.studio_decision_draft", name=name, filename=file) for file in tables},
              "deploy": url_for("web.studio_deploy", name=name),
              "messages": script_messages()}
    return render_template("studio/decisions.html", name=name, tables=tables, drafted=drafted, config=config,
                           scenarios=texts, scenarios_drafted=scenarios_drafted)


# ------------------------------------------------------------------------------------ JSON for the modeler

@web_bp.get("/studio/<name>/diagram")
@json_endpoint
def studio_diagram(name):
    return jsonify(service.diagram(me(), name, request.args.get("version", type=int)))


@web_bp.route("/studio/<name>/draft", methods=["PUT", "DELETE"])
@json_endpoint
def studio_draft(name):
    if request.method == "DELETE":
        service.discard_draft(me(), name)
        return jsonify(discarded=True)
    user = me()
    service.require_owner(user)
    draft = service.save_draft(user, name, _body().get("xml"))
    return jsonify(saved_by=draft.saved_by, saved_at=draft.saved_at.isoformat(), base_version=draft.base_version)


@web_bp.post("/studio/<name>/validate")
@json_endpoint
def studio_validate(name):
    user = me()
    service.require_owner(user)
    problems = service.validate(user, name, _body().get("xml"))
    return jsonify(problems=[p.as_dict() for p in problems])


@web_bp.post("/studio/<name>/deploy")
@json_endpoint
def studio_deploy(name):
    user = me()
    service.require_owner(user)
    definition = service.deploy_draft(user, name, _body().get("comment"))
    return jsonify(version=definition.version, deployed_by=definition.deployed_by,
                   deployed_at=definition.deployed_at.isoformat(), comment=definition.comment), 201


@web_bp.put("/studio/<name>/decisions/<filename>")
@json_endpoint
def studio_decision_draft(name, filename):
    user = me()
    service.require_owner(user)
    draft = service.save_decision_draft(user, name, filename, _body().get("xml"))
    return jsonify(saved_by=draft.saved_by, saved_at=draft.saved_at.isoformat(), base_version=draft.base_version)


@web_bp.put("/studio/<name>/scenarios")
@json_endpoint
def studio_scenarios(name):
    user = me()
    service.require_owner(user)
    draft = service.save_scenario_draft(user, name, _body({"scenarios"}).get("scenarios"))
    return jsonify(saved_by=draft.saved_by, saved_at=draft.saved_at.isoformat(), base_version=draft.base_version,
                   files=sorted(draft.scenarios))


@web_bp.post("/studio/<name>/scenarios/run")
@json_endpoint
def studio_run_scenarios(name):
    """Run the scenarios sent (else the saved ones) against the diagram and tables sent (else the draft's or the
    newest); answers {results: [ScenarioResult dicts], passed: n, failed: n}. Nothing is saved."""
    user = me()
    service.require_owner(user)
    body = _body({"xml", "tables", "scenarios"})
    results = service.run_scenarios(user, name, xml=body.get("xml"), tables=body.get("tables"),
                                    texts=body.get("scenarios"))
    failed = sum(not r.passed for r in results)
    return jsonify(results=[r.as_dict() for r in results], passed=len(results) - failed, failed=failed)
