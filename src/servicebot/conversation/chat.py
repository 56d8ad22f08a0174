"""The conversation every channel holds with a resident, written once.

A channel adapter (Telegram, the terminal, the web page, WeChat) only decodes what the
resident did into an event (`events`: typed text, a command, a button press, a menu pick,
something that is not text), hands it to `Conversation.handle` together with the `Resident`,
and renders the `Said` it gets back. `handle` is the only way in, so no channel can answer
without flood control, the log's record or the hand-off. Everything in between lives here:
commands, greetings, too-long messages, button presses and stale buttons, feedback, the `via`
bookkeeping that tells reviewers how an answer was reached, per-resident flood control, and
(for channels without real buttons) the numbered-choice convention (`memory`).

Hand-off to staff (转人工), when the channel gives the conversation a `Desk`:
- the conversation decides *when* — the 转人工 button under a reply the bot could not help
  with (`Reply.can_hand_off`) and after a 👎, a typed 人工 / 转人工 / 找工作人员 (the
  matcher's `Intent.HUMAN`, `asks_for_person`), and everything typed while the resident's
  ticket is open (it goes to staff, not to the matcher);
- the desk (`tickets.Desk`) carries the `HandOff` request out before `handle` returns, and
  what it says is what the resident reads. Without a desk nothing changes, and no reply
  promises that staff will see or answer a question.
- `Resident` carries the channel's own address of the resident (`chat`), so a later message
  (`delivery.Delivery`) can be routed without the conversation knowing any channel's details.

Text is cleaned at this edge (`clean_text`): lone surrogates and control characters, which
a JSON body can carry and which break the normalizer, never reach the core; direction and
format controls (U+202E and its kin) are removed.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Protocol

from servicebot.answering import replies
from servicebot.answering.replies import Reply
from servicebot.answering.service import Outcome, Service
from servicebot.answering.smalltalk import Intent
from servicebot.answering.text import MAX_INPUT_CHARS
from servicebot.conversation.buttons import Tap, decode_button
from servicebot.conversation.events import (
    Ask,
    Asked,
    Command,
    Event,
    HandOff,
    HandOffKind,
    Pick,
    Press,
    Refusal,
    Resident,
    Said,
    Text,
)
from servicebot.conversation.memory import ChoiceMemory, choice_hint
from servicebot.conversation.throttle import ALLOW, WARN, FloodGate
from servicebot.matching import Match
from servicebot.records import ButtonKind, Status, Via


class Desk(Protocol):
    """The hand-off desk (`tickets.Desk`) as the conversation sees it. `key` is the
    resident's hashed key (`Conversation.key`)."""

    def active(self, key: str) -> int | None:
        """The ticket the resident is writing in (open, not left, active in the last 24 h)."""
        ...

    def remember(self, key: str, asked: Asked) -> None:
        """A question the resident just asked, in case they hand it off."""
        ...

    async def take(self, resident: Resident, key: str, handoff: HandOff) -> Said:
        """Carry out a hand-off request; what to tell the resident."""
        ...


def asks_for_person(text: str, match: Match | None) -> bool:
    """The message asks for a person (人工, 转人工, 找工作人员...), and nothing else: the
    matcher's small-talk reading of it (`smalltalk.Intent.HUMAN`)."""
    return match is not None and match.intent == Intent.HUMAN


# --- text at the edge --------------------------------------------------------------------

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u200b\u2028\u2029\ufeff]")
# Invisible controls of how text is shown (bidirectional marks, embeddings, overrides, isolates;
# word joiner, invisible operators, soft hyphen, …): U+202E would print a question backwards in
# `review`. Zero-width (non-)joiners stay: emoji sequences and some scripts need them.
_FORMAT_RE = re.compile("[\u00ad\u061c\u180e\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufff9-\ufffb]")


def clean_text(text: str) -> str:
    """Text safe for the core: a lone surrogate (which a JSON string can carry, and which
    OpenCC refuses) becomes U+FFFD, control characters become spaces, CR LF becomes LF, and
    direction and format controls are removed."""
    text = _SURROGATE_RE.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL_RE.sub(" ", _FORMAT_RE.sub("", text))


_COMMAND_RE = re.compile(r"/([A-Za-z_]{1,32})")


def command_in(text: str) -> Command | None:
    """The command a typed "/name" asks for (HELP for one the bot does not know); None if
    the text is not a command."""
    found = _COMMAND_RE.fullmatch(text.strip())
    if found is None:
        return None
    name = found.group(1).lower()
    return Command(name) if name in {command.value for command in Command} else Command.HELP


# --- flood control -----------------------------------------------------------------------


def admission(gate: FloodGate, key: str) -> Said | None:
    """None if the resident (by hashed key) may be answered; otherwise what to say instead
    (once) or a quiet refusal. `Conversation.handle` applies its own gate; Telegram, which
    gates every update for the bot before it knows what it is (a staff command too), applies
    its gate itself and gives its conversation none."""
    verdict = gate.check(key)
    if verdict == ALLOW:
        return None
    if verdict == WARN:
        return Said(ack=replies.SLOW_DOWN_TEXT, refused=Refusal.SLOW_DOWN)
    return Said(refused=Refusal.DROPPED)


