"""What a WeChat reply says: a channel-neutral `Reply` as WeChat text, within WeChat's limit.

WeChat shows plain text (and `<a href>` links) in a passive reply, so a reply's question and
topic buttons become numbered lines the resident answers with the number, and a hint says so;
links stay links. A reply longer than WeChat's limit (`MAX_TEXT_BYTES`) is cut into pages at line
or sentence boundaries, never inside a character or a link, every page but the last ending with
the hint to ask for the next ("更多"). Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from servicebot.answering import replies
from servicebot.answering.replies import Button, Reply
from servicebot.records import ButtonKind

# The passive text reply's Content: "不超过2048字节" in WeChat's interface documentation, measured
# as UTF-8 — and exactly 2048 bytes is already refused, so 2047 is the most that gets through
# (柳峰, 微信公众帐号开发教程第6篇-文本消息的内容长度限制揭秘, http://shanmao.me/weixin/wei-xin-kai-fa-jie-shou-wen-zi-chang-du;
# dodgepudding/wechat-php-sdk issue #363: "文本消息的最大长度是2047字节（UTF-8编码）").
MAX_TEXT_BYTES = 2047

# Residents' wording for what only WeChat needs lives in replies.py with the rest.
MORE_HINT = replies.WECHAT_MORE_HINT
MORE_KEYWORD = replies.WECHAT_MORE_KEYWORD


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


__all__ = [
    "MAX_TEXT_BYTES",
    "MORE_HINT",
    "MORE_KEYWORD",
    "WechatText",
    "link",
    "paginate",
    "render",
    "shorten",
    "utf8_len",
]
