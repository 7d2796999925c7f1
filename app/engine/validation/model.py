"""A light read of a BPMN file with lxml: processes, the scopes inside them, their flow nodes and flows.

Validation works on this model rather than on SpiffWorkflow's specs, so a broken diagram gets a clear
message before (or instead of) a parser exception, and every element keeps its process id.
"""
from dataclasses import dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

SCOPE_TAGS = {"subProcess", "transaction", "adHocSubProcess"}
ACTIVITY_TAGS = {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", *SCOPE_TAGS,
}
EVENT_TAGS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAY_TAGS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
FLOW_NODE_TAGS = ACTIVITY_TAGS | EVENT_TAGS | GATEWAY_TAGS


def parse_xml(text):
    """Parse XML text without entity expansion, DTDs or network access; raises etree.XMLSyntaxError."""
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    return etree.fromstring(text.encode(), parser)


def local(element):
    """The tag of an lxml element without its namespace."""
    return etree.QName(element).localname


def text_of(element):
    """The text of an element, "" when it has none."""
    return (element.text or "") if element is not None else ""


@dataclass(eq=False)
class Flow:
    id: str
    source: str
    target: str
    condition: object  # the conditionExpression element, or None
    element: object


@dataclass(eq=False)
class Node:
    id: str
    tag: str
    element: object
    scope: "Scope"
    inner: "Scope" = None  # the scope a subprocess node opens

    @property
    def is_event_subprocess(self):
        return self.inner is not None and self.element.get("triggeredByEvent") == "true"


@dataclass(eq=False)
class Scope:
    """A process or a subprocess: the nodes and sequence flows directly inside it."""

    id: str
    element: object
    process: str
    parent: Node = None
    nodes: dict = field(default_factory=dict)
    flows: list = field(default_factory=list)

    def outgoing(self, node_id):
        return [f for f in self.flows if f.source == node_id]

    def incoming(self, node_id):
        return [f for f in self.flows if f.target == node_id]

    def links(self):
        """(throw id, catch id) pairs of the link events of this scope, joined by their link name."""
        catches_by_name = {}
        for node in self.nodes.values():
            name = _link_name(node)
            if name is not None and node.tag == "intermediateCatchEvent":
                catches_by_name.setdefault(name, []).append(node.id)
        return [
            (node.id, target)
            for node in self.nodes.values()
            if node.tag == "intermediateThrowEvent" and _link_name(node) is not None
            for target in catches_by_name.get(_link_name(node), ())
        ]

    def attached(self, node_id):
        """Boundary events attached to activity `node_id`."""
        return [n for n in self.nodes.values() if n.tag == "boundaryEvent" and n.element.get("attachedToRef") == node_id]


@dataclass(eq=False)
class Diagram:
    """One BPMN file: its process scopes (top level first) and an index of every node by id."""

    root: object
    processes: list
    scopes: list
    nodes: dict
    messages: dict  # message id -> message name

    def process_of(self, element_id):
        node = self.nodes.get(element_id)
        return node.scope.process if node is not None else ""


def read_diagram(root):
    """Build the Diagram of a parsed <bpmn:definitions> element."""
    processes, scopes, nodes = [], [], {}
    for process in root.iterfind("bpmn:process", NS):
        scope = Scope(process.get("id", ""), process, process.get("id", ""))
        processes.append(scope)
        _fill(scope, scopes, nodes)
    messages = {m.get("id"): m.get("name") or m.get("id") for m in root.iterfind("bpmn:message", NS)}
    return Diagram(root, processes, scopes, nodes, messages)


def _fill(scope, scopes, nodes):
    scopes.append(scope)
    for child in scope.element:
        if not isinstance(child.tag, str):
            continue  # comments
        tag = local(child)
        if tag == "sequenceFlow":
            condition = child.find("bpmn:conditionExpression", NS)
            scope.flows.append(Flow(child.get("id", ""), child.get("sourceRef", ""), child.get("targetRef", ""),
                                    condition, child))
        elif tag in FLOW_NODE_TAGS:
            node = Node(child.get("id", ""), tag, child, scope)
            scope.nodes[node.id] = node
            nodes[node.id] = node
            if tag in SCOPE_TAGS:
                node.inner = Scope(node.id, child, scope.process, parent=node)
                _fill(node.inner, scopes, nodes)


def _link_name(node):
    link = node.element.find("bpmn:linkEventDefinition", NS)
    return None if link is None else (link.get("name") or "")


def extension_properties(element):
    """The spiffworkflow:property name/value pairs of an element."""
    return {
        p.get("name"): p.get("value")
        for p in element.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    }


def scripts_of(node):
    """(field, source) of every script a node runs: a script task's script, SpiffWorkflow pre/post scripts."""
    found = []
    if node.tag == "scriptTask":
        found.append(("script", text_of(node.element.find("bpmn:script", NS))))
    for name in ("preScript", "postScript"):
        script = node.element.find(f"bpmn:extensionElements/spiffworkflow:{name}", NS)
        if script is not None and text_of(script).strip():
            found.append((name, text_of(script)))
    return found


def message_definition(node):
    """The node's messageEventDefinition element, or None."""
    return node.element.find("bpmn:messageEventDefinition", NS)


def catches(node):
    return node.tag in ("startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask")
