"""The WeChat Official Account (公众号) channel: WeChat's server mode, on the bot's web server.

With server mode on, WeChat POSTs every message a resident sends to the account to `/wechat`
and shows the XML we answer with, if it comes within 5 seconds (a "passive reply"). The
protocol itself is apart — signatures and safe mode (`wechat_crypto`), safe XML
(`wechat_messages`), a POST in and its answer out (`wechat_protocol`), a reply as WeChat text
within WeChat's limit (`wechat_text`), retries and replays (`wechat_replay`) — and so is the
conversation (`conversation`). What is left here is WeChat's side of the conversation:

- decoding: text → the conversation; a voice message with WeChat's speech recognition
  (`Recognition`) → its text, answered as if typed and logged as spoken (`Via.VOICE`);
  `subscribe` → the welcome with the topic list; a menu CLICK key → the topic or entry it
  names (`menu_event`: a `Pick`, no button data); an image, a voice message without
  recognised text, video, location or link → "please send text"; any other event, and menu
  links, → nothing ("success");
- per resident, for a while: the numbered choices of the last reply (`ChoiceMemory`; links
  are shown as links, so they are not numbered) and the pages of a long reply not read yet
  ("更多"), in memory;
- WeChat's retries: each message is answered, and logged, once (`ReplyCache`), however often
  it arrives. On the first two tries the request waits for the answer — answering "success"
  would stop WeChat's retries, and the retry collects the stored answer. On the last, it
  waits just under WeChat's deadline, then says the answer is coming; the answer then waits
  for the resident's next message. A retry that comes after a restart is answered again but
  logged once (its interaction reference is derived from the message).
- replays: in safe mode only encrypted requests are read (`decode_post`), and a signed
  request is accepted once, or again only as one of WeChat's identical retries
  (`wechat_replay.NonceMemory`): a captured signed URL cannot carry another body, another
  resident's OpenID included;
- hand-off to staff (转人工), when the core has a desk: as on every channel, through the
  conversation; the resident is told, when the ticket opens, that the staff reply comes with
  the answer to their next message.

A passive reply can only answer a message: writing to a resident outside one needs WeChat's
customer-service API, an access token and network access to WeChat. So whatever is delivered
later (a staff reply after a hand-off, a note about the ticket, an answer that came too
late) waits in the durable outbox (`storage.outbox`, in the log's SQLite file, keyed by the
resident's hashed key, at most `ticket_days`) and is shown once, with the resident's next
message, above its answer — also after a restart of the bot.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from servicebot.answering import replies
from servicebot.answering.replies import Button, Reply
from servicebot.bounded import BoundedMap
from servicebot.channels import Core
from servicebot.channels.http_shared import BodyTooLarge, read_body
from servicebot.channels.wechat_crypto import WechatCrypto, verify_url
from servicebot.channels.wechat_messages import (
    MAX_BODY_BYTES,
    SUCCESS,
    MenuClick,
    Message,
    OtherMessage,
    Subscribe,
    TextMessage,
    Unsubscribe,
    VoiceMessage,
    text_reply,
)
from servicebot.channels.wechat_protocol import WECHAT_DEADLINE, WECHAT_TRIES, decode_post, encode_reply
from servicebot.channels.wechat_replay import NonceMemory, ReplyCache
from servicebot.channels.wechat_text import paginate, render
from servicebot.conversation.chat import Conversation
from servicebot.conversation.delivery import Delivered
from servicebot.conversation.events import Ask, Command, Event, NonText, Pick, Resident, Said, Text
from servicebot.conversation.memory import ChoiceMemory
from servicebot.conversation.throttle import FloodGate
from servicebot.errors import ReplayError, SignatureError, StorageError, WechatError
from servicebot.faq import Faq
from servicebot.logs import LogThrottle
from servicebot.records import ButtonKind, Channel, Via
from servicebot.storage.outbox import Outbox

log = logging.getLogger(__name__)

PATH = "/wechat"
# On WeChat's last try, how much of its deadline we wait before saying the answer is coming:
# the rest is for the reply to reach WeChat.
LAST_TRY_SHARE = 0.9
CHOICES_KEPT = 30 * 60  # seconds a resident's numbered choices and unread pages are kept
XML = "text/xml"


# --- what a menu key means -----------------------------------------------------------------

ENTRY_PREFIX, TOPIC_PREFIX = "entry:", "topic:"
MENU_COMMANDS = {command.value: command for command in Command}


def menu_event(key: str, faq: Faq) -> Event | None:
    """The conversation event a custom-menu CLICK key stands for: an entry id (answered as if
    tapped in the topic menu), a topic name (its questions), or a command name (`topics`,
    `help`, `privacy`, `start`); an `entry:` or `topic:` prefix says which is meant. None if
    the key names nothing in the current FAQ."""
    key = key.strip()
    entry_id = topic = key
    if key.startswith(ENTRY_PREFIX):
        entry_id, topic = key.removeprefix(ENTRY_PREFIX), ""
    elif key.startswith(TOPIC_PREFIX):
        entry_id, topic = "", key.removeprefix(TOPIC_PREFIX)
    if entry_id in faq.by_id:
        return Pick(ButtonKind.ENTRY, entry_id)
    if topic and any(t.name == topic for t in faq.topics):
        return Pick(ButtonKind.TOPIC, topic)
    command = MENU_COMMANDS.get(key.lower())
    return Ask(command) if command is not None else None


# --- per-resident memory -------------------------------------------------------------------


class WechatChoices(ChoiceMemory):
    """`ChoiceMemory` as WeChat shows replies: links are `<a href>` links, not numbered lines,
    so the numbers a resident sees (`wechat_text.render`) are exactly the choices kept."""

    def numbered(self, reply: Reply) -> list[Button]:
        return reply.choices


class Shelf:
    """Texts kept per resident (by hashed key) for `ttl` seconds after they were last put:
    at most `per_resident` each (the oldest dropped) and `residents` residents (the least
    recently used forgotten first), so memory stays bounded."""

    def __init__(
        self,
        ttl: float,
        *,
        residents: int = 10_000,
        per_resident: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ttl, self.residents, self.per_resident = ttl, residents, per_resident
        self._shelves: BoundedMap[str, list[str]] = BoundedMap(residents, ttl, clock=clock)

    def put(self, key: str, texts: Sequence[str], *, first: bool = False) -> None:
        """Add `texts` after what is kept (before it, with `first`)."""
        if not texts:
            return
        kept = self._get(key)
        joined = [*texts, *kept] if first else [*kept, *texts]
        self._shelves[key] = joined[-self.per_resident :]

    def set(self, key: str, texts: Sequence[str]) -> None:
        """Keep `texts` instead of what is kept."""
        self._shelves.pop(key)
        self.put(key, texts)

    def peek(self, key: str) -> list[str]:
        """What is kept for `key`, left in place."""
        return self._get(key)

    def take(self, key: str) -> list[str]:
        """Everything kept for `key`, which is then forgotten."""
        texts = self._get(key)
        self._shelves.pop(key)
        return texts

    def pop(self, key: str) -> str | None:
        """The first text kept for `key`, removed; None when there is none."""
        texts = self.take(key)
        if not texts:
            return None
        self.put(key, texts[1:])
        return texts[0]

    def _get(self, key: str) -> list[str]:
        return list(self._shelves.get(key) or ())

    def __len__(self) -> int:
        return len(self._shelves)


# --- what we answer ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One message's answer, computed once and given to each of WeChat's tries."""

    text: str | None  # what WeChat shows (at most one page); None: answer "success", show nothing
    whole: str = ""  # all of it, before it was cut into pages: what waits if the answer came too late


