"""Open a .bpmn file made elsewhere: the desktop Camunda Modeler (Camunda 7), spiff-arena's editor, or any editor.

The engine reads SpiffWorkflow's spiff extensions (spiffworkflow:properties with formJsonSchemaFilename, assignee,
department, due; spiffworkflow:calledDecisionId; bpmn:script; lanes named by role; Python conditions).
`convert` returns the file in that format with what it found:

- spiff-arena's files already use it. Pre/post scripts run; `instructionsForEndUser`, `unitTests` and the
  `formUiSchemaFilename` property stay in the file but this desk does not use them (a note each); a service task
  calling a spiff-arena connector (`serviceTaskOperator`) cannot run here (a problem).
- Camunda's extensions are rewritten: formKey "x.json" (also "embedded:app:forms/x.json") -> the form property,
  decisionRef -> calledDecisionId, assignee and dueDate -> the assignee and due properties, candidateGroups naming
  a role -> the task's lane (added to the process's lanes when none is named so), camunda:properties -> spiff
  properties, camunda:inputOutput and Python script listeners -> pre/post scripts, JUEL `${…}` in conditions,
  timers and values -> Python, bare ISO timer values quoted. Metadata the engine needs not (history time to live,
  async flags, version tag…) is dropped; anything the engine cannot run (Java classes, expressions and delegate
  expressions, external tasks, connectors, scripts in another language than Python, JUEL that does not convert)
  is a problem naming its element, never dropped silently.

Problems refuse the opening (nothing is saved); notes are shown and the draft is saved. The deploy validation
then reports what is left (a form missing, a lane not a role…) on its element in the modeler.
"""
from dataclasses import dataclass, field

from lxml import etree

from app.engine.validation.model import BPMN_NS, NS, SPIFF_NS, parse_xml
from app.engine.validation.problems import Problem
from app.i18n import _

from . import juel

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
PYTHON_SCRIPTS = {"python", "python3", "jython", "text/x-python"}
# camunda attributes the engine has no use for: dropped without a note
_METADATA = {"historyTimeToLive", "versionTag", "isStartableInTasklist", "asyncBefore", "asyncAfter", "exclusive",
             "jobPriority", "taskPriority", "candidateStarterGroups", "candidateStarterUsers", "decisionRefBinding",
             "decisionRefVersion", "decisionRefVersionTag", "decisionRefTenantId", "calledElementBinding",
             "calledElementVersion", "calledElementVersionTag", "calledElementTenantId", "failedJobRetryTimeCycle",
             "formRefBinding", "formRefVersion"}
_NOT_RUN = {"class", "expression", "delegateExpression", "type", "topic"}  # Java and external implementations
_IGNORED_SPIFF = {"instructionsForEndUser", "unitTests"}


@dataclass
class Conversion:
    """What `convert` made of a file: the XML the engine reads, the editor it came from ("camunda",
    "spiffworkflow" or "bpmn"), notes (Problems that did not stop it) and problems (it cannot be opened)."""

    xml: str
    source: str
    notes: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def convert(text, roles=frozenset(), label="file"):
    """Convert `text` (a BPMN file) to the engine's extension format; `roles` are the lane names that may work
    user tasks. Raises etree.XMLSyntaxError when it is not XML."""
    root = parse_xml(text)
    camunda = _uses(root, CAMUNDA_NS)  # not the exporter attribute: spiff-arena's templates say "Camunda Modeler"
    source = "camunda" if camunda else "spiffworkflow" if _uses(root, SPIFF_NS) else "bpmn"
    work = _Work(label, roles)
    if camunda:
        root = _with_spiff_namespace(root)
        work.camunda(root)
    work.general(root)
    if not work.changed:
        return Conversion(text, source, work.notes, work.problems)
    etree.cleanup_namespaces(root)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
    return Conversion(xml, source, work.notes, work.problems)


def _uses(root, namespace):
    if namespace in root.nsmap.values():
        return True
    return any(isinstance(e.tag, str) and (etree.QName(e).namespace == namespace
                                           or any(etree.QName(a).namespace == namespace for a in e.attrib))
               for e in root.iter())


