"""Scenario tests for diagrams: a process owner's YAML/JSON file beside a diagram says how a ticket goes
(start data, answers per task, clock moves) and what must hold after each step; they run in memory against
the diagram texts, from `flask --app wsgi test-flows`, before every deploy, and from the studio.

Modules: `loader` (the format, with errors naming file, scenario, step and field), `model`, `durations`,
`world` (capabilities answered by the scenario), `checks` (expectations), `runner` (one scenario on its own
clock), `results`, `service` (run a folder, a deploy batch, or texts from the studio).
"""
from .loader import ScenarioFormatError, load_scenarios
from .results import ScenarioResult
from .service import batch_problems, for_diagram, result_problems, run_directory, run_texts, scenario_files

__all__ = ["ScenarioFormatError", "ScenarioResult", "batch_problems", "load_scenarios", "run_directory", "run_texts",
           "for_diagram", "result_problems", "scenario_files"]
