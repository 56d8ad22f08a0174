"""The staff desk's pages: sign-in, the open tickets and one ticket, as plain HTML.

Server-rendered, Chinese, no inline script or style (the desk's CSP allows neither): one
stylesheet and one small script, `static/desk.css` and `static/desk.js`, served by the desk.
Every dynamic text goes through `_e` (HTML-escaped); every form carries the CSRF token. The
parts of a page that change while it is open are marked `data-live` with an id: the script
redraws them from a fresh copy of the page when the tickets change (see `desk.js`).

The staff tools' pages (review, stats, FAQ health) are in `tools.py`; both use `layout`.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass

from servicebot.conversation.ticket_view import Card, age_text, channel_text, status_text
from servicebot.records import Channel, Status, TicketStatus
from servicebot.staffdesk.accounts import Session
from servicebot.storage import CHINA_TZ
from servicebot.storage.tickets import Author, TicketMessage, TicketRow

PREFIX = "/desk"
LISTED = 200  # open tickets a list shows at most (the oldest); an office has a handful
SITE_NAME = "凤凰办事处 · 工作人员后台"

# --- wording (str.format templates; tests name them) -------------------------------------------

NAV = (("tickets", "人工咨询"), ("review", "未答问题"), ("stats", "使用统计"), ("faq", "问答状态"))
SIGN_OUT_LABEL = "退出登录（{name}）"
SIGNIN_TITLE = "登录"
SIGNIN_HELP = "账号由管理员在服务器上用 servicebot staff add 创建。忘记密码请找管理员重设。"
SIGNIN_WRONG = "账号或密码不对。"
SIGNIN_LOCKED = "尝试次数太多，请 {minutes} 分钟后再试。"
SIGNIN_BYE = "已退出登录。"
SIGNIN_EXPIRED = "登录已过期，请重新登录。"
SIGNIN_INSECURE = (
    "注意：这个页面不是通过 HTTPS 打开的，浏览器不会保存登录状态，登录后会又回到这里。"
    "请用办事处提供的 https:// 地址打开工作人员后台。"
)
FORM_EXPIRED = "表单已过期或来源不明（缺少验证码），没有执行。请回到页面重新操作。"
TICKETS_TITLE = "待处理的人工咨询"
TICKETS_HEADING = "待处理的人工咨询（{count} 个，最早的在前）"
TICKETS_EMPTY = "现在没有待处理的人工咨询。新的咨询会自动出现在这里，不用刷新页面。"
TICKETS_LIVE = "页面会自动更新。"
TICKETS_MORE = (
    "只列出最早的 {shown} 个；先处理这些，后面的会自动补上。全部请在服务器上用 servicebot tickets --open 查看。"
)
OPEN_LINK = "打开处理"
NO_QUESTION = "（居民还没写问题，后面的补充会显示在下面）"
BOT_SAID = {
    Status.UNANSWERED: "机器人没能回答。",
    Status.SUGGEST: "机器人给出了建议：{suggested}",
    Status.ANSWERED: "机器人回答了「{answered}」，居民仍要求人工。",
    Status.TAP: "居民看了「{answered}」的回答，仍要求人工。",
}
BOT_SAID_NOTHING = "居民直接要求人工。"
BOT_ANSWER_LABEL = "机器人的回答"
EARLIER = "这位居民之前转过人工 {count} 次。"
THREAD_EMPTY = "还没有补充或回复。"
RESIDENT_WROTE = "居民补充"
STAFF_WROTE = "{name} 回复"
OUTCOMES = {"sent": "已送达", "kept": "已留给居民", "retry": "暂未送达，正在重试", "gone": "未能送达"}
OUTCOME_PENDING = "正在发送"
FAQ_MARK = "📚 已加入问答候选"
WHERE_SEEN = {
    Channel.TELEGRAM: "回复会直接发到居民的 Telegram 对话里。",
    Channel.WEB: "居民打开着网页聊天的话几秒内就能看到，否则下次打开时看到。",
    Channel.WECHAT: "公众号只能在居民发消息时回复：居民下次给公众号发消息时会先看到这条回复。",
}
REPLY_LABEL = "回复居民"
REPLY_SEND = "发送给居民"
RESOLVE_LABEL = "✅ 已解决"
FAQ_LABEL = "📚 加入问答"
FAQ_HELP = "把最新一条工作人员回复加入问答候选：servicebot review --suggest-yaml 和“未答问题”页会用它起草新条目。"
CLOSED_NOTE = "这个咨询已经结束（{who}，{when}）。居民的联系方式已按隐私规定删除，不能再回复。"
GONE_NOTE = "居民已屏蔽机器人或删除了对话，回复无法送达。"
EXPIRED_BY = "超过保存期限"
DRAFT_LABEL = "您写的回复（没有发出）"
BACK_LINK = "← 返回咨询列表"
NOT_FOUND = "找不到这个咨询：可能已超过保存期限被删除，或者数据已经重置。"
DONE = {
    "sent": "✅ 已转给居民。",
    "kept": "✅ 回复已留给居民。",
    "retrying": "⏳ 暂时没能送达，机器人会自动重试。",
    "gone": "⚠️ 没能送达：居民已屏蔽机器人或删除了对话。这个咨询已标记为“无法联系居民”。",
    "closed": "⚠️ 这个咨询已经在别处结束（已解决，或超过保存期限），这条回复没有转出。您写的内容还在下面的输入框里。",
    "again": "这条回复刚才已经发送过，没有重复发送。",
    "empty": "回复是空的，没有发送。",
    "resolved": "☑️ 已标记为已解决，居民已收到通知。",
    "already": "这个咨询已经结束了（可能是别的同事刚处理的）。",
    "faq": "📚 已把最新的工作人员回复加入问答候选。",
    "faq-none": "还没有工作人员回复：先回复居民，再点“加入问答”。",
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def china_time(moment: dt.datetime, fmt: str = "%m-%d %H:%M") -> str:
    return moment.astimezone(CHINA_TZ).strftime(fmt)


@dataclass(frozen=True)
class Viewer:
    """Who is looking, for the page's header and forms."""

    name: str
    csrf: str
    admin: bool = False