def _with_spiff_namespace(root):
    """The root declaring the spiffworkflow prefix (so new elements are written as spiffworkflow:…)."""
    if root.nsmap.get("spiffworkflow") == SPIFF_NS:
        return root
    new = etree.Element(root.tag, attrib=dict(root.attrib), nsmap={**root.nsmap, "spiffworkflow": SPIFF_NS})
    new.text = root.text
    for child in list(root):
        new.append(child)
    return new


def _bpmn(tag):
    return f"{{{BPMN_NS}}}{tag}"


def _spiff(tag):
    return f"{{{SPIFF_NS}}}{tag}"


def _where(element):
    """(process id, element id) of an element: its own id or its nearest ancestor's."""
    node = element
    while node is not None and not (isinstance(node.tag, str) and node.get("id")
                                    and etree.QName(node).namespace == BPMN_NS):
        node = node.getparent()
    process = element
    while process is not None and process.tag != _bpmn("process"):
        process = process.getparent()
    return (process.get("id", "") if process is not None else ""), (node.get("id", "") if node is not None else "")


def extension_elements(element):
    """The element's bpmn:extensionElements, created (after its documentation) when it has none."""
    found = element.find("bpmn:extensionElements", NS)
    if found is None:
        found = etree.Element(_bpmn("extensionElements"))
        docs = element.findall("bpmn:documentation", NS)
        element.insert(element.index(docs[-1]) + 1 if docs else 0, found)
    return found


def set_property(element, name, value):
    """Set spiffworkflow:property `name` of the element to `value`."""
    holder = extension_elements(element).find("spiffworkflow:properties", NS)
    if holder is None:
        holder = etree.SubElement(extension_elements(element), _spiff("properties"))
    for prop in holder.findall("spiffworkflow:property", NS):
        if prop.get("name") == name:
            prop.set("value", value)
            return
    etree.SubElement(holder, _spiff("property"), name=name, value=value)


def add_script(element, kind, lines):
    """Append `lines` to the element's spiffworkflow:preScript or postScript."""
    script = extension_elements(element).find(f"spiffworkflow:{kind}", NS)
    if script is None:
        script = etree.SubElement(extension_elements(element), _spiff(kind))
    script.text = "\n".join(filter(None, [(script.text or "").rstrip(), *lines]))


