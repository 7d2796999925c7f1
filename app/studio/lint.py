"""Lint a diagram while it is edited: bpmnlint's rules (npm, pinned in package-lock.json) plus the project's own
checks that need the database (every lane's role has active members). Lint issues are advice shown on their
elements; they never refuse a deploy (the deploy validation does that).

bpmnlint runs with node on the server (`bpmnlint/lint.cjs`, rules configured in `bpmnlint/bpmnlintrc.json`):
no bundler or build step, the same rules wherever the studio runs, and the result is testable without a
browser. Node is already needed to install the browser libraries (scripts/setup.sh); one lint takes a node
start (about 0.1 s), so the modeler asks for it a moment after the last change rather than on every keystroke.
"""
import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from flask import current_app
from lxml import etree
from sqlalchemy import exists, select

from app.auth.models import ROLES, User, user_roles
from app.engine.validation.model import BPMN_NS, parse_xml
from app.errors import DomainError
from app.extensions import db
from app.i18n import _, label

HERE = Path(__file__).resolve().parent / "bpmnlint"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
TIMEOUT_SECONDS = 20


class LintUnavailable(DomainError):
    """bpmnlint could not run (node or the npm packages missing, or it failed)."""

    status = 503


@dataclass(frozen=True)
class Issue:
    """One lint finding: the element it concerns, the rule, "error" / "warn" / "info", and what is wrong."""

    element: str
    rule: str
    category: str
    message: str

    def as_dict(self):
        return asdict(self)


def _rule_messages():
    """bpmnlint's rules in the page's language (its own messages are English only)."""
    return {
        "ad-hoc-sub-process": _("An ad-hoc sub-process must contain activities only."),
        "conditional-flows": _("A flow leaving a fork must have a condition or be the default."),
        "end-event-required": _("The process has no end event."),
        "event-based-gateway": _("An event-based gateway must be followed by catching events only."),
        "event-sub-process-typed-start-event": _("An event sub-process needs a typed start event."),
        "fake-join": _("Several flows enter this element without a gateway joining them."),
        "global": _("A global element (message, signal, error…) is unused or declared twice."),
        "label-required": _("This element needs a name."),
        "link-event": _("Link events must come in matching throw/catch pairs."),
        "no-bpmndi": _("This element is not drawn in the diagram."),
        "no-complex-gateway": _("Complex gateways are not supported."),
        "no-disconnected": _("This element is not connected to the flow."),
        "no-duplicate-sequence-flows": _("Two flows connect the same elements."),
        "no-gateway-join-fork": _("A gateway should either join or fork, not both."),
        "no-implicit-split": _("Several flows leave this element without a gateway."),
        "no-implicit-end": _("This element ends the flow without an end event."),
        "no-implicit-start": _("This element starts the flow without a start event."),
        "no-inclusive-gateway": _("Inclusive gateways are not supported."),
        "no-overlapping-elements": _("This element overlaps another one."),
        "single-blank-start-event": _("A process may have one blank start event only."),
        "single-event-definition": _("An event may have one event definition only."),
        "start-event-required": _("The process has no start event."),
        "sub-process-blank-start-event": _("A sub-process must start with a blank start event."),
        "superfluous-gateway": _("This gateway has one way in and one way out: it does nothing."),
        "superfluous-label": _("This label is not shown for elements of this kind."),
        "superfluous-termination": _("A terminate end event where a plain end event would do."),
        "lane-role-members": _("Nobody active holds the role %(role)s of this lane: its tasks would wait for "
                               "ever."),
        "lane-role-unknown": _("The lane %(role)s names no role (known: %(roles)s)."),
    }


def lint(xml):
    """Every lint Issue of the diagram `xml`: bpmnlint's rules, then the lane checks."""
    return bpmnlint(xml) + lane_issues(xml)


def bpmnlint(xml):
    """bpmnlint's issues of `xml` (messages translated), or one issue on no element when it is not BPMN XML.
    LintUnavailable when node or the packages are missing."""
    node = shutil.which("node")
    modules = Path(current_app.config.get("NODE_MODULES_DIR") or NODE_MODULES)
    if node is None or not (modules / "bpmnlint").is_dir():
        raise LintUnavailable(_("The lint rules are not installed (node and npm packages: run scripts/setup.sh)."))
    result, failure = None, ""
    try:
        done = subprocess.run([node, str(HERE / "lint.cjs"), str(modules), str(HERE / "bpmnlintrc.json")],
                              input=xml.encode("utf-8"), capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        failure = done.stderr.decode("utf-8", "replace")[-2000:]
        result = json.loads(done.stdout or b"null") if done.returncode == 0 else None
    except (subprocess.TimeoutExpired, ValueError) as exc:
        failure = str(exc)
    if not isinstance(result, dict):
        current_app.logger.warning("bpmnlint failed: %s", failure)
        raise LintUnavailable(_("The lint rules could not run; the deploy validation still works."))
    if "error" in result:
        return [Issue("", "xml", "error", _("Not readable as BPMN: %(error)s", error=result["error"]))]
    messages = _rule_messages()
    return [Issue(i["element"], i["rule"], i["category"], messages.get(i["rule"], i["message"]))
            for i in result["issues"]]


_ACTIVE_HOLDER = (
    select(user_roles.c.role_code)
    .where(exists().where(User.id == user_roles.c.user_id, User.active.is_(True)))
    .distinct()
)


def lane_issues(xml):
    """A warning on each lane whose role nobody active holds, and on each lane that names no role."""
    try:
        root = parse_xml(xml)
    except etree.XMLSyntaxError:
        return []  # bpmnlint reports it
    lanes = [(lane.get("id", ""), (lane.get("name") or "").strip()) for lane in root.iter(f"{{{BPMN_NS}}}lane")]
    if not lanes:
        return []
    staffed = set(db.session.scalars(_ACTIVE_HOLDER))
    messages, issues = _rule_messages(), []
    for element, role in lanes:
        if role not in ROLES:
            issues.append(Issue(element, "lane-role-unknown", "warn",
                                messages["lane-role-unknown"] % {"role": role or "-", "roles": ", ".join(ROLES)}))
        elif role not in staffed:
            issues.append(Issue(element, "lane-role-members", "warn",
                                messages["lane-role-members"] % {"role": label(ROLES[role])}))
    return issues
