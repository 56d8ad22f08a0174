"""A simulated WeChat server for tests: it plays WeChat's side of an Official Account in server mode.

It builds the XML WeChat sends, signs the request as WeChat does (sha1 of the sorted token,
timestamp and nonce; in safe mode also msg_signature over the AES-encrypted body), POSTs it to
our endpoint on 127.0.0.1 with aiohttp, waits as WeChat waits (5 s) and sends the same request
again when no answer comes (three requests in all), then verifies and decrypts the reply.

It deliberately does not import servicebot's WeChat code: it implements the published protocol
a second time, straight from WeChat's documentation, so that the two agreeing means something.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml.ElementTree import fromstring

# A fixed EncodingAESKey for tests: 43 base64 characters → 32 bytes.
TEST_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TEST_APP_ID = "wx0123456789abcdef"
TEST_TOKEN = "servicebotTestToken"
TEST_ACCOUNT = "gh_0123456789ab"
XML_HEADERS = {"Content-Type": "text/xml"}
# WeChat's MsgIds are unique across all its messages: one counter for every simulator in the process.
_MSG_IDS = itertools.count(time.time_ns() // 1000)


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    assert len(key) == 32
    return key


def wechat_encrypt(xml: str, encoding_aes_key: str, app_id: str, random_prefix: bytes | None = None) -> str:
    """WeChat's `Encrypt`: AES-256-CBC(IV = key[:16]) of random16 + len32be + xml + appid, PKCS#7 to 32."""
    key = _key(encoding_aes_key)
    body = xml.encode("utf-8")
    plain = (random_prefix or os.urandom(16)) + struct.pack(">I", len(body)) + body + app_id.encode()
    pad = 32 - len(plain) % 32
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain + bytes([pad] * pad)) + enc.finalize()).decode()


