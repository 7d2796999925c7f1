"""Parse, validate and deploy process definitions; parsed specs are cached once per deployed version."""
import ast
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import bindparam, func, select

from app.extensions import db
from app.fast_statements import FastStatement

from .models import ProcessDefinition
from .sandbox import SandboxLimitError, SandboxViolation, check_source

FORM_PROPERTY = "formJsonSchemaFilename"
EXPRESSION_PROPERTIES = ("assignee", "department")  # user-task properties evaluated against task data
_ISO_LIKE = re.compile(r"^(R\d*/)?(P(?!$)|\d{4}-\d{2}-\d{2})", re.ASCII)


class DeployError(Exception):
    """Deploy refused; `errors` lists 'file:element: message' strings."""

    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Bundle:
    """What one deployable version is made of: a BPMN file, the decision tables and the forms it uses."""

    name: str
    filename: str
    bpmn_xml: str
    dmn_xml: dict = field(default_factory=dict)
    forms: dict = field(default_factory=dict)

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
    return name, spec, parser.get_subprocess_specs(name)


def _executable_process(parser, filename):
    executable = [pid for pid in parser.get_process_ids() if parser.get_process_parser(pid).process_executable]
    if not executable:
        raise ValidationException("no executable process in the file", file_name=filename)
    return executable[0]


# ---------------------------------------------------------------- validation

def _all_task_specs(spec, subprocess_specs):
    for process in [spec, *subprocess_specs.values()]:
        yield from process.task_specs.values()


def _where(filename, task_spec):
    return f"{filename}:{getattr(task_spec, 'bpmn_id', None) or task_spec.name}"


def check_timer_expression(expression):
    """Return an error message for a timer expression that cannot evaluate to ISO 8601, else None."""
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as exc:
        return f"timer expression {expression!r} is not valid: {exc.msg}"
    if isinstance(node, ast.Name) and _ISO_LIKE.match(node.id):
        return f'timer expression {expression} must be quoted: write "{node.id}"'
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, str):
            return f"timer expression {expression!r} must be an ISO 8601 string"
        try:
            if node.value.startswith("R"):
                TimerEventDefinition.parse_iso_recurring_interval(node.value)
            else:
                TimerEventDefinition.parse_time_or_duration(node.value)
        except Exception:
            return f"timer expression {expression!r} is not a valid ISO 8601 date, duration or cycle"
    return None


def _check_code(source, mode, where, what):
    """Scripts and conditions must pass the sandbox's compiler, or they would fail only when they run."""
    try:
        check_source(source, mode)
    except SyntaxError as exc:
        return [f"{where}: {what} has a syntax error: {exc.msg}"]
    except (SandboxViolation, SandboxLimitError) as exc:
        return [f"{where}: {what} is refused by the sandbox: {exc}"]
    return []


def validate_specs(filename, spec, subprocess_specs, forms, known_roles):
    """Return a list of 'file:element: message' errors for the parsed specs."""
    errors = []
    for ts in _all_task_specs(spec, subprocess_specs):
        where = _where(filename, ts)
        lane = getattr(ts, "lane", None)
        if lane is not None and lane not in known_roles:
            errors.append(f"{where}: lane '{lane}' is not a known role ({', '.join(sorted(known_roles))})")
        if ts.manual:
            if lane is None:
                errors.append(f"{where}: user task must sit in a lane naming the role that works it")
            properties = (getattr(ts, "extensions", {}) or {}).get("properties", {})
            for name in EXPRESSION_PROPERTIES:
                if properties.get(name):
                    errors += _check_code(properties[name], "eval", where, f"property '{name}'")
            form = properties.get(FORM_PROPERTY)
            if not form:
                errors.append(f"{where}: user task has no '{FORM_PROPERTY}' property")
            elif form not in forms:
                errors.append(f"{where}: form '{form}' is missing from forms/")
        event = getattr(ts, "event_definition", None)
        if isinstance(event, MessageEventDefinition) and not ts.manual and _catches(ts):
            if message_form(event.name) not in forms:
                errors.append(f"{where}: message '{event.name}' needs its payload form {message_form(event.name)} in forms/")
        if isinstance(event, TimerEventDefinition):
            problem = check_timer_expression(event.expression)
            if problem:
                errors.append(f"{where}: {problem}")
        if getattr(ts, "script", None):
            errors += _check_code(ts.script, "exec", where, "script")
        for condition, _target in getattr(ts, "cond_task_specs", []) or []:
            source = (getattr(condition, "args", None) or [None])[0] if condition is not None else None
            if isinstance(source, str):
                errors += _check_code(source, "eval", where, f"condition {source!r}")
    return errors


