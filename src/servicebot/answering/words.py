"""Words, and how much each one tells about what a resident is asking.

Chinese has no spaces, so a question is first cut into words (jieba's general dictionary, cut
by rjieba, its Rust port: the same words, sixteen times faster, and its dictionary ready in a
fifth of a second instead of one and a half). Each word then gets a weight from how rare it is
in everyday Chinese — jieba's IDF table, computed on a large general corpus — not only in this
FAQ: 低保, 书屋, 护照 and 公积金 are telling; 在哪, 办理, 怎么, 需要 and 材料 are not,
whatever the FAQ contains. Function words that residents use to *ask* (怎么, 咋整, 能不能,
问问, 几点, 在哪) weigh nothing, even where the news corpus behind the IDF table rarely prints
them.

The IDF table and jieba's part-of-speech tags are read from `data/words.sqlite3` (built from
jieba's own files by `bench/tools/build_words.py`): one indexed look-up per word, cached, and
nothing to load at start-up.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from functools import lru_cache

import rjieba

from servicebot import data

# Words that carry the *asking*, not the subject. Their weight is 0.
FUNCTION_WORDS = frozenset(
    """
    我 我们 俺 俺们 咱 咱们 你 你们 您 他 她 它 他们 她们 自己 人家 大家 家 家里 我家
    俺家 咱家 我们家 的 地 得 了 着 过 吗 吧 呢 啊 呀 哦 哈 嘛 啦 么 噢 喔 呗 哎
    诶 嗯 唉 咧 嘞 喽 是 不是 是不是 有 没有 有没有 没 没得 不 可 可有 能 能不能 可以
    可不可以 可否 行 行不行 中 中不中 会 会不会 要 要不要 需要 需不需要 得 用 用不用 算
    算不算 够 够不够 该 应该 想 想要 打算 准备 还 还能 还是 也 都 就 才 又 怎么 怎么样
    怎样 怎么办 怎么弄 怎么搞 怎么整 怎办 如何 咋 咋办 咋整 咋弄 咋搞 咋样 啥 什么 什么样
    么事 啥事 哪些 哪 哪里 哪儿 哪个 在哪 在哪里 哪块 哪家 什么 地方 什么地方 谁 找谁 几
    几个 几点 多少 多久 多长 多长时间 什么时候 时候 几时 何时 为什么 为啥 干嘛 干啥 搞么事
    做什么 干什么 是否 到底 究竟 具体 方面 哪些方面 情况 问题 事情 事儿 事 东西 听说 听讲
    听人说 据说 老是 总是 一直 天天 每天 经常 平时 这么久 那么久 好久 一片 整好 弄好 搞好
    搞不清 弄不清 分不清 不清楚 不知道 不晓得 明白 清楚 看看 说说 讲讲 一共 总共 大概 左右
    以后 之后 以前 之前 现在 最近 今年 去年 明年 请问 问 问问 问一下 请教 咨询 打听 了解
    知道 晓得 告诉 一下 下 麻烦 谢谢 你好 您好 好 请 帮 帮忙 帮我 去 来 找 办 弄 搞
    整 做 给 让 叫 把 被 和 跟 与 及 或 或者 还有 以及 在 从 到 对 向 为 于 由 比
    等 这 那 这个 那个 这些 那些 这里 那里 这儿 那儿 这边 那边 此 其 这样 那样 一 一个
    个 些 一些 点 一点 有点 有些 很 太 挺 最 更 非常 比较 特别 真 真的 好像 可能 大概
    应该 现在 已经 刚 刚才
    """.split()
)

# Words that ask about an aspect of a subject (when, where, how much, free or not) rather than
# name a subject: they help choose between entries on one subject, never make a question one.
ASPECT_WORDS = frozenset(
    """
    时间 开放 开门 关门 营业 上班 下班 周末 地址 位置 地点 电话 号码 联系 联系方式 方式 手续 流程 材料 条件
    标准 资料 证明 费用 收费 免费 要钱 价格 钱 预约 报名 申请 办理 登记 审批 多少钱 有用 作用 意思 规定 政策
    发放 领取 到账 时间表 日期
    """.split()
)
ASPECT_WEIGHT = 0.6

# What a question asks *about* its subject, and the words by which an entry shows it says
# something about that: an entry that mentions no time, no phone number and no money does
# not answer "几点开门", "电话多少" or "要不要钱" (收垃圾的车几点到 is not about recycling).
ASPECT_GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "time": (
        (
            *("几点", "什么时候", "啥时候", "几时", "开门", "关门", "营业", "上班", "下班", "周末", "开放时间"),
            *("日期", "时间表", "到账", "发放时间"),  # when it is paid (the payment words are aspects too)
        ),
        ("时间", "几点", "开门", "开放", "营业", "上班", "周末", "什么时候", "完工", "汛期"),
    ),
    "phone": (
        ("电话", "号码", "联系方式", "热线", "怎么联系"),
        ("电话", "号码", "联系", "热线", "12388"),
    ),
    "money": (
        ("多少钱", "收费", "免费", "要钱", "费用", "价格"),
        ("钱", "收费", "免费", "费用", "元", "资金", "标准", "补助", "补贴"),
    ),
}


def aspects(text: str) -> frozenset[str]:
    """The aspects a normalized question asks about (see ASPECT_GROUPS)."""
    return frozenset(name for name, (asked, _) in ASPECT_GROUPS.items() if any(cue in text for cue in asked))


# A grievance rather than a question (message-board posts, 12345 calls): what makes one.
COMPLAINT_CUES = (
    "投诉",
    "举报",
    "反映",
    "不作为",
    "没人管",
    "无人管",
    "不管不问",
    "希望有关部门",
    "希望社区",
    "希望政府",
    "请有关部门",
    "请相关部门",
    "管一管",
    "管管",
    "严重影响",
    "扰民",
    "太差",
    "乱收费",
    "推诿",
    "踢皮球",
    "态度恶劣",
    "态度差",
    "苦不堪言",
    "忍无可忍",
    "怎么能这样",
    "凭什么",
)


def is_complaint(text: str) -> bool:
    """Whether a resident's message reads as a grievance (a complaint or a post), not a plain question."""
    return any(cue in text for cue in COMPLAINT_CUES)


