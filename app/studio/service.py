"""The studio's use cases, one function each: list processes, open a diagram, save or discard a draft (diagram,
decision tables, scenarios), validate, run the scenarios, deploy the draft as a new version, roll back to an
earlier version, list versions.

Who may: process owners and admins (`require_owner`); every function that changes something checks it.
Deploys go through the engine's one validation (`check_texts`, the function `flask deploy` runs): a refused
deploy raises DeployRefused with the Problems, each naming the element it concerns. Then the process's scenarios
(app/scenarios, see scenario_texts) run against what would be deployed: one failing refuses the deploy too.

Deploy on start and the studio: a file deploy creates a version only for content never deployed before, so a
diagram the studio changed and deployed is not undone by the next start while workflows/ keeps the old file;
a later change of the file on disk is new content and deploys as the newest version (the last change wins).
"""
import json
from pathlib import Path

from flask import current_app
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError

from app.auth.access import PROCESS_OWNERS, require_role
from app.clock import now
from app.database import deploy_rules
from app.engine import Bundle, Problem, ProcessDefinition, ProcessInstance, check_texts, deploy_version, deployed_files
from app.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.i18n import _

from . import new_process, scenario_texts
from .models import StudioDraft

MAX_DIAGRAM_CHARS = 2_000_000
MAX_COMMENT_CHARS = 500
_defs = ProcessDefinition.__table__


class DeployRefused(DomainError):
    """The diagram has validation problems, or a scenario fails: nothing was deployed; `problems` lists them
    (Problem objects; a failed scenario's names the scenario file, the scenario, the step and why)."""

    status = 422

    def __init__(self, problems, message=None):
        super().__init__(message or _("The diagram has %(n)s problem(s): nothing was deployed.", n=len(problems)))
        self.problems = problems


class ScenariosFailed(DeployRefused):
    """Every validation passed but a scenario fails against what would be deployed: nothing was deployed."""

    def __init__(self, problems):
        super().__init__(problems, _("%(n)s scenario(s) fail: nothing was deployed.", n=len(problems)))


def require_owner(user):
    """Only process owners and admins use the studio."""
    require_role(user, PROCESS_OWNERS)


# ------------------------------------------------------------------------------------------------ reading

_NEWEST = (
    select(_defs.c.name, func.max(_defs.c.version).label("version"))
    .group_by(_defs.c.name)
    .subquery()
)
_PROCESSES = (
    select(_defs.c.name, _defs.c.version, _defs.c.filename, _defs.c.deployed_at, _defs.c.deployed_by,
           _defs.c.comment, StudioDraft.__table__.c.saved_at.label("draft_saved_at"),
           StudioDraft.__table__.c.saved_by.label("draft_saved_by"))
    .join(_NEWEST, (_NEWEST.c.name == _defs.c.name) & (_NEWEST.c.version == _defs.c.version))
    .outerjoin(StudioDraft.__table__, StudioDraft.__table__.c.name == _defs.c.name)
    .order_by(_defs.c.name)
)


def processes(user):
    """Every deployed process with its newest version and its draft, if any (rows)."""
    require_owner(user)
    return db.session.execute(_PROCESSES).all()


def new_drafts(user):
    """The drafts of new processes (opened from a file, not deployed yet): StudioDraft rows by name."""
    require_owner(user)
    return db.session.scalars(select(StudioDraft).where(StudioDraft.base_version == new_process.NEW)
                              .order_by(StudioDraft.name)).all()


def newest(name):
    """The newest ProcessDefinition of process `name`; NotFound when it was never deployed."""
    definition = db.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.name == name)
        .order_by(ProcessDefinition.version.desc()).limit(1))
    if definition is None:
        raise NotFound(_("There is no process %(name)s.", name=name))
    return definition


def base(name):
    """What a draft of `name` is edited against: the newest ProcessDefinition, or for a new process (opened from a
    file, never deployed) its stand-in (new_process.NewProcess, version 0). NotFound when neither exists."""
    try:
        return newest(name)
    except NotFound:
        draft = db.session.get(StudioDraft, name)
        if draft is None or not new_process.is_new(draft):
            raise
        return new_process.stand_in(draft)


def version_of(name, version):
    definition = db.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.name == name, ProcessDefinition.version == version))
    if definition is None:
        raise NotFound(_("Process %(name)s has no version %(version)s.", name=name, version=version))
    return definition


