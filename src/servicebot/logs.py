"""Logging setup for the entry point: text or JSON lines that never carry a resident's identity
or a secret, at any level, whichever library wrote them.

Three layers, because each alone has a gap:

1. Libraries say at most INFO (request logs at most WARNING), whatever ``--log-level`` is:
   at DEBUG, python-telegram-bot logs whole updates (user ids, names, question texts),
   httpx/httpcore and the web servers log URLs (with the token) and client addresses.
   ``--log-level DEBUG`` is for servicebot's own loggers.
2. What a library still logs at WARNING and above can quote a payload (PTB's "Received data
   was ..." on a broken update): identity fields in it (``id``, ``first_name``, ``text``, a
   WeChat ``FromUserName`` or ``openid=``, ...) are replaced by ``<hidden>``, in dict, JSON,
   repr, XML and query-string form.
3. Every line: the configured token and secrets are replaced literally, whatever their shape,
   anything shaped like a bot token too, and personal numbers are masked
   (:func:`servicebot.privacy.mask_personal`).

All of it sits on the one root handler, so a library must not bring its own: run uvicorn with
``log_config=None`` so that its records propagate here.

`LogThrottle` paces what outsiders can make the bot log at will (rejected requests, forged
webhook calls): at most one line per kind per interval, with a count of what was held back.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable
from typing import IO
from urllib.parse import quote

from servicebot.privacy import mask_personal, never_logged

OWN_LOGGER = "servicebot"
# The most a library may log, by logger name (the longest matching prefix wins).
LIBRARY_LEVELS = {
    "": logging.INFO,
    "httpx": logging.WARNING,  # every request URL, and Bot API URLs contain the token
    "httpcore": logging.WARNING,
    "hpack": logging.WARNING,
    "tornado.access": logging.WARNING,  # a line per request, with the client's address
    "uvicorn.access": logging.WARNING,
    "aiohttp.access": logging.WARNING,
}
# Turned down at setup as well, so that these libraries do not even build the payload strings.
_QUIETED = ("telegram", "tornado", "uvicorn", "starlette", "aiohttp", "asyncio", *filter(None, LIBRARY_LEVELS))

HIDDEN = "<hidden>"
TOKEN = "<token>"
SECRET = "<secret>"

# No \b: in a Bot API URL the token follows "bot" with no word boundary.
_TOKEN_RE = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{20,}")

# Identity and free-text fields (Telegram's, WeChat's, the web chat's), as key=value,
# 'key': value or "key": value.
_ID_KEYS = r"id|\w*(?:user|chat|sender|from|author)_id"
_TEXT_KEYS = (
    r"first_name|last_name|full_name|username|usernames|name|title|text|caption|query|question|phone_number"
    r"|vcard|email|bio|address|secret_token|token|invite_link|openid|open_id|unionid|session|session_id"
    r"|FromUserName|ToUserName|Content"
)
# A quoted value may be cut off (a payload quoted from invalid JSON): then it runs to the end.
_QUOTED = r"""'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?"""
# Only quoted values and numbers: a traceback's source line `text = mask(question)` stays.
_PAYLOAD_RE = re.compile(
    rf"""(?P<key>(?P<q>['"]?)\b(?:(?P<id>{_ID_KEYS})|{_TEXT_KEYS})(?P=q)\s*[:=]\s*)"""
    rf"""(?:(?P<value>{_QUOTED})|(?P<number>-?[0-9]+)\b)"""
)
_SHORT = 8  # a secret shorter than this is replaced only where it stands alone, not inside words


def _scrub_field(match: re.Match[str]) -> str:
    if match.group("id") and match.group("number") is None and not _quoted_number(match.group("value")):
        return match.group()  # id=dibao-apply: an entry id, not a person
    return match.group("key") + HIDDEN


def _quoted_number(value: str | None) -> bool:
    return value is not None and value.strip("'\"").lstrip("-").isdigit()


# WeChat posts XML, and names the resident in the callback URL's query string (…&openid=o6_b…).
_XML_RE = re.compile(r"<(FromUserName|ToUserName|Content|OpenID)>(?:<!\[CDATA\[.*?\]\]>|[^<]*)</\1>", re.DOTALL)
_QUERY_RE = re.compile(r"(?<=[?&;])(openid|open_id|unionid|session|session_id|sid|user_id|chat_id)=[^&\s\"'#]*")


def scrub_payload(text: str) -> str:
    """Replace the values of identity and free-text fields (user ids, names, texts)."""
    text = _XML_RE.sub(rf"<\1>{HIDDEN}</\1>", text)
    text = _QUERY_RE.sub(rf"\1={HIDDEN}", text)
    return _PAYLOAD_RE.sub(_scrub_field, text)


