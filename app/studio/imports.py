"""Open a .bpmn file from the process owner's computer in the studio: as the new draft of a deployed process (the
file's process id must be that process's), or as a new process (an id no deployed process has; its first deploy
makes version 1 from `<id>.bpmn`, after the same validation and scenario gate as any studio deploy).

The file is converted to the engine's extension format first (interop.convert: Camunda Modeler and spiff-arena
files); it is refused, and nothing saved, when it is too large, not UTF-8, not XML (the line named), not a BPMN
file, or when the conversion found something the engine cannot run (ImportRefused lists each on its element).
What the deploy validation finds later (a missing form, a lane that is no role…) does not stop the opening: the
modeler shows it on its element.
"""
import re
from pathlib import Path

from flask import current_app
from lxml import etree
from sqlalchemy import select

from app.clock import now
from app.database import deploy_rules
from app.engine import ProcessDefinition
from app.engine.validation.model import BPMN_NS, NS
from app.errors import Conflict, DomainError, ValidationFailed
from app.extensions import db
from app.i18n import _

from . import interop, new_process, service
from .models import StudioDraft

MAX_FILE_BYTES = service.MAX_DIAGRAM_CHARS
PROCESS_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,99}$")


class ImportRefused(DomainError):
    """The file cannot be opened: `problems` (Problem objects) name each element the engine cannot run."""

    status = 422

    def __init__(self, problems):
        super().__init__(_("The file has %(n)s element(s) this desk cannot run: nothing was saved.",
                           n=len(problems)))
        self.problems = problems


def read_upload(data, filename=""):
    """The text of an uploaded .bpmn file (bytes): ValidationFailed on `file` when empty, too large or not UTF-8."""
    if filename and not filename.lower().endswith((".bpmn", ".xml")):
        raise ValidationFailed({"file": _("Choose a .bpmn file.")})
    if not data:
        raise ValidationFailed({"file": _("Choose a .bpmn file.")})
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed({"file": _("The file is larger than %(n)s bytes.", n=MAX_FILE_BYTES)})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed({"file": _("The file is not UTF-8 text.")}) from None


def _convert(text, label):
    service._clean_xml(text)  # the size, emptiness and NUL rules of every studio draft
    try:
        conversion = interop.convert(text, deploy_rules().roles, label=label)
    except etree.XMLSyntaxError as exc:
        raise ValidationFailed({"file": _("The file is not valid XML: line %(line)s: %(error)s",
                                          line=exc.lineno, error=exc.msg)}) from None
    root = etree.fromstring(conversion.xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    if root.getroottree().docinfo.doctype:
        raise ValidationFailed({"file": _("A BPMN file may not declare a DOCTYPE.")})
    if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
        raise ValidationFailed({"file": _("This is not a BPMN file: its root element must be bpmn:definitions.")})
    if conversion.problems:
        raise ImportRefused(conversion.problems)
    return conversion, _process_id(root)


def _process_id(root):
    processes = root.findall("bpmn:process", NS)
    executable = [p for p in processes if p.get("isExecutable", "true") == "true"] or processes
    if len(executable) != 1:
        ids = ", ".join(p.get("id", "") for p in executable)
        raise ValidationFailed({"file": _("The file must hold one executable process; it holds %(n)s (%(ids)s).",
                                          n=len(executable), ids=ids or "—")})
    return executable[0].get("id", "")


def open_as_draft(user, name, data, filename=""):
    """Make the uploaded file the draft of process `name` (deployed, or new and not deployed yet).
    Returns the Conversion (its notes are shown)."""
    service.require_owner(user)
    service.base(name)
    conversion, process_id = _convert(read_upload(data, filename), filename or "file")
    if process_id != name:
        raise ValidationFailed({"file": _(
            "The file's process id is %(found)r, this process is %(name)r: open it as a new process, or change "
            "the id in the file.", found=process_id, name=name)})
    service.save_draft(user, name, conversion.xml)
    return conversion


def open_as_new(user, data, filename=""):
    """Open the uploaded file as a new process (an id no deployed process has); a new draft of the same id is
    replaced. Returns (process id, Conversion)."""
    service.require_owner(user)
    conversion, process_id = _convert(read_upload(data, filename), filename or "file")
    if not PROCESS_ID.match(process_id):
        raise ValidationFailed({"file": _(
            "The process id %(id)r cannot name a new process: use letters, digits, _ and -, starting with a letter "
            "(at most 100).", id=process_id)})
    if db.session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.name == process_id).limit(1)):
        raise ValidationFailed({"file": _(
            "Process %(id)r is already deployed: open the file on its studio page to make it the draft.",
            id=process_id)})
    target = new_process.filename_of(process_id)
    taken = {row.filename for row in db.session.execute(select(ProcessDefinition.filename))}
    workflows = current_app.config.get("WORKFLOWS_DIR")
    if target in taken or (workflows and (Path(workflows) / target).exists()):
        raise Conflict(_("The file name %(file)s is already used by another process.", file=target))
    draft = db.session.get(StudioDraft, process_id) or StudioDraft(name=process_id)
    draft.base_version, draft.bpmn_xml, draft.dmn_xml, draft.scenarios = new_process.NEW, conversion.xml, None, None
    draft.saved_by, draft.saved_at = user.username, now()
    db.session.add(draft)
    db.session.commit()
    return process_id, conversion
