"""Telegram's side of a channel-neutral `Reply`, as pure functions the bot and tests share.

- HTML text (escaped; title bold, footer italic), split at line boundaries into messages
  under Telegram's 4096-character limit, measured in UTF-16 code units (the one splitter,
  `splitter`, with `Cuts.LINES`).
- Inline keyboards; each button's callback data is the one the `Said` carries
  (`Said.button_data`), which fits Telegram's 64 bytes and decodes against the current FAQ
  when it comes back.
- Whether a group message is addressed to the bot, and the question without the @mention.
- What staff read after a reload or /stats, and errors described for the log without
  personal data.
"""

from __future__ import annotations

import html
import re
import traceback

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, MessageEntity
from telegram.constants import ChatType
from telegram.error import TelegramError

from servicebot.answering.replies import MAX_ANSWER_CHARS, Reply
from servicebot.channels.splitter import Cuts, cut_line, group_lines, split, utf16_len
from servicebot.conversation.events import Said
from servicebot.errors import Problem
from servicebot.faq import Faq
from servicebot.records import ButtonKind

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # answers carry their links as buttons
MAX_MESSAGE = MAX_ANSWER_CHARS  # Telegram's limit, in UTF-16 code units after entity parsing

# --- text ----------------------------------------------------------------------------------


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Text as messages of at most `limit` UTF-16 units, split at line breaks (a line longer
    than `limit` is cut); blank lines at the edges of a message are dropped."""
    return split(text, limit, utf16_len, cuts=Cuts.LINES)


def _styled_lines(reply: Reply, notice: str) -> list[tuple[str, str]]:
    """(tag, visible line) pairs; a blank line between the parts, as in Reply.plain."""
    parts = [
        (tag, text) for tag, text in (("i", notice), ("b", reply.title), ("", reply.body), ("i", reply.footer)) if text
    ]
    lines: list[tuple[str, str]] = []
    for n, (tag, text) in enumerate(parts):
        if n:
            lines.append(("", ""))
        lines.extend((tag, line) for line in text.split("\n"))
    return lines


def render_html(reply: Reply, notice: str = "", limit: int = MAX_MESSAGE) -> list[str]:
    """The reply as HTML messages; each line is tagged on its own so a split never breaks markup."""
    lines = [(tag, piece) for tag, line in _styled_lines(reply, notice) for piece in cut_line(line, limit, utf16_len)]
    messages = []
    for group in group_lines([utf16_len(text) for _, text in lines], limit):
        chunk = lines[group.start : group.stop]
        while chunk and not chunk[0][1].strip():
            chunk = chunk[1:]
        while chunk and not chunk[-1][1].strip():
            chunk = chunk[:-1]
        if chunk:
            messages.append("\n".join(_tagged(tag, text) for tag, text in chunk))
    return messages


def _tagged(tag: str, text: str) -> str:
    escaped = html.escape(text, quote=False)
    return f"<{tag}>{escaped}</{tag}>" if tag and text.strip() else escaped


# --- buttons -------------------------------------------------------------------------------


def keyboard(said: Said) -> InlineKeyboardMarkup | None:
    """Inline keyboard of what was said: links, and each other button with the data it
    carries (a button without data, 👍/👎 with nothing to rate, is left out)."""
    rows = []
    for row in said.reply.rows if said.reply is not None else ():
        buttons = []
        for b in row:
            data = said.button_data(b)
            if b.kind == ButtonKind.URL:
                buttons.append(InlineKeyboardButton(b.label, url=b.value))
            elif data is not None:
                buttons.append(InlineKeyboardButton(b.label, callback_data=data))
        if buttons:
            rows.append(buttons)
    return InlineKeyboardMarkup(rows) if rows else None


# --- groups --------------------------------------------------------------------------------


def strip_mention(text: str, username: str) -> str:
    """The question without "@botname" (any case), with whitespace tidied."""
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def is_addressed(message: Message, username: str, bot_id: int) -> bool:
    """Whether a group message is for the bot: a command (not for another bot), an @mention
    of the bot, or a reply to one of the bot's messages. Private messages always are."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    if message.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return False
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    handle = f"@{username}".lower()
    for entity, text in message.parse_entities().items():
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            _, at, target = text.partition("@")
            if not at or target.lower() == username.lower():
                return True
        elif entity.type == MessageEntity.MENTION:
            if text.lower() == handle:
                return True
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == bot_id:
            return True
    return False


