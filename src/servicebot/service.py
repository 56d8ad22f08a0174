"""`answer(question)`: the one path shared by Telegram, the terminal chat and `ask`.

The service owns the current FAQ snapshot (FAQ + index), swaps it atomically on reload —
a request that already took the old snapshot finishes on it; what the new FAQ drops is
named to staff — and records every interaction in the log, masked and pseudonymous.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from servicebot import replies
from servicebot.checks import build_snapshot, find_removal, removal_problems
from servicebot.config import Settings
from servicebot.errors import FaqError, Problem
from servicebot.faq import Faq
from servicebot.matching import Index, Match
from servicebot.privacy import mask_personal, pseudonym
from servicebot.records import Interaction, InteractionSink, SettlingSink, Status, Via
from servicebot.replies import Reply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """One loaded FAQ and its index; never mutated, only replaced."""

    faq: Faq
    index: Index
    loaded_at: dt.datetime


@dataclass(frozen=True)
class Outcome:
    ref: str
    status: str
    entry_id: str | None
    reply: Reply
    match: Match | None = None


REF_DIGITS = 12  # hex digits of an interaction reference: short enough for Telegram's button data


def new_ref() -> str:
    """A short random id linking a reply's buttons back to its interaction."""
    return secrets.token_hex(REF_DIGITS // 2)


class Service:
    def __init__(
        self,
        snapshot: Snapshot,
        settings: Settings,
        sink: InteractionSink | None = None,
        secret: str = "",
    ):
        self._snapshot = snapshot
        self.settings = settings
        self.sink = sink
        self._secret = secret or secrets.token_hex(16)

    @classmethod
    def from_settings(cls, settings: Settings, sink: InteractionSink | None = None, secret: str = "") -> Service:
        """Load the FAQ named by the settings; raises FaqError if it is broken."""
        return cls(load_snapshot(settings), settings, sink, secret)

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def reload(self) -> tuple[bool, list[Problem]]:
        """Re-read the FAQ; swap it in only if it passes every check. Returns (swapped, problems).

        A staff action (/reload): whatever it removes is applied, and named.
        """
        try:
            snapshot = load_snapshot(self.settings)
        except FaqError as exc:
            return False, exc.problems
        return self.swap(snapshot)

    def swap(self, snapshot: Snapshot, *, guard: bool = False) -> tuple[bool, list[Problem]]:
        """Serve a checked snapshot from now on; (swapped, problems), removals named first.

        Entries or regression questions the new FAQ drops are logged and returned as warnings,
        so staff notice a mistake. With `guard` (automatic reloads), a removal that looks like
        a half-saved file is held back instead; /reload and SIGHUP apply it on purpose.
        """
        removal = find_removal(self._snapshot.faq, snapshot.faq)
        if guard and removal.looks_half_saved:
            log.warning(
                "FAQ edit held back, still serving the previous FAQ: it would remove %s, "
                "which looks half-saved; /reload or SIGHUP applies it",
                removal,
            )
            return False, removal_problems(removal, held_back=True)
        if removal:
            log.warning("FAQ reload removed %s", removal)
        self._snapshot = snapshot
        return True, removal_problems(removal) + list(snapshot.faq.warnings)

    # -- answering -----------------------------------------------------------------------

    def resident_key(self, raw_id: int | str | None) -> str | None:
        return None if raw_id is None else pseudonym(self._secret, raw_id)

    def ref_for(self, origin: str) -> str:
        """The interaction reference for one input a channel may be handed again, named by
        `origin` (the channel's own stable name for it: a Telegram update, a WeChat message).
        The same origin always gives the same reference, so the log, which keeps one row per
        reference, counts a replayed input once. Keyed with the service's secret: like a
        fresh reference, it cannot be guessed from the input (buttons carry it)."""
        return pseudonym(self._secret, f"ref:{origin}")[:REF_DIGITS]

    def answer(
        self,
        question: str,
        *,
        channel: str,
        chat_type: str = "private",
        resident: int | str | None = None,
        ref: str | None = None,
    ) -> Outcome:
        snap = self._snapshot
        question = mask_personal(question)
        match = snap.index.match(question)
        status = match.status
        if match.intent is not None and status != Status.ANSWERED:
            reply = replies.small_talk_reply(match.intent, snap.faq)
            status = Status.SMALL_TALK
        elif match.status == Status.ANSWERED and match.entry_id:
            reply = replies.answer_reply(snap.faq.by_id[match.entry_id], snap.faq)
        elif match.status == Status.SUGGEST:
            reply = replies.suggest_reply(match.suggestions, snap.faq)
        elif not match.normalized:  # greetings, thanks, emoji: nothing was asked
            reply = replies.nothing_asked_reply(snap.faq)
        else:
            reply = replies.unanswered_reply(snap.faq.contact)
        ref = ref or new_ref()
        self._log(
            ref,
            channel,
            chat_type,
            resident,
            question=question,
            normalized=match.normalized,
            status=status,
            entry_id=match.entry_id,
            score=match.score,
            suggestions=tuple(c.entry_id for c in match.suggestions),
        )
        return Outcome(ref, status, match.entry_id, reply, match)

    def answer_entry(
        self,
        entry_id: str,
        *,
        via: str,
        channel: str,
        chat_type: str = "private",
        resident: int | str | None = None,
        origin_ref: str | None = None,
        ref: str | None = None,
    ) -> Outcome | None:
        """Answer a tapped question button; None if the entry no longer exists."""
        snap = self._snapshot
        entry = snap.faq.by_id.get(entry_id)
        if entry is None:
            return None
        ref = ref or new_ref()
        self._log(
            ref,
            channel,
            chat_type,
            resident,
            question=entry.question,
            normalized="",
            status=Status.TAP,
            entry_id=entry_id,
            score=100.0,
            via=via,
            origin_ref=origin_ref,
        )
        return Outcome(ref, Status.ANSWERED, entry_id, replies.answer_reply(entry, snap.faq))

    def none_of_these(
        self,
        origin_ref: str | None,
        *,
        channel: str,
        chat_type: str = "private",
        resident: int | str | None = None,
        ref: str | None = None,
    ) -> Reply:
        """The resident rejected every suggestion: record it so reviewers see the miss."""
        self._log(
            ref or new_ref(),
            channel,
            chat_type,
            resident,
            question="",
            normalized="",
            status=Status.UNANSWERED,
            entry_id=None,
            score=0.0,
            via=Via.NONE,
            origin_ref=origin_ref,
        )
        return replies.unanswered_reply(self._snapshot.faq.contact)

    async def settle(self) -> None:
        """Wait (bounded, and not while the disk fails) until what was recorded so far is on
        disk: a channel calls this before it answers, so a crash after the answer cannot take
        the record with it."""
        if isinstance(self.sink, SettlingSink):
            try:
                await self.sink.settle()
            except Exception:  # the log must never stop an answer
                log.exception("could not wait for the interaction log")

    def feedback(self, ref: str, positive: bool) -> None:
        if self.sink is not None:
            try:
                self.sink.feedback(ref, positive)
            except Exception:  # the log must never stop an answer
                log.exception("could not record feedback")

    def _log(self, ref: str, channel: str, chat_type: str, resident: int | str | None, **fields: Any) -> None:
        """Record one interaction, now, under the resident's pseudonym."""
        self._record(
            Interaction(
                ref=ref, at=_now(), channel=channel, chat_type=chat_type, resident=self.resident_key(resident), **fields
            )
        )

    def _record(self, interaction: Interaction) -> None:
        if self.sink is not None:
            try:
                self.sink.record(interaction)
            except Exception:
                log.exception("could not record interaction")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load_snapshot(settings: Settings) -> Snapshot:
    """FAQ directory → validated, checked, indexed snapshot, or FaqError."""
    faq, index = build_snapshot(settings)
    return Snapshot(faq, index, _now())
