"""A match → a channel-neutral reply: plain text plus buttons.

Telegram renders a Reply as escaped HTML with inline keyboards, the web page as JSON the
page draws, the terminal as numbered choices. Wording lives here only, so every channel
says the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from servicebot.answering.smalltalk import Intent
from servicebot.faq import Entry, Faq, GarbageGuide, GarbageItem, Link, Referral, Referrals, Source, Topic
from servicebot.matching import Candidate
from servicebot.records import ButtonKind, Status, Via

DEFAULT_CONTACT = "请到您所在的社区居委会或凤凰办事处咨询。"
SUGGEST_TEXT = "您是不是想问："
NONE_OF_THESE_LABEL = "都不是"
UNANSWERED_TEXT = "抱歉，这个问题我暂时答不上来。\n{where}"
TOPICS_BUTTON_LABEL = "📋 看看我能回答哪些问题"
TOPICS_TEXT = "请选择您想了解的主题："
TOPIC_TEXT = "「{name}」常见问题："
BACK_TO_TOPICS_LABEL = "⬅️ 返回主题列表"
NOTHING_ASKED_TEXT = "您好！有什么想问的，直接打字就行，比如“低保怎么申请”。也可以点下面的主题看看："
GREETING_TEXT = (
    "您好！我是凤凰办事处的问答机器人。\n"
    "我可以回答这些方面的问题：{topics}。\n"
    "直接打字提问就行，比如“低保怎么申请”“电池是什么垃圾”，也可以点下面的主题看看。"
)

# The longest answer (as `answer_text` renders it) every channel can send in one message:
# Telegram's limit, the smallest of our channels. `faq check` refuses a longer one.
MAX_ANSWER_CHARS = 4096


@dataclass(frozen=True)
class Button:
    label: str
    kind: ButtonKind
    value: str = ""


@dataclass(frozen=True)
class Reply:
    """What the bot says. `title` is emphasised where the channel can; `footer` is quiet.

    `can_hand_off`: the bot could not help; where a staff desk runs, the conversation
    offers 转人工 under this reply (`with_handoff`)."""

    body: str
    title: str = ""
    footer: str = ""
    rows: tuple[tuple[Button, ...], ...] = field(default=())
    can_hand_off: bool = False

    @property
    def buttons(self) -> list[Button]:
        return [b for row in self.rows for b in row]

    # How every channel partitions the buttons, in one place:
    @property
    def links(self) -> list[Button]:
        """The buttons that open a web page."""
        return [b for b in self.buttons if b.kind == ButtonKind.URL]

    @property
    def choices(self) -> list[Button]:
        """The buttons that ask the bot something: neither a link nor feedback."""
        return [b for b in self.buttons if b.kind not in (ButtonKind.URL, ButtonKind.FEEDBACK)]

    @property
    def numbered(self) -> list[Button]:
        """What a channel without real buttons numbers (the terminal): choices and links, in
        order; feedback is given with + or -."""
        return [b for b in self.buttons if b.kind != ButtonKind.FEEDBACK]

    @property
    def rated(self) -> bool:
        """Whether the reply asks for 👍/👎."""
        return any(b.kind == ButtonKind.FEEDBACK for b in self.buttons)

    @property
    def plain(self) -> str:
        return "\n\n".join(part for part in (self.title, self.body, self.footer) if part)


def source_line(entry: Entry) -> str:
    lines = [f"资料来源：{entry.source}（{entry.reviewed:%Y-%m-%d} 核对）"]
    lines += [FURTHER_SOURCE.format(text=cited(source)) for source in entry.sources]
    return "\n".join(lines)


FURTHER_SOURCE = "另据：{text}"
SOURCE_TEXT = "{title}（{date:%Y-%m-%d}）"


def cited(source: Source) -> str:
    """A source as residents read it: its title and its page's date."""
    return SOURCE_TEXT.format(title=source.title, date=source.date)


def link_rows(links: tuple[Link, ...], sources: tuple[Source, ...] = ()) -> list[tuple[Button, ...]]:
    """A link button per link, then per source on a government site (others are named, not linked)."""
    seen = {link.url for link in links}
    rows: list[tuple[Button, ...]] = [(Button(f"🔗 {link.title}", ButtonKind.URL, link.url),) for link in links]
    for source in sources:
        if source.official and source.url not in seen:
            seen.add(source.url)
            rows.append((Button(f"🔗 {source.title}", ButtonKind.URL, source.url),))
    return rows


