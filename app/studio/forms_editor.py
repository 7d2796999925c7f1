"""The studio's form editor, one function per use case: list the forms, open one, save or discard a draft, preview
it as users will see it, validate it and deploy it.

A form is part of the bundle of every process that shows it (`Bundle.forms`), so deploying a form deploys a new
version of each process whose newest version uses it: that version's diagram and decision tables with the
draft in place of the form, checked first by the deploy validation (`check_texts`, what `flask deploy` runs).
A problem anywhere refuses the whole deploy; nothing is deployed and the draft stays.

What the editor opens ("the current form"): the draft when one is saved, else the form as the newest versions
deploy it (the one deployed last, when processes differ), else the file in forms/. A studio diagram deploy takes
the same forms (`current_form_texts`), so it never brings back an older form the studio has replaced.
"""
import json
import re
from pathlib import Path

from flask import current_app
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from app.clock import now
from app.database import deploy_rules
from app.engine import ProcessDefinition, check_texts, deployed_files
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.i18n import _, schema_title

from .form_models import StudioFormDraft
from . import scenario_texts
from .models import StudioDraft
from .service import DeployRefused, ScenariosFailed, _clean_comment, _store, newest, require_owner

MAX_FORM_CHARS = 200_000
FORM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,150}\.json")
_defs = ProcessDefinition.__table__
_META = Draft202012Validator(Draft202012Validator.META_SCHEMA)

_NEWEST = select(_defs.c.name, func.max(_defs.c.version).label("version")).group_by(_defs.c.name).subquery()
_NEWEST_FORMS = (
    select(_defs.c.id, _defs.c.name, _defs.c.forms)
    .join(_NEWEST, (_NEWEST.c.name == _defs.c.name) & (_NEWEST.c.version == _defs.c.version))
    .order_by(_defs.c.id)
)


# ------------------------------------------------------------------------------------------------ reading

class FormDeployRefused(DeployRefused):
    """The form (or a process with it in place) has validation problems: nothing was deployed."""

    def __init__(self, problems):
        super().__init__(problems)
        self.message = _("The form has %(n)s problem(s): nothing was deployed.", n=len(problems))
        self.args = (self.message,)


def _deployed():
    """{form file: (schema, [process names])}: each form as the newest versions of the processes deploy it (the
    one deployed last wins when they differ) and the processes whose newest version shows it."""
    found = {}
    for row in db.session.execute(_NEWEST_FORMS):
        for filename, schema in (row.forms or {}).items():
            users = found.get(filename, (None, []))[1]
            found[filename] = (schema, sorted(users + [row.name]))
    return found


def _files():
    folder = Path(current_app.config["FORMS_DIR"])
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.json"))}


def current_form_texts():
    """{form file: text} a studio deploy takes: forms/ with each form the processes deploy in place of the file's
    (the file's own text when it says the same)."""
    texts = _files()
    for filename, (schema, _users) in _deployed().items():
        if filename in texts:
            try:
                if json.loads(texts[filename]) == schema:
                    continue
            except ValueError:
                pass
        texts[filename] = _dump(schema)
    return texts


def _dump(schema):
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def forms(user):
    """Every form, by file name: title (in the page's language), used_by (process names), draft_saved_by and
    draft_saved_at (None without a draft)."""
    require_owner(user)
    deployed = _deployed()
    drafts = {d.filename: d for d in db.session.scalars(select(StudioFormDraft))}
    rows = []
    for filename, text in sorted(current_form_texts().items()):
        try:
            schema = json.loads(text)
        except ValueError:
            schema = {}
        draft = drafts.get(filename)
        rows.append({
            "filename": filename,
            "title": schema_title(schema) if isinstance(schema, dict) else "",
            "used_by": deployed.get(filename, (None, []))[1],
            "draft_saved_by": draft.saved_by if draft else None,
            "draft_saved_at": draft.saved_at if draft else None,
        })
    return rows


def _known(filename):
    """The current text of form `filename` (NotFound when there is no such form)."""
    texts = current_form_texts()
    if not FORM_NAME.fullmatch(filename or "") or filename not in texts:
        raise NotFound(_("There is no form %(name)s.", name=filename))
    return texts[filename]


def open_form(user, filename):
    """What the editor opens: filename, text, source ("draft" or "deployed"), used_by, draft_saved_by/at."""
    require_owner(user)
    text = _known(filename)
    draft = db.session.get(StudioFormDraft, filename)
    used_by = _deployed().get(filename, (None, []))[1]
    if draft is not None:
        return {"filename": filename, "text": draft.text, "source": "draft", "used_by": used_by,
                "draft_saved_by": draft.saved_by, "draft_saved_at": draft.saved_at.isoformat()}
    return {"filename": filename, "text": text, "source": "deployed", "used_by": used_by}


# ------------------------------------------------------------------------------------------------ checking

