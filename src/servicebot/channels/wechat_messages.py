"""What WeChat sends and what we answer with: its XML messages, as pure functions.

WeChat forwards every message sent to the account as XML (`<xml><ToUserName>…`), and shows the
XML we answer with as a "passive reply". Here:

- incoming XML → typed messages (`TextMessage`, `VoiceMessage`, `Subscribe`, `MenuClick`, …),
  refusing any DOCTYPE (so no external entity is ever fetched and no entity is ever expanded)
  and any body over `MAX_BODY_BYTES`;
- each message's de-duplication key, by which WeChat's retries of it are recognised;
- the passive text reply (CDATA-safe) and the bare "success" reply.

Kept apart from the signatures and encryption around a message (`wechat_crypto`) and from
what the reply says (`wechat_text`). No framework, no I/O; nothing here logs: OpenIDs and
message text pass through in memory only.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from servicebot.errors import MalformedMessageError

# A 50,000-character Chinese message is 150 kB of UTF-8, and 4/3 of that once base64-encoded in
# safe mode; anything bigger is not a message a resident typed.
MAX_BODY_BYTES = 256 * 1024

SUCCESS = "success"  # "we got it, no reply": WeChat shows nothing and does not retry


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


__all__ = [
    "MAX_BODY_BYTES",
    "SUCCESS",
    "Envelope",
    "MenuClick",
    "MenuView",
    "Message",
    "OtherMessage",
    "Subscribe",
    "TextMessage",
    "Unsubscribe",
    "VoiceMessage",
    "cdata",
    "parse_fields",
    "parse_message",
    "text_reply",
]
