"""Deploy validation: one function checks a batch of diagrams, decision tables and forms before anything deploys.

Modules: `batch` (the entry point and per-file checks), `model` (the BPMN read with lxml), `graph`
(reachability), `dataflow` (which variables exist upstream of an element), `timers`, `forms`, `code`
(scripts and expressions in the sandbox), `problems` (what is reported).
"""
from .batch import Checked, Rules, validate_batch
from .problems import Problem
from .timers import check_timer_expression

__all__ = ["Checked", "Problem", "Rules", "check_timer_expression", "validate_batch"]