@dataclass(frozen=True)
class TicketView:
    """One ticket as the desk shows it."""

    key: str  # how forms and links address it (see site.ticket_key)
    row: TicketRow
    card: Card
    answer: str  # the text of the entry the bot answered with, "" if none (or no longer in the FAQ)
    room: bool  # a Telegram staff group exists (for the "not yet posted" status)


def viewer_of(session: Session) -> Viewer:
    return Viewer(session.name, session.csrf, session.admin)


def layout(
    title: str, body: str, viewer: Viewer | None, *, active: str = "", version: str = "", refresh: int = 0
) -> str:
    """The page around `body`: header, menu, sign-out; a signed-in page also polls for changes
    (`version`: what the tickets looked like when the page was made). `refresh`: reload the
    page after that many seconds (a result still being computed)."""
    nav = ""
    if viewer is not None:
        links = "".join(
            f'<a href="{PREFIX}/{"" if key == "tickets" else "tools/"}{key}"'
            f"{' aria-current=page' if key == active else ''}>{_e(label)}</a>"
            for key, label in NAV
        )
        signout = (
            f'<form method="post" action="{PREFIX}/signout" class="signout">{csrf_field(viewer)}'
            f'<button type="submit">{_e(SIGN_OUT_LABEL.format(name=viewer.name))}</button></form>'
        )
        nav = f'<nav aria-label="主菜单">{links}</nav>{signout}'
    live = f' data-poll="{PREFIX}/api/version" data-version="{_e(version)}"' if viewer is not None else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">{f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""}