def diagram(user, name, version=None):
    """What the modeler opens: the draft when one is saved (and no version is asked for), else the version's XML.

    Returns a dict: name, filename, xml, source ("draft" or "version"), version (the one shown or the draft's
    base), newest (the newest version number), draft_saved_by/draft_saved_at when it is the draft, draft_tables
    (the decision tables saved as drafts, which the next deploy takes), scenarios ({file name: text}: the draft's
    when edited and no version is asked for, else the shown version's) and scenarios_draft (whether they are the
    draft's)."""
    require_owner(user)
    latest = base(name)
    draft = db.session.get(StudioDraft, name)
    tables = sorted((draft.dmn_xml or {}) if draft is not None else {})
    shown = latest if version is None else version_of(name, version)
    drafted = version is None and draft is not None and draft.scenarios is not None
    scenarios = {"scenarios": dict(draft.scenarios) if drafted else scenario_texts.of_version(shown),
                 "scenarios_draft": drafted}
    if version is None and draft is not None and draft.bpmn_xml is not None:
        return {"name": name, "filename": latest.filename, "xml": draft.bpmn_xml, "source": "draft",
                "version": draft.base_version, "newest": latest.version, "draft_saved_by": draft.saved_by,
                "draft_saved_at": draft.saved_at.isoformat(), "draft_tables": tables, "new": latest.version == 0,
                **scenarios}
    return {"name": name, "filename": shown.filename, "xml": shown.bpmn_xml, "source": "version",
            "version": shown.version, "newest": latest.version, "draft_tables": tables, "new": False, **scenarios}


def decision_tables(user, name):
    """(tables, drafted): {file name: DMN XML} of the newest version's decision tables with the saved draft tables
    in place of theirs, and the set of file names that are drafts."""
    require_owner(user)
    latest = base(name)
    drafted = _draft_tables(name)
    return {**latest.dmn_xml, **drafted}, set(drafted)


def _draft_tables(name):
    draft = db.session.get(StudioDraft, name)
    return dict(draft.dmn_xml or {}) if draft is not None else {}


def form_names():
    """The form files a user task may show (forms/*.json)."""
    return sorted(p.name for p in Path(current_app.config["FORMS_DIR"]).glob("*.json"))


def decision_ids(name):
    """The decision ids of the newest version's decision tables (what a business rule task may call)."""
    from app.engine.validation.dataflow import decision_outputs
    from app.engine.validation.model import parse_xml

    roots = []
    for text in {**base(name).dmn_xml, **_draft_tables(name)}.values():
        try:
            roots.append(parse_xml(text))
        except Exception:  # noqa: BLE001 - a broken table names no decisions; deploy validation reports it
            continue
    return sorted(decision_outputs(roots))


_VERSIONS = (
    select(_defs.c.version, _defs.c.deployed_at, _defs.c.deployed_by, _defs.c.comment, _defs.c.restored_from,
           _defs.c.content_hash, _defs.c.id)
    .where(_defs.c.name == bindparam("name"))
    .order_by(_defs.c.version.desc())
)
_RUNNING = (
    select(ProcessInstance.definition_id, func.count().label("running"))
    .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
    .where(ProcessDefinition.name == bindparam("name"),
           ProcessInstance.status == "running")
    .group_by(ProcessInstance.definition_id)
)


def versions(user, name):
    """Every version of process `name`, newest first: version, deployed_at, deployed_by, comment, restored_from
    and running (open instances on it). This list is the deploy log: every deploy, roll-backs included."""
    require_owner(user)
    newest(name)
    running = dict(db.session.execute(_RUNNING, {"name": name}).all())
    return [dict(row._mapping, running=running.get(row.id, 0)) for row in db.session.execute(_VERSIONS, {"name": name})]


# ------------------------------------------------------------------------------------------------ changing

def _clean_xml(xml):
    if not isinstance(xml, str) or not xml.strip():
        raise ValidationFailed({"xml": _("The diagram is empty.")})
    if len(xml) > MAX_DIAGRAM_CHARS:
        raise ValidationFailed({"xml": _("The diagram is longer than %(n)s characters.", n=MAX_DIAGRAM_CHARS)})
    if "\x00" in xml:
        raise ValidationFailed({"xml": _("The diagram contains a NUL character.")})
    return xml


def _clean_comment(comment):
    comment = (comment or "").strip() if isinstance(comment, str) or comment is None else None
    if comment is None:
        raise ValidationFailed({"comment": _("The comment must be text.")})
    if not comment:
        raise ValidationFailed({"comment": _("Say in a comment what the new version changes.")})
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationFailed({"comment": _("The comment is longer than %(n)s characters.", n=MAX_COMMENT_CHARS)})
    return comment