class Redactor:
    """Replaces the configured token and secrets literally, then token-shaped strings, then
    personal numbers and identity fields."""

    def __init__(self, token: str = "", secrets: Iterable[str] = ()):
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        self._learnt = 0  # how many of privacy.never_logged() are among the patterns
        if token:
            # Anywhere: the token sits inside URLs (…/bot<token>/getMe), however short it is.
            self._add(token, TOKEN, anywhere=True)
            key = token.partition(":")[2]
            if key:
                self._add(key, TOKEN, anywhere=len(key) >= _SHORT)
        for secret in secrets:
            self.add(secret, SECRET)

    def add(self, value: str, placeholder: str) -> None:
        if value:
            self._add(value, placeholder, anywhere=len(value) >= _SHORT)

    def _add(self, value: str, placeholder: str, *, anywhere: bool) -> None:
        for form in {value, quote(value, safe=""), quote(value)}:
            literal = re.escape(form)
            pattern = literal if anywhere else rf"(?<![A-Za-z0-9_-]){literal}(?![A-Za-z0-9_-])"
            self._patterns.append((re.compile(pattern), placeholder))
        self._patterns.sort(key=lambda p: -len(p[0].pattern))  # longest first: a key inside its token

    def __call__(self, text: str) -> str:
        learnt = never_logged()
        for secret in learnt[self._learnt :]:  # e.g. a pseudonym key generated after setup
            self.add(secret, SECRET)
        self._learnt = len(learnt)
        for pattern, placeholder in self._patterns:
            text = pattern.sub(placeholder, text)
        return scrub_payload(mask_personal(_TOKEN_RE.sub(TOKEN, text)))


def redact(text: str) -> str:
    """Token-shaped strings, personal numbers and identity fields removed (no configured secrets)."""
    return Redactor()(text)


def library_limit(name: str) -> int:
    """The lowest level a record from this logger may have to be written."""
    if name == OWN_LOGGER or name.startswith(OWN_LOGGER + "."):
        return logging.NOTSET
    best = ""
    for prefix in LIBRARY_LEVELS:
        if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return LIBRARY_LEVELS[best]


class RedactingFilter(logging.Filter):
    """Drops library chatter below its limit; renders every other record's message once,
    redacted, so that no handler sees the raw values."""

    def __init__(self, redactor: Redactor | None = None):
        super().__init__()
        self.redact = redactor or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < library_limit(record.name):
            return False
        message = self.redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            doc["exception"] = record.exc_text
        elif record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = record.stack_info
        return json.dumps(doc, ensure_ascii=False)


def setup_logging(
    fmt: str = "text",
    level: str = "INFO",
    stream: IO[str] | None = None,
    *,
    token: str = "",
    secrets: Iterable[str] = (),
) -> logging.Handler:
    """One handler on the root logger; `token` and `secrets` are never written, in any form."""
    handler = logging.StreamHandler(stream or sys.stderr)
    redactor = Redactor(token, secrets)
    handler.addFilter(RedactingFilter(redactor))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _QUIETED:
        logging.getLogger(name).setLevel(max(library_limit(name), root.level))
    return handler


class LogThrottle:
    """Warnings about things outsiders can trigger at will (rejected requests, forged webhook
    calls), at most one line per `key` per `interval` seconds. The next line that gets
    through says how many were held back, so nothing goes unnoticed."""

    def __init__(self, logger: logging.Logger, interval: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.logger = logger
        self.interval = interval
        self._clock = clock
        self._next: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> bool:
        """Log `message % args` unless a line with this key was logged recently; True if logged."""
        return self.log(logging.WARNING, key, message, *args)

    def error(self, key: str, message: str, *args: object) -> bool:
        """`warning`, at ERROR level: for failures of our own that outsiders can repeat at will."""
        return self.log(logging.ERROR, key, message, *args)

    def log(self, level: int, key: str, message: str, *args: object) -> bool:
        now = self._clock()
        if now < self._next.get(key, float("-inf")):
            self._held[key] = self._held.get(key, 0) + 1
            return False
        if len(self._next) > 1000:  # keys are a small fixed set; this only guards against misuse
            self._next.clear()
        self._next[key] = now + self.interval
        held = self._held.pop(key, 0)
        suffix = f" ({held} more like this in the last {self.interval:g} s not logged)" if held else ""
        self.logger.log(level, message + suffix, *args)
        return True
