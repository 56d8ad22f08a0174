"""The WeChat Official Account server-mode protocol, as pure functions: no web framework, no I/O.

WeChat forwards every message sent to the account as a signed XML POST and shows the XML we
answer with (a "passive reply") if it comes within 5 seconds. Everything about that exchange
that can be decided without a server lives here, so the channel adapter stays thin and each
rule is tested alone:

- signatures: sha1 of the sorted token/timestamp/nonce (plus `Encrypt` in safe mode), compared
  in constant time, and a timestamp window against replays;
- safe mode (安全模式): AES-256-CBC as WeChat specifies, with the AppID checked on the way in;
- incoming XML → typed messages, refusing any DOCTYPE (so no external entity is ever fetched
  and no entity is ever expanded);
- the passive text reply (CDATA-safe) and the bare "success" reply;
- text cut to WeChat's reply limit at line/sentence boundaries, never inside a character or a
  link;
- de-duplication of WeChat's retries: a retried message gets the same reply, computed once;
- a channel-neutral `Reply` rendered as WeChat plain text with numbered choices.

Nothing here logs: OpenIDs and message text pass through in memory only.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import secrets
import struct
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from servicebot.answering import replies
from servicebot.answering.replies import Button, Reply
from servicebot.errors import ConfigError, DecryptError, MalformedMessageError, SignatureError, WechatError
from servicebot.records import ButtonKind

# WeChat drops the connection after 5 s without an answer and tries again; three requests in all
# ("五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次", 被动回复用户消息).
WECHAT_DEADLINE = 5.0
WECHAT_TRIES = 3

# Five minutes either way, as Stripe and Slack allow for their signed webhooks: wide enough for
# WeChat's ~15 s of retries plus a server clock that drifted a few minutes, narrow enough that a
# captured request cannot be replayed later. Inside the window, `wechat_replay.NonceMemory`
# refuses a replay; WeChat's own retries are answered from the ReplyCache (TTL 2 × the window).
TIMESTAMP_WINDOW = 300

# A 50,000-character Chinese message is 150 kB of UTF-8, and 4/3 of that once base64-encoded in
# safe mode; anything bigger is not a message a resident typed.
MAX_BODY_BYTES = 256 * 1024

# The passive text reply's Content: "不超过2048字节" in WeChat's interface documentation, measured
# as UTF-8 — and exactly 2048 bytes is already refused, so 2047 is the most that gets through
# (柳峰, 微信公众帐号开发教程第6篇-文本消息的内容长度限制揭秘, http://shanmao.me/weixin/wei-xin-kai-fa-jie-shou-wen-zi-chang-du;
# dodgepudding/wechat-php-sdk issue #363: "文本消息的最大长度是2047字节（UTF-8编码）").
MAX_TEXT_BYTES = 2047

SUCCESS = "success"  # "we got it, no reply": WeChat shows nothing and does not retry

# Residents' wording for what only WeChat needs lives in replies.py with the rest.
MORE_HINT = replies.WECHAT_MORE_HINT
MORE_KEYWORD = replies.WECHAT_MORE_KEYWORD


# --- signatures ----------------------------------------------------------------------------


def signature(*parts: str) -> str:
    """WeChat's signature: sha1 of the parts (token, timestamp, nonce[, Encrypt]) sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def verify_signature(
    token: str,
    given: str | None,
    timestamp: str | None,
    nonce: str | None,
    *,
    encrypt: str | None = None,
    now: float | None = None,
    window: int = TIMESTAMP_WINDOW,
) -> None:
    """Raise SignatureError unless `given` signs token/timestamp/nonce (and `encrypt`, for
    msg_signature) and the timestamp is within `window` seconds of `now`."""
    if not token:
        raise SignatureError("no token configured: every signature would be forgeable")
    if not given or timestamp is None or nonce is None:
        raise SignatureError("missing signature, timestamp or nonce")
    parts = (token, timestamp, nonce) if encrypt is None else (token, timestamp, nonce, encrypt)
    expected = signature(*parts).encode("ascii")
    if not hmac.compare_digest(expected, given.encode("utf-8", "replace")):
        raise SignatureError("bad signature")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise SignatureError("timestamp is not a number of seconds")
    now = time.time() if now is None else now
    if abs(int(timestamp) - now) > window:
        raise SignatureError(f"timestamp more than {window} s away from our clock")


