"""Pacing residents: flood control that every channel shares, kept apart from the handlers so it is
testable alone. (Pacing log lines is `logs.LogThrottle`.)

- `FloodGate`: a resident (or a network address) that sends too much in a short time gets
  one "slow down" and is then ignored until their window passes; others are not affected.
  Pure, with an injectable clock.

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


__all__ = ["ALLOW", "DROP", "WARN", "FloodGate", "Verdict"]
