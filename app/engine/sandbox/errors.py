"""The sandbox's errors: the two callers see, and the internal halt diagram code cannot catch."""


class SandboxLimitError(Exception):
    """A budget was exceeded (steps, time, size, recursion): the call was stopped."""


class SandboxViolation(Exception):
    """Diagram code asked for something it may not have (import, dunder, open, an attribute, ...)."""


class Halt(BaseException):
    """Internal: a budget is exhausted. A BaseException so `except Exception` in diagram code misses it."""