SILENT = Outgoing(None)


class More:
    """The resident asked for the next page of a long reply ("更多")."""


def said_text(said: Said) -> str | None:
    """What WeChat shows for a `Said`: the notice, then the reply as WeChat text (numbered
    choices); an acknowledgement alone when there is no reply; None when there is nothing
    to say (a quiet refusal)."""
    if said.reply is None:
        return said.ack or None
    text = render(said.reply).text
    return f"{said.notice}\n\n{text}" if said.notice else text


def late_text(said: Said) -> str | None:
    """A late message as WeChat shows it above another answer: without its choices. Numbers
    and + / - pick and rate what the answer *below* it offers, so the late message's own
    buttons (a staff reply's 👍/👎) could not be used, and are not offered."""
    if said.reply is not None:
        said = replace(said, reply=replace(said.reply, rows=()))
    return said_text(said)


def asks_for_more(text: str) -> bool:
    return text.strip().rstrip("。.!！~～") == replies.WECHAT_MORE_KEYWORD


def spoken_event(recognition: str) -> Event | More:
    """A voice message, by what WeChat's speech recognition heard: a question as if typed
    (logged as spoken), "更多" for the next page, or — nothing recognised (recognition is
    off, or it heard nothing) — the hint to type. The recogniser ends a sentence with "。",
    which is dropped, so a spoken number still picks a numbered choice."""
    text = recognition.strip().rstrip("。")
    if not text:
        return NonText()
    return More() if asks_for_more(text) else Text(text, via=Via.VOICE)


# --- the channel ---------------------------------------------------------------------------


