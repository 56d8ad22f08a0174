"""Each request answered once, however often it is sent: an async single-flight cache.

A sender that retries when an answer is slow (WeChat tries each message three times, 5 s
apart) must get one answer, computed — and logged — once, not one per try. `SingleFlight`
runs the computation for the first request with a key and hands its result to that request
and to every later one with the same key, for a while. It is the only piece of WeChat's
exchange that holds tasks and state across requests, so it lives apart from the pure protocol
(`wechat_protocol`); WeChat's use of it is `wechat_replay.ReplyCache`.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from servicebot.bounded import BoundedMap

T = TypeVar("T")


@dataclass
class _Pending(Generic[T]):
    task: asyncio.Future[T]
    requests: int = 0


class SingleFlight(Generic[T]):
    """Each key's result computed once.

    `run_once(key, compute)` starts `compute()` for the first request with a key, as a task of
    its own, and gives every request with that key — the retry that arrives while the first is
    still being answered included — that one task's result. A request that gives up (its
    timeout, or its HTTP handler cancelled) does not cancel the task: the next retry collects
    the result. A failure is handed to the requests waiting at that moment and then forgotten,
    so a later retry tries again. Entries expire `ttl` seconds after they were created and the
    oldest go first beyond `max_entries`, so memory stays bounded. Single event loop only.
    `compute` should log its own errors: no request may be left to see them.
    """

    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: BoundedMap[str, _Pending[T]] = BoundedMap(max_entries, ttl, clock=clock)

    def __len__(self) -> int:
        return len(self._entries)

    def seen(self, key: str) -> int:
        """How many requests with `key` have asked so far (0: this is the first)."""
        entry = self._entries.get(key)
        return entry.requests if entry else 0

    async def run_once(self, key: str, compute: Callable[[], Awaitable[T]], *, timeout: float | None = None) -> T:
        """The result of the one `compute()` for `key`; TimeoutError after `timeout` seconds
        (the computation goes on for the next request)."""
        entry = self._entries.get(key)
        if entry is None:
            entry = _Pending(asyncio.ensure_future(compute()))
            self._entries[key] = entry
            entry.task.add_done_callback(functools.partial(self._settled, key))
        entry.requests += 1
        return await asyncio.wait_for(asyncio.shield(entry.task), timeout)

    def _settled(self, key: str, task: asyncio.Future[T]) -> None:
        failed = task.cancelled() or task.exception() is not None  # .exception() also marks it seen
        entry = self._entries.get(key)
        if failed and entry is not None and entry.task is task:
            self._entries.pop(key)


__all__ = ["SingleFlight"]