# --- the conversation --------------------------------------------------------------------


class Conversation:
    """One channel's side of the conversation; all channels share the `Service`.

    `gate` (optional) limits how much one resident may send; `memory` (optional) turns on
    the numbered-choice convention: a number picks a choice of the last reply, + or - rates
    the last answer; `desk` (optional) turns on hand-off to staff in private chats.
    `settle`: `handle` returns only once what it recorded is on disk (`Service.settle`), so
    a crash after the answer went out cannot take its record; Telegram, whose update journal
    replays an update until its reply is sent, leaves it off rather than make every reply
    wait for the disk.
    """

    def __init__(
        self,
        service: Service,
        *,
        gate: FloodGate | None = None,
        memory: ChoiceMemory | None = None,
        desk: Desk | None = None,
        settle: bool = True,
    ):
        self.service = service
        self.gate = gate
        self.memory = memory
        self.desk = desk
        self.settle = settle

    async def handle(self, resident: Resident, event: Event, *, ref: str | None = None) -> Said:
        """The answer to one input, the one way in for every channel: flood control, what
        the input means, its record on disk (with `settle`), and the hand-off it asks for
        carried out by the desk (the `Said` is then the desk's, with the request in `handoff`).

        `ref`: the reference to log the input's interaction under, from a channel that may be
        handed the same input again (`Service.ref_for`): a Telegram update replayed after a
        crash, WeChat retrying a message after a restart. The log keeps one row per reference,
        so the input is counted once. None: a fresh reference.
        """
        refused = admission(self.gate, self.key(resident)) if self.gate is not None else None
        if refused is not None:
            return refused
        said = self._respond(resident, event, ref)
        if self.settle:
            await self.service.settle()
        if said.handoff is None or self.desk is None:
            return said
        taken = replace(await self.desk.take(resident, self.key(resident), said.handoff), handoff=said.handoff)
        if self.memory is not None and taken.reply is not None:
            self.memory.remember(self.key(resident), taken)
        return taken

    def key(self, resident: Resident) -> str:
        """The resident's hashed key: flood control and memory never hold raw ids."""
        return self.service.resident_key(f"{resident.channel}:{resident.id}") or ""

    def greeting(self) -> Said:
        """The welcome with the topic menu (what /start says), for a channel to show before
        the resident has said anything (the web page)."""
        return self._command(Command.START)

    # -- what each input means --------------------------------------------------------------

    def _respond(self, resident: Resident, event: Event, ref: str | None) -> Said:
        """What to say to one input, and the hand-off it asks for (not yet carried out)."""
        if isinstance(event, Text):
            said = self._text(resident, clean_text(event.text), ref, event.via)
        elif isinstance(event, Ask):
            said = self._command(event.command)
        elif isinstance(event, Press):
            tap = decode_button(event.data, self.service.snapshot)
            said = self._press(resident, tap, ref=ref) if tap is not None else stale()
        elif isinstance(event, Pick):
            said = self._press(resident, event.tap, ref=ref)
        else:
            said = Said(Reply(replies.NON_TEXT_TEXT))
        if self.memory is not None and said.reply is not None and not said.refused:
            self.memory.remember(self.key(resident), said)
        return said

    def _command(self, command: Command) -> Said:
        faq = self.service.snapshot.faq
        if command == Command.START:
            return Said(replies.greeting_reply(faq))
        if command == Command.TOPICS:
            return Said(replies.topics_reply(faq))
        if command == Command.PRIVACY:
            settings = self.service.settings
            ticket_days = settings.ticket_days if self.desk is not None else None
            return Said(Reply(replies.privacy_text(settings.retention_days, ticket_days)))
        return Said(Reply(replies.HELP_TEXT))

    def _text(self, resident: Resident, text: str, ref: str | None = None, via: Via = Via.QUESTION) -> Said:
        text = text.strip()
        if not text:
            return self._command(Command.START)
        command = command_in(text)
        if command is not None:
            return self._command(command)
        if self.memory is not None:
            picked = self._numbered(resident, text, ref)
            if picked is not None:
                return picked
        desk = self._desk(resident)
        number = desk.active(self.key(resident)) if desk is not None else None
        if number is not None:  # writing in their ticket: for staff, not for the matcher
            return Said(handoff=HandOff(HandOffKind.ADD, text=text, number=number))
        notice = replies.TOO_LONG_TEXT if len(text) > MAX_INPUT_CHARS else ""
        outcome = self.service.answer(text[:MAX_INPUT_CHARS], via=via, **self._who(resident, ref))
        if self.desk is not None and asks_for_person(text, outcome.match):
            return self._person_asked(resident, outcome)
        reply, ref = outcome.reply, outcome.ref
        if desk is not None:
            small_talk = outcome.status == Status.SMALL_TALK
            if not small_talk:
                desk.remember(self.key(resident), _asked(outcome, text[:MAX_INPUT_CHARS]))
            if reply.can_hand_off:
                reply = replies.with_handoff(reply)
                ref = "" if small_talk else ref  # under a complaint, 转人工 hands off the latest question
        return Said(
            reply,
            ref=ref,
            via=replies.buttons_via(outcome.status),
            notice=notice,
            status=outcome.status,
        )

    def _person_asked(self, resident: Resident, outcome: Outcome) -> Said:
        """A typed 人工 where a desk runs: hand off the resident's latest question (in a group:
        ask them to write privately). Without a desk the service's own small-talk reply says
        honestly that the bot cannot reach staff."""
        if self._desk(resident) is not None:
            return Said(handoff=HandOff(HandOffKind.OPEN), ref=outcome.ref, status=outcome.status)
        return Said(Reply(replies.PRIVATE_ONLY_TEXT), ref=outcome.ref, status=outcome.status)

    def _desk(self, resident: Resident) -> Desk | None:
        """The desk, for a resident who may hand off: in a private chat (a staff reply in a
        residents' group would tell everyone there)."""
        return self.desk if self.desk is not None and resident.chat_type == "private" else None

    def _numbered(self, resident: Resident, text: str, ref: str | None = None) -> Said | None:
        """A number picking a choice, or + / - rating the last answer; None for a question."""
        assert self.memory is not None
        shown = self.memory.get(self.key(resident))
        if shown is None:
            return None
        if text in ("+", "-") and shown.rated_ref:
            return self._press(resident, Tap(ButtonKind.FEEDBACK, text, shown.rated_ref))
        if not (text.isdigit() and len(text) <= 2 and shown.choices):
            return None
        if not 1 <= int(text) <= len(shown.choices):
            return Said(ack=choice_hint(len(shown.choices)))  # no reply: the choices stay
        button = shown.choices[int(text) - 1]
        if button.kind == ButtonKind.URL:
            return Said(ack=f"请在浏览器中打开：{button.value}")
        return self._press(resident, Tap(button.kind, button.value, shown.ref or None, shown.via), ref=ref)

    def _press(self, resident: Resident, tap: Tap, *, ref: str | None = None) -> Said:
        """A button pressed (or picked by number, or from a menu); `ref` as for `handle`."""
        service = self.service
        faq = service.snapshot.faq
        desk = self._desk(resident)
        if tap.kind == ButtonKind.FEEDBACK:
            service.feedback(tap.ref or "", tap.value == "+")
            thanks = replies.FEEDBACK_THANKS["+" if tap.value == "+" else "-"]
            if tap.value == "-" and desk is not None and desk.active(self.key(resident)) is None:
                return Said(replies.downvote_reply(), ref=tap.ref or "", ack=thanks)
            return Said(ack=thanks)
        if tap.kind == ButtonKind.ENTRY:
            outcome = service.answer_entry(tap.value, via=tap.via, origin_ref=tap.ref, **self._who(resident, ref))
            if outcome is None:
                return stale()
            if desk is not None:
                desk.remember(self.key(resident), _asked(outcome, faq.by_id[tap.value].question))
            return Said(outcome.reply, ref=outcome.ref, via=Via.RELATED, status=outcome.status)
        if tap.kind == ButtonKind.TOPIC:
            topic = next((t for t in faq.topics if t.name == tap.value), None)
            return Said(replies.topic_reply(topic, faq)) if topic else stale()
        if tap.kind == ButtonKind.NONE_OF_THESE:
            reply = service.none_of_these(tap.ref, **self._who(resident, ref))
            if desk is not None and reply.can_hand_off:
                reply = replies.with_handoff(reply)  # hands off the question the suggestions were for
            return Said(reply, ref=tap.ref or "", status=Status.UNANSWERED)
        if tap.kind == ButtonKind.HANDOFF:
            if desk is None:
                return stale()
            return Said(handoff=HandOff(HandOffKind.OPEN, ref=tap.ref))
        if tap.kind == ButtonKind.BACK:
            return Said(handoff=HandOff(HandOffKind.LEAVE)) if desk is not None else stale()
        return Said(replies.topics_reply(faq))

    def _who(self, resident: Resident, ref: str | None) -> dict:
        return {"channel": resident.channel, "chat_type": resident.chat_type, "resident": resident.id, "ref": ref}


def stale() -> Said:
    return Said(ack=replies.STALE_BUTTON_TEXT, refused=Refusal.STALE)


def _asked(outcome: Outcome, question: str) -> Asked:
    match = outcome.match
    suggestions = tuple(c.entry_id for c in match.suggestions) if match is not None else ()
    return Asked(outcome.ref, question, outcome.status, outcome.entry_id, suggestions)


__all__ = [
    "Conversation",
    "Desk",
    "admission",
    "asks_for_person",
    "clean_text",
    "command_in",
    "stale",
]