def _clean_text(text):
    """The form text as typed, refused unless it is a JSON object (the field editor can open nothing else)."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed({"text": _("The form is empty.")})
    if len(text) > MAX_FORM_CHARS:
        raise ValidationFailed({"text": _("The form is longer than %(n)s characters.", n=MAX_FORM_CHARS)})
    if "\x00" in text:
        raise ValidationFailed({"text": _("The form contains a NUL character.")})
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed({"text": _("Not valid JSON: %(error)s (line %(line)s, column %(column)s).",
                                          error=exc.msg, line=exc.lineno, column=exc.colno)}) from None
    if not isinstance(schema, dict):
        raise ValidationFailed({"text": _("A form must be a JSON object.")})
    return text, schema


def _users(filename):
    """The newest ProcessDefinition of every process whose newest version shows form `filename`."""
    names = _deployed().get(filename, (None, []))[1]
    return [newest(name) for name in names]


def _check(filename, text):
    """(bundles, problems): the deploy validation of each process that shows the form, with `text` in its place
    (the process's other forms as its newest version deploys them); a form no process shows is checked alone."""
    rules = deploy_rules()
    definitions = _users(filename)
    if not definitions:
        return [], check_texts({}, {}, {filename: text}, rules)[1]
    bundles, problems = [], []
    deployed = deployed_files()
    for definition in definitions:
        form_texts = {f: json.dumps(s, ensure_ascii=False) for f, s in definition.forms.items()}
        form_texts[filename] = text
        found_bundles, found = check_texts({definition.filename: definition.bpmn_xml}, dict(definition.dmn_xml),
                                           form_texts, rules, deployed=deployed)
        bundles += found_bundles
        problems += [p for p in found if p not in problems]
    return ([] if problems else bundles), problems


def field_of(problem):
    """The form field a Problem concerns ("" for the form as a whole): its path starts `properties.<name>`."""
    parts = (problem.field or "").split(".")
    return parts[1] if len(parts) >= 2 and parts[0] == "properties" else ""


def field_errors(problems):
    """{field name or "": message} of the first problem per field (what the editor shows on each field)."""
    errors = {}
    for problem in problems:
        errors.setdefault(field_of(problem), problem.message)
    return errors


def validate(user, filename, text):
    """The deploy validation of `text` as form `filename`; returns the list of Problems (empty: it deploys)."""
    require_owner(user)
    _known(filename)
    text, _schema = _clean_text(text)
    return _check(filename, text)[1]


def preview(user, filename, text):
    """What users would see: (schema, errors) where schema is None when `text` is not a JSON Schema the task page
    can render, and errors maps field names ("" for the whole form) to the deploy validation's messages."""
    require_owner(user)
    _known(filename)
    text, schema = _clean_text(text)
    problems = _check(filename, text)[1]
    if not _META.is_valid(schema) or not isinstance(schema.get("properties", {}), dict):
        return None, field_errors(problems)
    return schema, field_errors(problems)


def sample_data(schema):
    """Task data for a preview: a readOnly field (shown from the task's data, never typed) shows a placeholder."""
    return {name: _("(from the task's data)") for name, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, dict) and prop.get("readOnly")}


# ------------------------------------------------------------------------------------------------ changing

def save_draft(user, filename, text):
    """Keep `text` as the draft of form `filename` (replacing the previous one). Nothing is deployed."""
    require_owner(user)
    _known(filename)
    text, _schema = _clean_text(text)
    draft = db.session.get(StudioFormDraft, filename)
    if draft is None:
        draft = StudioFormDraft(filename=filename)
        db.session.add(draft)
    draft.text, draft.saved_by, draft.saved_at = text, user.username, now()
    db.session.commit()
    return draft


def discard_draft(user, filename):
    """Drop the draft of form `filename`; the editor opens the deployed form again."""
    require_owner(user)
    _known(filename)
    draft = db.session.get(StudioFormDraft, filename)
    if draft is not None:
        db.session.delete(draft)
    db.session.commit()


def _run_scenarios(bundles):
    """Run each changed process's scenarios (its studio draft's when the owner edited them there, else its newest
    version's) against the bundle with the new form; ScenariosFailed names every failing one. The bundles keep the
    texts they passed with."""
    failed = []
    for bundle in bundles:
        draft = db.session.get(StudioDraft, bundle.name)
        texts = dict(draft.scenarios) if draft is not None and draft.scenarios is not None \
            else scenario_texts.of_version(newest(bundle.name))
        failed += scenario_texts.gate(bundle.name, bundle.filename, bundle.bpmn_xml, dict(bundle.dmn_xml),
                                      dict(bundle.forms), texts)
        bundle.scenarios = texts
    if failed:
        raise ScenariosFailed(failed)


def deploy(user, filename, comment):
    """Deploy the saved draft of form `filename`: a new version (author, time, comment) of every process whose
    newest version shows it, after the deploy validation of each; the draft is then gone. Returns the new
    ProcessDefinitions. DeployRefused when anything is wrong, ScenariosFailed when a process's scenarios fail with
    the new form (nothing deployed, the draft stays); Conflict when
    there is no draft, no process shows the form, or the draft changes nothing."""
    require_owner(user)
    comment = _clean_comment(comment)
    _known(filename)
    draft = db.session.get(StudioFormDraft, filename)
    if draft is None:
        raise Conflict(_("There is no saved draft of %(name)s to deploy.", name=filename))
    if not _users(filename):
        raise Conflict(_("No deployed process shows %(name)s: it deploys with the first diagram that uses it.",
                         name=filename))
    bundles, problems = _check(filename, draft.text)
    if problems:
        raise FormDeployRefused(problems)
    changed = [b for b in bundles if b.content_hash != newest(b.name).content_hash]
    if not changed:
        raise Conflict(_("The draft is the same as the deployed form: nothing to deploy."))
    _run_scenarios(changed)
    definitions = [_store(bundle, deployed_by=user.username, comment=comment) for bundle in changed]
    db.session.delete(draft)
    db.session.commit()
    return definitions
