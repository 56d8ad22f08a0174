"""One exchange with WeChat's server mode, as pure functions: a POST in, the body that answers it.

WeChat forwards every message sent to the account as a signed XML POST and shows the XML we
answer with (a "passive reply") if it comes within `WECHAT_DEADLINE` seconds; otherwise it
tries again, `WECHAT_TRIES` times in all. `decode_post` verifies and decodes one POST, plain or
in safe mode (signatures and encryption: `wechat_crypto`; the messages: `wechat_messages`);
`encode_reply` wraps the reply for the way the POST came. What the reply says is
`wechat_text`; answering each message once, however often WeChat sends it, is the adapter's
(`wechat.py`, with `wechat_replay`).

No framework, no I/O; nothing here logs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from servicebot.channels.wechat_crypto import TIMESTAMP_WINDOW, WechatCrypto, signature, verify_signature
from servicebot.channels.wechat_messages import SUCCESS, Message, cdata, parse_fields, parse_message
from servicebot.errors import DecryptError, MalformedMessageError, SignatureError

# WeChat drops the connection after 5 s without an answer and tries again; three requests in all
# ("五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次", 被动回复用户消息).
WECHAT_DEADLINE = 5.0
WECHAT_TRIES = 3


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


__all__ = ["WECHAT_DEADLINE", "WECHAT_TRIES", "Inbound", "decode_post", "encode_reply"]
