"""Graph checks per process and subprocess: every element is reached from a start event and reaches an end event,
boundary events sit on an activity of their scope, gateways lead somewhere, flows join existing elements."""
from .model import ACTIVITY_TAGS, GATEWAY_TAGS, NS


def graph_problems(scope):
    """(element id, field, message) for the structural faults of one scope."""
    problems = []
    for flow in scope.flows:
        for end, ref in (("sourceRef", flow.source), ("targetRef", flow.target)):
            if ref not in scope.nodes:
                problems.append((flow.id, end, f"sequence flow {flow.id!r} refers to {ref!r}, which is not an "
                                                f"element of {_scope_name(scope)}"))
    for node in scope.nodes.values():
        if node.tag == "boundaryEvent":
            target = scope.nodes.get(node.element.get("attachedToRef", ""))
            if target is None or target.tag not in ACTIVITY_TAGS:
                ref = node.element.get("attachedToRef", "")
                problems.append((node.id, "attachedToRef", f"boundary event is attached to {ref!r}, which is not an "
                                                           f"activity of {_scope_name(scope)}"))
        if node.tag in GATEWAY_TAGS and not scope.outgoing(node.id):
            problems.append((node.id, "outgoing", "gateway has no outgoing sequence flow"))
    if problems:
        return problems  # reachability on a broken graph would only repeat these
    starts = [n.id for n in scope.nodes.values() if n.tag == "startEvent"]
    if not starts and any(not n.is_event_subprocess for n in scope.nodes.values()):
        return [(scope.id, "startEvent", f"{_scope_name(scope)} has no start event")]
    return _unreached(scope, starts) + _dead_ends(scope)


def _scope_name(scope):
    return f"subprocess {scope.id!r}" if scope.parent is not None else f"process {scope.id!r}"


def _flow_edges(scope):
    """Sequence flows and link events (a link throw continues at the link catch of the same name)."""
    edges = {node_id: [] for node_id in scope.nodes}
    for flow in scope.flows:
        edges[flow.source].append(flow.target)
    for throw, catch in scope.links():
        edges[throw].append(catch)
    return edges


def _forward(scope):
    edges = _flow_edges(scope)
    for node in scope.nodes.values():
        if node.tag == "boundaryEvent":
            edges[node.element.get("attachedToRef")].append(node.id)
    return edges


def _reach(edges, roots):
    seen, todo = set(roots), list(roots)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _ignored(node):
    """Event subprocesses start on their own trigger and compensation runs by association, not by sequence flow:
    they need no incoming or outgoing path."""
    return (node.is_event_subprocess or node.element.get("isForCompensation") == "true"
            or node.element.find("bpmn:compensateEventDefinition", NS) is not None)


def _unreached(scope, starts):
    """Elements no path reaches from a start event, reported where the unreached region begins."""
    forward = _forward(scope)
    reached = _reach(forward, starts)
    lost = {n for n in scope.nodes if n not in reached and not _ignored(scope.nodes[n])}
    backward = _reverse(forward)
    return [
        (node_id, "incoming", "no path from a start event reaches this element")
        for node_id in _frontier(lost, backward)
    ]


def _dead_ends(scope):
    """Elements with no path to an end event, reported where the dead region ends (a sink, or a closed loop)."""
    forward = _flow_edges(scope)
    ends = [n.id for n in scope.nodes.values() if n.tag == "endEvent"]
    alive = _reach(_reverse(forward), ends)
    dead = {n for n in scope.nodes if n not in alive and not _ignored(scope.nodes[n])}
    problems = []
    for node_id in _frontier(dead, forward):
        reason = ("has no outgoing sequence flow" if not forward[node_id]
                  else "only leads into a loop that never reaches an end event")
        problems.append((node_id, "outgoing", f"no path leads from this element to an end event: it {reason}"))
    return problems


def _reverse(edges):
    reverse = {node_id: [] for node_id in edges}
    for source, targets in edges.items():
        for target in targets:
            reverse.setdefault(target, []).append(source)
    return reverse


def _frontier(region, onward):
    """The members of `region` where it ends along `onward`: members with no onward neighbour in the region,
    and one member of each closed loop the region's paths run into instead."""
    inside = {n: [m for m in onward.get(n, ()) if m in region] for n in region}
    back = _reverse(inside)
    picked = sorted(n for n in region if not inside[n])
    covered = _reach(back, picked)
    for node_id in sorted(region - covered):
        if node_id in covered:
            continue
        upstream = _reach(back, [node_id])
        if _reach(inside, [node_id]) <= upstream:  # a closed loop: everything onward comes back here
            picked.append(node_id)
            covered |= upstream
    return picked
