"""The one deploy validation: a batch of BPMN files with the decision tables and forms they use.

`validate_batch` is what `flask deploy`, deploy on start and the studio call. It returns every problem of every
file; a caller deploys nothing of the batch when the list is not empty.
"""
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from ..definitions import EXPRESSION_PROPERTIES, FORM_PROPERTY, message_form, parse_specs
from . import code
from .dataflow import OPAQUE, DataFlow, decision_outputs, loop_items
from .forms import check_schema, read_form
from .graph import graph_problems
from .model import (
    BPMN_NS, NS, catches, extension_properties, message_definition, parse_xml, read_diagram, scripts_of, text_of,
)
from .problems import Problem
from .timers import check_timer_expression, timer_definitions, timer_specification


def _utc_now():
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Rules:
    """What the application offers diagrams, given by the deploy caller.

    roles: lane names (roles) that may work user tasks; capabilities: the helper names scripts call (a script
    may not assign them); start_data: the variables every instance starts with; completion_data: the variables
    every completed user task adds; ref_kinds: the `x-ref` kinds forms may use (None: not checked);
    clock: returns the current aware datetime (a fixed timer date must lie after it).
    """

    roles: frozenset
    capabilities: frozenset = frozenset()
    start_data: frozenset = frozenset()
    completion_data: frozenset = frozenset()
    ref_kinds: frozenset = None
    clock: object = _utc_now


@dataclass
class Checked:
    """A BPMN file that passed: its main process id and the forms it uses (what its bundle is made of)."""

    filename: str
    process: str
    bpmn_xml: str
    forms: list = field(default_factory=list)


def validate_batch(bpmn_files, dmn_files, form_files, rules, *, deployed=None, replace_file=False,
                   workflows_label="workflows", forms_label="forms"):
    """Validate a deploy batch; return (checked files, problems).

    bpmn_files, dmn_files and form_files map file names to their text. `deployed` maps the process ids already
    deployed to the file name they came from: a file may not take over another file's process unless
    `replace_file` is set. Problems name the file (prefixed by the labels), process, element and field.
    """
    forms, form_problems = _read_forms(form_files, rules, forms_label)
    dmn_roots, problems = [], []
    for name, text in sorted(dmn_files.items()):
        try:
            dmn_roots.append(parse_xml(text))
        except etree.XMLSyntaxError as exc:
            problems.append(Problem(f"{workflows_label}/{name}", field=f"line {exc.lineno}",
                                    message=f"XML error: {exc.msg}"))
    decisions = decision_outputs(dmn_roots)
    checked, used_forms, claims = [], set(), {}
    for name, text in sorted(bpmn_files.items()):
        file_check = _FileCheck(f"{workflows_label}/{name}", name, text, dmn_files, forms, form_problems, decisions,
                                rules)
        file_check.dmn_broken = len(dmn_roots) < len(dmn_files)
        result = file_check.run()
        problems += file_check.problems
        used_forms |= file_check.used_forms
        for process_id in file_check.process_ids:
            claims.setdefault(process_id, []).append(file_check.label)
        if result is not None:
            checked.append(result)
    problems += _identity_problems(claims, checked, deployed or {}, replace_file, workflows_label)
    for form, found in sorted(form_problems.items()):
        if form not in used_forms:
            problems += [Problem(f"{forms_label}/{form}", field=path, message=message) for path, message in found]
    return ([] if problems else checked), problems


def _read_forms(form_files, rules, label):
    forms, problems = {}, {}
    for name, text in sorted(form_files.items()):
        schema, found = read_form(text)
        if not found:
            found = check_schema(schema, rules.ref_kinds, rules.roles)
        if not found and isinstance(schema, dict):
            found = [
                (f"properties.{p}", f"property {p!r} is the name of a capability: a value stored under it would be "
                                    "hidden from scripts; choose another name")
                for p in sorted(set((schema.get("properties") or {})) & set(rules.capabilities))
            ]
        forms[name] = schema
        if found:
            problems[name] = found
    return forms, problems


def _identity_problems(claims, checked, deployed, replace_file, label):
    problems = []
    for process_id, files in sorted(claims.items()):
        if len(files) > 1:
            for file in files:
                others = ", ".join(f for f in files if f != file)
                problems.append(Problem(file, process_id, process_id, "id",
                                        f"process id {process_id!r} is also used by {others}: "
                                        "a process id belongs to one file"))
    for item in checked:
        owner = deployed.get(item.process)
        if owner and owner != item.filename and not replace_file:
            problems.append(Problem(
                f"{label}/{item.filename}", item.process, item.process, "id",
                f"process {item.process!r} is deployed from {label}/{owner}: a process keeps its file "
                f"(to move it to this file on purpose, deploy with --replace-file)"))
    return problems


