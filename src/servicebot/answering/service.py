"""`answer(question)`: the one path shared by Telegram, the terminal chat and `ask`.

The service owns the current FAQ snapshot (FAQ + index), swaps it atomically on reload —
a request that already took the old snapshot finishes on it; what the new FAQ drops is
named to staff — and records every interaction in the log, masked and pseudonymous.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Self, overload

from servicebot.answering import replies
from servicebot.answering.bins import BinIndex, ItemQuestion
from servicebot.answering.referrals import Found, ReferralIndex
from servicebot.answering.replies import Reply
from servicebot.config import Settings
from servicebot.errors import FaqError, Problem
from servicebot.faq import Faq, Referral
from servicebot.faq.checks import build_snapshot, find_removal, removal_problems
from servicebot.matching import Index, Match, Reason
from servicebot.privacy import mask_personal, pseudonym
from servicebot.records import Channel, Interaction, InteractionSink, SettlingSink, Status, Via

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """One loaded FAQ and its index, with the referral and item lookups built from the same FAQ
    (so they swap together); never mutated, only replaced."""

    faq: Faq
    index: Index
    loaded_at: dt.datetime
    referrals: ReferralIndex = field(init=False, repr=False, compare=False)
    bins: BinIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "referrals", ReferralIndex(self.faq.referrals, self.index.normalize))
        object.__setattr__(self, "bins", BinIndex(self.faq.garbage))


@dataclass(frozen=True)
class Outcome:
    """What the service did with one question or tapped question button: `status` is the one
    its interaction is logged under (TAP for a button: no matching was involved)."""

    ref: str
    status: Status
    entry_id: str | None
    reply: Reply
    match: Match | None = None
    referral: Referral | None = None  # the matter another body handles (status REFERRAL)
    referral_word: str = ""  # ... and the subject word (normalized) that showed it
    item: ItemQuestion | None = None  # the everyday item asked about (status ITEM / ITEM_UNLISTED)


SUBJECT_REASONS = (Reason.EXACT, Reason.SUBJECT, Reason.OVERVIEW)  # answers the matcher's subject judgement chose
REFERRAL_ID = "referral:{id}"  # how a referral is logged in the entry_id column
ITEM_ID = "item:{name}"  # ... and a listed item


def referral_for(snap: Snapshot, question: str, match: Match) -> Found | None:
    """The matter another body handles that a question the FAQ does not answer is about.

    - unanswered (not small talk, not an empty question): the matter, if the question names one
      (in a story, its asking part first, then the whole story);
    - suggestions: only when none of the offered entries is on the matter's subject (护照
      suggests nothing about 护照); otherwise the resident keeps the choices;
    - answered: only when the answer cannot be about the question — the entry shares neither
      the matter's subject word nor has any of its own keywords in the question (失业金怎么领
      is not answered by 临时救助), and the answer was not a verbatim phrasing.
    The question is read as normalized (the FAQ's synonyms included), before the matcher's
    typo repair: 私搭乱建 is a subject word, not a sound-alike of some FAQ term.
    """
    if match.intent is not None or not match.normalized:
        return None
    normalized = snap.index.normalize(question)
    # In a story only the asking part names the matter (在工地上摔伤了…能申请临时救助吗 is no 工地 matter).
    asking = match.focus if match.focus and match.focus != match.normalized else normalized
    found = snap.referrals.find(asking)
    if found is None and match.status == Status.UNANSWERED and asking != normalized:
        # ... unless nothing else answers it: a post that names its matter early and then tells
        # (天然气一直没有开通…请问相关部门到底何时能够开通) is better sent there than refused.
        found = snap.referrals.find(normalized)
    if found is None:
        return None
    if match.status == Status.ANSWERED:
        if match.reason in SUBJECT_REASONS:  # the matcher weighed the FAQ's subject against the matter's
            return None
        entry = snap.faq.by_id.get(match.entry_id or "")
        if entry is None or snap.referrals.shared_by(found, [entry]):
            return None
        if any(keyword in normalized for keyword in snap.referrals.keywords(entry)):
            return None
    elif match.status == Status.SUGGEST:
        offered = [snap.faq.by_id[c.entry_id] for c in match.suggestions if c.entry_id in snap.faq.by_id]
        if snap.referrals.shared_by(found, offered):
            return None
    return found


@dataclass(frozen=True)
class Route:
    """What the bot does with one question, before any wording: the status, the entry (or the
    referral's or item's id), and what decided it. Pure: `Service.answer` logs it and builds
    the reply; `servicebot eval` scores it."""

    status: Status
    entry_id: str | None
    score: float
    match: Match | None = None
    found: Found | None = None  # the matter another body handles (REFERRAL)
    item: ItemQuestion | None = None  # the everyday item asked about (ITEM, ITEM_UNLISTED)


def names_item(snap: Snapshot, match: Match, item: ItemQuestion) -> bool:
    """Whether the entry answered names the item itself among its keywords: the item's name, or
    what it ends in (杀虫剂罐子 is a 杀虫剂罐), never a word inside it (电池 of 去掉电池的充电宝 —
    a 充电宝): only then does it say which bin the item goes into."""
    i = snap.index.position.get(match.entry_id or "")
    if i is None:
        return False
    head = _ITEM_TAIL.sub("", item.name)  # 杀虫剂罐子 → 杀虫剂罐, 水银体温计打碎了 → 水银体温计
    return any(item.name in k or (len(k) > 1 and head.endswith(k)) for k in snap.index.keywords[i])


# What may trail an item's name without changing what it is.
_ITEM_TAIL = re.compile("(?:子|了|打碎了|碎了|坏了|破了|用完了|过期了)+$")


def route(snap: Snapshot, question: str) -> Route:
    """An item's bin, an FAQ entry, choices, where to go, or an honest don't-know, for one
    (already masked) question."""
    item = snap.bins.ask(question)
    if item is not None and item.found is not None:
        return Route(Status.ITEM, ITEM_ID.format(name=item.found.name), 100.0, item=item)
    match = snap.index.match(question)
    if match.status == Status.REFERRAL and snap.faq.referrals is not None:
        matter = next(m for m in snap.faq.referrals.matters if m.id == match.referral)
        word = next((t.word for t in match.terms if t.away == matter.id), "")
        named = Found(matter, word, max(0, match.normalized.find(word)))
        return Route(Status.REFERRAL, REFERRAL_ID.format(id=matter.id), match.score, match, named)
    if item is not None and not (match.status == Status.ANSWERED and names_item(snap, match, item)):
        # An item the list lacks, which no FAQ entry names either (its keywords hold 杀虫剂罐, not 暖宝宝).
        return Route(Status.ITEM_UNLISTED, None, 0.0, match, item=item)
    found = referral_for(snap, question, match)
    if found is not None:
        return Route(Status.REFERRAL, REFERRAL_ID.format(id=found.referral.id), match.score, match, found)
    if match.intent is not None and match.status != Status.ANSWERED:
        return Route(Status.SMALL_TALK, None, match.score, match)
    return Route(match.status, match.entry_id, match.score, match)


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
    def from_settings(cls, settings: Settings, sink: InteractionSink | None = None, secret: str = "") -> Self:
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

    @overload
    def resident_key(self, raw_id: int | str) -> str: ...
    @overload
    def resident_key(self, raw_id: None) -> None: ...
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
        channel: Channel,
        chat_type: str = "private",
        resident: int | str | None = None,
        ref: str | None = None,
        via: Via = Via.QUESTION,
    ) -> Outcome:
        """Answer a question the resident typed (or spoke: `via` VOICE), and log it."""
        snap = self._snapshot
        question = mask_personal(question)
        routed = route(snap, question)
        ref = ref or new_ref()
        if routed.item is not None:
            return self._item(snap, routed, question, ref, channel, chat_type, resident, via)
        match, found = routed.match, routed.found
        assert match is not None  # every route but an item's comes from the matcher
        if found is not None:
            reply = replies.referral_reply(found.referral, snap.faq.referrals)
        elif routed.status == Status.SMALL_TALK and match.intent is not None:
            reply = replies.small_talk_reply(match.intent, snap.faq)
        elif routed.status == Status.ANSWERED and routed.entry_id:
            reply = replies.answer_reply(
                snap.faq.by_id[routed.entry_id],
                snap.faq,
                follow_ups=match.follow_ups,
                untold=match.untold,
                complaint=match.complaint,
            )
        elif routed.status == Status.SUGGEST:
            reply = replies.suggest_reply(match.suggestions, snap.faq)
        elif not match.normalized:  # greetings, thanks, emoji: nothing was asked
            reply = replies.nothing_asked_reply(snap.faq)
        else:
            reply = replies.unanswered_reply(snap.faq.contact)
        self._log(
            ref,
            channel,
            chat_type,
            resident,
            question=question,
            normalized=match.normalized,
            status=routed.status,
            entry_id=routed.entry_id,
            score=match.score,
            suggestions=() if found else tuple(c.entry_id for c in match.suggestions),
            via=via,
        )
        return Outcome(
            ref,
            routed.status,
            routed.entry_id,
            reply,
            match,
            referral=found.referral if found else None,
            referral_word=found.word if found else "",
        )

    def _item(
        self,
        snap: Snapshot,
        routed: Route,
        question: str,
        ref: str,
        channel: Channel,
        chat_type: str,
        resident: Any,
        via: Via,
    ) -> Outcome:
        """A question about one everyday item, answered from garbage-items.yaml (never a guessed bin)."""
        guide, item = snap.faq.garbage, routed.item
        assert guide is not None and item is not None  # snap.bins finds items only in a loaded list
        if item.also or item.unlisted:
            reply = replies.items_reply(item.items, item.unlisted, guide)
        elif item.found is not None:
            reply = replies.item_reply(item.found, guide)
        else:
            reply = replies.unlisted_item_reply(item.name, guide)
        self._log(
            ref,
            channel,
            chat_type,
            resident,
            question=question,
            normalized=item.name,
            status=routed.status,
            entry_id=routed.entry_id,
            score=routed.score,
            via=via,
        )
        return Outcome(ref, routed.status, routed.entry_id, reply, item=item)

    def answer_entry(
        self,
        entry_id: str,
        *,
        via: Via,
        channel: Channel,
        chat_type: str = "private",
        resident: int | str | None = None,
        origin_ref: str | None = None,
        ref: str | None = None,
    ) -> Outcome | None:
        """Answer a tapped question button; None if the entry no longer exists. Its status, TAP,
        is decided here, once: the log, the conversation and a hand-off all take it from the outcome."""
        snap = self._snapshot
        entry = snap.faq.by_id.get(entry_id)
        if entry is None:
            return None
        ref = ref or new_ref()
        status = Status.TAP  # a button: no matching was involved
        self._log(
            ref,
            channel,
            chat_type,
            resident,
            question=entry.question,
            normalized="",
            status=status,
            entry_id=entry_id,
            score=100.0,
            via=via,
            origin_ref=origin_ref,
        )
        return Outcome(ref, status, entry_id, replies.answer_reply(entry, snap.faq))

    def none_of_these(
        self,
        origin_ref: str | None,
        *,
        channel: Channel,
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

    def _log(self, ref: str, channel: Channel, chat_type: str, resident: int | str | None, **fields: Any) -> None:
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
