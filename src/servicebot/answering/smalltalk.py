"""Small talk: greetings, thanks, goodbyes, questions about the bot itself, asking for a person.

A resident who writes 你是谁 or 谢谢 is not asking about a public service, and no FAQ entry
should answer them by accident (你是谁 shares 谁 with 找谁; 再见 shares nothing, but 你好吗
could). A message is small talk when, once the small-talk phrases are taken out, nothing
that names a subject is left: 你好，低保怎么申请 is a question about 低保, 你好 alone is a
greeting. Pure and FAQ-independent; the conversation picks the reply.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Intent(StrEnum):
    GREETING = "greeting"  # 你好, 在吗, hello
    THANKS = "thanks"  # 谢谢, 好的, 明白了
    BYE = "bye"  # 再见, 拜拜
    IDENTITY = "identity"  # 你是谁, 你是机器人吗, 你是真人吗
    HUMAN = "human"  # 人工, 转人工, 找工作人员
    COMPLAINT = "complaint"  # 垃圾机器人, 你好笨, 没用: the resident is unhappy with the bot
    CAPABILITY = "capability"  # 你能干什么, 能问你哪些问题: best answered by the FAQ's own entry on the bot


# Each pattern must match a whole phrase; what is left over decides whether the message was
# only small talk. Longest alternatives first within each group.
_PHRASES: tuple[tuple[Intent, str], ...] = (
    (
        Intent.IDENTITY,
        r"(?:请问)?(?:你|您)(?:叫什么名字|叫啥名字?|是不是(?:机器人|真人|人工))|你是机器人还是真人|"
        r"(?:请问)?(?:你|您)(?:到底|究竟)?(?:是|叫)(?:谁|什么|啥|哪个|哪位|机器人|真人|人工|ai|人还是机器|人工智能|"
        r"智能客服|自动回复)(?:吗|嘛|呀|啊|呢)?|(?:是)?(?:机器人|真人)(?:吗|嘛)",
    ),
    (
        Intent.CAPABILITY,
        r"(?:你|您|机器人|小助手|助手|客服|这个|这里|这儿|在这)?(?:都|到底|一般)?(?:能|可以|会|能够)(?:帮我|帮忙)?"
        r"(?:干|做|回答|答|问|解答|查|办|咨询)(?:些|点)?(?:什么|啥|哪些|哪方面的?|哪些方面的?)(?:问题|事情?|事儿|东西|内容|业务)?"
        r"|(?:能|可以)(?:问|咨询)(?:你|您)(?:些|点)?(?:什么|啥|哪些)(?:问题|事情?)?|(?:你|您)(?:有什么|有啥)(?:用|功能)",
    ),
    (
        Intent.HUMAN,
        r"(?:我要|我想|请|帮我|给我)?(?:转接?|找|接通?|联系)?(?:人工客服|人工服务|人工|真人客服|真人|客服人员|客服|"
        r"工作人员|办事人员|值班人员)(?:服务|客服)?",
    ),
    (
        Intent.COMPLAINT,
        r"(?:这个|破|这)?(?:机器人|智能客服)?(?:你|您)(?:真|好|太|很|就是个?|是个)?(?:垃圾|笨蛋?|蠢货?|傻子?|傻瓜|智障|白痴|废物|"
        r"没用|不行|差劲|弱智)(?:的)?(?:机器人)?(?:吧|啊|哦|呀|了)?|"
        r"(?:真|好|太|很)?(?:笨蛋|蠢货|傻瓜|智障|白痴|弱智|答非所问|听不懂人话|啥也不会|什么都不会|一问三不知|没啥用|一点用都没有)(?:的)?"
        r"(?:机器人)?(?:吧|啊|哦|呀|了)?|(?:垃圾|破|笨|蠢|没用的)(?:机器人|智能客服)",
    ),
    (
        Intent.GREETING,
        r"(?:你好|您好|hello|hi|hey|嗨|哈喽|哈啰|早上好|上午好|中午好|下午好|晚上好|早安|晚安|在吗|在不在|"
        r"有人吗|有人在吗|在不|喂|请问)(?:呀|啊|哈|吗|呢)?",
    ),
    (
        Intent.BYE,
        r"再见|拜拜|拜了|bye|byebye|回头见|下次见|先这样|没事了|没有了|没别的了|不用了",
    ),
    (
        Intent.THANKS,
        r"(?:非常|十分|太)?(?:感谢|谢谢|多谢|谢了|谢啦|thanks|thankyou|thx)(?:你|您|啦|了|哈|哦)?|辛苦了|"
        r"好的|好滴|好嘞|好吧|知道了|明白了|懂了|收到|ok|okay|嗯嗯|嗯|哦|行|可以了|好",
    ),
)
_COMPILED = tuple((intent, re.compile(pattern)) for intent, pattern in _PHRASES)
_NOISE_RE = re.compile(r"[\W_\d]+")
_MAX_CHARS = 24  # a longer message is a question, whatever it starts with


def detect(text: str) -> Intent | None:
    """The small-talk intent of a whole message, or None when it asks something else.

    `text` is the raw message (any case, punctuation, emoji). The first intent found wins
    when the message is only small talk (你好，我要转人工 → HUMAN, the strongest ask).
    """
    plain = _NOISE_RE.sub("", text.casefold())
    if not plain or len(plain) > _MAX_CHARS:
        return None
    found: list[Intent] = []
    rest = plain
    for intent, pattern in _COMPILED:
        rest, n = pattern.subn(" ", rest)
        if n:
            found.append(intent)
    leftover = rest.replace(" ", "")
    if found and not leftover.strip("的了吧呢啊呀哈哦嘛么"):
        return found[0]
    return None