class _Work:
    def __init__(self, label, roles):
        self.label, self.roles = label, frozenset(roles)
        self.notes, self.problems, self.changed = [], [], False

    def note(self, element, field_name, message):
        self.notes.append(Problem(self.label, *_where(element), field_name, message))

    def problem(self, element, field_name, message):
        self.problems.append(Problem(self.label, *_where(element), field_name, message))

    # ------------------------------------------------------------------------------------------ every file

    def general(self, root):
        for script in root.iter(_bpmn("scriptTask")):
            language = (script.get("scriptFormat") or "python").strip().lower()
            if language not in PYTHON_SCRIPTS:
                self.problem(script, "scriptFormat", _(
                    "The script is written in %(language)s: this desk runs Python scripts only.",
                    language=script.get("scriptFormat")))
        for condition in root.iter(_bpmn("conditionExpression")):
            language = (condition.get("language") or "python").strip().lower()
            if language not in PYTHON_SCRIPTS:
                self.problem(condition, "conditionExpression", _(
                    "The condition is written in %(language)s: write it as a Python expression.",
                    language=condition.get("language")))
        for element in root.iter(_spiff("serviceTaskOperator")):
            self.problem(element, "serviceTaskOperator", _(
                "The service task calls the spiff-arena connector %(operator)s: this desk runs no connectors; "
                "use a script task that calls a capability.", operator=element.get("id") or ""))
        for name in sorted(_IGNORED_SPIFF):
            for element in root.iter(_spiff(name)):
                self.note(element, name, _("%(what)s is kept in the file but not used by this desk.", what=name))
        for prop in root.iter(_spiff("property")):
            if prop.get("name") == "formUiSchemaFilename":
                self.note(prop, "formUiSchemaFilename",
                          _("%(what)s is kept in the file but not used by this desk.", what="formUiSchemaFilename"))

    # ------------------------------------------------------------------------------------------ Camunda 7

    def camunda(self, root):
        self.changed = True
        for element in [e for e in root.iter() if isinstance(e.tag, str)]:
            if etree.QName(element).namespace == CAMUNDA_NS:
                continue
            for attribute in [a for a in element.attrib if etree.QName(a).namespace == CAMUNDA_NS]:
                self._attribute(element, etree.QName(attribute).localname, element.attrib.pop(attribute))
        for extensions in list(root.iter(_bpmn("extensionElements"))):
            for child in [c for c in extensions if isinstance(c.tag, str)
                          and etree.QName(c).namespace == CAMUNDA_NS]:
                self._extension(extensions.getparent(), etree.QName(child).localname, child)
                extensions.remove(child)
            if not len(extensions):
                extensions.getparent().remove(extensions)
        for flow in root.iter(_bpmn("conditionExpression")):
            self._expression(flow, "conditionExpression", juel.to_python)
        for kind in ("timeDuration", "timeDate", "timeCycle"):
            for timer in root.iter(_bpmn(kind)):
                self._expression(timer, kind, juel.timer_to_python)

    def _expression(self, element, field_name, convert):
        text = element.text or ""
        if not juel.is_expression(text) and convert is juel.to_python:
            return
        converted = convert(text)
        if converted is None:
            self.problem(element, field_name, _("The expression %(expression)s cannot be converted to Python.",
                                                expression=text.strip()))
            return
        element.text = converted

    def _attribute(self, element, name, value):
        tag = etree.QName(element).localname
        if name in _METADATA:
            return
        if name in _NOT_RUN:
            self.problem(element, f"camunda:{name}", _(
                "The %(tag)s is implemented by camunda:%(name)s=%(value)s, which this desk cannot run: use a "
                "script task that calls a capability.", tag=tag, name=name, value=value))
        elif name == "formKey":
            self._form_key(element, value)
        elif name == "decisionRef":
            holder = extension_elements(element)
            etree.SubElement(holder, _spiff("calledDecisionId")).text = value
        elif name in ("assignee", "dueDate"):
            converted = juel.value_to_python(value)
            if name == "dueDate" and converted is not None and not juel.is_expression(value):
                converted = juel.timer_to_python(value)
            if converted is None:
                self.problem(element, f"camunda:{name}", _(
                    "The expression %(expression)s cannot be converted to Python.", expression=value))
            else:
                set_property(element, "assignee" if name == "assignee" else "due", converted)
        elif name == "candidateGroups":
            self._lane(element, value)
        elif name == "candidateUsers":
            self.note(element, "camunda:candidateUsers", _(
                "Candidate users %(users)s are not used: the task's lane (role) and assignee decide who works it.",
                users=value))
        elif name in ("resultVariable", "mapDecisionResult") and tag == "businessRuleTask":
            self.note(element, f"camunda:{name}", _(
                "The decision's outputs become variables by their own names (camunda:%(name)s=%(value)s is "
                "not used).", name=name, value=value))
        elif name in ("followUpDate", "priority", "initiator", "formRef"):
            self.note(element, f"camunda:{name}", _("camunda:%(name)s=%(value)s is not used by this desk.",
                                                    name=name, value=value))
        else:
            self.problem(element, f"camunda:{name}", _("camunda:%(name)s=%(value)s is not supported by this desk.",
                                                       name=name, value=value))

    def _form_key(self, element, value):
        base = value.replace(":", "/").rstrip("/").rsplit("/", 1)[-1]
        if etree.QName(element).localname == "userTask" and base.endswith(".json"):
            set_property(element, "formJsonSchemaFilename", base)
        else:
            self.note(element, "camunda:formKey", _(
                "The form %(form)s is not one of the JSON forms in forms/: choose a form in the studio.",
                form=value))

    def _lane(self, task, groups):
        names = [g.strip() for g in groups.split(",") if g.strip()]
        role = next((g for g in names if g in self.roles), None)
        process = task
        while process is not None and process.tag != _bpmn("process"):
            process = process.getparent()
        if process is None:
            return
        task_id = task.get("id")
        current = [ref.getparent() for ref in process.iter(_bpmn("flowNodeRef")) if (ref.text or "").strip() == task_id]
        if current:
            if role is not None and current[0].get("name") != role:
                self.note(task, "camunda:candidateGroups", _(
                    "The task stays in lane %(lane)s; its candidate groups were %(groups)s.",
                    lane=current[0].get("name") or current[0].get("id"), groups=groups))
            return
        if role is None:
            self.note(task, "camunda:candidateGroups", _(
                "The candidate groups %(groups)s name no role (%(roles)s): put the task into a lane named by "
                "its role.", groups=groups, roles=", ".join(sorted(self.roles))))
            return
        lane = next((lane for lane in process.iter(_bpmn("lane")) if lane.get("name") == role), None)
        if lane is None:
            lane_set = process.find("bpmn:laneSet", NS)
            if lane_set is None:
                lane_set = etree.Element(_bpmn("laneSet"), id=f"{process.get('id')}_lanes")
                heads = [c for c in process if isinstance(c.tag, str) and etree.QName(c).localname in (
                    "documentation", "extensionElements")]
                process.insert(process.index(heads[-1]) + 1 if heads else 0, lane_set)
            lane = etree.SubElement(lane_set, _bpmn("lane"), id=f"lane_{role}", name=role)
            self.note(task, "camunda:candidateGroups", _(
                "The task was put into a new lane %(role)s (its candidate group); the lane has no shape in the "
                "diagram yet.", role=role))
        etree.SubElement(lane, _bpmn("flowNodeRef")).text = task_id

    def _extension(self, owner, name, element):
        if name == "inputOutput":
            self._input_output(owner, element)
        elif name == "properties":
            for prop in element.findall(f"{{{CAMUNDA_NS}}}property"):
                if prop.get("name"):
                    set_property(owner, prop.get("name"), prop.get("value") or "")
        elif name in ("executionListener", "taskListener"):
            self._listener(owner, name, element)
        elif name in ("failedJobRetryTimeCycle",):
            return
        elif name == "formData":
            self.note(owner, "camunda:formData", _(
                "Form fields defined in the Camunda Modeler are not used: choose a JSON form in the studio."))
        elif name in ("in", "out"):
            self.note(owner, f"camunda:{name}", _(
                "Variable mappings of a call activity are not used: the called process sees all variables."))
        else:
            self.problem(owner, f"camunda:{name}", _("camunda:%(name)s is not supported by this desk.", name=name))

    def _input_output(self, owner, element):
        for kind, tag in (("preScript", "inputParameter"), ("postScript", "outputParameter")):
            lines = []
            for parameter in element.findall(f"{{{CAMUNDA_NS}}}{tag}"):
                name = parameter.get("name") or ""
                value = juel.value_to_python(parameter.text) if not len(parameter) else None
                if not name.isidentifier() or value is None:
                    self.problem(owner, f"camunda:{tag}", _(
                        "The parameter %(name)s cannot be converted to a Python assignment (only text and simple "
                        "${…} expressions are).", name=name))
                    continue
                lines.append(f"{name} = {value}")
            if lines:
                add_script(owner, kind, lines)

    def _listener(self, owner, name, element):
        event = element.get("event") or ""
        script = element.find(f"{{{CAMUNDA_NS}}}script")
        kind = {"start": "preScript", "create": "preScript", "end": "postScript", "complete": "postScript"}.get(event)
        language = (script.get("scriptFormat") or "").strip().lower() if script is not None else ""
        if kind is None or script is None or language not in PYTHON_SCRIPTS or script.get("resource"):
            self.problem(owner, f"camunda:{name}", _(
                "The %(event)s listener cannot run here: only inline Python scripts on start or end are converted "
                "(to a pre- or post-script).", event=event))
            return
        add_script(owner, kind, [(script.text or "").strip()])
