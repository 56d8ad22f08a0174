"""Which bin: "X是什么垃圾 / X扔哪个桶 / X怎么扔" → the item X in faq/garbage-items.yaml.

The commonest garbage question is about one everyday item. This module recognises such a
question and looks its item up; pure and synchronous, a question's text in, an `ItemQuestion`
(or None: not a question about one item) out. It never guesses a bin: an item is found by
its name or an alias after normalization (width, Traditional → Simplified, case, spoken
forms: `servicebot.answering.text.base_normalize`, the same on both sides), after at most dropping
words that do not change a bin (坏掉的, 旧, 用完的 — never 脏, 油, 碎, 大: 大骨头 is not 骨头);
an item not found is reported as unlisted, with its name as the resident wrote it.

Items named together (电池和口红, 易拉罐、仙人掌) are each looked up: the listed ones get
their bins, the others are said to be unlisted; none is read as another's qualifier.

Two kinds of wording: strong ones (是什么垃圾, 扔哪个桶, 怎么扔) make a question about an item
even when the item is not listed; weak ones (X垃圾, X怎么处理, X能回收吗) only when X is listed,
so that 装修垃圾 or 低保怎么处理 never become an "item".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from servicebot.answering.text import base_normalize
from servicebot.faq import GarbageGuide, GarbageItem

_CATEGORY_WORDS = (
    "可回收物|可回收垃圾|可回收的|可回收|有害垃圾|厨余垃圾|湿垃圾|干垃圾|其他垃圾|其它垃圾|餐厨垃圾|易腐垃圾"
)
_THROW = "扔|丢|放|投|倒|投放|放进|扔进|丢进|扔到|丢到|放到|倒进|倒到|装"
_STRONG = re.compile(
    r"(?:"
    r"(?:是|属于|算|算是|归|应该是|应该属于|应属于|属|为|是属于|应该算)?(?:什么类型|什么|哪一?类型?|哪种|哪个类)类?的?垃圾"
    r"(?:分类)?(?:类别|种类)?"
    r"|(?:属于|是)的?垃圾(?:类别|种类)是什么"
    rf"|(?:应该|要|该|得)?(?:{_THROW})(?:在|进|到)?(?:哪个|哪一个|什么|哪种|哪)(?:颜色的?)?(?:垃圾)?桶里?"
    rf"|(?:应该|要|该|得)?(?:{_THROW})(?:在|到)?哪里?去?"
    r"|(?:应该|要|该|得)?(?:怎么|如何)(?:扔|丢|投放|分类)"
    rf"|(?:是|算|属于|算是|算不算|是不是|属不属于|属于不属于)(?:不是)?(?:{_CATEGORY_WORDS})(?:还是(?:{_CATEGORY_WORDS}))?"
    r"|是?可回收还是不可回收"
    r"|(?:能|可以|能不能|可不可以)?(?:扔|丢|放)(?:进|到)?垃圾桶"
    r")$"
)
_WEAK = re.compile(r"(?:垃圾分类|垃圾|(?:怎么|如?何)处理|(?:能|可以|可不可以|能不能|可|怎么|如何)回收|回收)$")

# Words before an item that do not change its bin; dropped only to find a listed item.
_SAFE_PREFIX = re.compile(
    "^(?:我家里?的?|家里的?|家中的?|我们家的?|俺家的?|有个|有一个|有一些|有一堆|一个|一只|一把|一双|一件|一些|一堆|一袋"
    "|这个|那个|这种|那种|这些|那些|坏掉了?的?|坏了的?|坏的|用完了?的?|用过的|用剩的|吃完的|喝完的|空的|旧的?|废旧的?|废弃的?"
    "|废的?|不要的|不用的|没用的|过期了?的?|使用过的)+"
)
_TRAILING = re.compile("(?:这个|这种|那个|这些|它们|它|这|那|呢|的话|是指|指的是|的)+$")
# A title often asks twice (口红是什么垃圾?口红是有害垃圾吗?) or names its item apart
# (垃圾分类:茶,是什么垃圾?): each of its clauses is tried too.
_CLAUSES = re.compile(r"[?？!！,，。;；:：()（）【】\[\]\s]+")
_LISTED = str.maketrans({"、": "和", "/": "和"})  # 易拉罐、仙人掌: a list, kept through normalization
# Words before an item's name that may change its bin: no head is looked up past them.
_CHANGES_BIN = re.compile("[脏油碎大湿破烂]|带")
# Items named together (电池和口红): each is looked up, and none is another's qualifier.
_JOINED = re.compile("以及|还有|或者|[和与跟及或]")
MAX_QUALIFIER = 4  # at most this many characters before an item's name are read as qualifying it
_NOT_AN_ITEM = re.compile("垃圾|怎么|什么|哪|为啥|为什么|多少|几")
MAX_ITEM_CHARS = 12  # longer than this, "X" is a sentence, not an item's name


@dataclass(frozen=True)
class ItemQuestion:
    """A question about one item (or a few named together: 电池和口红): the item as named
    (normalized), its listing if any, the listings of the others named with it, and the names
    of those among them the list lacks (玉米 in 玉米和坚果壳)."""

    name: str
    found: GarbageItem | None
    also: tuple[GarbageItem, ...] = ()
    unlisted: tuple[str, ...] = ()

    @property
    def items(self) -> tuple[GarbageItem, ...]:
        """Every listed item asked about, as named."""
        return (self.found, *self.also) if self.found is not None else ()


class BinIndex:
    """The items of garbage-items.yaml by their normalized names and aliases."""

    def __init__(self, guide: GarbageGuide | None):
        self.guide = guide
        self._items: dict[str, GarbageItem | None] = {}
        for item in guide.items if guide else ():
            for name in item.names:
                key = base_normalize(name)
                if not key:
                    continue
                other = self._items.setdefault(key, item)
                if other is not None and other is not item and sorted(other.categories) != sorted(item.categories):
                    self._items[key] = None  # two items that normalize alike but sort apart: ask no bin

    def __bool__(self) -> bool:
        return self.guide is not None

    def lookup(self, name: str) -> GarbageItem | None:
        """The listed item a normalized name means, trying it with harmless words dropped, then
        its head: a Chinese name ends in what the thing is (混合猫砂 is 猫砂, 女性卫生巾 卫生巾),
        unless what comes before may change the bin (脏, 油, 碎, 大: 大骨头 is not 骨头)."""
        plain = _SAFE_PREFIX.sub("", name)
        for key in (name, plain):
            item = self._items.get(key)
            if item is not None:
                return item
        for start in range(1, min(len(plain) - 1, MAX_QUALIFIER + 1)):
            head, qualifier = plain[start:], plain[:start]
            if _CHANGES_BIN.search(qualifier) or _JOINED.search(qualifier):
                return None
            item = self._items.get(head)
            if item is not None:
                return item
        return None

    def ask(self, question: str) -> ItemQuestion | None:
        """The item a question asks about, or None when it does not ask about one item: the
        question as a whole, else its last clause (a title that asks twice: 口红是什么垃圾?口红是
        有害垃圾吗?), which takes its name from the clause before when it names none (垃圾分类:
        茶,是什么垃圾?). Only the last: an earlier clause may state a bin in passing (我知道电池
        是有害垃圾，想问一下低保怎么申请). A clause alone never makes an item unlisted."""
        if self.guide is None:
            return None
        question = question.translate(_LISTED)
        asked = self._ask(base_normalize(question))
        if asked is not None and asked.found is not None:
            return asked
        clauses = [c for c in (base_normalize(part) for part in _CLAUSES.split(question)) if c]
        if len(clauses) > 1:
            last = self._ask(clauses[-1], before=clauses[-2])
            if last is not None and last.found is not None:
                return last
        return asked

    def _ask(self, text: str, *, before: str = "") -> ItemQuestion | None:
        strong = _STRONG.search(text)
        match = strong or _WEAK.search(text)
        if match is None:
            return None
        name = _TRAILING.sub("", text[: match.start()]) or before
        if not name:
            return None
        found = self.lookup(name)
        if found is not None:
            return ItemQuestion(name, found)
        parts = [_SAFE_PREFIX.sub("", part) or part for part in _JOINED.split(name) if part]
        listed = {part: self.lookup(part) for part in parts}
        found_items = list(dict.fromkeys(item for item in listed.values() if item is not None))
        if len(parts) > 1 and found_items:
            missing = tuple(part for part, item in listed.items() if item is None)
            return ItemQuestion(name, found_items[0], tuple(found_items[1:]), missing)
        if strong is None:
            return None
        plain = _SAFE_PREFIX.sub("", name) or name
        if len(plain) > MAX_ITEM_CHARS or _NOT_AN_ITEM.search(plain):
            return None
        return ItemQuestion(plain, None)
