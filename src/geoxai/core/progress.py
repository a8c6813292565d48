"""Progress lines for job logs: one format, ``[geoxai] <what>: <numbers>``, flushed at once.

Every workflow rule runs ``python -m geoxai <rule> ... > {log} 2>&1``: nothing reaches a
terminal, so long steps (downloads, S3 reads, training, optimal inputs) print a plain line now
and then instead of drawing a progress bar. Lines go to standard output (the log), one write
each, flushed, so ``tail -f`` on a log shows them as they happen.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

PREFIX = "[geoxai]"


def report(what: str, message: str, stream: TextIO | None = None) -> None:
    """Write ``[geoxai] <what>: <message>`` to ``stream`` (standard output by default)."""
    print(f"{PREFIX} {what}: {message}", file=stream if stream is not None else sys.stdout,
          flush=True)


def human_bytes(size: float) -> str:
    """``1536`` -> ``1.5 KiB``; binary units, one decimal."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_seconds(seconds: float) -> str:
    """``75.2`` -> ``1m15s``; ``3.25`` -> ``3.2s``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{rest:02d}s"


def stride(total: int, parts: int = 10) -> int:
    """Report every ``stride`` items to write about ``parts`` lines over ``total`` items."""
    return max(1, -(-int(total) // max(1, int(parts))))


class Throttle:
    """Decides when the next line is due: at each ``1/parts`` of a known total, and in any case
    after ``seconds`` (the only rule when the total is unknown, with ``every`` units of work)."""

    def __init__(self, total: float | None, parts: int = 10, seconds: float = 10.0,
                 every: float | None = None, start: float = 0.0, clock=time.monotonic) -> None:
        self.total = total if total else None
        self.parts = parts
        self.seconds = seconds
        self.every = every
        self.clock = clock
        self.started = clock()
        self.last_time = self.started
        self.last_done = start
        self._next = self._next_mark(start)

    def _next_mark(self, done: float) -> float:
        if self.total is not None:  # the next tenth (say) above done; integer steps, no rounding
            return (done * self.parts // self.total + 1) * self.total / self.parts
        if self.every:
            return (int(done // self.every) + 1) * self.every
        return float("inf")

    def due(self, done: float) -> bool:
        """True (and the state moves on) when a line should be written for ``done``."""
        now = self.clock()
        if done >= self._next or now - self.last_time >= self.seconds:
            self.last_time, self.last_done = now, done
            self._next = self._next_mark(done)
            return True
        return False

    def elapsed(self) -> float:
        return self.clock() - self.started