class _FileCheck:
    """Every check of one BPMN file; collects Problems and what the file uses."""

    def __init__(self, label, filename, text, dmn_files, forms, form_problems, decisions, rules):
        self.label, self.filename, self.text = label, filename, text
        self.dmn_files, self.forms, self.form_problems = dmn_files, forms, form_problems
        self.decisions, self.rules = decisions, rules
        self.dmn_broken = False  # set when a decision table is not even XML (reported on its own file)
        self.problems, self.used_forms, self.process_ids = [], set(), []
        self.now = rules.clock()

    def add(self, process, element, field_name, message):
        self.problems.append(Problem(self.label, process, element, field_name, message))

    def run(self):
        try:
            root = parse_xml(self.text)
        except etree.XMLSyntaxError as exc:
            self.problems.append(Problem(self.label, field=f"line {exc.lineno}", message=f"XML error: {exc.msg}"))
            return None
        if root.getroottree().docinfo.doctype:
            self.add("", "", "DOCTYPE", "a BPMN file may not declare a DOCTYPE (entities are not allowed)")
            return None
        if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
            self.add("", "", "", "not a BPMN file: the root element must be bpmn:definitions")
            return None
        self.diagram = read_diagram(root)
        self.process_ids = [scope.id for scope in self.diagram.processes]
        if not self.diagram.processes:
            self.add("", "", "", "the file has no process")
            return None
        self.dataflow = DataFlow(self.diagram, self.forms, self.decisions, self.rules.completion_data)
        self.data_objects = {d.get("id") for d in root.iter(f"{{{BPMN_NS}}}dataObject")} | {
            d.get("name") for d in root.iter(f"{{{BPMN_NS}}}dataObject") if d.get("name")}
        for process in self.diagram.processes:
            if process.element.get("isExecutable", "true") != "true":
                self.add(process.id, process.id, "isExecutable",
                         f"process {process.id!r} is marked not executable: set isExecutable=\"true\" to deploy it")
        for scope in self.diagram.scopes:
            for element, field_name, message in graph_problems(scope):
                self.add(scope.process, element, field_name, message)
            for node in scope.nodes.values():
                self._check_node(node)
            for flow in scope.flows:
                self._check_condition(scope, flow)
        if self.problems or self.dmn_broken:
            return None  # the parser would only fail on the same faults, less clearly
        return self._parse()

    # ------------------------------------------------------------ elements

    def _check_node(self, node):
        process = node.scope.process
        for definition in timer_definitions(node):
            self._check_timer(node, definition)
        if node.tag == "userTask":
            self._check_user_task(node)
        elif extension_properties(node.element).get(FORM_PROPERTY):
            # any other task may name a form it works with (e.g. a survey sent to a customer): it is checked and
            # deployed with the process like a user task's
            self._check_form(node, FORM_PROPERTY, extension_properties(node.element)[FORM_PROPERTY])
        if catches(node) and message_definition(node) is not None:
            self._check_message(node)
        for field_name, source in scripts_of(node):
            self._check_script(node, field_name, source)
        if node.tag == "businessRuleTask":
            decision = text_of(node.element.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)).strip()
            if not decision:
                self.add(process, node.id, "calledDecisionId", "business rule task names no decision")
            elif decision not in self.decisions and not self.dmn_broken:
                self.add(process, node.id, "calledDecisionId",
                         f"decision {decision!r} is in none of the decision tables (workflows/*.dmn)")

    def _check_timer(self, node, definition):
        kind, expression = timer_specification(definition)
        timer = f"timer {definition.get('id') or node.id!r}"
        if kind is None:
            self.add(node.scope.process, node.id, "timerEventDefinition",
                     f"{timer} has no timeDate, timeDuration or timeCycle")
            return
        problem = check_timer_expression(kind, expression, self.now)
        if problem:
            self.add(node.scope.process, node.id, kind, f"{timer}: {problem}")
            return
        self._check_reads(node, kind, expression, "eval", f"{timer}: the expression")

    def _check_user_task(self, node):
        process = node.scope.process
        properties = extension_properties(node.element)
        for name in EXPRESSION_PROPERTIES:
            if properties.get(name):
                self._check_expression(node, f"property '{name}'", properties[name], f"property '{name}'")
        form = properties.get(FORM_PROPERTY)
        if not form:
            self.add(process, node.id, FORM_PROPERTY, f"user task has no '{FORM_PROPERTY}' property")
        else:
            self._check_form(node, FORM_PROPERTY, form)

    def _check_form(self, node, field_name, form):
        process = node.scope.process
        if form not in self.forms:
            self.add(process, node.id, field_name, f"form '{form}' does not exist in forms/")
            return
        self.used_forms.add(form)
        for path, message in self.form_problems.get(form, ()):
            self.add(process, node.id, path or field_name, f"form '{form}': {message}")

    def _check_message(self, node):
        definition = message_definition(node)
        ref = definition.get("messageRef", "")
        name = self.diagram.messages.get(ref)
        if name is None:
            self.add(node.scope.process, node.id, "messageRef",
                     f"message {ref!r} is not declared in the file (bpmn:message)")
            return
        if node.tag != "userTask" and not extension_properties(node.element).get(FORM_PROPERTY):
            # an event that names its own form (formJsonSchemaFilename, checked with the node) uses that one
            self._check_form(node, "messageRef", message_form(name))

    def _check_script(self, node, field_name, source):
        process = node.scope.process
        problem = code.compile_problem(source, "exec", field_name)
        if problem:
            self.add(process, node.id, field_name, problem)
            return
        tree = code.parse(source, "exec")
        for name in code.shadowed_capabilities(tree, self.rules.capabilities):
            self.add(process, node.id, field_name,
                     f"{field_name} assigns {name!r}, the name of a capability: the value would be silently "
                     "dropped; choose another name")
        own = set()
        for _field, other in scripts_of(node):
            other_tree = code.parse(other, "exec")
            if other_tree is not None:
                own |= code.assigned_names(other_tree)
        self._report_unprovided(node, field_name, field_name, code.free_names(tree) - own)

    def _check_expression(self, node, field_name, source, what):
        problem = code.compile_problem(source.strip(), "eval", what)
        if problem:
            self.add(node.scope.process, node.id, field_name, problem)
            return
        self._check_reads(node, field_name, source, "eval", what)

    def _check_condition(self, scope, flow):
        if flow.condition is None:
            return
        source = text_of(flow.condition).strip()
        gateway = f"condition of the flow from {flow.source!r}"
        if not source:
            self.add(scope.process, flow.id, "conditionExpression", f"{gateway} is empty")
            return
        problem = code.compile_problem(source, "eval", gateway)
        if problem:
            self.add(scope.process, flow.id, "conditionExpression", problem)
            return
        source_node = scope.nodes.get(flow.source)
        if source_node is not None:
            self._check_reads(source_node, "conditionExpression", source, "eval", gateway, element=flow.id,
                              include_self=True)

    def _check_reads(self, node, field_name, source, mode, what, *, element=None, include_self=False):
        tree = code.parse(source, mode)
        if tree is not None:
            self._report_unprovided(node, field_name, what, code.free_names(tree), element=element,
                                    include_self=include_self)

    def _report_unprovided(self, node, field_name, what, names, *, element=None, include_self=False):
        names = set(names) - self.rules.start_data - self.rules.capabilities - self.data_objects
        if not names:
            return
        provided = self.dataflow.provided_before(node)
        if provided is OPAQUE:
            return
        provided = provided | loop_items(node)  # a multi-instance task's own item (its properties read it)
        if include_self:
            own = self.dataflow.provides(node)
            if own is OPAQUE:
                return
            provided = provided | own
        for name in sorted(names - provided):
            self.add(node.scope.process, element or node.id, field_name,
                     f"{what} reads {name!r}, which no earlier form, start data, decision, message or script provides")

    # ------------------------------------------------------------ SpiffWorkflow's own parse

    def _parse(self):
        try:
            name, spec, subprocess_specs = parse_specs(self.text, self.dmn_files, filename=self.label, validate=True)
        except ValidationException as exc:
            element = exc.id or exc.name or ""
            where = "" if element else (f"line {exc.line_number}" if exc.line_number else "")
            self.add(self.diagram.process_of(element), element, where, _message(exc))
            return None
        except SpiffWorkflowException as exc:
            self.add("", "", "", _message(exc))
            return None
        for ts in [t for s in [spec, *subprocess_specs.values()] for t in s.task_specs.values()]:
            self._check_lane(ts)
        if self.problems:
            return None
        return Checked(self.filename, name, self.text, sorted(self.used_forms))

    def _check_lane(self, ts):
        element = getattr(ts, "bpmn_id", None) or ts.name
        process = self.diagram.process_of(element)
        lane = getattr(ts, "lane", None)
        if lane is not None and lane not in self.rules.roles:
            self.add(process, element, "lane",
                     f"lane '{lane}' is not a known role ({', '.join(sorted(self.rules.roles))})")
        if ts.manual and lane is None:
            self.add(process, element, "lane", "user task must sit in a lane naming the role that works it")


def _message(exc):
    return str(exc.args[0] if exc.args else exc).strip()
