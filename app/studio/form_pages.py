"""The form editor's pages and the JSON endpoints its script calls (session log-in, CSRF token in the X-CSRFToken
header), and the modeler's lint endpoint. Each view calls one service function (forms_editor, lint); JSON
endpoints answer errors as the modeler's do (pages.json_endpoint)."""
from flask import jsonify, render_template, request, url_for

from app.i18n import schema_title
from app.web import web_bp
from app.web.auth import me
from app.web.schema_form import build_fields, general_errors

from . import forms_editor, lint
from .form_i18n import form_script_messages, lint_script_messages
from .pages import _body, json_endpoint
from .service import _clean_xml, base, require_owner

FIELD_TYPES = ("string", "integer", "number", "boolean")
WIDGETS = ("", "textarea", "datetime", "date")
REF_KINDS = ("", "user", "department")

web_bp.add_app_template_global(lint_script_messages, "studio_lint_messages")  # the modeler's lint panel


@web_bp.get("/studio/forms")
def studio_forms():
    return render_template("studio/forms.html", forms=forms_editor.forms(me()))


@web_bp.get("/studio/forms/<filename>")
def studio_form_editor(filename):
    from app.auth.models import ROLES

    opened = forms_editor.open_form(me(), filename)
    config = {
        "filename": filename,
        "form": opened,
        "urls": {
            "draft": url_for("web.studio_form_draft", filename=filename),
            "preview": url_for("web.studio_form_preview", filename=filename),
            "validate": url_for("web.studio_form_validate", filename=filename),
            "deploy": url_for("web.studio_form_deploy", filename=filename),
            "self": url_for("web.studio_form_editor", filename=filename),
        },
        "types": FIELD_TYPES,
        "widgets": WIDGETS,
        "refKinds": REF_KINDS,
        "roles": sorted(ROLES),
        "messages": form_script_messages(),
    }
    return render_template("studio/form_editor.html", filename=filename, opened=opened, config=config)


@web_bp.route("/studio/forms/<filename>/draft", methods=["PUT", "DELETE"])
@json_endpoint
def studio_form_draft(filename):
    user = me()
    if request.method == "DELETE":
        forms_editor.discard_draft(user, filename)
        return jsonify(discarded=True)
    require_owner(user)
    draft = forms_editor.save_draft(user, filename, _body().get("text"))
    return jsonify(saved_by=draft.saved_by, saved_at=draft.saved_at.isoformat())


@web_bp.post("/studio/forms/<filename>/preview")
@json_endpoint
def studio_form_preview(filename):
    """The form as users see it (the task page's own field rendering), with the deploy validation's messages on
    the fields: {"html": fragment or null when the text is no JSON Schema, "errors": {field or "": message}}."""
    user = me()
    require_owner(user)
    schema, errors = forms_editor.preview(user, filename, _body().get("text"))
    if schema is None:
        return jsonify(html=None, errors=errors)
    fields = build_fields(schema, data=forms_editor.sample_data(schema), errors=errors)
    html = render_template("studio/form_preview.html", form_title=schema_title(schema),
                           form_help=schema_title(schema, "description"), fields=fields,
                           general=general_errors(errors, fields))
    return jsonify(html=html, errors=errors)


@web_bp.post("/studio/forms/<filename>/validate")
@json_endpoint
def studio_form_validate(filename):
    user = me()
    require_owner(user)
    problems = forms_editor.validate(user, filename, _body().get("text"))
    return jsonify(problems=[dict(p.as_dict(), property=forms_editor.field_of(p)) for p in problems])


@web_bp.post("/studio/forms/<filename>/deploy")
@json_endpoint
def studio_form_deploy(filename):
    user = me()
    require_owner(user)
    try:
        definitions = forms_editor.deploy(user, filename, _body().get("comment"))
    except forms_editor.FormDeployRefused as exc:
        exc.errors = forms_editor.field_errors(exc.problems)
        raise
    return jsonify(versions=[{"process": d.name, "version": d.version, "deployed_by": d.deployed_by,
                              "deployed_at": d.deployed_at.isoformat(), "comment": d.comment}
                             for d in definitions]), 201


@web_bp.post("/studio/<name>/lint")
@json_endpoint
def studio_lint(name):
    """bpmnlint's and the project's lint issues of the diagram being edited: {"issues": [{element, rule,
    category, message}]} (advice while editing; the deploy validation decides what deploys)."""
    user = me()
    require_owner(user)
    base(name)
    xml = _clean_xml(_body().get("xml"))
    return jsonify(issues=[issue.as_dict() for issue in lint.lint(xml)])
