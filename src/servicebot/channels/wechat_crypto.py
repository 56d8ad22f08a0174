"""Who sent it: WeChat's signatures and safe mode (安全模式), as pure functions.

Every request WeChat sends is signed: sha1 of the sorted token, timestamp and nonce (plus the
encrypted body, `Encrypt`, in safe mode). A signature is compared in constant time and its
timestamp must fall in a window around our clock, so that a captured request cannot be
replayed later (inside the window, `wechat_replay.NonceMemory` refuses a replay).

Safe mode encrypts the messages both ways with AES-256-CBC as WeChat specifies; a message is
only accepted for our own AppID. Kept apart from the message format (`wechat_messages`)
because this is where the secrets are: the token and the EncodingAESKey.

No framework, no I/O; nothing here logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import time
from collections.abc import Mapping

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from servicebot.errors import ConfigError, DecryptError, SignatureError

# Five minutes either way, as Stripe and Slack allow for their signed webhooks: wide enough for
# WeChat's ~15 s of retries plus a server clock that drifted a few minutes, narrow enough that a
# captured request cannot be replayed later. Inside the window, `wechat_replay.NonceMemory`
# refuses a replay; WeChat's own retries are answered from the ReplyCache (TTL 2 × the window).
TIMESTAMP_WINDOW = 300


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


__all__ = ["TIMESTAMP_WINDOW", "WechatCrypto", "aes_key", "signature", "verify_signature", "verify_url"]
