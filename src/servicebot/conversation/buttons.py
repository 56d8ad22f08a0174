"""Buttons on the wire: the short string a button carries, and the press it stands for.

Channels with real buttons (Telegram, the web page) send a short string with each button
and get it back when it is pressed. This module exists so that the format has one home that
both sides can read without importing the conversation: the conversation's output carries
each button's data (`events.Said.button_data`), renderers only copy it, and the conversation
decodes what comes back (`decode_button`).

Entry ids and topic names are replaced by short hashes, looked up again in the *current* FAQ
when the press comes back, so the data fits Telegram's 64 bytes whatever the ids are, and a
button from an older FAQ or a forged one decodes to None instead of raising.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from servicebot.answering.replies import Button
from servicebot.answering.service import Snapshot
from servicebot.records import ButtonKind, Via

MAX_BUTTON_DATA = 64  # bytes; Telegram's callback_data limit, which every channel's buttons fit

VIA_CODES = {Via.SUGGESTION: "s", Via.RELATED: "r", Via.TOPIC: "t"}
_VIA_NAMES = {code: via for via, code in VIA_CODES.items()}
_REF_RE = re.compile(r"[0-9a-f]{0,24}")
_HASH_LEN = 10


@dataclass(frozen=True)
class Tap:
    """A button press understood: `value` is the entry id, topic name or "+"/"-"; `ref` the
    interaction the button was shown under; `via` how its question was reached."""

    kind: ButtonKind
    value: str = ""
    ref: str | None = None
    via: Via = Via.TOPIC


def short_hash(value: str) -> str:
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:_HASH_LEN]


def encode_button(button: Button, ref: str, via: Via) -> str:
    """The data a button carries (not for URL buttons). At most 27 bytes."""
    if button.kind == ButtonKind.ENTRY:
        return f"e:{VIA_CODES.get(via, 't')}:{short_hash(button.value)}:{ref}"
    if button.kind == ButtonKind.TOPIC:
        return f"t:{short_hash(button.value)}"
    if button.kind == ButtonKind.FEEDBACK:
        return f"f:{'+' if button.value == '+' else '-'}:{ref}"
    if button.kind == ButtonKind.NONE_OF_THESE:
        return f"n:{ref}"
    if button.kind == ButtonKind.HANDOFF:
        return f"h:{ref}"
    if button.kind == ButtonKind.BACK:
        return "b"
    return "m"


@dataclass(frozen=True)
class _Tables:
    """Hash → entry id and hash → topic name for one snapshot."""

    entries: dict[str, str]
    topics: dict[str, str]


_last: tuple[Snapshot, _Tables] | None = None  # built once per snapshot; the loop is single-threaded


def _lookup(snapshot: Snapshot) -> _Tables:
    global _last
    if _last is None or _last[0] is not snapshot:
        tables = _Tables(
            entries={short_hash(e.id): e.id for e in snapshot.faq.entries},
            topics={short_hash(t.name): t.name for t in snapshot.faq.topics},
        )
        _last = (snapshot, tables)
    return _last[1]


def decode_button(data: str | None, snapshot: Snapshot) -> Tap | None:
    """The press behind button data, resolved in the current snapshot; None if it is stale
    (the entry or topic is gone), malformed, or forged."""
    if not data or len(data.encode("utf-8", "replace")) > MAX_BUTTON_DATA:
        return None
    if data == "m":
        return Tap(ButtonKind.TOPICS)
    if data == "b":
        return Tap(ButtonKind.BACK)
    kind, _, rest = data.partition(":")
    parts = rest.split(":")
    if kind == "t" and len(parts) == 1:
        name = _lookup(snapshot).topics.get(parts[0])
        return Tap(ButtonKind.TOPIC, name) if name else None
    if kind == "e" and len(parts) == 3 and parts[0] in _VIA_NAMES and _valid_ref(parts[2]):
        entry_id = _lookup(snapshot).entries.get(parts[1])
        return Tap(ButtonKind.ENTRY, entry_id, parts[2] or None, _VIA_NAMES[parts[0]]) if entry_id else None
    if kind == "f" and len(parts) == 2 and parts[0] in ("+", "-") and parts[1] and _valid_ref(parts[1]):
        return Tap(ButtonKind.FEEDBACK, parts[0], parts[1])
    if kind == "n" and len(parts) == 1 and _valid_ref(parts[0]):
        return Tap(ButtonKind.NONE_OF_THESE, ref=parts[0] or None)
    if kind == "h" and len(parts) == 1 and _valid_ref(parts[0]):
        return Tap(ButtonKind.HANDOFF, ref=parts[0] or None)
    return None


def _valid_ref(ref: str) -> bool:
    return _REF_RE.fullmatch(ref) is not None


__all__ = ["MAX_BUTTON_DATA", "VIA_CODES", "Tap", "decode_button", "encode_button", "short_hash"]
