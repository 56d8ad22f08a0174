"""What the notice-board poster says, decided without drawing anything.

The poster's words are `replies.POSTER_*` (resident-facing wording lives there); this module
picks what varies: the web chat's address (checked: https only, since residents scan it from
a wall and the page must not be served in the clear), three example questions taken from the
FAQ that is running (never invented), and the privacy line with the configured retention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from servicebot.answering import replies
from servicebot.errors import PosterError
from servicebot.faq import Faq

EXAMPLES = 3
# Questions residents of any age bring to the office, from three different topics of the
# shipped FAQ; a FAQ without one of them fills in from its topics (`pick_examples`).
DEFAULT_EXAMPLES = ("dibao-apply", "garbage-hazardous", "dispute-mediation")
MAX_URL = 500  # characters; far more than a real address, and a QR code still scannable from a wall

URL_MISSING = "请用 --url 给出网页问答的地址，例如 --url https://bot.example.gov.cn/（居民扫二维码打开的就是它）。"
URL_NOT_HTTPS = "网页问答的地址要以 https:// 开头，并写完整的域名，例如 https://bot.example.gov.cn/；收到的是：{url}"
URL_TOO_LONG = "网页问答的地址太长了（超过 {limit} 个字符），二维码会很难扫：请用更短的地址。"
UNKNOWN_EXAMPLE = "问答库里没有编号为 {id} 的条目（--example 要写条目的 id:，例如 dibao-apply）。"
TOO_MANY_EXAMPLES = "海报上最多放 {limit} 个示例问题，收到了 {count} 个 --example。"


@dataclass(frozen=True)
class PosterText:
    """Everything the poster says, in the order it is read."""

    office: str
    title: str
    subtitle: str
    url: str
    examples: tuple[str, ...]
    how: str
    contact: str
    privacy: str


def check_url(url: str | None) -> str:
    """The web chat's address as given, if it is a complete https URL; PosterError otherwise."""
    url = (url or "").strip()
    if not url:
        raise PosterError(URL_MISSING)
    if len(url) > MAX_URL:
        raise PosterError(URL_TOO_LONG.format(limit=MAX_URL))
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in url):
        raise PosterError(URL_NOT_HTTPS.format(url=url))
    return url


def pick_examples(faq: Faq, wanted: Sequence[str] = ()) -> tuple[str, ...]:
    """The example questions: the entries staff named (by id), else the defaults the FAQ
    has, topped up with the first question of each topic in menu order."""
    if len(wanted) > EXAMPLES:
        raise PosterError(TOO_MANY_EXAMPLES.format(limit=EXAMPLES, count=len(wanted)))
    for entry_id in wanted:
        if entry_id not in faq.by_id:
            raise PosterError(UNKNOWN_EXAMPLE.format(id=entry_id))
    if wanted:
        ids = list(dict.fromkeys(wanted))
    else:
        ids = [i for i in DEFAULT_EXAMPLES if i in faq.by_id]
        for topic in faq.topics:
            if len(ids) >= EXAMPLES:
                break
            ids.extend(i for i in topic.entry_ids[:1] if i not in ids)
    return tuple(faq.by_id[i].question for i in ids[:EXAMPLES])


def poster_text(url: str | None, faq: Faq, retention_days: int, examples: Sequence[str] = ()) -> PosterText:
    return PosterText(
        office=replies.POSTER_OFFICE,
        title=replies.POSTER_TITLE,
        subtitle=replies.POSTER_SUBTITLE,
        url=check_url(url),
        examples=pick_examples(faq, examples),
        how=replies.POSTER_HOW,
        contact=replies.POSTER_CONTACT,
        privacy=replies.POSTER_PRIVACY.format(days=retention_days),
    )