class WechatChannel:
    """`/wechat` on the bot's web server: WeChat's URL check (GET) and messages (POST).

    `deadline` is how long WeChat waits for each try (5 s); tests shorten it."""

    name = Channel.WECHAT

    def __init__(self, core: Core, *, deadline: float = WECHAT_DEADLINE):
        settings = core.settings
        self.core = core
        self.token = settings.wechat_token
        self.crypto = WechatCrypto(settings.wechat_aes_key, settings.wechat_app_id) if settings.wechat_aes_key else None
        self.deadline = deadline
        self.memory = WechatChoices(ttl=CHOICES_KEPT)
        self.conversation = Conversation(
            core.service,
            gate=FloodGate(settings.flood_messages, settings.flood_window),
            memory=self.memory,
            desk=core.desk,
        )
        self.answers: ReplyCache[Outgoing] = ReplyCache()
        self.nonces = NonceMemory()
        self.pages = Shelf(CHOICES_KEPT)
        self.outbox = Outbox(core.db, keep_days=settings.ticket_days)
        # Residents something may wait for in the outbox: read at start, kept up to date here
        # (this process is the only one writing to its data dir), so that a message from anyone
        # else costs no trip to the database. None until read: the outbox is asked every time.
        self._addressees: set[str] | None = None
        self._kept_early: set[str] = set()  # kept for before the outbox was read
        self.rejections = LogThrottle(log)
        self._late: set[asyncio.Task[None]] = set()
        core.delivery.register(self.name, self, answer_only=True)

    def routes(self) -> Sequence[BaseRoute]:
        return [Route(PATH, self.check_url, methods=["GET"]), Route(PATH, self.receive, methods=["POST"])]

    async def start(self) -> None:
        settings = self.core.settings
        mode = "safe mode" if self.crypto else "plain-text mode"
        log.info("wechat: answering at http://%s:%s%s (%s)", settings.web_listen, settings.web_port, PATH, mode)
        try:
            await asyncio.to_thread(self.outbox.purge)  # what nobody came back for within ticket_days
            waiting = await asyncio.to_thread(self.outbox.residents, self.name)
        except StorageError as exc:
            log.error("wechat: %s", exc)  # the outbox is then asked with every message
        else:
            self._addressees = waiting | self._kept_early
            self._kept_early.clear()

    async def stop(self) -> None:
        for task in list(self._late):
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)
        await asyncio.to_thread(self.outbox.close)

    async def deliver(self, resident: Resident, said: Said) -> Delivered:
        """Keep `said` for the resident's next message (WeChat lets us answer, not write first),
        in the durable outbox. KEPT: on disk, shown when the resident next writes (within
        ticket_days); RETRY: it could not be stored now."""
        text = late_text(said)
        if text is None:
            return Delivered.RETRY
        kept = await self._keep(self.conversation.key(resident), text, once=said.ref or None)
        return Delivered.KEPT if kept else Delivered.RETRY

    # -- HTTP ------------------------------------------------------------------------------

    async def check_url(self, request: Request) -> Response:
        """WeChat's URL verification when server mode is switched on: echo `echostr` if signed."""
        try:
            echo = verify_url(request.query_params, self.token)
        except SignatureError as exc:
            return self._refuse("signature", 403, f"URL check: {exc}")
        return PlainTextResponse(echo, headers={"Cache-Control": "no-store"})

    async def receive(self, request: Request) -> Response:
        """One message from WeChat (or one of its retries): verified, answered once."""
        try:
            body = await read_body(request, MAX_BODY_BYTES)
            inbound = decode_post(body, request.query_params, token=self.token, crypto=self.crypto)
            self.nonces.admit(request.query_params, body)
        except BodyTooLarge:
            return self._refuse("size", 413, f"a body over {MAX_BODY_BYTES} bytes")
        except ReplayError as exc:
            return self._refuse("replay", 403, str(exc))
        except SignatureError as exc:
            return self._refuse("signature", 403, str(exc))
        except WechatError as exc:
            return self._refuse("malformed", 400, str(exc))
        message = inbound.message
        key = message.dedup_key
        last = self.answers.seen(key) >= WECHAT_TRIES - 1
        wait = self.deadline * (LAST_TRY_SHARE if last else WECHAT_TRIES)
        try:
            out = await self.answers.run_once(key, functools.partial(self.answer, message), timeout=wait)
        except TimeoutError:
            if not last:
                return Response(status_code=503)  # WeChat hung up long ago; its next try collects the answer
            self._when_ready(key, message)
            out = Outgoing(replies.WECHAT_SLOW_TEXT)
        if out.text is None:
            return PlainTextResponse(SUCCESS)
        xml = encode_reply(text_reply(message, out.text), inbound, token=self.token, crypto=self.crypto)
        return Response(xml, media_type=XML, headers={"Cache-Control": "no-store"})

    def _refuse(self, kind: str, status: int, reason: str) -> Response:
        self.rejections.warning(kind, "wechat: refused a request with %d: %s", status, reason)
        return PlainTextResponse("", status_code=status)

    # -- answering ---------------------------------------------------------------------------

    async def answer(self, message: Message) -> Outgoing:
        """The answer to one message. Run once per message, possibly after the request that
        started it has gone: so it logs its own errors and never raises."""
        try:
            return await self._answer(message)
        except Exception:
            log.exception("wechat: could not answer a %s", type(message).__name__)
            return Outgoing(replies.ERROR_TEXT, replies.ERROR_TEXT)

    async def _answer(self, message: Message) -> Outgoing:
        resident = Resident(Channel.WECHAT, message.sender)
        key = self.conversation.key(resident)
        if isinstance(message, Unsubscribe):
            self.pages.take(key)
            return SILENT
        event = self._event(message)
        if event is None:
            return SILENT
        if isinstance(event, More):
            page = self.pages.pop(key)
            return await self._send(key, page or replies.WECHAT_NO_MORE_TEXT, more=page is not None)
        ref = self.core.service.ref_for(f"wechat:{message.dedup_key}")
        text = said_text(await self.conversation.handle(resident, event, ref=ref))
        return SILENT if text is None else await self._send(key, text)

    def _event(self, message: Message) -> Event | More | None:
        """What the resident did, as the conversation understands it; None: nothing to answer."""
        if isinstance(message, TextMessage):
            return More() if asks_for_more(message.content) else Text(message.content)
        if isinstance(message, VoiceMessage):
            return spoken_event(message.recognition)
        if isinstance(message, Subscribe):
            return Ask(Command.START)
        if isinstance(message, MenuClick):
            event = menu_event(message.key, self.core.service.snapshot.faq)
            if event is None:
                self.rejections.warning(
                    "menu", "wechat: menu key %r names no entry, topic or command of the FAQ", message.key[:64]
                )
                return Ask(Command.TOPICS)
            return event
        if isinstance(message, OtherMessage) and not message.event:
            return NonText()  # image, video, location, link, file...
        return None  # a menu link, or an event we do not answer (location reports, scans...)

    async def _send(self, key: str, text: str, *, more: bool = False) -> Outgoing:
        """`text` after whatever waited for this resident, cut into pages: the first is sent,
        the rest kept for "更多" (in front of the pages still unread, when this is one)."""
        whole = f"\n\n{replies.WECHAT_SEPARATOR}\n\n".join([*await self._waiting(key), text])
        pages = paginate(whole)
        if more:
            self.pages.put(key, pages[1:], first=True)
        else:
            self.pages.set(key, pages[1:])
        return Outgoing(pages[0], whole)

    def _when_ready(self, key: str, message: Message) -> None:
        """The answer came too late for WeChat: keep it for the resident's next message."""

        async def keep() -> None:
            out = await self.answers.run_once(key, functools.partial(self.answer, message))
            if out.whole:
                resident_key = self.conversation.key(Resident(Channel.WECHAT, message.sender))
                await self._keep(resident_key, f"{replies.WECHAT_LATE_PREFIX}\n\n{out.whole}")

        task = asyncio.ensure_future(keep())
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    # -- the outbox ---------------------------------------------------------------------------

    async def _keep(self, key: str, text: str, *, once: str | None = None) -> bool:
        """Keep `text` for the resident's next message (once per `once`: a staff reply delivered
        again after a crash); False when it could not be stored."""
        try:
            await asyncio.to_thread(functools.partial(self.outbox.put, once=once), self.name, key, {"text": text})
        except StorageError as exc:
            log.error("wechat: a message for a resident's next reply could not be kept: %s", exc)
            return False
        self._expect(key)  # once on disk: a message taking meanwhile found nothing, the next one will
        return True

    async def _waiting(self, key: str) -> list[str]:
        """What waits for the resident, taken from the outbox (so shown once); nothing when the
        outbox cannot be read now (it stays there for the next message)."""
        if self._addressees is not None:
            if key not in self._addressees:
                return []
            self._addressees.discard(key)  # before taking: what is kept meanwhile adds it again
        try:
            messages = await asyncio.to_thread(self.outbox.take, self.name, key)
        except StorageError as exc:
            log.error("wechat: the messages waiting for a resident could not be read: %s", exc)
            self._expect(key)
            return []
        return [m["text"] for m in messages if isinstance(m.get("text"), str)]

    def _expect(self, key: str) -> None:
        """Something may wait for resident `key`: their next message asks the outbox."""
        (self._kept_early if self._addressees is None else self._addressees).add(key)


__all__ = [
    "PATH",
    "Outgoing",
    "Shelf",
    "WechatChannel",
    "WechatChoices",
    "late_text",
    "menu_event",
    "said_text",
    "spoken_event",
]