def verify_url(query: Mapping[str, str], token: str, *, now: float | None = None) -> str:
    """The `echostr` to answer WeChat's URL verification GET with; SignatureError if not signed."""
    verify_signature(token, query.get("signature"), query.get("timestamp"), query.get("nonce"), now=now)
    return query.get("echostr", "")


# --- safe mode -----------------------------------------------------------------------------

_AES_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}")
_BLOCK = 32  # WeChat pads to 32-byte blocks (PKCS#7 with k = 32), not to AES's 16


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind an EncodingAESKey (43 base64 characters); ConfigError otherwise."""
    if not _AES_KEY_RE.fullmatch(encoding_aes_key or ""):
        raise ConfigError("invalid wechat_aes_key: the EncodingAESKey is 43 letters, digits, + or / (value hidden)")
    return base64.b64decode(encoding_aes_key + "=")


class WechatCrypto:
    """Safe-mode encryption for one account: AES-256-CBC, IV = the key's first 16 bytes, and
    plaintext = 16 random bytes + 4-byte big-endian length + XML + AppID, padded to 32 bytes."""

    def __init__(self, encoding_aes_key: str, app_id: str):
        if not app_id:
            raise ConfigError("safe mode (wechat_aes_key) needs wechat_app_id")
        self._key = aes_key(encoding_aes_key)
        self.app_id = app_id

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, xml: str, *, random_prefix: bytes | None = None) -> str:
        """`xml` as WeChat's base64 `Encrypt` text. `random_prefix` (16 bytes) is for known-answer tests."""
        prefix = os.urandom(16) if random_prefix is None else random_prefix
        if len(prefix) != 16:
            raise ValueError("random_prefix must be 16 bytes")
        body = xml.encode("utf-8")
        plain = prefix + struct.pack(">I", len(body)) + body + self.app_id.encode("utf-8")
        pad = _BLOCK - len(plain) % _BLOCK
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes:
        """The XML inside an `Encrypt` text; DecryptError if it is damaged or for another AppID."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("Encrypt is not base64") from None
        if not data or len(data) % 16:
            raise DecryptError("Encrypt is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptError("bad padding (wrong key?)")
        content = plain[16:-pad]
        if len(content) < 4:
            raise DecryptError("too short")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise DecryptError("length field past the end (wrong key?)")
        app_id = content[4 + length :]
        if not hmac.compare_digest(app_id, self.app_id.encode("utf-8")):
            raise DecryptError("message is for another AppID")
        return content[4 : 4 + length]


# --- incoming XML ----------------------------------------------------------------------------


def parse_fields(body: bytes | str) -> dict[str, str]:
    """The direct children of WeChat's `<xml>` root as name → text.

    Any DOCTYPE is refused before anything in it is acted on, so no external entity is
    fetched and no entity is expanded (XXE, billion laughs); so is a body over MAX_BODY_BYTES.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body.strip():
        raise MalformedMessageError("empty body")
    if len(body) > MAX_BODY_BYTES:
        raise MalformedMessageError(f"body over {MAX_BODY_BYTES} bytes")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise MalformedMessageError("XML with a DOCTYPE or entities is refused") from None
    except (ParseError, ValueError):
        raise MalformedMessageError("not well-formed XML") from None
    if root.tag != "xml":
        raise MalformedMessageError("root element is not <xml>")
    return {child.tag: (child.text or "") for child in root if isinstance(child.tag, str)}


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """What every message and event carries. `account` is our account (ToUserName), `sender`
    the resident's OpenID (FromUserName) — personal data: hash it before it is stored; it is
    left out of repr() so a logged message cannot leak it."""

    account: str
    sender: str = field(repr=False)
    create_time: int
    msg_id: str = ""

    @property
    def dedup_key(self) -> str:
        """Sender + MsgId (as WeChat recommends, and a MsgId reused by another sender never gets
        the first one's answer); events have none, so sender + CreateTime (WeChat's
        recommendation), plus what the event is, so two different taps in one second stay two."""
        if self.msg_id:
            return f"msg:{self.sender}:{self.msg_id}"
        return f"evt:{self.sender}:{self.create_time}:{self._what()}"

    def _what(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, kw_only=True)