def _draft_row(name, latest):
    draft = db.session.get(StudioDraft, name)
    if draft is None:
        draft = StudioDraft(name=name, base_version=latest.version)
        db.session.add(draft)
    return draft


def save_draft(user, name, xml):
    """Keep `xml` as the draft diagram of process `name` (replacing the previous one). Nothing is deployed."""
    require_owner(user)
    xml = _clean_xml(xml)
    draft = _draft_row(name, base(name))
    draft.bpmn_xml, draft.saved_by, draft.saved_at = xml, user.username, now()
    db.session.commit()
    return draft


def save_decision_draft(user, name, filename, xml):
    """Keep `xml` as the draft of decision table `filename` (one the newest version of `name` was deployed with);
    the next deploy of the process takes it. Nothing is deployed."""
    require_owner(user)
    xml = _clean_xml(xml)
    latest = base(name)
    if filename not in latest.dmn_xml:
        raise NotFound(_("Process %(name)s has no decision table %(file)s.", name=name, file=filename))
    draft = _draft_row(name, latest)
    draft.dmn_xml = {**(draft.dmn_xml or {}), filename: xml}  # a new dict: the JSON column sees the change
    draft.saved_by, draft.saved_at = user.username, now()
    db.session.commit()
    return draft


def save_scenario_draft(user, name, texts):
    """Keep the scenario `texts` ({file name: text}) as the draft scenarios of process `name`; the next deploy runs
    them and stores them with the version. Nothing is deployed."""
    require_owner(user)
    texts = scenario_texts.clean(texts)
    draft = _draft_row(name, base(name))
    draft.scenarios = texts
    draft.saved_by, draft.saved_at = user.username, now()
    db.session.commit()
    return draft


def scenarios(user, name):
    """(texts, drafted): the scenario texts of process `name` the next deploy runs ({file name: text}: the draft's
    when edited, else the newest version's) and whether they are the draft's."""
    require_owner(user)
    latest = base(name)
    draft = db.session.get(StudioDraft, name)
    if draft is not None and draft.scenarios is not None:
        return dict(draft.scenarios), True
    return scenario_texts.of_version(latest), False


def run_scenarios(user, name, *, xml=None, tables=None, texts=None):
    """Run scenarios of process `name` against what is being edited, without saving or deploying anything: the
    diagram `xml` (default: the draft's, else the newest), the decision tables of `_current_texts` with `tables`
    ({file: XML} being edited) in place of theirs, the forms a deploy takes, and the scenario `texts` (default:
    `scenarios`). Returns [ScenarioResult]."""
    require_owner(user)
    latest = base(name)
    draft = db.session.get(StudioDraft, name)
    if xml is not None:
        xml = _clean_xml(xml)
    elif draft is not None and draft.bpmn_xml is not None:
        xml = draft.bpmn_xml
    dmn, forms = _current_texts(latest)
    dmn.update(_clean_tables(latest, tables))
    texts = scenario_texts.clean(texts) if texts is not None else scenarios(user, name)[0]
    return scenario_texts.run(latest.filename, xml or latest.bpmn_xml, dmn, forms, texts)


def _clean_tables(latest, tables):
    if tables is None:
        return {}
    if not isinstance(tables, dict):
        raise ValidationFailed({"tables": _("Send the decision tables as an object of file name to XML.")})
    for filename in tables:
        if filename not in latest.dmn_xml:
            raise ValidationFailed({f"tables.{filename}": _("Process %(name)s has no decision table %(file)s.",
                                                            name=latest.name, file=filename)})
    return {filename: _clean_xml(text) for filename, text in tables.items()}


def discard_draft(user, name):
    """Drop the draft of process `name`; the studio opens the newest version again."""
    require_owner(user)
    base(name)
    db.session.execute(delete(StudioDraft).where(StudioDraft.name == name))
    db.session.commit()


def _current_texts(latest):
    """The decision tables and forms a studio deploy takes, as texts: the newest version's tables with the draft
    tables in place of theirs (the studio edits what is deployed), and the forms in forms/ (the panel offers them)
    as the processes deploy them, so a form deployed by the form editor stays (forms_editor.current_form_texts)."""
    from .forms_editor import current_form_texts

    dmn = {**latest.dmn_xml, **_draft_tables(latest.name)}
    return dmn, current_form_texts()


