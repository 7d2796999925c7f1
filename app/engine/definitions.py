"""Parse and deploy process definitions; parsed specs are cached once per deployed version.

Validation lives in app.engine.validation; `read_bundles` reads a folder and runs it.
"""
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import bindparam, func, select

from app.extensions import db
from app.fast_statements import FastStatement

from .models import ProcessDefinition

FORM_PROPERTY = "formJsonSchemaFilename"
EXPRESSION_PROPERTIES = ("assignee", "department", "due")  # user-task properties evaluated against task data
# ("due": the ISO time a task is due when no timer attached to it says, e.g. each supporter's own deadline)


class DeployError(Exception):
    """Deploy refused; `errors` lists validation Problems (file, process, element, field, message);
    `str()` of each is 'file:process:element: field: message'."""

    def __init__(self, errors):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class Bundle:
    """What one deployable version is made of: a BPMN file, the decision tables and the forms it uses.

    `scenarios` (scenario file name -> text, or None) are the tests the version passed; they are stored with it but
    are not part of its content: a changed scenario alone is no new version."""

    name: str
    filename: str
    bpmn_xml: str
    dmn_xml: dict = field(default_factory=dict)
    forms: dict = field(default_factory=dict)
    scenarios: dict | None = None

    @property
    def content_hash(self):
        digest = hashlib.sha256(self.bpmn_xml.encode())
        for name in sorted(self.dmn_xml):
            digest.update(name.encode() + b"\0" + self.dmn_xml[name].encode())
        for name in sorted(self.forms):
            digest.update(name.encode() + b"\0" + json.dumps(self.forms[name], sort_keys=True).encode())
        return digest.hexdigest()


def _parser(validate):
    return SpiffBpmnParser(validator=VALIDATOR if validate else None)


def parse_specs(bpmn_xml, dmn_xml, *, filename="", validate=False):
    """Return (process name, spec, subprocess specs) parsed from the XML texts."""
    parser = _parser(validate)
    for dmn_name, text in dmn_xml.items():
        parser.add_dmn_str(text.encode(), filename=dmn_name)
    parser.add_bpmn_str(bpmn_xml.encode(), filename=filename)
    name = _executable_process(parser, filename)
    spec = parser.get_spec(name)
    _prepare_triggers(spec)
    return name, spec, parser.get_subprocess_specs(name)


def _prepare_triggers(spec):
    """Link each event subprocess that a message starts the way SpiffWorkflow links it when its message first
    arrives (BpmnStartTask.trigger_wf: from the start, to the end), except that the start does not list it among
    its outputs: new instances do not start it, and the first message no longer changes the shared spec (which
    would give later instances of the version, in this process only, another shape)."""
    start = spec.start
    for name in getattr(start, "trigger_specs", ()):
        task_spec = spec.task_specs.get(name)
        if task_spec is None or start.name in task_spec._inputs:
            continue
        task_spec._inputs.append(start.name)  # trigger_wf then sees it linked and leaves the spec alone
        task_spec.connect(start._wf_spec.end)


def _executable_process(parser, filename):
    executable = [pid for pid in parser.get_process_ids() if parser.get_process_parser(pid).process_executable]
    if not executable:
        raise ValidationException("no executable process in the file", file_name=filename)
    return executable[0]


# ---------------------------------------------------------------- reading a deploy batch

def message_form(name, event_spec=None):
    """The form file that describes (and validates) the payload of message `name`: the one the catching event
    names (its formJsonSchemaFilename property, e.g. a per-process form listing that process's priorities), else
    `<name>.json`."""
    properties = ((getattr(event_spec, "extensions", None) or {}).get("properties") or {}) if event_spec else {}
    return properties.get(FORM_PROPERTY) or f"{name}.json"


def read_bundles(workflows_dir, forms_dir, rules, *, deployed=None, replace_file=False):
    """Read workflows/*.bpmn, *.dmn and forms/*.json and validate them as one batch.

    `rules` is a validation.Rules (or a set of known roles, for the rest defaults). Returns (bundles, problems):
    the bundles are empty whenever any file has a problem, so nothing of a broken batch deploys.
    """
    workflows_dir, forms_dir = Path(workflows_dir), Path(forms_dir)
    bpmn = {p.name: p.read_text(encoding="utf-8") for p in sorted(workflows_dir.glob("*.bpmn"))}
    dmn = {p.name: p.read_text(encoding="utf-8") for p in sorted(workflows_dir.glob("*.dmn"))}
    form_texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(forms_dir.glob("*.json"))}
    return check_texts(bpmn, dmn, form_texts, rules, deployed=deployed, replace_file=replace_file)


