"""What a refused deploy reports: one Problem per thing wrong, naming where it is."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One reason a deploy is refused.

    `file` is the file shown to people (e.g. "workflows/quick_response.bpmn" or "forms/feedback.json"),
    `process` the BPMN process id, `element` the id of the element (task, event, gateway, sequence flow),
    `field` what inside it (e.g. "timeDuration", "conditionExpression", "script", "properties.urgency.type").
    Each may be "" when it does not apply. `str()` gives `file:process:element: field: message`.
    """

    file: str
    process: str = ""
    element: str = ""
    field: str = ""
    message: str = ""

    def __str__(self):
        where = ":".join(part for part in (self.file, self.process, self.element) if part)
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{where}: {what}"

    def as_dict(self):
        """The structured form (for the studio to highlight the element)."""
        return {"file": self.file, "process": self.process, "element": self.element, "field": self.field,
                "message": self.message}
