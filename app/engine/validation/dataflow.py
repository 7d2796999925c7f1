"""Which process variables can exist when an element runs: what the elements upstream of it provide.

Upstream means every element from which a path of sequence flows (or an attachment, for a boundary event)
leads to it, in its scope and, for elements of a subprocess, upstream of the subprocess too. A subprocess
provides what its elements provide. The check is lenient by design: a name counts as provided when any
upstream element may set it, even if only on some paths.
"""
from .code import assigned_names, parse
from .model import NS, catches, extension_properties, message_definition, scripts_of, text_of

FORM_PROPERTY = "formJsonSchemaFilename"
OPAQUE = None  # what an element provides when it cannot be known (call activity, service task, ...)
_OPAQUE_TAGS = {"callActivity", "serviceTask"}  # their results are not described in the diagram


class DataFlow:
    """Answers `provided_before(node)` for one diagram; `forms` maps form file -> schema dict,
    `decisions` DMN decision id -> output names, `completion` the names every completed user task adds."""

    def __init__(self, diagram, forms, decisions, completion):
        self.diagram, self.forms, self.decisions, self.completion = diagram, forms, decisions, set(completion)
        self._provides = {}
        self._upstream = {}

    def provides(self, node):
        """Names `node` sets when it runs, or OPAQUE."""
        if node.id not in self._provides:
            self._provides[node.id] = self._compute_provides(node)
        return self._provides[node.id]

    def _compute_provides(self, node):
        names = set()
        if node.element.find("bpmn:multiInstanceLoopCharacteristics", NS) is not None:
            return OPAQUE  # loop items and collected outputs: not modelled
        for _field, source in scripts_of(node):
            tree = parse(source, "exec")
            if tree is None:
                return OPAQUE  # a script that does not compile is reported on its own
            names |= assigned_names(tree)
        if node.tag == "userTask":
            schema = self.forms.get(extension_properties(node.element).get(FORM_PROPERTY))
            if not isinstance(schema, dict):
                return OPAQUE  # a missing or unreadable form is reported on its own; do not guess its fields
            if isinstance(schema.get("properties"), dict):
                names |= set(schema["properties"])
            names |= self.completion
        elif node.tag == "businessRuleTask":
            decision = text_of(node.element.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS))
            if decision.strip() not in self.decisions:
                return OPAQUE  # an unknown decision is reported on its own
            names |= self.decisions[decision.strip()]
        elif node.inner is not None:
            for inner in node.inner.nodes.values():
                inner_names = self.provides(inner)
                if inner_names is OPAQUE:
                    return OPAQUE
                names |= inner_names
        elif node.tag in _OPAQUE_TAGS:
            return OPAQUE
        if catches(node):
            names |= message_variables(node)
        return names

    def provided_before(self, node):
        """Names some upstream element provides (not `node` itself unless a loop leads back to it), or OPAQUE."""
        names = set()
        for upstream in self.upstream(node):
            provided = self.provides(upstream)
            if provided is OPAQUE:
                return OPAQUE
            names |= provided
        return names

    def upstream(self, node):
        """Every element from which `node` can be reached."""
        if node.id in self._upstream:
            return self._upstream[node.id]
        self._upstream[node.id] = set()  # a guard while computing (a subprocess inside a loop)
        scope = node.scope
        preds = {}
        for flow in scope.flows:
            preds.setdefault(flow.target, []).append(flow.source)
        for throw, catch in scope.links():
            preds.setdefault(catch, []).append(throw)
        for other in scope.nodes.values():
            if other.tag == "boundaryEvent":
                preds.setdefault(other.id, []).append(other.element.get("attachedToRef"))
        seen, todo = set(), [node.id]
        while todo:
            for prev in preds.get(todo.pop(), ()):
                if prev in scope.nodes and prev not in seen:
                    seen.add(prev)
                    todo.append(prev)
        found = {scope.nodes[n] for n in seen}
        parent = scope.parent
        if parent is not None:
            found |= self.upstream(parent)
            if parent.is_event_subprocess:  # it can start whenever its parent scope runs
                found |= set(parent.scope.nodes.values()) - {parent}
        self._upstream[node.id] = found
        return found


def loop_items(node):
    """The names a multi-instance element gives each instance (bpmn:inputDataItem, bpmn:outputDataItem)."""
    loop = node.element.find("bpmn:multiInstanceLoopCharacteristics", NS)
    if loop is None:
        return set()
    items = [loop.find(f"bpmn:{tag}", NS) for tag in ("inputDataItem", "outputDataItem")]
    return {(item.get("name") or item.get("id") or "").strip() for item in items if item is not None} - {""}


def message_variables(node):
    """The variable a catching message event stores its payload in (spiffworkflow:messageVariable)."""
    definition = message_definition(node)
    if definition is None:
        return set()
    variable = definition.find("bpmn:extensionElements/spiffworkflow:messageVariable", NS)
    return {text_of(variable).strip()} if variable is not None and text_of(variable).strip() else set()


def decision_outputs(dmn_roots):
    """DMN decision id -> the top-level names its outputs write (a business rule task merges them into data)."""
    outputs = {}
    for root in dmn_roots:
        for decision in root.iter("{*}decision"):
            names = {(o.get("name") or "").split(".")[0] for o in decision.iter("{*}output")}
            outputs[decision.get("id")] = {n for n in names if n}
    return outputs