def wechat_decrypt(encrypted: str, encoding_aes_key: str) -> tuple[str, str]:
    """(xml, app_id) inside an `Encrypt`; AssertionError if the padding is not PKCS#7 to 32."""
    key = _key(encoding_aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(base64.b64decode(encrypted)) + dec.finalize()
    pad = plain[-1]
    assert 1 <= pad <= 32 and plain.endswith(bytes([pad] * pad)), "bad PKCS#7 padding"
    content = plain[16:-pad]
    (length,) = struct.unpack(">I", content[:4])
    return content[4 : 4 + length].decode("utf-8"), content[4 + length :].decode("utf-8")


def xml_fields(text: str) -> dict[str, str]:
    root = fromstring(text.encode("utf-8"), forbid_dtd=True)
    assert root.tag == "xml", text[:200]
    return {child.tag: child.text or "" for child in root}


@dataclass
class SimReply:
    """What WeChat made of our answer. `fields` is the (decrypted) reply XML; empty for "success"/""."""

    status: int | None  # None: every try timed out
    body: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    tries: int = 0
    encrypted: bool = False

    @property
    def content(self) -> str:
        """The text WeChat shows ("" for a reply that carries none: "success", an empty body)."""
        return self.fields.get("Content", "")

    @property
    def silent(self) -> bool:
        """WeChat shows nothing: "success" or an empty body."""
        return self.status == 200 and self.body in ("success", "")


class WechatSim:
    """WeChat's side of one Official Account, pointed at `url` (our endpoint on 127.0.0.1).

    `aes_key` set: safe mode (安全模式), messages encrypted and replies decrypted and checked.
    `clock` gives WeChat's time (seconds), so tests can send stale or future timestamps.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str = TEST_TOKEN,
        app_id: str = TEST_APP_ID,
        aes_key: str | None = None,
        account: str = TEST_ACCOUNT,
        clock: Callable[[], float] = time.time,
        deadline: float = 5.0,
        tries: int = 3,
    ):
        self.url, self.token, self.app_id, self.aes_key, self.account = url, token, app_id, aes_key, account
        self.clock, self.deadline, self.tries = clock, deadline, tries
        self.sent = 0  # HTTP requests made, retries included

    # --- what WeChat sends -----------------------------------------------------------------

    def _head(self, openid: str, msg_type: str, create_time: int | None) -> str:
        created = int(self.clock()) if create_time is None else create_time
        return (
            f"<ToUserName>{cdata(self.account)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>"
        )

    def next_msg_id(self) -> str:
        return str(next(_MSG_IDS))

    def text(self, openid: str, content: str, *, msg_id: str | None = None, create_time: int | None = None) -> str:
        msg_id = msg_id or self.next_msg_id()
        head = self._head(openid, "text", create_time)
        return f"<xml>{head}<Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId></xml>"

    def event(self, openid: str, event: str, key: str | None = None, *, create_time: int | None = None) -> str:
        extra = "" if key is None else f"<EventKey>{cdata(key)}</EventKey>"
        return f"<xml>{self._head(openid, 'event', create_time)}<Event>{cdata(event)}</Event>{extra}</xml>"

    def image(self, openid: str, *, msg_id: str | None = None) -> str:
        return (
            f"<xml>{self._head(openid, 'image', None)}<PicUrl>{cdata('http://127.0.0.1/pic.jpg')}</PicUrl>"
            f"<MediaId>{cdata('media_id')}</MediaId><MsgId>{msg_id or self.next_msg_id()}</MsgId></xml>"
        )

    def voice(self, openid: str, recognition: str | None = None, *, msg_id: str | None = None) -> str:
        """A voice message as WeChat sends it; with `recognition` as when the account has
        接收语音识别结果 on (WeChat adds `Recognition`, UTF-8 text, ending a sentence with 。)."""
        heard = "" if recognition is None else f"<Recognition>{cdata(recognition)}</Recognition>"
        return (
            f"<xml>{self._head(openid, 'voice', None)}<MediaId>{cdata('media_id')}</MediaId>"
            f"<Format>{cdata('amr')}</Format>{heard}<MsgId>{msg_id or self.next_msg_id()}</MsgId>"
            f"<MediaId16K>{cdata('media_id_16k')}</MediaId16K></xml>"
        )

    def media(self, openid: str, msg_type: str, extra: str = "") -> str:
        """Any other message type (voice, video, shortvideo, location, link, …) with `extra` fields."""
        return f"<xml>{self._head(openid, msg_type, None)}{extra}<MsgId>{self.next_msg_id()}</MsgId></xml>"

    # --- how WeChat signs it ---------------------------------------------------------------

    def sign(self, xml: str, *, timestamp: int | None = None, nonce: str | None = None) -> tuple[str, dict[str, str]]:
        """(body, query) exactly as WeChat sends them, plain or safe mode."""
        stamp = str(int(self.clock()) if timestamp is None else timestamp)
        nonce = nonce or str(int.from_bytes(os.urandom(4), "big"))
        query = {"signature": sha1_signature(self.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}
        if self.aes_key is None:
            return xml, query
        encrypt = wechat_encrypt(xml, self.aes_key, self.app_id)
        openid = xml_fields(xml).get("FromUserName", "")
        query |= {
            "openid": openid,
            "encrypt_type": "aes",
            "msg_signature": sha1_signature(self.token, stamp, nonce, encrypt),
        }
        return f"<xml><ToUserName>{cdata(self.account)}</ToUserName><Encrypt>{cdata(encrypt)}</Encrypt></xml>", query

    # --- talking to our endpoint -----------------------------------------------------------

    async def verify_url(
        self, session: aiohttp.ClientSession, echostr: str = "echo-1234", *, query: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """WeChat's URL verification GET (always plain, also in safe mode)."""
        if query is None:
            stamp, nonce = str(int(self.clock())), "98765"
            query = {"signature": sha1_signature(self.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}
            query["echostr"] = echostr
        async with session.get(self.url, params=query) as response:
            return response.status, await response.text()

    async def post(
        self,
        session: aiohttp.ClientSession,
        xml: str,
        *,
        body: str | None = None,
        query: dict[str, str] | None = None,
    ) -> SimReply:
        """Send one message as WeChat does: the same request again after each `deadline` without an
        answer, `tries` requests in all. `body`/`query` override what would be sent (forgeries)."""
        signed_body, signed_query = self.sign(xml)
        body = signed_body if body is None else body
        query = signed_query if query is None else query
        timeout = aiohttp.ClientTimeout(total=self.deadline)
        for attempt in range(1, self.tries + 1):
            self.sent += 1
            try:
                async with session.post(
                    self.url, params=query, data=body.encode("utf-8"), headers=XML_HEADERS, timeout=timeout
                ) as response:
                    text = await response.text()
            except TimeoutError:
                continue
            return self.read_reply(response.status, text, tries=attempt)
        return SimReply(status=None, tries=self.tries)

    def read_reply(self, status: int, text: str, *, tries: int = 1) -> SimReply:
        """Check a reply as WeChat would: in safe mode its MsgSignature and AppID; in both modes
        that it is well-formed XML addressed back to the sender."""
        if status != 200 or text in ("success", ""):
            return SimReply(status=status, body=text, tries=tries)
        fields = xml_fields(text)
        encrypted = "Encrypt" in fields
        if encrypted:
            assert self.aes_key is not None, "encrypted reply to a plain-mode request"
            expected = sha1_signature(self.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
            assert fields["MsgSignature"] == expected, "reply MsgSignature does not verify"
            inner, app_id = wechat_decrypt(fields["Encrypt"], self.aes_key)
            assert app_id == self.app_id, f"reply encrypted for AppID {app_id!r}"
            fields = xml_fields(inner)
        else:
            assert self.aes_key is None, "plain reply to a safe-mode request"
        assert fields.get("FromUserName") == self.account, "reply not from the account"
        return SimReply(status=status, body=text, fields=fields, tries=tries, encrypted=encrypted)
