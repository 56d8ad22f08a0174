"""Repeated WeChat requests: WeChat's own retries answered once, a replayed request refused.

`ReplyCache` is the single-flight cache (`singleflight`) with WeChat's retries in mind: each
message, recognised by its `dedup_key`, is answered once however often WeChat sends it, and
the answer is kept for twice the timestamp window, as long as a retry could still be signed.

Each signed request is accepted for what it was signed with, not again (`NonceMemory`).

WeChat signs a request's URL (sha1 of the token, `timestamp` and `nonce`), and in plain-text
mode nothing signs the body: anyone who saw one signed URL (a proxy's log, a shared
screenshot) could, for the 5 minutes its timestamp stays valid, post any body under it — a
resident's OpenID included, and collect what waits for that resident. Safe mode signs the
encrypted body too (`msg_signature`), but a captured request could still be posted again.

`NonceMemory` remembers every verified request's (timestamp, nonce) for as long as the
signature could be accepted, with a fingerprint of what it carried (signatures and body). A
second request with the same timestamp and nonce is accepted only when it is the same request
— WeChat's own retries, which repeat the request byte for byte (at most `WECHAT_TRIES` in
all) — and refused otherwise (ReplayError, a SignatureError: 403).

Memory is bounded: entries leave `keep` seconds after first seen (twice the timestamp window,
so a timestamp up to the window ahead of our clock is covered) and the oldest leave first
beyond `max_entries`. Only requests whose signature verified are remembered, and only WeChat
(holding the token) can make new ones, so the bound is reached only by WeChat's own traffic:
50,000 is ~170 messages a second for 5 minutes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from servicebot.bounded import BoundedMap
from servicebot.channels.singleflight import SingleFlight
from servicebot.channels.wechat_crypto import TIMESTAMP_WINDOW
from servicebot.channels.wechat_protocol import WECHAT_TRIES
from servicebot.errors import ReplayError

SIGNED_PARAMS = ("signature", "msg_signature", "timestamp", "nonce", "encrypt_type")

T = TypeVar("T")


class ReplyCache(SingleFlight[T]):
    """Each message answered once, however often WeChat sends it (`SingleFlight`), its answer
    kept `ttl` seconds: by default twice the timestamp window, so that a retry that could still
    be signed is answered from here, not answered (and logged) again.

    Suggested use by the adapter, given WeChat's three tries of 5 s each: on the first tries,
    wait for the answer without replying "success" (which would stop WeChat's retries); on the
    last (`seen(key) == WECHAT_TRIES - 1` before the call), wait with a timeout just under
    WECHAT_DEADLINE and answer something short if it runs out.
    """

    def __init__(
        self,
        *,
        ttl: float = 2 * TIMESTAMP_WINDOW,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(ttl=ttl, max_entries=max_entries, clock=clock)


@dataclass
class _Seen:
    fingerprint: bytes
    uses: int = 1


class NonceMemory:
    """The (timestamp, nonce) of every request accepted lately; see the module docstring."""

    def __init__(
        self,
        *,
        keep: float = 2 * TIMESTAMP_WINDOW,
        max_entries: int = 50_000,
        max_uses: int = WECHAT_TRIES,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.keep, self.max_entries, self.max_uses = keep, max_entries, max_uses
        self._seen: BoundedMap[tuple[str, str], _Seen] = BoundedMap(max_entries, keep, clock=clock)

    def admit(self, query: Mapping[str, str], body: bytes) -> None:
        """Accept a request whose signature has been verified, or raise ReplayError if its
        timestamp and nonce came before with another request, or too often."""
        key = (query.get("timestamp", ""), query.get("nonce", ""))
        fingerprint = _fingerprint(query, body)
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = _Seen(fingerprint)
            return
        if seen.fingerprint != fingerprint:
            raise ReplayError("a nonce already used by another request (replayed signature)")
        if seen.uses >= self.max_uses:
            raise ReplayError(f"the same request more than {self.max_uses} times (replayed)")
        seen.uses += 1

    def __len__(self) -> int:
        return len(self._seen)


def _fingerprint(query: Mapping[str, str], body: bytes) -> bytes:
    digest = hashlib.sha256()
    for name in SIGNED_PARAMS:
        digest.update(query.get(name, "").encode("utf-8", "replace") + b"\0")
    digest.update(body)
    return digest.digest()


__all__ = ["NonceMemory", "ReplyCache"]