# What makes a message ask or request something rather than only tell (a story's asking clause
# is looked for only then): a question mark or 吗, a question word, the A-not-A form, a request.
ASKING_MARKS = "?？吗"
ASKING_WORDS = ("谁", "如何", "是否", "能否", "可否", "几点", "几时", "几号", "多久", "多长时间")
NOT_ASKING = ("哪怕", "什么都", "怎么也", "多少有点")  # 哪怕下雨, 怎么也推不动: no question
REQUEST_CUES = ("请问", "请教", "想问", "问一下", "问问", "希望", "建议", "呼吁", "要求", "麻烦你", "麻烦您", "请帮")


def asks(text: str) -> bool:
    """Whether a message (Simplified, as written) asks or requests something: 低保够不够条件,
    希望社区管一管, 该找谁. A complaint posted as a statement (物业费也不透明，业主意见都很大。)
    does not; nor do 申请, 几次 or 还可以, which only look like question words."""
    if any(mark in text for mark in ASKING_MARKS) or any(cue in text for cue in REQUEST_CUES):
        return True
    for phrase in NOT_ASKING:
        text = text.replace(phrase, "，")
    for word in _cut(text):
        if word in ASKING_WORDS or _is_a_not_a(word):
            return True
        if word.startswith(QUESTION_PREFIXES) and not word.startswith("几"):  # 几次, 几个月: a count
            return True
    return False


QUESTION_SUFFIXES = ("了没", "好没", "了吗", "没有", "了没有")  # 好了没, 弄好没: "is it done yet"
QUESTION_PREFIXES = ("哪", "啥", "咋", "怎", "多少", "几", "什么", "是不是", "有没有", "能不能", "可不可")
NUMBER_WEIGHT = 1.0  # 2020, 12388: a number alone says little about the subject
LATIN_WEIGHT = 1.0  # hello, ok, thx: noise far more often than a subject
USER_FREQ = 20000  # high enough that jieba keeps a FAQ term whole

IDF_FLOOR = 5.5  # below this a word is everyday vocabulary and weighs (almost) nothing
IDF_POWER = 1.3  # convex: a rare word outweighs several common ones
WEIGHT_CAP = 12.0  # the rarest words (typos, names) are not more telling than 低保
UNKNOWN_IDF = 11.0  # a word the general table lacks (new compounds, typos, names)

CACHE = 1 << 17  # look-ups kept in memory (a 10,000-entry FAQ reads ~60,000 distinct words)


@lru_cache(maxsize=CACHE)
def _row(word: str) -> tuple[float | None, str | None]:
    """(IDF, part-of-speech tag) of a word; None where jieba's table or dictionary lacks it."""
    found = data.WORDS.one("SELECT idf, tag FROM words WHERE word = ?", word)
    return (found[0], found[1]) if found else (None, None)


def _idf(word: str) -> float | None:
    return _row(word)[0]


def tag(word: str) -> str | None:
    """jieba's part-of-speech tag of a word ("n", "v", "ns" …); None when its dictionary lacks it."""
    return _row(word)[1]


def idf(word: str) -> float:
    """How rare a word is in everyday Chinese (jieba's IDF; higher is rarer)."""
    found = _idf(word)
    if found is not None:
        return found
    if len(word) == 1:
        return UNKNOWN_IDF if "\u4e00" <= word <= "\u9fff" else 0.0
    # A compound the table lacks (医疗救助, 梧桐书屋): as telling as its most telling part; a
    # run of single characters inside it is a word the table lacks too (失独 of 失独家庭).
    parts = cut(word) if len(word) > 2 else []
    known = [value for p in parts if len(p) > 1 and (value := _idf(p)) is not None]
    if any(len(a) == len(b) == 1 for a, b in itertools.pairwise(parts)):
        known.append(UNKNOWN_IDF)
    return max(known) if known and len(parts) > 1 else UNKNOWN_IDF