def answer_text(entry: Entry) -> str:
    """The answer exactly as residents read it (used for the 4096-character check)."""
    return answer_reply(entry, None).plain


def answer_reply(
    entry: Entry,
    faq: Faq | None,
    *,
    feedback: bool = True,
    follow_ups: tuple[str, ...] = (),
    untold: tuple[str, ...] = (),
    complaint: bool = False,
) -> Reply:
    """An entry's answer, with its links, then the subject's other entries (`follow_ups`, when
    it answered as the subject's overview) and its related questions as buttons. A question
    that asked what the entry does not hold (`untold`: 几点, 电话, 多少钱) is told so first;
    a complaint may be handed to staff (`can_hand_off`)."""
    rows = link_rows(entry.links, entry.sources)
    if faq is not None:
        for rel in dict.fromkeys((*follow_ups, *entry.related[:3])):
            if rel in faq.by_id and rel != entry.id:
                rows.append((Button(f"❓ {faq.by_id[rel].question}", ButtonKind.ENTRY, rel),))
    if feedback:
        rows.append(feedback_row())
    body = entry.answer
    if untold:
        asked = "、".join(ASPECT_NAMES[a] for a in untold if a in ASPECT_NAMES)
        body = f"{UNTOLD_TEXT.format(asked=asked)}\n{body}"
    return Reply(body=body, title=entry.question, footer=source_line(entry), rows=tuple(rows), can_hand_off=complaint)


# What a question asked that the answer does not hold: 几点开门, 电话多少, 要多少钱.
ASPECT_NAMES = {"time": "具体时间", "phone": "联系电话", "money": "具体金额和标准"}
UNTOLD_TEXT = "您问的{asked}，本问答没有收录，下面是这方面的一般说明；具体情况请向所在社区居委会或凤凰办事处确认。"


def feedback_row() -> tuple[Button, ...]:
    """👍/👎 under an answer (the FAQ's, or a staff member's)."""
    return (Button("👍 有帮助", ButtonKind.FEEDBACK, "+"), Button("👎 没帮助", ButtonKind.FEEDBACK, "-"))


def buttons_via(status: Status) -> Via:
    """How the question buttons under a reply of this status are reached (Interaction.via)."""
    return {Status.ANSWERED: Via.RELATED, Status.SUGGEST: Via.SUGGESTION}.get(status, Via.TOPIC)


def suggest_reply(candidates: tuple[Candidate, ...], faq: Faq) -> Reply:
    rows = [
        (Button(faq.by_id[c.entry_id].question, ButtonKind.ENTRY, c.entry_id),)
        for c in candidates
        if c.entry_id in faq.by_id
    ]
    rows.append((Button(NONE_OF_THESE_LABEL, ButtonKind.NONE_OF_THESE),))
    return Reply(body=SUGGEST_TEXT, rows=tuple(rows))


def where_to_ask(contact: str) -> str:
    return f"您可以联系：{contact}" if contact else DEFAULT_CONTACT


def unanswered_reply(contact: str) -> Reply:
    """The honest "I can't answer": where to ask. It promises nothing about staff; with a
    staff desk, the conversation adds the 转人工 offer (`with_handoff`)."""
    body = UNANSWERED_TEXT.format(where=where_to_ask(contact))
    return Reply(body=body, rows=((topics_button(),),), can_hand_off=True)


def nothing_asked_reply(faq: Faq) -> Reply:
    return topics_reply(faq, NOTHING_ASKED_TEXT)


def topics_button() -> Button:
    return Button(TOPICS_BUTTON_LABEL, ButtonKind.TOPICS)


def topics_reply(faq: Faq, intro: str = TOPICS_TEXT) -> Reply:
    rows = [(Button(t.name, ButtonKind.TOPIC, t.name),) for t in faq.topics]
    return Reply(body=intro, rows=tuple(rows))


def topic_reply(topic: Topic, faq: Faq) -> Reply:
    rows = [(Button(faq.by_id[i].question, ButtonKind.ENTRY, i),) for i in topic.entry_ids]
    rows.append((Button(BACK_TO_TOPICS_LABEL, ButtonKind.TOPICS),))
    return Reply(body=TOPIC_TEXT.format(name=topic.name), rows=tuple(rows))