def message_form(name):
    """The form file that describes (and validates) the payload of message `name`."""
    return f"{name}.json"


def _catches(task_spec):
    return isinstance(task_spec, CatchingEvent)


def load_form(path):
    """Return the JSON Schema in `path`; raise ValueError with a readable reason if it is not one."""
    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from exc
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"not a valid JSON Schema: {exc.message}") from exc
    return schema


def read_bundles(workflows_dir, forms_dir, known_roles):
    """Read and validate every workflows/*.bpmn; return (bundles, errors)."""
    workflows_dir, forms_dir = Path(workflows_dir), Path(forms_dir)
    errors, forms = [], {}
    for path in sorted(forms_dir.glob("*.json")):
        try:
            forms[path.name] = load_form(path)
        except ValueError as exc:
            errors.append(f"forms/{path.name}: {exc}")
    dmn_xml = {p.name: p.read_text(encoding="utf-8") for p in sorted(workflows_dir.glob("*.dmn"))}
    bundles = []
    for path in sorted(workflows_dir.glob("*.bpmn")):
        bundle, problems = _read_bundle(path, dmn_xml, forms, known_roles)
        errors += problems
        if bundle is not None:
            bundles.append(bundle)
    return bundles, errors


def _read_bundle(path, dmn_xml, forms, known_roles):
    filename = f"workflows/{path.name}"
    text = path.read_text(encoding="utf-8")
    try:
        etree.fromstring(text.encode())
        name, spec, subprocess_specs = parse_specs(text, dmn_xml, filename=filename, validate=True)
    except etree.XMLSyntaxError as exc:
        return None, [f"{filename}:line {exc.lineno}: XML error: {exc.msg}"]
    except ValidationException as exc:
        element = exc.id or exc.name or exc.tag or (f"line {exc.line_number}" if exc.line_number else "")
        return None, [f"{filename}:{element}: {_message(exc)}"]
    except SpiffWorkflowException as exc:
        return None, [f"{filename}: {_message(exc)}"]
    problems = validate_specs(filename, spec, subprocess_specs, forms, known_roles)
    if problems:
        return None, problems
    used_forms = {
        f: forms[f]
        for ts in _all_task_specs(spec, subprocess_specs)
        for f in _forms_used_by(ts)
    }
    return Bundle(name=name, filename=path.name, bpmn_xml=text, dmn_xml=dmn_xml, forms=used_forms), []


def _forms_used_by(task_spec):
    if task_spec.manual:
        return [task_spec.extensions["properties"][FORM_PROPERTY]]
    event = getattr(task_spec, "event_definition", None)
    if isinstance(event, MessageEventDefinition) and _catches(task_spec):
        return [message_form(event.name)]
    return []


def _message(exc):
    return str(exc.args[0] if exc.args else exc).strip()


# ---------------------------------------------------------------- deploy and cache

def deploy_bundles(bundles, *, deployed_by=None):
    """Store each bundle whose content changed as the next version; return [(definition, created)]."""
    results = []
    for bundle in bundles:
        digest = bundle.content_hash
        existing = db.session.scalar(
            select(ProcessDefinition).where(
                ProcessDefinition.name == bundle.name, ProcessDefinition.content_hash == digest
            )
        )
        if existing is not None:
            results.append((existing, False))
            continue
        latest = db.session.scalar(
            select(func.max(ProcessDefinition.version)).where(ProcessDefinition.name == bundle.name)
        )
        definition = ProcessDefinition(
            name=bundle.name,
            version=(latest or 0) + 1,
            content_hash=digest,
            filename=bundle.filename,
            bpmn_xml=bundle.bpmn_xml,
            dmn_xml=bundle.dmn_xml,
            forms=bundle.forms,
            deployed_by=deployed_by,
        )
        db.session.add(definition)
        db.session.flush()
        results.append((definition, True))
    return results


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
    """Parsed specs per definition content hash: parsing happens once per version per process."""

    def __init__(self):
        self._specs = {}

    def get(self, definition):
        """Return (spec, subprocess_specs) of a ProcessDefinition row."""
        cached = self._specs.get(definition.content_hash)
        if cached is None:
            _name, spec, subprocess_specs = parse_specs(
                definition.bpmn_xml, definition.dmn_xml, filename=definition.filename
            )
            cached = self._specs[definition.content_hash] = (spec, subprocess_specs)
        return cached

    def clear(self):
        self._specs.clear()