# --- staff ---------------------------------------------------------------------------------

# Staff-facing wording (admins only); residents' wording lives in replies.py.
ADMIN_ONLY_TEXT = "抱歉，这个命令只有办事处工作人员可以使用。"
STATS_UNAVAILABLE_TEXT = "统计暂时不可用：没有打开问答记录。"
WATCH_PREFIX = "检测到问答文件有修改。\n"
RELOADED_TEXT = "问答已重新加载：{files} 个文件，{entries} 个条目。"
NOT_RELOADED_TEXT = "问答文件有 {count} 个问题，没有加载，机器人仍在使用原来的问答。请修改：\n"
NO_QUESTIONS_TEXT = "今天还没有收到问题。"
# /id: what the technician setting up staff and admins needs, in polling and webhook mode alike.
ID_PRIVATE_TEXT = (
    "您的 Telegram 用户 id：{id}\n"
    "请把这个数字交给技术人员：写进 SERVICEBOT_ADMIN_IDS（几个人用英文逗号隔开）后，"
    "您就能给机器人发 /reload 和 /stats。"
)
ID_GROUP_TEXT = (
    "本群的 id：{id}\n"
    "请把这个数字交给技术人员：工作人员群写进 SERVICEBOT_STAFF_CHAT_ID（转人工），"
    "接收问答修改提醒的群写进 SERVICEBOT_ADMIN_CHAT_ID。"
)
MAX_PROBLEMS_SHOWN = 20


def reload_text(swapped: bool, problems: list[Problem], faq: Faq) -> str:
    """What an admin reads after a reload: counts, or every blocking problem with file:line."""
    errors = [p for p in problems if p.is_error]
    if swapped:
        text = RELOADED_TEXT.format(files=len(faq.files), entries=len(faq.entries))
        shown, more = problems[:MAX_PROBLEMS_SHOWN], len(problems) - MAX_PROBLEMS_SHOWN
        if problems:
            text += f"\n有 {len(problems)} 个警告：\n" + "\n".join(str(p) for p in shown)
    else:
        text = NOT_RELOADED_TEXT.format(count=len(errors))
        shown, more = errors[:MAX_PROBLEMS_SHOWN], len(errors) - MAX_PROBLEMS_SHOWN
        text += "\n".join(str(p) for p in shown)
    if more > 0:
        text += f"\n……还有 {more} 个"
    return text


def stats_text(summary: dict[str, int]) -> str:
    total = summary["total"]
    if not total:
        return NO_QUESTIONS_TEXT
    rate = summary["answered"] / total
    return (
        f"今天共收到 {total} 个问题：直接回答 {summary['answered']} 个（回答率 {rate:.0%}），"
        f"给出建议 {summary['suggest']} 个，未能回答 {summary['unanswered']} 个，"
        f"告诉居民该找哪个部门 {summary.get('referral', 0)} 个，回答物品分类 "
        f"{summary.get('item', 0) + summary.get('item-unlisted', 0)} 个。\n"
        f"评价：👍 {summary['helpful']}，👎 {summary['unhelpful']}。"
    )


def describe_error(error: BaseException | None) -> str:
    """An error for the log, without personal data: Telegram's own description, or for any
    other exception its type and stack, but not its message (it might quote a resident)."""
    if error is None:
        return "unknown error"
    if isinstance(error, TelegramError):
        # PTB quotes a non-JSON error body (a proxy's HTML page) in full; the status is enough.
        message = error.message.split(". Parsing the server response", 1)[0]
        return f"{type(error).__name__}: {message[:300]}"
    stack = "".join(traceback.format_tb(error.__traceback__))
    return f"{type(error).__name__} (message withheld)\n{stack}".rstrip()


__all__ = [
    "ADMIN_ONLY_TEXT",
    "ID_GROUP_TEXT",
    "ID_PRIVATE_TEXT",
    "MAX_MESSAGE",
    "NOT_RELOADED_TEXT",
    "NO_QUESTIONS_TEXT",
    "RELOADED_TEXT",
    "STATS_UNAVAILABLE_TEXT",
    "WATCH_PREFIX",
    "describe_error",
    "is_addressed",
    "keyboard",
    "reload_text",
    "render_html",
    "split_text",
    "stats_text",
    "strip_mention",
]