def check_texts(bpmn, dmn, form_texts, rules, *, deployed=None, replace_file=False):
    """Validate a batch given as texts ({file name: text} each): what `read_bundles` does after reading a folder,
    and what the studio does with a diagram edited in the browser. Returns (bundles, problems) like read_bundles."""
    from .validation import Rules, validate_batch

    if not isinstance(rules, Rules):
        rules = Rules(roles=frozenset(rules))
    checked, problems = validate_batch(bpmn, dmn, form_texts, rules, deployed=deployed, replace_file=replace_file)
    bundles = [
        Bundle(name=item.process, filename=item.filename, bpmn_xml=item.bpmn_xml, dmn_xml=dmn,
               forms={f: json.loads(form_texts[f]) for f in item.forms})
        for item in checked
    ]
    return bundles, problems


_DEPLOYED_FILES = (
    select(ProcessDefinition.name, ProcessDefinition.filename, ProcessDefinition.version)
    .order_by(ProcessDefinition.name, ProcessDefinition.version)
)


def deployed_files():
    """Process id -> the file its newest deployed version came from."""
    return {row.name: row.filename for row in db.session.execute(_DEPLOYED_FILES)}


# ---------------------------------------------------------------- deploy and cache

def deploy_bundles(bundles, *, deployed_by=None):
    """Store each bundle whose content changed as the next version; return [(definition, created)].

    A bundle whose content is already deployed (as any version, so a file that the studio has since edited and
    deployed anew does not come back on the next start) creates nothing; its row takes the bundle's file name (a deploy
    with the replace-file option may have moved the process to another file).
    """
    results = []
    for bundle in bundles:
        digest = bundle.content_hash
        existing = db.session.scalar(
            select(ProcessDefinition)
            .where(ProcessDefinition.name == bundle.name, ProcessDefinition.content_hash == digest)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        if existing is not None:
            existing.filename = bundle.filename  # differs only when the deploy moved the process to a new file
            if bundle.scenarios is not None and existing.scenarios != bundle.scenarios:
                existing.scenarios = bundle.scenarios  # the files' scenarios, just run against this content
            results.append((existing, False))
            continue
        results.append((deploy_version(bundle, deployed_by=deployed_by), True))
    return results


def passed_as_deployed(bundle):
    """Whether a deployed version of `bundle`'s process has its exact content and was stored with the same
    scenario texts: those scenarios already passed against this content when it was deployed."""
    stored = db.session.execute(
        select(ProcessDefinition.scenarios)
        .where(ProcessDefinition.name == bundle.name, ProcessDefinition.content_hash == bundle.content_hash)
    ).scalars().all()
    return any(scenarios == bundle.scenarios for scenarios in stored)


def deploy_version(bundle, *, deployed_by=None, comment=None, restored_from=None):
    """Store `bundle` as the next version of its process, even when an earlier version had the same content
    (a roll-back deploys an earlier version again, as the newest). Returns the new ProcessDefinition."""
    latest = db.session.scalar(
        select(func.max(ProcessDefinition.version)).where(ProcessDefinition.name == bundle.name)
    )
    definition = ProcessDefinition(
        name=bundle.name,
        version=(latest or 0) + 1,
        content_hash=bundle.content_hash,
        filename=bundle.filename,
        bpmn_xml=bundle.bpmn_xml,
        dmn_xml=bundle.dmn_xml,
        forms=bundle.forms,
        deployed_by=deployed_by,
        comment=comment,
        restored_from=restored_from,
        scenarios=bundle.scenarios,
    )
    db.session.add(definition)
    db.session.flush()
    return definition


_LATEST = FastStatement(
    select(ProcessDefinition.id)
    .where(ProcessDefinition.name == bindparam("name"))
    .order_by(ProcessDefinition.version.desc())
    .limit(1)
)


def latest_definition_id(name):
    """Return the id of the newest deployed version of process `name`, or None (one indexed lookup)."""
    return _LATEST.scalar({"name": name})


class SpecCache:
    """Parsed specs per definition content hash: parsing happens once per version per process.

    `prepare(spec, subprocess_specs)`, when given, runs once on each version's freshly parsed specs.
    """

    def __init__(self, prepare=None):
        self._specs = {}
        self._prepare = prepare

    def get(self, definition):
        """Return (spec, subprocess_specs) of a ProcessDefinition row."""
        cached = self._specs.get(definition.content_hash)
        if cached is None:
            _name, spec, subprocess_specs = parse_specs(
                definition.bpmn_xml, definition.dmn_xml, filename=definition.filename
            )
            if self._prepare is not None:
                self._prepare(spec, subprocess_specs)
            cached = self._specs[definition.content_hash] = (spec, subprocess_specs)
        return cached

    def clear(self):
        self._specs.clear()