def _check(name, filename, xml, dmn, form_texts):
    """(bundle or None, problems) of one process's diagram with these tables and forms: the deploy validation."""
    bundles, problems = check_texts({filename: xml}, dmn, form_texts, deploy_rules(), deployed=deployed_files())
    for bundle in bundles:
        if bundle.name != name:
            problems.append(Problem(f"workflows/{filename}", bundle.name, bundle.name, "id",
                                    _("The process id must stay %(name)r: a new id would be another process.",
                                      name=name)))
    return (bundles[0] if bundles and not problems else None), problems


def validate(user, name, xml):
    """The deploy validation of `xml` as the next version of process `name`, with the decision tables and forms a
    deploy would take (`_current_texts`); returns the list of Problems (empty: it would deploy)."""
    require_owner(user)
    xml = _clean_xml(xml)
    latest = base(name)
    _bundle, problems = _check(name, latest.filename, xml, *_current_texts(latest))
    return problems


def deploy_draft(user, name, comment):
    """Validate the saved draft of `name` (its diagram, or the newest one when only tables were edited) with the
    decision tables and forms of `_current_texts`, run its scenarios (the draft's, else the newest version's)
    against it, and deploy it as the newest version (author, time, comment, the scenarios); the draft is then gone.
    DeployRefused when anything is wrong, ScenariosFailed (a DeployRefused) when a scenario fails: nothing is
    deployed, the draft stays. Conflict when there is no draft or it changes nothing."""
    require_owner(user)
    comment = _clean_comment(comment)
    latest = base(name)
    draft = db.session.get(StudioDraft, name)
    if draft is None:
        raise Conflict(_("There is no saved draft of %(name)s to deploy.", name=name))
    bpmn = draft.bpmn_xml if draft.bpmn_xml is not None else latest.bpmn_xml
    dmn, forms = _current_texts(latest)
    bundle, problems = _check(name, latest.filename, bpmn, dmn, forms)
    if problems:
        raise DeployRefused(problems)
    texts = dict(draft.scenarios) if draft.scenarios is not None else scenario_texts.of_version(latest)
    failed = scenario_texts.gate(name, latest.filename, bpmn, dmn, forms, texts)
    if failed:
        raise ScenariosFailed(failed)
    bundle.scenarios = texts
    if bundle.content_hash == latest.content_hash:
        raise Conflict(_("The draft is the same as the newest version %(version)s: nothing to deploy.",
                         version=latest.version))
    definition = _store(bundle, deployed_by=user.username, comment=comment)
    db.session.delete(draft)
    db.session.commit()
    return definition


def rollback(user, name, version, comment):
    """Deploy version `version` of `name` again as the newest version (its diagram, tables and forms as they were
    deployed), after the same validation and its scenarios (ScenariosFailed when one fails); the new version
    records which one it restores."""
    require_owner(user)
    comment = _clean_comment(comment)
    latest = newest(name)
    earlier = version_of(name, version)
    if earlier.version == latest.version:
        raise Conflict(_("Version %(version)s is already the newest.", version=version))
    forms = {f: json.dumps(schema, ensure_ascii=False) for f, schema in earlier.forms.items()}
    bundle, problems = _check(name, earlier.filename, earlier.bpmn_xml, dict(earlier.dmn_xml), forms)
    if problems:
        raise DeployRefused(problems)
    texts = scenario_texts.of_version(earlier)
    failed = scenario_texts.gate(name, earlier.filename, earlier.bpmn_xml, dict(earlier.dmn_xml), forms, texts)
    if failed:
        raise ScenariosFailed(failed)
    bundle = Bundle(name=name, filename=earlier.filename, bpmn_xml=earlier.bpmn_xml, dmn_xml=dict(earlier.dmn_xml),
                    forms=dict(earlier.forms), scenarios=texts)
    definition = _store(bundle, deployed_by=user.username, comment=comment, restored_from=earlier.version)
    db.session.commit()
    return definition


def _store(bundle, **fields):
    """The next version; Conflict when another deploy took the same version number at the same moment."""
    try:
        return deploy_version(bundle, **fields)
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("Another deploy of %(name)s happened at the same moment: reload and try again.",
                         name=bundle.name)) from None


def compare(user, name, old_version, new_version):
    """The elements changed from version `old_version` to `new_version` of `name` (a list of diff.Change)."""
    from .diff import changes

    require_owner(user)
    old, new = version_of(name, old_version), version_of(name, new_version)
    return changes(old.bpmn_xml, new.bpmn_xml)
