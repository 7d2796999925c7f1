"""Which elements changed between two versions of a diagram: added, removed or changed process elements.

Layout (bpmndi) is not compared: moving a shape changes nothing a ticket sees. An element is compared with all
it holds (name, documentation, timer, condition, script, extension properties) except the elements reported on
their own (the tasks inside a subprocess, the lanes of a lane set)."""
from dataclasses import dataclass

from lxml import etree

from app.engine.validation.model import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_CONTAINERS = {"process", "subProcess", "laneSet", "collaboration", "definitions"}


@dataclass(frozen=True)
class Change:
    element: str
    kind: str  # the BPMN tag, e.g. "userTask", "sequenceFlow"
    name: str
    change: str  # "added", "removed" or "changed"


def _reported(element):
    parent = element.getparent()
    return (element.get("id") is not None and parent is not None
            and etree.QName(parent).namespace == BPMN_NS and etree.QName(parent).localname in _CONTAINERS)


def _signature(element):
    children = tuple(_signature(c) for c in element if isinstance(c.tag, str) and not _reported(c))
    return (element.tag, tuple(sorted(element.attrib.items())), (element.text or "").strip(), children)


def _elements(xml):
    root = parse_xml(xml)
    found = {}
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace == BPMN_NS and _reported(element):
            found[element.get("id")] = element
    return found


def changes(old_xml, new_xml):
    """[Change] from `old_xml` to `new_xml`, in document order of the newer one (removed ones last)."""
    old, new = _elements(old_xml), _elements(new_xml)
    result = []
    for element_id, element in new.items():
        kind, name = etree.QName(element).localname, element.get("name") or ""
        if element_id not in old:
            result.append(Change(element_id, kind, name, "added"))
        elif _signature(old[element_id]) != _signature(element):
            result.append(Change(element_id, kind, name, "changed"))
    for element_id, element in old.items():
        if element_id not in new:
            result.append(Change(element_id, etree.QName(element).localname, element.get("name") or "", "removed"))
    return result