<title>{_e(title)} · {_e(SITE_NAME)}</title>
<link rel="stylesheet" href="{PREFIX}/static/desk.css">
<script src="{PREFIX}/static/desk.js" defer></script>
</head><body{live}>
<header><span class="site">{_e(SITE_NAME)}</span>{nav}</header>
<main id="main">
{body}
</main></body></html>
"""


def csrf_field(viewer: Viewer) -> str:
    return f'<input type="hidden" name="csrf" value="{_e(viewer.csrf)}">'


def notice(text: str, kind: str = "info") -> str:
    return f'<p class="notice {kind}" role="status">{_e(text)}</p>' if text else ""


# --- sign-in -----------------------------------------------------------------------------------


def signin_page(csrf: str, *, message: str = "", error: bool = False, name: str = "", insecure: bool = False) -> str:
    body = f"""<h1>{_e(SIGNIN_TITLE)}</h1>
{notice(SIGNIN_INSECURE, "warn") if insecure else ""}
{notice(message, "error" if error else "info")}
<form method="post" action="{PREFIX}/signin" class="signin">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<label for="name">账号</label>
<input id="name" name="name" autocomplete="username" required maxlength="20" value="{_e(name)}" autofocus>
<label for="password">密码</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
<button type="submit">登录</button>
</form>
<p class="muted">{_e(SIGNIN_HELP)}</p>"""
    return layout(SIGNIN_TITLE, body, None)


# --- tickets ---------------------------------------------------------------------------------


def bot_said(card: Card) -> str:
    template = BOT_SAID.get(card.status, BOT_SAID_NOTHING) if card.status is not None else BOT_SAID_NOTHING
    return template.format(answered=card.answered or "", suggested="；".join(card.suggested))


def _status(view: TicketView) -> str:
    kind = str(view.row.status)
    return f'<span class="status {kind}">{_e(status_text(view.row, room=view.room))}</span>'


def _summary(view: TicketView, now: dt.datetime) -> str:
    row, card = view.row, view.card
    question = row.question or NO_QUESTION
    answer = (
        f"<details><summary>{_e(BOT_ANSWER_LABEL)}</summary><p class=answer>{_e(view.answer)}</p></details>"
        if view.answer
        else ""
    )
    earlier = f'<p class="muted">{_e(EARLIER.format(count=card.earlier))}</p>' if card.earlier else ""
    return f"""<p class="meta">#{row.number} · {_e(channel_text(row.channel))} · \
<time datetime="{_e(row.opened_at.isoformat())}" title="{_e(china_time(row.opened_at, "%Y-%m-%d %H:%M"))}">\
{_e(age_text(row.opened_at, now))}</time> · {_status(view)}</p>
<p class="question">{_e(question)}</p>
<p class="bot">{_e(bot_said(card))}</p>{answer}{earlier}"""


def tickets_page(
    views: Sequence[TicketView], viewer: Viewer, now: dt.datetime, *, version: str, total: int, message: str = ""
) -> str:
    """The open tickets, oldest first (`views`: at most LISTED of the `total`)."""
    if views:
        items = "".join(
            f'<li class="ticket" id="t-{v.row.number}">{_summary(v, now)}'
            f'<p><a class="open" href="{PREFIX}/t/{_e(v.key)}">{_e(OPEN_LINK)} #{v.row.number} →</a></p></li>'
            for v in views
        )
        listing = f'<ol class="tickets">{items}</ol>'
    else:
        listing = f'<p class="empty">{_e(TICKETS_EMPTY)}</p>'
    waiting = sum(v.row.status == TicketStatus.OPEN for v in views)
    more = f'<p class="notice warn">{_e(TICKETS_MORE.format(shown=len(views)))}</p>' if total > len(views) else ""
    body = f"""{notice(message)}
