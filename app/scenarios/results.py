"""What running scenarios reports: per scenario passed or the step that failed and why."""
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario's outcome. A failed one names the step (number and label) and the reason."""

    file: str
    scenario: str
    passed: bool
    steps_run: int = 0
    step: int | None = None
    step_label: str = ""
    message: str = ""

    def __str__(self):
        if self.passed:
            return f"PASS {self.file}: {self.scenario} ({self.steps_run} steps)"
        where = "".join(f"{part}: " for part in (self.scenario, self.step_label) if part)
        return f"FAIL {self.file}: {where}{self.message}"

    def as_dict(self):
        return asdict(self)


class StepFailed(Exception):
    """A step's action could not be done or its expectation did not hold."""
