"""The studio's file-opening forms (page posts with the CSRF token, multipart): on the studio home page a .bpmn
file opens as a new process, on a process's modeler page as that process's draft. Success and refusal are
flashed; each goes back to a page (the modeler of the opened process, or the page the form was on)."""
from flask import flash, redirect, request, url_for

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.i18n import _
from app.web import web_bp
from app.web.auth import me

from . import imports, service


def _upload():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return b"", ""
    return upload.stream.read(imports.MAX_FILE_BYTES + 1), upload.filename


def _refused(exc):
    db.session.rollback()
    if isinstance(exc, ValidationFailed):
        messages = list(exc.errors.values())
    else:
        messages = [exc.message] + [str(p) for p in getattr(exc, "problems", [])]
    for message in messages:
        flash(message, "error")


def _notes(conversion):
    for note in conversion.notes:
        flash(str(note), "info")


@web_bp.post("/studio/import")
def studio_import_new():
    user = me()
    service.require_owner(user)
    data, filename = _upload()
    try:
        name, conversion = imports.open_as_new(user, data, filename)
    except (ValidationFailed, imports.ImportRefused, Conflict) as exc:
        _refused(exc)
        return redirect(url_for("web.studio_home"))
    flash(_("%(file)s was opened as the new process %(name)s: check it and deploy it as version 1.",
            file=filename, name=name), "success")
    _notes(conversion)
    return redirect(url_for("web.studio_modeler", name=name))


@web_bp.post("/studio/<name>/import")
def studio_import(name):
    user = me()
    service.require_owner(user)
    service.base(name)
    data, filename = _upload()
    try:
        conversion = imports.open_as_draft(user, name, data, filename)
    except (ValidationFailed, imports.ImportRefused) as exc:
        _refused(exc)
        return redirect(url_for("web.studio_modeler", name=name))
    flash(_("%(file)s is now the draft of %(name)s.", file=filename, name=name), "success")
    _notes(conversion)
    return redirect(url_for("web.studio_modeler", name=name))