class TextMessage(Envelope):
    content: str = field(repr=False)  # may hold a phone or ID-card number


@dataclass(frozen=True, kw_only=True)
class VoiceMessage(Envelope):
    """A voice message. `recognition` is what WeChat heard (`Recognition`, sent only when the
    account has 接收语音识别结果 switched on), empty otherwise; like typed text, personal."""

    recognition: str = field(default="", repr=False)


@dataclass(frozen=True, kw_only=True)
class Subscribe(Envelope):
    """The resident followed the account. `key` is set when they came through a QR code (qrscene_…)."""

    key: str = ""


@dataclass(frozen=True, kw_only=True)
class Unsubscribe(Envelope):
    pass


@dataclass(frozen=True, kw_only=True)
class MenuClick(Envelope):
    """A tap on a custom-menu item of type "click"; `key` is the item's key (a topic or entry)."""

    key: str

    def _what(self) -> str:
        return f"click:{self.key}"


@dataclass(frozen=True, kw_only=True)
class MenuView(Envelope):
    """A tap on a custom-menu link; WeChat opens `url` itself, nothing to answer."""

    url: str

    def _what(self) -> str:
        return f"view:{self.url}"


@dataclass(frozen=True, kw_only=True)
class OtherMessage(Envelope):
    """Anything else: image, video, shortvideo, location, link, an event we do not use, or a
    type WeChat adds later. `msg_type` and `event` are lower-cased."""

    msg_type: str
    event: str = ""

    def _what(self) -> str:
        return f"{self.msg_type}:{self.event}"


Message = TextMessage | VoiceMessage | Subscribe | Unsubscribe | MenuClick | MenuView | OtherMessage

_REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")


def parse_message(body: bytes | str) -> Message:
    """A typed message from a (decrypted) WeChat XML body; MalformedMessageError if it is not one."""
    fields = parse_fields(body)
    missing = [name for name in _REQUIRED if not fields.get(name, "").strip()]
    if missing:
        raise MalformedMessageError(f"missing {', '.join(missing)}")
    created = fields["CreateTime"].strip()
    if not (created.isascii() and created.isdigit() and len(created) <= 12):
        raise MalformedMessageError("CreateTime is not a number")
    common: dict[str, Any] = {
        "account": fields["ToUserName"],
        "sender": fields["FromUserName"],
        "create_time": int(created),
        "msg_id": fields.get("MsgId", "").strip(),
    }
    msg_type = fields["MsgType"].strip().lower()
    if msg_type == "text":
        return TextMessage(content=fields.get("Content", ""), **common)
    if msg_type == "voice":
        return VoiceMessage(recognition=fields.get("Recognition", "").strip(), **common)
    if msg_type != "event":
        return OtherMessage(msg_type=msg_type, **common)
    event, key = fields.get("Event", "").strip().lower(), fields.get("EventKey", "")
    if event == "subscribe":
        return Subscribe(key=key, **common)
    if event == "unsubscribe":
        return Unsubscribe(**common)
    if event == "click":
        return MenuClick(key=key, **common)
    if event == "view":
        return MenuView(url=key, **common)
    return OtherMessage(msg_type=msg_type, event=event, **common)


# --- a whole POST, both modes ----------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    """A verified, decoded POST. `encrypted`: it came in safe mode, so the reply must go back encrypted."""

    message: Message
    encrypted: bool
    nonce: str


