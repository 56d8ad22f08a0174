"""Keeps residents' personal data out of everything the bot stores or logs.

Phone numbers and ID-card numbers are masked before a question goes anywhere, and
Telegram user ids are replaced by a keyed hash (HMAC) that cannot be reversed without the
secret, yet still lets the review count distinct residents.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

# 18-digit resident ID (last may be X), 15-digit old ID; mainland mobile numbers (1[3-9]x,
# optionally +86 and separators); landlines like 0550-1234567.
_ID_CARD_RE = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:19|20)?[0-9]{2}(?:0[1-9]|1[0-2])[0-9]{2}[0-9]{3}[0-9Xx]?(?![0-9])")
_MOBILE_RE = re.compile(r"(?<![0-9])(?:\+?86[-\s]?)?1[3-9][0-9](?:[-\s]?[0-9]{4}){2}(?![0-9])")
_LANDLINE_RE = re.compile(r"(?<![0-9])0[0-9]{2,3}[-\s]?[0-9]{7,8}(?![0-9])")
_LONG_DIGITS_RE = re.compile(r"[0-9]{11,}")


def mask_personal(text: str) -> str:
    """Replace ID-card numbers, phone numbers and any 11+ digit run with placeholders."""
    text = _ID_CARD_RE.sub("[身份证号]", text)
    text = _MOBILE_RE.sub("[手机号]", text)
    text = _LANDLINE_RE.sub("[电话]", text)
    return _LONG_DIGITS_RE.sub("[数字]", text)


def pseudonym(secret: str, raw_id: int | str) -> str:
    """A stable, non-reversible key for one resident."""
    digest = hmac.new(secret.encode(), str(raw_id).encode(), hashlib.sha256).hexdigest()
    return digest[:16]


def load_or_create_secret(configured: str, data_dir: Path) -> str:
    """The configured pseudonym secret, or one generated once and kept in the data dir."""
    if configured:
        return configured
    path = data_dir / "pseudonym.key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(value, encoding="ascii")
    return value