def greeting_reply(faq: Faq) -> Reply:
    return topics_reply(faq, GREETING_TEXT.format(topics="、".join(t.name for t in faq.topics)))


SMALL_TALK_TEXT = {
    Intent.THANKS: "不客气！还有别的问题，直接打字问我就行。",
    Intent.BYE: "再见！有需要随时来问。",
    Intent.IDENTITY: (
        "我是凤凰办事处的问答机器人，不是真人。我能回答办事处公共服务方面的常见问题，"
        "资料来自办事处的工作纪实。可以点下面的主题看看我能回答什么。"
    ),
    Intent.COMPLAINT: "抱歉没帮上忙。您可以换个说法再问一次，或者点下面的主题看看我能回答哪些问题。",
}
HUMAN_TEXT = "我是问答机器人，不能替您联系工作人员。需要当面办理或咨询的事，{where}"


def small_talk_reply(intent: Intent, faq: Faq) -> Reply:
    """A short, fitting answer to small talk; never an FAQ entry chosen by accident."""
    if intent == Intent.GREETING:
        return greeting_reply(faq)
    if intent == Intent.HUMAN:
        where = f"可以联系：{faq.contact}" if faq.contact else DEFAULT_CONTACT
        return Reply(HUMAN_TEXT.format(where=where), rows=((topics_button(),),))
    text = SMALL_TALK_TEXT.get(intent, SMALL_TALK_TEXT[Intent.IDENTITY])
    if intent in (Intent.THANKS, Intent.BYE):
        return Reply(text)
    if intent == Intent.COMPLAINT:  # the bot did not help: where a desk runs, a person is offered
        return replace(topics_reply(faq, text), can_hand_off=True)
    return topics_reply(faq, text)


# --- where to go: a matter another body handles (faq/referrals.yaml) --------------------------

REFERRAL_TEXT = "您问的{matter}方面的事，一般由{body}办理。\n{how}"
REFERRAL_SOURCES = "来源：{sources}"


def referral_reply(referral: Referral, referrals: Referrals | None) -> Reply:
    """Who handles the matter and how residents reach them; the general way in under it, the
    sources' names and dates as the footer, the matter's own official pages as buttons. Like the
    honest "I can't answer", it offers 转人工 where a staff desk runs."""
    general = referrals.general if referrals else ""
    sources = tuple(dict.fromkeys((*referral.sources, *(referrals.general_sources if referrals else ()))))
    body = REFERRAL_TEXT.format(matter=referral.matter, body=referral.body, how=referral.how)
    if general:
        body += "\n" + general
    footer = REFERRAL_SOURCES.format(sources="；".join(map(cited, sources))) if sources else ""
    rows = (*link_rows(referral.links, referral.sources), feedback_row())  # the general way in: named, not linked
    return Reply(body=body, footer=footer, rows=rows, can_hand_off=True)


# --- which bin: one everyday item (faq/garbage-items.yaml) ----------------------------------

ITEM_TITLE = "{name}属于{category}"
ITEM_CASES_TITLE = "{name}：要看是哪一种"
ITEM_BODY = "{means}\n投放：{put_out}"
ITEM_CASE = "• {when}：{category}"
ITEM_PUT_OUT = "{category}的投放：{put_out}"
ITEM_TIP = "提示：{tip}"
ITEMS_TITLE = "{names}分别属于哪一类"
ITEMS_LINE = "• {name}：{category}"
ITEMS_CASES = "• {name}：要看是哪一种（{cases}）"
ITEMS_CASE = "{when}是{category}"
ITEMS_UNLISTED = "• {name}：不在我的垃圾分类物品清单里，我不乱猜它属于哪一类"
ITEM_FOOTER = "分类依据：{sources}{more}。各小区的要求可能不同，以垃圾桶上的标识和社区的指引为准。"
ITEM_MORE_SOURCES = "等{n}个来源"
BIN_SOURCES_SHOWN = 2  # a resident reads the first sources of the list (the standard, the province's rule)
UNLISTED_TEXT = "“{name}”不在我的垃圾分类物品清单里，我不乱猜它属于哪一类。可以按下面的办法自己判断："
UNLISTED_RULE = "• {category}：{means}"
UNLISTED_END = "拿不准时，请看垃圾桶上的分类标识，或问小区物业、所在社区。"


