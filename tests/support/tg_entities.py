"""Telegram's text rules as its servers apply them, for the fake Bot API (botapi.py): lengths in
UTF-16 code units (the unit of entity offsets), ``parse_mode`` HTML turned into plain text and
entities (malformed markup refused with Telegram's own description), and the entities Telegram
attaches to a user's plain text (commands, mentions, links, e-mail addresses, hashtags).
"""

from __future__ import annotations

import re
from typing import Any


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (the unit of Telegram entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


class FormattingError(ValueError):
    """Text Telegram refuses to send, with Telegram's description (an HTTP 400 from the server)."""


class _ParseError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# parse_mode handling (a faithful-enough subset of Telegram's parsers)
# --------------------------------------------------------------------------------------------

_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|lt|gt|amp|quot);")
_HTML_ATTR_RE = re.compile(r"""([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))""")
_HTML_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _parse_html(text: str) -> tuple[str, list[dict]]:
    out: list[str] = []
    out_len = 0  # UTF-16 length of out
    stack: list[tuple[str, int, dict]] = []
    entities: list[dict] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "<":
            m = _HTML_TAG_RE.match(text, i)
            if not m:
                end = text.find(">", i)
                tag = text[i + 1 : end if end != -1 else min(n, i + 10)]
                raise _ParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, i)}')
            closing, name, attr_text = m.group(1), m.group(2).lower(), m.group(3)
            if not closing:
                if name not in _HTML_TYPES:
                    raise _ParseError(f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, i)}')
                attrs = {
                    a.group(1).lower(): next(g for g in a.groups()[1:] if g is not None)
                    for a in _HTML_ATTR_RE.finditer(attr_text)
                }
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise _ParseError('Tag "span" must have class "tg-spoiler"')
                if name == "tg-emoji" and "emoji-id" not in attrs:
                    raise _ParseError('Tag "tg-emoji" must have attribute "emoji-id"')
                if "expandable" in attr_text.split():
                    attrs["expandable"] = ""
                stack.append((name, out_len, attrs))
            else:
                if not stack:
                    raise _ParseError(f"Unexpected end tag at byte offset {_byte_offset(text, i)}")
                open_name, start, attrs = stack.pop()
                if open_name != name:
                    raise _ParseError(
                        f"Unmatched end tag at byte offset {_byte_offset(text, i)}, "
                        f'expected "</{open_name}>", found "</{name}>"'
                    )
                if out_len > start:
                    ent: dict[str, Any] = {"type": _HTML_TYPES[name], "offset": start, "length": out_len - start}
                    if name == "a":
                        href = attrs.get("href", "")
                        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
                        if user:
                            ent["type"] = "text_mention"
                            ent["user"] = {"id": int(user.group(1)), "is_bot": False, "first_name": "User"}
                        elif href:
                            ent["url"] = href
                        else:
                            ent = {}
                    elif name == "pre":
                        lang = next(
                            (e.pop("_language") for e in entities if e.get("_language") and e["offset"] >= start),
                            None,
                        )
                        if lang:
                            ent["language"] = lang
                    elif name == "code":
                        cls = attrs.get("class", "")
                        if cls.startswith("language-") and any(s[0] == "pre" for s in stack):
                            ent["_language"] = cls[len("language-") :]
                    elif name == "blockquote" and "expandable" in attrs:
                        ent["type"] = "expandable_blockquote"
                    elif name == "tg-emoji":
                        ent["custom_emoji_id"] = attrs["emoji-id"]
                    if ent:
                        entities.append(ent)
            i = m.end()
            continue
        if c == "&":
            m = _HTML_ENTITY_RE.match(text, i)
            if m:
                body = m.group(1)
                if body.startswith("#x") or body.startswith("#X"):
                    ch = chr(int(body[2:], 16))
                elif body.startswith("#"):
                    ch = chr(int(body[1:]))
                else:
                    ch = _HTML_NAMED[body]
                out.append(ch)
                out_len += utf16_len(ch)
                i = m.end()
                continue
        out.append(c)
        out_len += utf16_len(c)
        i += 1
    if stack:
        raise _ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for e in entities:
        e.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_formatted(text: str, parse_mode: str | None) -> tuple[str, list[dict]]:
    """Return ``(plain_text, entities)`` as Telegram would; raise :class:`FormattingError`.

    Only HTML is parsed, the one mode the bot uses; Markdown modes are refused, so a bot that
    starts to use one fails here loudly instead of being checked against nothing."""
    mode = (parse_mode or "").strip().lower()
    if mode == "":
        return text, []
    if mode != "html":
        raise FormattingError(f"Bad Request: unsupported parse_mode {parse_mode!r} (the fake parses HTML only)")
    try:
        return _parse_html(text)
    except _ParseError as exc:
        raise FormattingError(f"Bad Request: can't parse entities: {exc}") from None


# --------------------------------------------------------------------------------------------
# Server-side entity detection for injected user messages (like Telegram does)
# --------------------------------------------------------------------------------------------

_AUTO_ENTITY_PATTERNS = [
    # Telegram (tdlib) requires that a mention/command is not preceded by a word character;
    # that includes CJK characters, so "你好@bot" is NOT a mention on real Telegram.
    ("bot_command", re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?!\w)")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?![\w@])")),
    ("url", re.compile(r"(?<![\w@/])https?://[^\s<>\"]+[^\s<>\".,;:!?)]")),
    ("email", re.compile(r"(?<![\w.])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]*[A-Za-z]")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]


def detect_entities(text: str) -> list[dict]:
    """Entities Telegram would attach to a user's plain text (offsets in UTF-16 units)."""
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_ENTITY_PATTERNS:
        for m in pattern.finditer(text):
            s, e = m.span()
            if any(s < te and ts < e for ts, te in taken):
                continue
            taken.append((s, e))
            found.append((s, e, kind))
    found.sort()
    return [{"offset": utf16_len(text[:s]), "length": utf16_len(text[s:e]), "type": kind} for s, e, kind in found]
