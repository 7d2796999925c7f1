"""The budgets of one sandboxed call: steps, wall-clock time, memory growth and value sizes.

Any exceeded budget raises `Halt` and stays tripped: later ticks, except handlers and the call boundary
raise it again, so diagram code cannot swallow it.
"""
import os
import sys
import threading
import time as _time
from decimal import Decimal

from .errors import Halt
from .values import measure


class MemoryProbe:
    """Resident memory of this process in bytes, or None where it cannot be read.

    Reads /proc/self/statm through a descriptor kept open per process (pread is thread-safe); elsewhere
    falls back to the peak RSS from getrusage.
    """

    _lock = threading.Lock()
    _fd, _pid = None, None
    _page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    @classmethod
    def rss(cls):
        fd = cls._descriptor()
        if fd is not None:
            try:
                return int(os.pread(fd, 64, 0).split()[1]) * cls._page
            except (OSError, ValueError, IndexError):
                pass
        return cls._peak_rss()

    @classmethod
    def _descriptor(cls):
        if cls._pid != os.getpid():  # not yet opened, or opened before a fork (it would read the parent)
            with cls._lock:
                if cls._pid != os.getpid():
                    cls._reopen()
        return cls._fd

    @classmethod
    def _reopen(cls):
        if cls._fd is not None:
            os.close(cls._fd)
        try:
            cls._fd = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            cls._fd = None
        cls._pid = os.getpid()

    @staticmethod
    def _peak_rss():
        try:
            import resource
        except ImportError:
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class Budget:
    """The budgets of one evaluate/execute call.

    Any exceeded budget raises `Halt` and stays tripped: later ticks, except handlers and the call
    boundary raise it again, so diagram code cannot swallow it. Besides every tick, every guard call is
    a sample point: every `_SAMPLE_EVERY`-th sample also checks the wall clock and the memory growth, so
    straight-line code without loops is bounded too.
    """

    _SAMPLE_EVERY = 16

    def __init__(self, env):
        self.max_steps, self.max_size = env.max_steps, env.max_size
        self.max_digits = max(1, int(env.max_size * 0.30103))  # decimal digits of a max_size-bit integer
        self.max_seconds, self.max_memory = env.max_seconds, env.max_memory
        self.steps = self.samples = 0
        self.halted = None
        self.deadline = _time.monotonic() + self.max_seconds
        self.memory_baseline = None  # taken by start(), right before the code runs

    def start(self):
        """Start the clock and take the memory baseline (again right before the code runs)."""
        self.deadline = _time.monotonic() + self.max_seconds
        self.memory_baseline = MemoryProbe.rss()

    def halt(self, reason):
        if self.halted is None:
            self.halted = reason
        raise Halt(self.halted)

    def tick(self):
        """Count one step; halt when the step budget, the wall clock or the memory budget is used up."""
        self.steps += 1
        if self.halted is not None:
            raise Halt(self.halted)
        if self.steps > self.max_steps:
            self.halt(f"the script ran more than {self.max_steps} steps")
        if _time.monotonic() > self.deadline:
            self.halt(f"the script ran longer than {self.max_seconds} s")
        self.sample()

    def sample(self):
        """Called by every guard: now and then check the wall clock and the memory growth."""
        self.samples += 1
        if self.samples % self._SAMPLE_EVERY:
            return
        if self.halted is not None:
            raise Halt(self.halted)
        if _time.monotonic() > self.deadline:
            self.halt(f"the script ran longer than {self.max_seconds} s")
        if self.memory_baseline is not None:
            grown = (MemoryProbe.rss() or 0) - self.memory_baseline
            if grown > self.max_memory:
                self.halt(f"the script used more than {self.max_memory // 2**20} MiB of memory")

    def require_size(self, size, what="a value"):
        if isinstance(size, int) and size > self.max_size:
            self.halt(f"{what} would exceed {self.max_size} elements/characters")

    def require_bits(self, bits):
        if bits > self.max_size:
            self.halt(f"an integer would exceed {self.max_size} bits")

    def check_number(self, value):
        """Refuse Decimals whose integer form would be huge (int() of 1E+999999 takes seconds)."""
        if type(value) is Decimal and value.is_finite() and value.adjusted() > self.max_digits:
            self.halt(f"a number would exceed {self.max_digits} digits")

    def check_result(self, value):
        self.sample()
        if isinstance(value, (str, bytes, bytearray, list, tuple, dict, set, frozenset)):
            self.require_size(len(value))
        return value

    def measure(self, value):
        return measure(value, self.max_size)

    def reraise(self):
        """First statement of every except handler: limits and fatal errors are not catchable."""
        error = sys.exc_info()[1]
        if isinstance(error, (RecursionError, MemoryError)) and self.halted is None:
            self.halted = "recursion too deep" if isinstance(error, RecursionError) else "out of memory"
        if self.halted is not None:
            raise Halt(self.halted)