def item_reply(item: GarbageItem, guide: GarbageGuide) -> Reply:
    """The item's bin (or, when it depends, each case's), what the bin means and how to put it out."""
    if item.category:
        category = guide.category(item.category)
        title = ITEM_TITLE.format(name=item.name, category=category.name)
        lines = [ITEM_BODY.format(means=category.means, put_out=category.put_out)]
    else:
        title = ITEM_CASES_TITLE.format(name=item.name)
        lines = [ITEM_CASE.format(when=case.when, category=case.category) for case in item.cases]
        for name in item.categories:
            lines.append(ITEM_PUT_OUT.format(category=name, put_out=guide.category(name).put_out))
    if item.tip:
        lines.append(ITEM_TIP.format(tip=item.tip))
    return Reply(body="\n".join(lines), title=title, footer=_bin_footer(guide), rows=(feedback_row(),))


def items_reply(items: tuple[GarbageItem, ...], unlisted: tuple[str, ...], guide: GarbageGuide) -> Reply:
    """Several items asked about together (电池和口红是什么垃圾): each one's bin or cases (or
    that the list lacks it, never a guess), then how to put out each bin named, once."""
    lines = []
    for item in items:
        if item.category:
            lines.append(ITEMS_LINE.format(name=item.name, category=item.category))
        else:
            cases = "；".join(ITEMS_CASE.format(when=c.when, category=c.category) for c in item.cases)
            lines.append(ITEMS_CASES.format(name=item.name, cases=cases))
    lines += [ITEMS_UNLISTED.format(name=name) for name in unlisted]
    bins = dict.fromkeys(b for i in items for b in i.categories)
    lines += [ITEM_PUT_OUT.format(category=name, put_out=guide.category(name).put_out) for name in bins]
    lines += [ITEM_TIP.format(tip=item.tip) for item in items if item.tip]
    title = ITEMS_TITLE.format(names="、".join([*(item.name for item in items), *unlisted]))
    return Reply(body="\n".join(lines), title=title, footer=_bin_footer(guide), rows=(feedback_row(),))


def unlisted_item_reply(name: str, guide: GarbageGuide) -> Reply:
    """An item the list lacks: said so, with each bin's rule of thumb, never a guessed bin."""
    lines = [UNLISTED_TEXT.format(name=name)]
    lines += [UNLISTED_RULE.format(category=c.name, means=c.means) for c in guide.categories]
    lines.append(UNLISTED_END)
    return Reply(body="\n".join(lines), footer=_bin_footer(guide), can_hand_off=True)


def _bin_footer(guide: GarbageGuide) -> str:
    """The list's first sources (staff keep the most telling first), and how many there are."""
    if not guide.sources:
        return ""
    shown = guide.sources[:BIN_SOURCES_SHOWN]
    more = ITEM_MORE_SOURCES.format(n=len(guide.sources)) if len(guide.sources) > len(shown) else ""
    return ITEM_FOOTER.format(sources="；".join(map(cited, shown)), more=more)


# --- hand-off to staff (转人工) ------------------------------------------------------------------
#
# Only said where a staff desk runs (`staff_chat_id` or `desk_port`); without one, nothing the bot says may
# promise that staff will see or answer a question (a typed 人工 gets HUMAN_TEXT).

