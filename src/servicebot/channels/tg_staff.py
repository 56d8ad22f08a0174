"""The staff group on Telegram: where the hand-off desk's tickets are read and answered.

`StaffGroup` is the desk's `StaffRoom` on Telegram, and the handlers for the staff group:

- one card per ticket (#number, the masked question, what the bot did, how many earlier
  tickets the resident opened, the channel; never the resident's id, username or name),
  with the buttons 已解决 and 加入问答; what the resident writes later is posted under it;
- a staff member answers by *replying* (Telegram's reply) to the card or to any of the
  bot's messages about that ticket; the desk relays the text and the group gets a ✅ line
  naming who answered. Replies to anything else, and staff talking among themselves, are
  left alone;
- which ticket a message of the bot belongs to is what was recorded when it was sent (its
  message id; Telegram never reuses one in a chat), or, for a message sent just before a
  crash, the number *and key* its text begins with (`#12（K7QX2M）`) — never a number alone,
  which a deleted or restored log gives to another ticket. A reply to a card of no ticket in
  the log is refused, with a note; so is a button under one;
- /tickets lists the tickets that are not closed.

Its handlers run before every other (group -2) and stop there, so nothing a staff member
writes in the group — an @mention of the bot included — is ever taken for a resident's
question, logged or counted by flood control; only commands go on to the other handlers.
Staff-facing wording is Chinese and lives here; residents' wording is in replies.py.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from collections.abc import Callable, Sequence

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)

from servicebot.channels import Core
from servicebot.channels.tg_render import NO_PREVIEW, describe_error, split_text
from servicebot.conversation.ticket_view import Card, Notice, age_text, channel_text, status_text
from servicebot.conversation.tickets import Desk
from servicebot.errors import StaffRoomError
from servicebot.records import TICKET_KEY_ALPHABET, TICKET_KEY_CHARS, Channel, Status, TicketId
from servicebot.storage.tickets import TicketRow

log = logging.getLogger(__name__)

GROUP = -2  # handler group: before admission and the residents' handlers
MAX_SHOWN = 3500  # characters of a resident's text shown in one staff message
LISTED = 30  # tickets /tickets shows

# --- wording ---------------------------------------------------------------------------------

CARD_TITLE = "🙋 人工咨询 {label}"
CARD_AGAIN = "（机器人重启前可能已经发过这张卡片：两张是同一个咨询，回复哪张都可以。）"
CARD_CHANNEL = "来自：{channel}"
CARD_QUESTION = "问题：{question}"
CARD_NO_QUESTION = "问题：（居民还没写问题，后面的消息会接在这条下面）"
BOT_SAID = {
    Status.UNANSWERED: "机器人：没能回答",
    Status.SUGGEST: "机器人：给出了建议（{suggested}）",
    Status.ANSWERED: "机器人：回答了「{answered}」，居民仍要求人工",
    Status.TAP: "机器人：居民看了「{answered}」的回答，仍要求人工",
    Status.REFERRAL: "机器人：告诉了居民该找哪个部门（{answered}），居民仍要求人工",
    Status.ITEM: "机器人：回答了物品分类（{answered}），居民仍要求人工",
    Status.ITEM_UNLISTED: "机器人：这个物品不在垃圾分类清单里，没能回答",
}
BOT_SAID_NOTHING = "机器人：居民直接要求人工"
EARLIER_NONE = "这位居民第一次转人工。"
EARLIER = "这位居民之前转过人工 {count} 次。"
CARD_HOW = "回复这条消息（长按 → 回复）即可答复居民，回复会以“工作人员回复：”转给居民。"
FOLLOW_UP = "💬 {label} 居民补充：{text}"
NOTICES = {
    Notice.SENT: "✅ #{number} 已转给居民（{name} 的回复）。",
    Notice.KEPT: "✅ #{number} {name} 的回复已留给居民，{where}就会看到。",
    Notice.RETRYING: "⏳ #{number} {name} 的回复暂时没能送达，机器人会自动重试。",
    Notice.GONE: "⚠️ #{number} 的回复没能送达：居民已屏蔽机器人或删除了对话。这个咨询已标记为“无法联系居民”。",
    Notice.CLOSED: (
        "⚠️ #{number} 已经结束（已解决，或超过 {days} 天），居民的联系方式已按隐私规定删除，这条回复没有转出。"
    ),
    Notice.NOT_TEXT: "⚠️ #{number} 只能转达文字：请用文字回复。",
    Notice.RESOLVED: "☑️ #{number} 已由 {name} 标记为已解决，居民已收到通知。",
    Notice.UNKNOWN: (
        "⚠️ #{number} 不在机器人现在的咨询记录里（记录被删除过，或从备份恢复过，这张旧卡片已经失效），"
        "这条回复没有转出。如果居民还在等，请用 /tickets 找到他的咨询，回复新的卡片。"
    ),
}
KEPT_WHERE = {Channel.WEB: "居民下次打开网页聊天时", Channel.WECHAT: "居民下次给公众号发消息时"}
KEPT_WHERE_OTHER = "居民下次来问时"
RESOLVE_LABEL = "✅ 已解决"
FAQ_LABEL = "📚 加入问答"
RESOLVED_TOAST = "已把 #{number} 标记为已解决。"
ALREADY_RESOLVED_TOAST = "#{number} 已经结束了。"
UNKNOWN_TOAST = "找不到 #{number}（可能已超过保存期限被删除，或是记录被删除、从备份恢复前的旧卡片）。"
FAQ_TOAST = "已把 {name} 对 #{number} 的回复加入问答候选：servicebot review --suggest-yaml 会用它起草新条目。"
FAQ_NO_REPLY_TOAST = "#{number} 还没有工作人员回复：先回复居民，再点“加入问答”。"
LIST_TITLE = "未结束的人工咨询（{count} 个，最新的在前）："
LIST_LINE = "#{number} · {age} · {status} · {channel} · {question}"
LIST_MORE = "……只列出最新的 {shown} 个；全部请用 servicebot tickets --open。"
LIST_EMPTY = "现在没有未结束的人工咨询。"
DEAD_LETTERS_TEXT = (
    "⚠️ 有 {count} 条居民发给机器人的 Telegram 消息没能处理（机器人处理它们时多次停机，或一天内没能回答），"
    "居民没有收到回答，机器人也不会再试。请告诉运维人员：servicebot health 会列出它们。"
)
# How the bot's own messages about a ticket begin (the card, a follow-up, a note). The card and
# a follow-up name the ticket's key too: a reply to one whose id was never recorded still
# finds its ticket, and only that one.
_KEY = f"[{TICKET_KEY_ALPHABET}]{{{TICKET_KEY_CHARS}}}"
_TICKET_LINE_RE = re.compile(r"(?:🙋 人工咨询 |💬 |✅ |⏳ |⚠️ |☑️ )#(\d{1,12})(?:（(" + _KEY + r")）)?")
_BUTTON_RE = re.compile(r"s:([cf]):(\d{1,12})(?::(" + _KEY + r"))?$")  # PTB matches from the start


def card_text(card: Card) -> str:
    """The card as HTML (escaped); the title bold."""
    bot_said = BOT_SAID.get(card.status, BOT_SAID_NOTHING) if card.status is not None else BOT_SAID_NOTHING
    lines = [
        f"<b>{CARD_TITLE.format(label=card.ticket.label)}</b>",
        CARD_CHANNEL.format(channel=channel_text(card.channel)),
        CARD_QUESTION.format(question=card.question[:MAX_SHOWN]) if card.question else CARD_NO_QUESTION,
        bot_said.format(answered=card.answered or "", suggested="；".join(card.suggested)),
        EARLIER.format(count=card.earlier) if card.earlier else EARLIER_NONE,
        *([CARD_AGAIN] if card.again else []),
        f"<i>{CARD_HOW}</i>",
    ]
    return "\n".join(lines[:1] + [html.escape(line, quote=False) for line in lines[1:-1]] + lines[-1:])


def keyboard(ticket: TicketId, *, resolved: bool = False) -> InlineKeyboardMarkup:
    """已解决 and 加入问答, each naming the ticket by number and key."""
    faq = InlineKeyboardButton(FAQ_LABEL, callback_data=f"s:f:{ticket.number}:{ticket.key}")
    if resolved:
        return InlineKeyboardMarkup([[faq]])
    resolve = InlineKeyboardButton(RESOLVE_LABEL, callback_data=f"s:c:{ticket.number}:{ticket.key}")
    return InlineKeyboardMarkup([[resolve, faq]])


def listing_text(rows: Sequence[TicketRow], now: dt.datetime) -> str:
    """What /tickets says: the newest LISTED tickets not closed, one line each."""
    if not rows:
        return LIST_EMPTY
    lines = [LIST_TITLE.format(count=len(rows) if len(rows) < LISTED else f"{LISTED}+")]
    for ticket in rows[:LISTED]:
        question = ticket.question.replace("\n", " ")
        lines.append(
            LIST_LINE.format(
                number=ticket.number,
                age=age_text(ticket.opened_at, now),
                status=status_text(ticket),
                channel=channel_text(ticket.channel),
                question=(question[:30] + "…") if len(question) > 30 else question or "（还没写问题）",
            )
        )
    if len(rows) > LISTED:
        lines.append(LIST_MORE.format(shown=LISTED))
    return "\n".join(lines)


# --- the room and its handlers ---------------------------------------------------------------------


class StaffGroup:
    """The desk's `StaffRoom` on Telegram, and the staff group's handlers."""

    def __init__(self, core: Core, bot: Callable[[], ExtBot]):
        assert core.settings.staff_chat_id is not None
        self.core = core
        self.chat_id: int = core.settings.staff_chat_id
        self._bot = bot

    @property
    def desk(self) -> Desk:
        assert self.core.desk is not None
        return self.core.desk

    # -- StaffRoom -------------------------------------------------------------------------------

    async def post_ticket(self, card: Card) -> int:
        return await self._send(card_text(card), markup=keyboard(card.ticket))

    async def post_follow_up(self, ticket: TicketId, card_message: int, text: str) -> int:
        line = FOLLOW_UP.format(label=ticket.label, text=text[:MAX_SHOWN])
        return await self._send(html.escape(line, quote=False), reply_to=card_message)

    async def tell(
        self,
        number: int,
        notice: Notice,
        *,
        reply_to: int | None = None,
        name: str = "",
        channel: Channel | None = None,
    ) -> int | None:
        where = KEPT_WHERE.get(channel, KEPT_WHERE_OTHER) if channel is not None else KEPT_WHERE_OTHER
        text = NOTICES[notice].format(
            number=number, name=name or "工作人员", days=self.core.settings.ticket_days, where=where
        )
        try:
            return await self._send(html.escape(text, quote=False), reply_to=reply_to)
        except StaffRoomError as exc:
            log.warning("hand-off: could not tell the staff group about ticket #%d: %s", number, exc)
            return None

    async def _send(self, text: str, *, markup: InlineKeyboardMarkup | None = None, reply_to: int | None = None) -> int:
        try:
            message = await self._bot().send_message(
                self.chat_id,
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None,
            )
        except TelegramError as exc:
            raise StaffRoomError(describe_error(exc)) from None
        return message.message_id

    async def announce(self, text: str) -> bool:
        """Tell the group something about the bot itself (not a ticket); False if it could not."""
        try:
            await self._send(html.escape(text, quote=False))
        except StaffRoomError as exc:
            log.warning("could not tell the staff group: %s", exc)
            return False
        return True

    # -- handlers ------------------------------------------------------------------------------

    def handlers(self) -> list[BaseHandler]:
        chat = filters.Chat(self.chat_id)
        return [
            CallbackQueryHandler(self.on_button, pattern=_BUTTON_RE),
            CommandHandler("tickets", self.on_tickets, filters=chat),
            MessageHandler(chat & filters.UpdateType.MESSAGE & filters.REPLY & ~filters.COMMAND, self.on_reply),
            TypeHandler(Update, self.on_anything_else),  # last: only what nothing above took
        ]

    async def on_anything_else(self, update: Update, context: CallbackContext) -> None:
        """Whatever else happens in the staff group — staff talking, @mentioning the bot, a
        photo, a tap on a button that is not a staff button — is staff's, never a resident's
        question: not answered, not logged, not counted. Commands go on (an admin's /reload)."""
        chat = update.effective_chat
        if chat is None or chat.id != self.chat_id:
            return
        message = update.effective_message
        if update.callback_query is None and message is not None and (message.text or "").startswith("/"):
            return
        if update.callback_query is not None:
            await _answer(update.callback_query, "")
        raise ApplicationHandlerStop

    async def on_reply(self, update: Update, context: CallbackContext) -> None:
        """A reply in the staff group: relayed when it answers a ticket, otherwise left alone."""
        message, user = update.effective_message, update.effective_user
        replied = message.reply_to_message if message else None
        if message is None or replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
            raise ApplicationHandlerStop
        name = user.first_name if user else ""
        desk = self.desk
        named = ticket_line(replied.text or "")
        if named is None:
            raise ApplicationHandlerStop  # a reply to anything else is not for a resident
        number, hint = named
        ticket = await desk.room_ticket(message.chat_id, replied.message_id, hint)
        if ticket is None:
            log.warning("hand-off: a staff reply answers a card of no ticket in the log (#%d); not relayed", number)
            desk.later(desk.tell_staff(number, Notice.UNKNOWN, reply_to=message.message_id))
            raise ApplicationHandlerStop
        relayed = await desk.staff_reply(
            ticket, source=f"{message.chat_id}:{message.message_id}", text=message.text, name=name
        )
        if relayed.number is not None and relayed.notice is not None:
            # Not awaited: the next staff reply need not wait for the group's send rate limit.
            note = desk.tell_staff(
                relayed.number, relayed.notice, reply_to=message.message_id, name=name, channel=relayed.channel
            )
            desk.later(note)
        raise ApplicationHandlerStop

    async def on_button(self, update: Update, context: CallbackContext) -> None:
        """已解决 / 加入问答 under a card; the same data from any other chat is not ours."""
        query = update.callback_query
        if query is None or query.message is None or query.message.chat.id != self.chat_id:
            return  # a forged or stray press elsewhere: the residents' handlers call it stale
        found = _BUTTON_RE.fullmatch(query.data or "")
        assert found is not None  # the handler's pattern
        kind, number, name = found.group(1), int(found.group(2)), query.from_user.first_name
        hint = TicketId(number, found.group(3)) if found.group(3) else None
        ticket = await self.desk.room_ticket(self.chat_id, query.message.message_id, hint)
        if ticket is None:
            await _answer(query, UNKNOWN_TOAST.format(number=number))
        elif kind == "c":
            resolved = await self.desk.resolve(ticket, name)
            toast = {None: UNKNOWN_TOAST, False: ALREADY_RESOLVED_TOAST, True: RESOLVED_TOAST}[resolved]
            await _answer(query, toast.format(number=number))
            if resolved:
                await _edit_markup(query, keyboard(ticket, resolved=True))
                self.desk.later(
                    self.desk.tell_staff(number, Notice.RESOLVED, reply_to=query.message.message_id, name=name)
                )
        else:
            author = await self.desk.mark_faq(ticket)
            toast = FAQ_NO_REPLY_TOAST if author is None else FAQ_TOAST
            await _answer(query, toast.format(number=number, name=author or "工作人员"))
        raise ApplicationHandlerStop

    async def on_tickets(self, update: Update, context: CallbackContext) -> None:
        rows = await self.desk.listing(open_only=True, limit=LISTED + 1)
        for part in split_text(listing_text(rows, self.desk.clock())):
            await self._send(html.escape(part, quote=False))
        raise ApplicationHandlerStop


def ticket_line(text: str) -> tuple[int, TicketId | None] | None:
    """Whether a message of the bot in the staff group is about a ticket, read from how it
    begins: (its number, the ticket when the text names its key too); None for anything else."""
    found = _TICKET_LINE_RE.match(text)
    if found is None:
        return None
    number = int(found.group(1))
    return number, TicketId(number, found.group(2)) if found.group(2) else None


async def _answer(query: CallbackQuery, text: str) -> None:
    try:
        await query.answer(text[:200] or None)
    except BadRequest as exc:
        log.info("could not answer a staff button press: %s", exc.message)


async def _edit_markup(query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
    try:
        await query.edit_message_reply_markup(markup)
    except TelegramError as exc:
        log.info("could not update a ticket's buttons: %s", describe_error(exc))


__all__ = ["DEAD_LETTERS_TEXT", "GROUP", "StaffGroup", "card_text", "keyboard", "listing_text", "ticket_line"]
