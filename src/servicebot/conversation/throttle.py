"""Pacing that every channel shares, kept apart from the handlers so each piece is testable alone.

- `FloodGate`: a resident (or a network address) that sends too much in a short time gets
  one "slow down" and is then ignored until their window passes; others are not affected.
  Pure, with an injectable clock.
- `LogThrottle`: at most one warning line per kind of event per interval, with a count of
  what was held back, so that a stream of rejected requests cannot flood the log.

Telegram's own pacing is in `channels/tg_net.py` (outgoing rate limits, retries) and
`channels/tg_ingest.py` (per-chat ordering, the drain on stop).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    """What `FloodGate.check` says of one incoming message."""

    ALLOW = "allow"
    WARN = "warn"  # over the limit for the first time in this window: say "slow down" once
    DROP = "drop"  # over the limit again: ignore quietly


ALLOW, WARN, DROP = Verdict.ALLOW, Verdict.WARN, Verdict.DROP  # as the channels name them


@dataclass
class _Window:
    times: deque[float] = field(default_factory=deque)
    warned: bool = False


class FloodGate:
    """At most `limit` accepted messages per resident in any `window` seconds (sliding).

    Keys are pseudonymous resident keys, never raw Telegram ids. Rejected messages do not
    count, so a resident is heard again as soon as their oldest accepted message ages out.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._next_sweep = clock() + window

    def check(self, key: str) -> Verdict:
        """ALLOW, WARN (first rejection in this window) or DROP for one incoming message."""
        now = self._clock()
        self._sweep(now)
        state = self._windows.setdefault(key, _Window())
        _expire(state.times, now - self.window)
        if len(state.times) < self.limit:
            state.times.append(now)
            state.warned = False
            return ALLOW
        if state.warned:
            return DROP
        state.warned = True
        return WARN

    def __len__(self) -> int:
        return len(self._windows)

    def _sweep(self, now: float) -> None:
        """Forget residents with nothing left in their window, so memory stays bounded."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window
        for key in [k for k, w in self._windows.items() if not w.times or w.times[-1] <= now - self.window]:
            del self._windows[key]


def _expire(times: deque[float], before: float) -> None:
    while times and times[0] <= before:
        times.popleft()


# --- log lines ---------------------------------------------------------------------------


class LogThrottle:
    """Warnings about things outsiders can trigger at will (rejected requests, forged webhook
    calls), at most one line per `key` per `interval` seconds. The next line that gets
    through says how many were held back, so nothing goes unnoticed."""

    def __init__(self, logger: logging.Logger, interval: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.logger = logger
        self.interval = interval
        self._clock = clock
        self._next: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> bool:
        """Log `message % args` unless a line with this key was logged recently; True if logged."""
        return self.log(logging.WARNING, key, message, *args)

    def error(self, key: str, message: str, *args: object) -> bool:
        """`warning`, at ERROR level: for failures of our own that outsiders can repeat at will."""
        return self.log(logging.ERROR, key, message, *args)

    def log(self, level: int, key: str, message: str, *args: object) -> bool:
        now = self._clock()
        if now < self._next.get(key, float("-inf")):
            self._held[key] = self._held.get(key, 0) + 1
            return False
        if len(self._next) > 1000:  # keys are a small fixed set; this only guards against misuse
            self._next.clear()
        self._next[key] = now + self.interval
        held = self._held.pop(key, 0)
        suffix = f" ({held} more like this in the last {self.interval:g} s not logged)" if held else ""
        self.logger.log(level, message + suffix, *args)
        return True


__all__ = ["ALLOW", "DROP", "WARN", "FloodGate", "LogThrottle", "Verdict"]