HANDOFF_LABEL = "🙋 转人工"
BACK_LABEL = "🤖 回到机器人问答"
HANDOFF_OFFER = "也可以点“转人工”，把问题转给办事处工作人员，他们看到后会在这里回复您。"
DOWNVOTE_TEXT = "谢谢反馈。这个回答没有解决您的问题的话，可以点“转人工”，请办事处工作人员回复您。"
PRIVATE_ONLY_TEXT = "转人工请私聊我：点我的名字，再点“发消息”。"
HANDOFF_FAILED_TEXT = "抱歉，现在没能转人工，请稍后再试。{where}"
TICKET_OPENED_TEXT = "您的问题已登记为人工咨询 #{number}，正在转给办事处工作人员。{hours}"
TICKET_OPENED_ROOM_DOWN_TEXT = (
    "您的问题已登记为人工咨询 #{number}。不过现在暂时联系不上工作人员，机器人会继续尝试转交。着急的话，{where}"
)
WRITE_QUESTION_TEXT = "请直接在这里写下您的问题，工作人员会看到。"
ADD_MORE_TEXT = "需要补充的话，直接在这里写就行。"
FOLLOW_UP_TEXT = "已转给工作人员（人工咨询 #{number}），他们会在这里回复您。"
TICKET_EXISTS_TEXT = "这个问题已经转给工作人员了（人工咨询 #{number}），请留意这里的回复。"
BACK_TO_BOT_TEXT = "好的，接下来您发的问题由机器人回答。工作人员回复人工咨询 #{number} 的话，回复仍会发到这里。"
BACK_TO_BOT_NONE_TEXT = "好的，请直接提问。"
STAFF_REPLY_PREFIX = "工作人员回复："
STAFF_REPLY_FOOTER = "人工咨询 #{number}：需要补充的话，直接在这里回复就行。"
TICKET_NOT_REACHED_TEXT = "抱歉，您的人工咨询 #{number} 暂时没能送到工作人员那里，机器人会继续尝试。着急的话，{where}"
TICKET_REACHED_TEXT = "您的人工咨询 #{number} 已经送到工作人员那里了，他们看到后会在这里回复您。"
TICKET_CLOSED_TEXT = "工作人员已把您的人工咨询 #{number} 标记为已解决。还有问题的话，直接问我就行。"
# Where a channel can only answer (WeChat's passive replies), said when a ticket opens.
NEXT_MESSAGE_TEXT = (
    "请注意：公众号只能在您发来消息时回复您。工作人员回复后，您再给公众号发任意一条消息，就会先看到工作人员的回复。"
)
HOURS_UNSTATED_TEXT = "工作人员看到后会在这里回复您。"
HOURS_OPEN_TEXT = "现在是办公时间（{hours}），工作人员一般会尽快在这里回复您。"
HOURS_CLOSED_TEXT = "现在不是办公时间（{hours}），工作人员最早在{next}上班后回复您，节假日顺延。"


def handoff_button() -> Button:
    return Button(HANDOFF_LABEL, ButtonKind.HANDOFF)


def back_button() -> Button:
    return Button(BACK_LABEL, ButtonKind.BACK)


def with_handoff(reply: Reply) -> Reply:
    """The reply with the 转人工 offer first among its buttons."""
    return replace(reply, body=f"{reply.body}\n{HANDOFF_OFFER}", rows=((handoff_button(),), *reply.rows))


def downvote_reply() -> Reply:
    return Reply(DOWNVOTE_TEXT, rows=((handoff_button(),),))


def in_ticket(text: str) -> Reply:
    """A message about the resident's open ticket, with the way back to the bot."""
    return Reply(text, rows=((back_button(),),))


def staff_reply(number: int, text: str) -> Reply:
    """A staff member's answer as the resident reads it, with 👍/👎."""
    return Reply(
        f"{STAFF_REPLY_PREFIX}{text}",
        footer=STAFF_REPLY_FOOTER.format(number=number),
        rows=(feedback_row(),),
    )


HELP_TEXT = (
    "使用说明：\n"
    "• 直接发送您的问题，例如“梧桐书屋在哪”“养老保险怎么交”。\n"
    "• /topics 按主题浏览常见问题\n"
    "• /privacy 我们记录哪些信息\n"
    "• 回答下面的 👍/👎 能帮我们改进。\n"
    "我只能回答公开的政策和服务信息，个人的具体业务请到社区或办事处办理。"
)

PRIVACY_TEXT = (
    "隐私说明：\n"
    "为了改进问答，我们会记录：提问时间、您的问题（手机号、身份证号会被自动遮盖）、"
    "机器人给出的回答和您点的按钮、👍/👎 评价。\n"
    "我们不保存您的账号、用户名、昵称或网络地址，只保存一个无法还原的匿名编号，用来统计有多少人问过同一个问题。\n"
    "为了在系统故障时不漏答，您的消息在得到答复之前会暂存在服务器上，答复后立即删除。\n"
    "记录保存 {days} 天后自动删除，只有办事处工作人员用于完善问答。\n"
    "请不要在这里发送身份证号、银行卡号等个人信息。"
)

