"""What a scenario file holds, once loaded and checked (see loader.py for the format)."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Expectation:
    """What must hold after a step; every key left out is not checked."""

    waiting_at: tuple = ()        # user task ids that must be waiting
    not_waiting_at: tuple = ()    # user task ids that must not be waiting
    lane: str | None = None       # the lane (role) of each waiting_at task
    assignee: object = ...        # the assignee each waiting_at task goes to (None: nobody); ... = not checked
    status: object = ...          # the process variable `status` (the ticket's status)
    variables: dict = field(default_factory=dict)
    filled: tuple = ()            # variables that hold a non-empty value
    empty: tuple = ()             # variables that are absent or empty
    finished: bool | None = None  # the process finished (or not)
    timers: tuple = ()            # boundary/timer event ids that must be waiting
    passed: tuple = ()            # element ids the process went through (so far, in any order)


@dataclass(frozen=True)
class Step:
    """One step: an action (complete a task, deliver a message, move the clock) and/or an expectation."""

    number: int
    kind: str                     # "complete", "message", "advance" or "expect"
    target: str = ""              # the task id or message name
    data: dict | None = None      # the answer / payload; None = the scenario's answer for the task
    by: str = ""                  # who completes the task (`completed_by`)
    advance: timedelta | None = None
    expect: Expectation | None = None

    @property
    def label(self):
        what = {"complete": f"complete {self.target}", "message": f"message {self.target}",
                "advance": f"advance {self.advance}", "expect": "expect"}[self.kind]
        return f"step {self.number} ({what})"


@dataclass(frozen=True)
class Scenario:
    name: str
    start: dict
    answers: dict
    staff: dict
    start_at: datetime
    steps: tuple


@dataclass(frozen=True)
class ScenarioFile:
    """The scenarios of one file, for the diagram file `diagram` (e.g. quick_response.bpmn)."""

    filename: str
    diagram: str
    scenarios: tuple