def decode_post(
    body: bytes,
    query: Mapping[str, str],
    *,
    token: str,
    crypto: WechatCrypto | None = None,
    now: float | None = None,
    window: int = TIMESTAMP_WINDOW,
) -> Inbound:
    """Verify and decode one POST from WeChat, plain or safe mode (`encrypt_type=aes`).

    Raises SignatureError (→ 403), MalformedMessageError or DecryptError (→ 400). The signature
    is checked before the body is parsed, and msg_signature before anything is decrypted. With
    `crypto` an unencrypted request is refused: nothing would sign its body.
    """
    timestamp, nonce = query.get("timestamp"), query.get("nonce")
    verify_signature(token, query.get("signature"), timestamp, nonce, now=now, window=window)
    mode = query.get("encrypt_type", "raw") or "raw"
    if mode == "raw" and crypto is not None:
        raise SignatureError(
            "an unencrypted request, but the bot is in safe mode (wechat_aes_key is set): "
            "消息加解密方式 must be 安全模式 or 兼容模式"
        )
    if mode == "raw":
        return Inbound(parse_message(body), encrypted=False, nonce=nonce or "")
    if mode != "aes":
        raise DecryptError("unknown encrypt_type")
    if crypto is None:
        raise DecryptError("safe-mode request, but no wechat_aes_key is configured")
    encrypt = parse_fields(body).get("Encrypt", "").strip()
    if not encrypt:
        raise MalformedMessageError("safe-mode body without Encrypt")
    verify_signature(token, query.get("msg_signature"), timestamp, nonce, encrypt=encrypt, now=now, window=window)
    return Inbound(parse_message(crypto.decrypt(encrypt)), encrypted=True, nonce=nonce or "")


def encode_reply(
    xml: str,
    inbound: Inbound,
    *,
    token: str,
    crypto: WechatCrypto | None = None,
    now: float | None = None,
    random_prefix: bytes | None = None,
) -> str:
    """The HTTP body answering `inbound`: `xml` as is in plain mode, WeChat's encrypted envelope
    (Encrypt, MsgSignature, TimeStamp, Nonce) in safe mode. "success" and "" are never encrypted."""
    if not inbound.encrypted or xml in (SUCCESS, ""):
        return xml
    if crypto is None:
        raise DecryptError("cannot encrypt a reply without wechat_aes_key")
    timestamp = str(int(time.time() if now is None else now))
    nonce = inbound.nonce or str(secrets.randbelow(10**10))
    encrypt = crypto.encrypt(xml, random_prefix=random_prefix)
    return (
        f"<xml><Encrypt>{cdata(encrypt)}</Encrypt>"
        f"<MsgSignature>{cdata(signature(token, timestamp, nonce, encrypt))}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
    )


# --- passive reply -------------------------------------------------------------------------

