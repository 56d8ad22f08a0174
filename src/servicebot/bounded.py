"""A dict that forgets, so that what the bot keeps in memory per resident, per request or per
update stays bounded however many arrive: the one mechanism behind the numbered choices
(`conversation.memory.ChoiceMemory`), the desk's recent questions (`conversation.tickets`),
WeChat's answers, nonces and pages (`channels.singleflight`, `channels.wechat_replay`,
`channels.wechat.Shelf`), the staff desk's failed sign-ins (`staffdesk.guard.SignInGate`) and
the update journal's recent ids and owed done marks (`storage.journal`).

`BoundedMap` keeps at most `max_size` keys, the least recently set forgotten first, and with
a `ttl`, forgets each key `ttl` seconds after it was last set (at that moment exactly). Only
setting a key renews it: reading one does not. The clock is injectable, so tests move time
by hand. Single-threaded: the caller's thread or event loop, or the caller's lock.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_NEVER = float("inf")


class BoundedMap(Generic[K, V]):
    """At most `max_size` keys, each for `ttl` seconds after it was last set (None: until
    pushed out); see the module's docstring."""

    def __init__(self, max_size: int, ttl: float | None = None, *, clock: Callable[[], float] = time.monotonic):
        if max_size < 0:
            raise ValueError(f"max_size must be 0 or more, not {max_size}")
        self.max_size, self.ttl, self._clock = max_size, ttl, clock
        # key → (when it expires, value), the least recently set first: with one ttl and a clock
        # that never goes back, the expired keys are always a prefix.
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __setitem__(self, key: K, value: V) -> None:
        """Set (or renew) `key`; the least recently set keys beyond `max_size` are forgotten."""
        now = self._expire()
        self._data[key] = (_NEVER if self.ttl is None else now + self.ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_size:
            self._data.popitem(last=False)

    def get(self, key: K) -> V | None:
        """The value of `key`; None when it is absent or expired (reading renews nothing)."""
        entry = self._live(key)
        return None if entry is None else entry[1]

    def __getitem__(self, key: K) -> V:
        entry = self._live(key)
        if entry is None:
            raise KeyError(key)
        return entry[1]

    def __contains__(self, key: K) -> bool:
        return self._live(key) is not None

    def pop(self, key: K) -> V | None:
        """Forget `key`; its value, or None when it was absent or expired."""
        entry = self._live(key)
        if entry is None:
            return None
        del self._data[key]
        return entry[1]

    def items(self) -> list[tuple[K, V]]:
        """Every (key, value) kept, the least recently set first."""
        self._expire()
        return [(key, value) for key, (_, value) in self._data.items()]

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        self._expire()
        return len(self._data)

    def __repr__(self) -> str:
        return f"BoundedMap(max_size={self.max_size}, ttl={self.ttl}, {len(self)} kept)"

    def _live(self, key: K) -> tuple[float, V] | None:
        now = self._expire()
        entry = self._data.get(key)
        if entry is not None and entry[0] <= now:  # behind a key that has not expired: the clock went back
            del self._data[key]
            return None
        return entry

    def _expire(self) -> float:
        """Forget the expired keys; the time now (0 without a ttl: the clock is not asked)."""
        if self.ttl is None:
            return 0.0
        now = self._clock()
        data = self._data
        while data:
            expires, _ = next(iter(data.values()))
            if expires > now:
                break
            data.popitem(last=False)
        return now


__all__ = ["BoundedMap"]
