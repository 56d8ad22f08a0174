"""Pausing Python's cyclic garbage collector while a big structure that lives on is built.

Loading a FAQ, building its index and reading a built index back each allocate millions of
small objects that all outlive the step; collections meanwhile only rescan them (a third of
the build time at 10,000 entries). Those steps run on more than one thread (the live reloader,
`/reload`, start-up), so the pause is counted under a lock: the collector is back on when the
last pause ends, and only if it was on when the first began — never left off by two threads
interleaving their own read-disable-enable.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


__all__ = ["paused"]
