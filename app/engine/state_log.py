"""SpiffWorkflow's record of a task's state change, built only when its logger would write it.

SpiffWorkflow 3.2's `Task._set_state` formats a message and gathers a dict of extras (the task's spec, ids, state
names, its data) for `logger.info` on every state change, and for `logger.debug` when the state stays, before
the logger looks at its level; an engine step changes states a few dozen times and the app logs SpiffWorkflow at
WARNING. `install()` replaces the method with one that sets the state and the time of the change exactly as
SpiffWorkflow does and builds the same record only when the `spiff.task` logger is enabled for its level.
"""
import logging
import time

from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_logger = logging.getLogger("spiff.task")  # SpiffWorkflow.task's own logger
_ORIGINAL = {}


def _set_state(self, value):
    """Force set the state on a task"""
    if value != self.state:
        elapsed = time.time() - self.last_state_change
        self.last_state_change = time.time()
        self._state = value
        if _logger.isEnabledFor(logging.INFO):
            _logger.info(f"State changed to {TaskState.get_name(value)}",
                         extra=self.collect_log_extras({"elapsed": elapsed}))
    elif _logger.isEnabledFor(logging.DEBUG):
        _logger.debug(f"State set to {TaskState.get_name(value)}", extra=self.collect_log_extras())


def install():
    """Use `_set_state` above for SpiffWorkflow's tasks (idempotent)."""
    if not _ORIGINAL:
        _ORIGINAL["_set_state"] = Task._set_state
        Task._set_state = _set_state


def uninstall():
    """Put SpiffWorkflow's own method back (tests compare the two)."""
    if _ORIGINAL:
        Task._set_state = _ORIGINAL.pop("_set_state")


install()