HANDOFF_PRIVACY_TEXT = (
    "如果您选择“转人工”：为了把工作人员的回复发给您，这次人工咨询会保存您的聊天编号（不保存账号名或昵称），"
    "问题解决后立即删除，最长保存 {ticket_days} 天；工作人员的回复没能马上送到您面前的话（网页没打开，"
    "或者要等您下次给公众号发消息），会暂存到您看到为止，同样最长 {ticket_days} 天；"
    "您的问题、补充说明和工作人员的回复也会记录（手机号、身份证号同样遮盖），{days} 天后删除。"
)


def privacy_text(days: int, ticket_days: int | None = None) -> str:
    """/privacy: what is kept; the hand-off paragraph only where a staff desk runs."""
    text = PRIVACY_TEXT.format(days=days)
    if ticket_days is not None:
        text += "\n" + HANDOFF_PRIVACY_TEXT.format(days=days, ticket_days=ticket_days)
    return text


WEB_PRIVACY_TEXT = (
    "网页聊天不需要登录：您的浏览器里保存一个随机编号和本机的聊天记录，点页面上的“清除记录”可以删除本机的聊天记录。"
)
WEB_TOO_LONG_TEXT = "消息太长了，请简短地问一个问题。"
SLOW_DOWN_TEXT = "您发得有点快，请稍等一会儿再问，我会继续为您解答。"
NON_TEXT_TEXT = "我目前只能看懂文字问题，请直接打字提问，例如“低保怎么申请”。"
TOO_LONG_TEXT = "您的消息有点长，我只看了开头部分。简短地问一个问题，我能回答得更准确。"
STALE_BUTTON_TEXT = "这个按钮已经过期了，请重新提问或发送 /topics 浏览。"
ERROR_TEXT = "抱歉，刚才出了点问题，请稍后再试。"
FEEDBACK_THANKS = {"+": "谢谢您的评价！", "-": "谢谢反馈，我们会改进这个回答。"}

# The terminal chat (channels/terminal.py): choices are numbered, + or - rates an answer.
TERMINAL_FEEDBACK_HINT = "（输入 + 或 - 评价这个回答）"
TERMINAL_HOW_TO = "（输入问题回车；输入数字选择；Ctrl-D 退出）"
TERMINAL_YOU, TERMINAL_BOT = "您：", "机器人："

# WeChat (channels/wechat.py): plain text only, so choices are numbered and long answers come in pages.
WECHAT_MORE_KEYWORD = "更多"  # what a resident sends for the next page
WECHAT_MORE_HINT = "（内容较长，回复“更多”看下一段）"
WECHAT_NO_MORE_TEXT = "没有更多内容了。有问题请直接打字提问。"
WECHAT_CHOICE_HINT = "回复数字选择"
WECHAT_FEEDBACK_HINT = "回复 + 或 - 评价这个回答"
WECHAT_SLOW_TEXT = "抱歉，这次回答得有点慢。答案准备好后，您再发任意一条消息就能看到。"
WECHAT_LATE_PREFIX = "您刚才的问题，回答如下："
WECHAT_SEPARATOR = "——————"

# The notice-board poster (`servicebot poster`, poster/): read from a metre away, so short.
POSTER_OFFICE = "凤凰办事处"
POSTER_TITLE = "在线问答"
POSTER_SUBTITLE = "有问题，手机扫一扫就能问"
POSTER_WEB_CAPTION = "手机扫码，打开在线问答"
POSTER_WEB_LABEL, POSTER_WEB_HINT = "在线问答", "手机扫码打开"  # beside the WeChat code: two short lines
POSTER_WECHAT_LABEL, POSTER_WECHAT_HINT = "微信公众号", "扫码关注"
POSTER_ADDRESS = "网址：{url}"
POSTER_EXAMPLES_HEADING = "您可以这样问："
POSTER_HOW = "不用下载、不用登录，打字就能问"
POSTER_CONTACT = "机器人答不上来的问题，请到社区居委会或凤凰办事处咨询。"
POSTER_PRIVACY = (
    "隐私说明：提问会匿名记录（手机号、身份证号自动遮盖），{days}天后自动删除。请不要发送身份证号、银行卡号。"
)
