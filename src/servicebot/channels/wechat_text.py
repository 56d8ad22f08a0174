"""What a WeChat reply says: a channel-neutral `Reply` as WeChat text, within WeChat's limit.

WeChat shows plain text (and `<a href>` links) in a passive reply, so a reply's question and
topic buttons become numbered lines the resident answers with the number, and a hint says so;
links stay links. A reply longer than WeChat's limit (`MAX_TEXT_BYTES`) is cut into pages by
the shared splitter (`splitter`, `Cuts.PROSE`), every page but the last ending with the hint
to ask for the next ("更多"). Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from servicebot.answering import replies
from servicebot.answering.replies import Button, Reply
from servicebot.channels.splitter import Cuts, split, utf8_len

# The passive text reply's Content: "不超过2048字节" in WeChat's interface documentation, measured
# as UTF-8 — and exactly 2048 bytes is already refused, so 2047 is the most that gets through
# (柳峰, 微信公众帐号开发教程第6篇-文本消息的内容长度限制揭秘, http://shanmao.me/weixin/wei-xin-kai-fa-jie-shou-wen-zi-chang-du;
# dodgepudding/wechat-php-sdk issue #363: "文本消息的最大长度是2047字节（UTF-8编码）").
MAX_TEXT_BYTES = 2047

# Residents' wording for what only WeChat needs lives in replies.py with the rest.
MORE_HINT = replies.WECHAT_MORE_HINT
MORE_KEYWORD = replies.WECHAT_MORE_KEYWORD


# --- text within the limit -------------------------------------------------------------------


def paginate(text: str, limit: int = MAX_TEXT_BYTES, more: str = MORE_HINT) -> list[str]:
    """`text` as pages of at most `limit` UTF-8 bytes; every page but the last ends with `more` on
    its own line, saying where the rest is. Cuts prefer line breaks, then sentence ends, then
    pauses; never inside a character or a link. Only whitespace at the cuts is dropped."""
    return split(text, limit, utf8_len, cuts=Cuts.PROSE, more=more)


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
    links, choices, rated = reply.links, tuple(reply.choices), reply.rated
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


__all__ = ["MAX_TEXT_BYTES", "MORE_HINT", "MORE_KEYWORD", "WechatText", "link", "paginate", "render", "shorten"]