# Characters XML 1.0 forbids anywhere, CDATA included; a stray one would make WeChat reject the reply.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def cdata(text: str) -> str:
    """`text` as CDATA that survives any content: "]]>" is split across two sections."""
    return "<![CDATA[" + _NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to: Envelope, content: str, *, now: float | None = None) -> str:
    """The passive reply XML answering `to` with a text message (sender and recipient swapped)."""
    created = int(time.time() if now is None else now)
    return (
        f"<xml><ToUserName>{cdata(to.sender)}</ToUserName><FromUserName>{cdata(to.account)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )


# --- text within the limit -------------------------------------------------------------------

_LINK_RE = re.compile(r"<a\s[^<>]*>[^<>]*</a>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^<>]*>")
_SENTENCE_END = frozenset("。！？!?；;…")
_CLOSERS = frozenset("”’」』）)】》\"'")
_SOFT = frozenset("，、,：: \t　")
_MAX_CLUSTER = 64  # bytes; a longer "character" (zalgo text) may be cut, so no cluster outgrows a page


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _extends(char: str) -> bool:
    """Whether `char` belongs to the character before it (combining mark, joiner, selector, modifier)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or code == 0x200D
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or 0xE0100 <= code <= 0xE01EF
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _clusters(text: str) -> list[str]:
    """`text` as user-perceived characters (a close approximation of extended grapheme clusters):
    a cut between two of them never breaks an emoji sequence, a flag or an accented letter."""
    out: list[str] = []
    for char in text:
        if out and utf8_len(out[-1]) < _MAX_CLUSTER:
            last = out[-1]
            if (
                _extends(char)
                or last.endswith("\u200d")
                or (last == "\r" and char == "\n")
                or (_regional(char) and len(last) == 1 and _regional(last))
            ):
                out[-1] = last + char
                continue
        out.append(char)
    return out


def _atoms(text: str, max_atom: int) -> list[str]:
    """Clusters, except that each `<a href>…</a>` link is one atom (a link longer than a page
    keeps its words and loses its markup)."""
    atoms: list[str] = []
    pos = 0
    for match in _LINK_RE.finditer(text):
        atoms.extend(_clusters(text[pos : match.start()]))
        link = match.group()
        atoms.extend([link] if utf8_len(link) <= max_atom else _clusters(_TAG_RE.sub("", link)))
        pos = match.end()
    atoms.extend(_clusters(text[pos:]))
    return atoms


def _rank(atoms: list[str], end: int) -> int:
    """How good a place the cut after atoms[:end] is: 3 a line break, 2 a sentence end, 1 a
    pause (comma, space) or a link's edge, 0 between two characters."""
    last = atoms[end - 1]
    if last.endswith("\n"):
        return 3
    if last in _SENTENCE_END or (last in _CLOSERS and end > 1 and atoms[end - 2] in _SENTENCE_END):
        return 2
    if last in _SOFT or last.startswith("<a") or (end < len(atoms) and atoms[end].startswith("<a")):
        return 1
    return 0


def _cut(atoms: list[str], sizes: list[int], start: int, budget: int) -> int:
    """The end of the page starting at `start`: the best-ranked cut that still fills at least
    half of `budget`, the latest among equals."""
    end, used = start, 0
    while end < len(atoms) and used + sizes[end] <= budget:
        used += sizes[end]
        end += 1
    if end == start:
        return start + 1  # cannot happen with budget ≥ _MAX_CLUSTER and capped links; never loop
    best, best_rank, filled = end, -1, used
    position = end
    while position > start and filled * 2 >= budget:
        rank = _rank(atoms, position)
        if rank > best_rank:
            best, best_rank = position, rank
            if rank == 3:
                break
        filled -= sizes[position - 1]
        position -= 1
    return best


def paginate(text: str, limit: int = MAX_TEXT_BYTES, more: str = MORE_HINT) -> list[str]:
    """`text` as pages of at most `limit` UTF-8 bytes; every page but the last ends with `more` on
    its own line, saying where the rest is. Cuts prefer line breaks, then sentence ends, then
    pauses; never inside a character or a link. Only whitespace at the cuts is dropped."""
    if utf8_len(text) <= limit:
        return [text]
    tail = "\n" + more
    budget = limit - utf8_len(tail)
    if budget < 4 * _MAX_CLUSTER:
        raise ValueError(f"limit {limit} leaves no room for text next to {more!r}")
    atoms = _atoms(text, budget)
    sizes = [utf8_len(atom) for atom in atoms]
    pages, start, left = [], 0, sum(sizes)
    while True:
        while start < len(atoms) and not atoms[start].strip():  # no page starts with blank lines
            left -= sizes[start]
            start += 1
        if left <= limit:
            last = "".join(atoms[start:]).rstrip()
            if last:
                pages.append(last)
            elif pages:  # only whitespace was left: the previous page is the last one
                pages[-1] = pages[-1].removesuffix(tail)
            return pages
        end = _cut(atoms, sizes, start, budget)
        pages.append("".join(atoms[start:end]).rstrip() + tail)
        left -= sum(sizes[start:end])
        start = end


def shorten(text: str, notice: str, limit: int = MAX_TEXT_BYTES) -> str:
    """`text` if it fits in `limit` bytes, else its first page ending with `notice` (which says
    where the rest can be read)."""
    return paginate(text, limit, notice)[0]


# --- a Reply as WeChat text ------------------------------------------------------------------


@dataclass(frozen=True)
class WechatText:
    """A reply as WeChat text, and the buttons its numbered lines stand for: the resident's "2"
    means choices[1]. `text` may exceed the limit; paginate() it."""

    text: str
    choices: tuple[Button, ...] = ()


def link(url: str, title: str) -> str:
    """An `<a href>` WeChat shows as a link; characters that would end the attribute or the tag
    are percent-encoded in the URL and replaced in the title, so a link is always one piece."""
    href = re.sub(r'["<>\\\s]', lambda m: quote(m.group(), safe=""), url)
    words = title.replace("<", "＜").replace(">", "＞") or href
    return f'<a href="{href}">{words}</a>'


def render(reply: Reply) -> WechatText:
    """Title, body, links, source line; then the question and topic buttons as numbered lines the
    resident answers with the number (the terminal chat's convention), and a hint saying so."""
    links = [b for b in reply.buttons if b.kind == ButtonKind.URL]
    choices = tuple(b for b in reply.buttons if b.kind not in (ButtonKind.URL, ButtonKind.FEEDBACK))
    rated = any(b.kind == ButtonKind.FEEDBACK for b in reply.buttons)
    parts = [f"【{reply.title}】" if reply.title else "", reply.body]
    parts.append("\n".join(link(b.value, b.label) for b in links))
    parts.append(reply.footer)
    lines = [f"[{n}] {b.label}" for n, b in enumerate(choices, 1)]
    hints = [
        hint for hint, shown in ((replies.WECHAT_CHOICE_HINT, choices), (replies.WECHAT_FEEDBACK_HINT, rated)) if shown
    ]
    if hints:
        lines.append("（" + "；".join(hints) + "）")
    parts.append("\n".join(lines))
    return WechatText("\n\n".join(part for part in parts if part), choices)


# --- retries -------------------------------------------------------------------------------

T = TypeVar("T")


@dataclass
class _Pending(Generic[T]):
    task: asyncio.Future[T]
    created: float
    requests: int = 0


class ReplyCache(Generic[T]):
    """Each message answered once, however often WeChat sends it.

    `run_once(key, compute)` starts `compute()` for the first request with a key, as a task of
    its own, and gives every request with that key — the retry that arrives while the first is
    still being answered included — that one task's result. A request that gives up (its
    timeout, or its HTTP handler cancelled) does not cancel the task: the next retry collects
    the result. A failure is handed to the requests waiting at that moment and then forgotten,
    so a later retry tries again. Entries expire `ttl` seconds after they were created and the
    oldest go first beyond `max_entries`, so memory stays bounded. Single event loop only.

    Suggested use by the adapter, given WeChat's three tries of 5 s each: on the first tries,
    wait for the answer without replying "success" (which would stop WeChat's retries); on the
    last (`seen(key) == WECHAT_TRIES - 1` before the call), wait with a timeout just under
    WECHAT_DEADLINE and answer something short if it runs out. `compute` should log its own
    errors: no request may be left to see them.
    """

    def __init__(
        self,
        *,
        ttl: float = 2 * TIMESTAMP_WINDOW,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ttl, self.max_entries, self._clock = ttl, max_entries, clock
        self._entries: OrderedDict[str, _Pending[T]] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._entries)

    def seen(self, key: str) -> int:
        """How many requests with `key` have asked so far (0: this is the first)."""
        self._expire()
        entry = self._entries.get(key)
        return entry.requests if entry else 0

    async def run_once(self, key: str, compute: Callable[[], Awaitable[T]], *, timeout: float | None = None) -> T:
        """The result of the one `compute()` for `key`; TimeoutError after `timeout` seconds
        (the computation goes on for the next request)."""
        self._expire()
        entry = self._entries.get(key)
        if entry is None:
            while len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)
            entry = _Pending(asyncio.ensure_future(compute()), self._clock())
            self._entries[key] = entry
            entry.task.add_done_callback(functools.partial(self._settled, key))
        entry.requests += 1
        return await asyncio.wait_for(asyncio.shield(entry.task), timeout)

    def _settled(self, key: str, task: asyncio.Future[T]) -> None:
        failed = task.cancelled() or task.exception() is not None  # .exception() also marks it seen
        entry = self._entries.get(key)
        if failed and entry is not None and entry.task is task:
            del self._entries[key]

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if oldest.created + self.ttl > now:
                break
            self._entries.popitem(last=False)


__all__ = [
    "MAX_BODY_BYTES",
    "MAX_TEXT_BYTES",
    "MORE_HINT",
    "MORE_KEYWORD",
    "SUCCESS",
    "TIMESTAMP_WINDOW",
    "WECHAT_DEADLINE",
    "WECHAT_TRIES",
    "DecryptError",
    "Envelope",
    "Inbound",
    "MalformedMessageError",
    "MenuClick",
    "MenuView",
    "Message",
    "OtherMessage",
    "ReplyCache",
    "SignatureError",
    "Subscribe",
    "TextMessage",
    "Unsubscribe",
    "VoiceMessage",
    "WechatCrypto",
    "WechatError",
    "WechatText",
    "aes_key",
    "cdata",
    "decode_post",
    "encode_reply",
    "link",
    "paginate",
    "parse_fields",
    "parse_message",
    "render",
    "shorten",
    "signature",
    "text_reply",
    "utf8_len",
    "verify_signature",
    "verify_url",
]