<div id="tickets" data-live data-waiting="{waiting}">
<h1>{_e(TICKETS_HEADING.format(count=total))}</h1>
{listing}{more}
</div>
<p class="muted">{_e(TICKETS_LIVE)}</p>"""
    return layout(TICKETS_TITLE, body, viewer, active="tickets", version=version)


def _message(m: TicketMessage) -> str:
    if m.author == Author.STAFF:
        who = STAFF_WROTE.format(name=m.staff_name or "工作人员")
        outcome = OUTCOMES.get(m.outcome or "", OUTCOME_PENDING)
        extra = f" · {_e(outcome)}" + (f" · {_e(FAQ_MARK)}" if m.faq else "")
        kind = "staff"
    else:
        who, extra, kind = RESIDENT_WROTE, "", "resident"
    return (
        f'<li class="{kind}"><p class="meta">{_e(who)} · {_e(china_time(m.at))}{extra}</p>'
        f'<p class="text">{_e(m.text)}</p></li>'
    )


def ticket_page(
    view: TicketView,
    messages: Sequence[TicketMessage],
    viewer: Viewer,
    now: dt.datetime,
    *,
    nonce: str,
    version: str,
    message: str = "",
    draft: str = "",
) -> str:
    row = view.row
    thread = (
        f'<ol class="thread">{"".join(_message(m) for m in messages)}</ol>'
        if messages
        else f'<p class="muted">{_e(THREAD_EMPTY)}</p>'
    )
    action = f"{PREFIX}/t/{_e(view.key)}"
    if row.live:
        where = WHERE_SEEN.get(row.channel, "")
        reply = f"""<form method="post" action="{action}/reply" class="reply">{csrf_field(viewer)}
<input type="hidden" name="nonce" value="{_e(nonce)}">
<label for="text">{_e(REPLY_LABEL)}</label>
<textarea id="text" name="text" rows="5" maxlength="4000" required>{_e(draft)}</textarea>
<p class="muted">{_e(where)}</p>
<button type="submit">{_e(REPLY_SEND)}</button>
</form>"""
    elif row.status == TicketStatus.UNREACHABLE:
        reply = notice(GONE_NOTE, "warn") + _draft_box(draft)
    else:
        who = row.closed_by or EXPIRED_BY
        when = china_time(row.closed_at) if row.closed_at else ""
        reply = notice(CLOSED_NOTE.format(who=who, when=when), "warn") + _draft_box(draft)
    resolve = (
        f'<form method="post" action="{action}/resolve" class="inline">{csrf_field(viewer)}'
        f'<button type="submit" class="resolve">{_e(RESOLVE_LABEL)}</button></form>'
        if row.status != TicketStatus.CLOSED
        else ""
    )
    faq = (
        f'<form method="post" action="{action}/faq" class="inline">{csrf_field(viewer)}'
        f'<button type="submit" title="{_e(FAQ_HELP)}">{_e(FAQ_LABEL)}</button></form>'
    )
    body = f"""<p><a href="{PREFIX}/">{_e(BACK_LINK)}</a></p>
{notice(message)}
<h1>人工咨询 #{row.number}<small>（{_e(row.key)}）</small></h1>
<div id="ticket" data-live>{_summary(view, now)}
<h2>补充与回复</h2>
{thread}
<div class="actions">{resolve}{faq}</div>
</div>
{reply}"""
    return layout(f"人工咨询 #{row.number}", body, viewer, active="tickets", version=version)


def _draft_box(draft: str) -> str:
    """What a staff member wrote for a ticket that closed meanwhile: kept for them to copy."""
    if not draft:
        return ""
    return f'<label for="draft">{_e(DRAFT_LABEL)}</label><textarea id="draft" rows="5" readonly>{_e(draft)}</textarea>'


def message_page(title: str, text: str, viewer: Viewer | None, *, link: str = "") -> str:
    back = f'<p><a href="{_e(link)}">{_e(BACK_LINK)}</a></p>' if link else ""
    return layout(title, f"<h1>{_e(title)}</h1>\n{notice(text, 'warn')}\n{back}", viewer)


__all__ = [
    "DONE",
    "PREFIX",
    "TicketView",
    "Viewer",
    "layout",
    "message_page",
    "signin_page",
    "ticket_page",
    "tickets_page",
    "viewer_of",
]