@lru_cache(maxsize=65536)
def weight(word: str) -> float:
    """The weight of one word in a question: 0 for function words, small for aspects."""
    if word in FUNCTION_WORDS or not word.strip() or word.startswith(QUESTION_PREFIXES) or _is_a_not_a(word):
        return 0.0
    if len(word) > 2 and word.endswith(QUESTION_SUFFIXES):
        return 0.0
    if any(ch.isdigit() for ch in word):
        return NUMBER_WEIGHT
    if word.isascii():
        return LATIN_WEIGHT
    if not any("\u4e00" <= ch <= "\u9fff" or ch.isalnum() for ch in word):
        return 0.0
    value = min(WEIGHT_CAP, max(0.0, idf(word) - IDF_FLOOR) ** IDF_POWER)
    if word in ASPECT_WORDS:
        return min(value, ASPECT_WEIGHT)
    if len(word) == 1:
        return value * 0.5  # a lone character means less than a word
    return value


def _is_a_not_a(word: str) -> bool:
    """好不好, 行不行, 够不够, 办没办: the A-not-A question form asks; it names nothing.
    So does a doubled verb (管管, 看看, 问问), unlike a doubled noun (宝宝, 妈妈)."""
    if len(word) == 3 and word[1] in "不没" and word[0] == word[2]:
        return True
    return len(word) == 2 and word[0] == word[1] and (tag(word) or tag(word[0]) or "n") in ("v", "vn", "a")


@lru_cache(maxsize=65536)
def _cut(text: str) -> tuple[str, ...]:
    return tuple(rjieba.cut(text, False))


def cut(text: str) -> list[str]:
    """Words of a normalized text (jieba's dictionary only: no HMM guessing of new words, which
    glues typos and particles onto their neighbours)."""
    return list(_cut(text))  # cached: the synonym lint rebuilds the index once per group


# Parts of speech (jieba's dictionary tags) that name no subject: verbs, adjectives,
# adverbs, idioms, numerals, time words... 搞不清, 顾不上, 喝完, 几样, 前年.
_NOT_NOUNS = frozenset("l m t a ad d i v q r c p u y e o z f s".split())


def is_noun(word: str) -> bool:
    """Whether a word may name a subject; words jieba has no tag for count as nouns."""
    return (tag(word) or "n") not in _NOT_NOUNS


# Tags of words that can be what a question is about: nouns, verbs (戒毒, 调解, 改造) and
# unknown compounds; not adjectives, adverbs, idioms, numerals (太贵, 好不好, 几样).
_NOT_SUBJECTS = frozenset("l m t a ad d i q r c p u y e o z f s ns".split())
_DEGREE = "太很真最挺好更"  # 太贵, 很差, 真难: degree + adjective, whatever jieba's tag says


def is_aspect(word: str) -> bool:
    """开放时间, 电话, 收费: a word that asks about an aspect of a subject, never a subject."""
    return word in ASPECT_WORDS or any(word in asked for asked, _ in ASPECT_GROUPS.values())


def names_subject(word: str) -> bool:
    """Whether a word can define an entry's subject (低保, 戒毒) rather than qualify one (太贵)."""
    if word in ASPECT_WORDS or (len(word) == 2 and word[0] in _DEGREE):
        return False
    return (tag(word) or "n") not in _NOT_SUBJECTS


def is_place(word: str) -> bool:
    """A place name (滁州, 南京): it says where, not what is asked."""
    return tag(word) == "ns"


@lru_cache(maxsize=2)
def _dictionary(terms: frozenset[str]) -> rjieba.Jieba:
    """jieba's general dictionary with these terms added. Making one takes about 0.2 s and 25 MB,
    so indexes of the same terms share it: a reload that changes only answers, the synonym
    lint's index per group, the tests' many services on one FAQ. Never changed once made."""
    dictionary = rjieba.Jieba()
    for term in sorted(terms):
        dictionary.add_word(term, USER_FREQ, None)
    return dictionary


class Segmenter:
    """jieba's general dictionary plus the FAQ's own terms (梧桐书屋, 临时救助, 安全生产), so
    that a question and the FAQ cut the FAQ's subjects the same way. The general dictionary
    itself is never changed."""

    def __init__(self, terms: Iterable[str] = ()):
        self.terms = frozenset(t for t in terms if len(t) > 1)
        self._tk = _dictionary(self.terms) if self.terms else rjieba._DEFAULT_JIEBA

    def cut(self, text: str) -> list[str]:
        return self._tk.cut(text, False)

    def known(self, word: str) -> bool:
        """In the general dictionary or one of the FAQ's terms (a real word, as opposed to a
        typo or a seam)."""
        return self._tk.has_word(word)


__all__ = [
    "ASPECT_WORDS",
    "FUNCTION_WORDS",
    "Segmenter",
    "cut",
    "idf",
    "is_aspect",
    "is_complaint",
    "is_noun",
    "is_place",
    "names_subject",
    "tag",
    "weight",
]
