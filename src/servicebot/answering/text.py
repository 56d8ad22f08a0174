"""Normalization: the small pure steps that make 「請問一下…養老保險怎麼辦理？🙏」 and
「养老保险怎么办理」 the same string.

The same pipeline runs on FAQ phrasings and on residents' questions, so whatever one side
folds the other folds too. Each step is a plain ``str -> str`` function, testable alone, and
``Normalizer.explain`` shows them one by one for ``servicebot ask --explain``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

import opencc

from servicebot import data
from servicebot.privacy import MASKED_RE

Step = Callable[[str], str]

# Anything longer is not a question; cut before the expensive steps so a 50,000-character
# message costs the same as a long one.
MAX_INPUT_CHARS = 500

_T2S = opencc.OpenCC("t2s")

# Phrases that carry no meaning in a question. Longest first so 我想问一下 wins over 想问.
FILLERS = (
    "麻烦问一下",
    "我想咨询一下",
    "我想了解一下",
    "我想问一下",
    "想咨询一下",
    "想了解一下",
    "请问一下",
    "我想问问",
    "我想知道",
    "想问一下",
    "想问问",
    "问一下",
    "我想问",
    "请问下",
    "请教一下",
    "请问",
    "请教",
    "咨询一下",
    "打听一下",
    "您好",
    "你好",
    "哈喽",
    "谢谢",
    "麻烦了",
    "麻烦",
)
# Sentence-final particles, removed only before punctuation or the end of the text so that
# words which contain them (吧台, 啊哈) survive.
PARTICLES = "吗嘛呢啊呀吧哈哦喔啦呐嘞咧噢哇"

_FILLER_RE = re.compile("|".join(map(re.escape, FILLERS)))
_PARTICLE_RE = re.compile(f"[{PARTICLES}]+(?=[^\\w]|$)")
_LONE_DIGIT_RE = re.compile(r"(?<![0-9])[0-9](?![0-9])")
_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")


# Everyday spoken forms → the written forms FAQ phrasings use. Only unambiguous ones.
COLLOQUIAL = {
    "咋样": "怎么样",
    "咋办": "怎么办",
    "咋": "怎么",
    "啥": "什么",
    "哪儿": "哪里",
    "俺": "我",
    "木有": "没有",
    "肿么": "怎么",
}
_COLLOQUIAL_RE = re.compile("|".join(map(re.escape, sorted(COLLOQUIAL, key=len, reverse=True))))


def drop_masks(text: str) -> str:
    """[手机号], [身份证号] and the other masks of personal data say nothing about the question."""
    return MASKED_RE.sub("", text)


def fold_width(text: str) -> str:
    """Full-width letters, digits and punctuation → their ordinary forms (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese (養老保險 → 养老保险)."""
    return _T2S.convert(text)


def fold_case(text: str) -> str:
    return text.casefold()


def drop_fillers(text: str) -> str:
    """Remove politeness phrases and sentence-final particles."""
    return _PARTICLE_RE.sub("", _FILLER_RE.sub("", text))


# Newlines survive only because `Normalizer.many` uses them to separate texts in a batch.
_NON_WORD_RE = re.compile(r"[^\w\n]+|_+")


def written_forms(text: str) -> str:
    """咋办 → 怎么办, 啥 → 什么: spoken shortcuts meet the FAQ's written phrasing."""
    return _COLLOQUIAL_RE.sub(lambda m: COLLOQUIAL[m.group()], text)


def keep_word_chars(text: str) -> str:
    """Drop punctuation, emoji, symbols, control characters and whitespace."""
    return _NON_WORD_RE.sub("", text)


def spell_lone_digits(text: str) -> str:
    """第7次 → 第七次, so Arabic and Chinese numerals meet; longer numbers stay as they are."""
    return _LONE_DIGIT_RE.sub(lambda m: m.group().translate(_DIGITS), text)


BASE_STEPS: tuple[tuple[str, Step], ...] = (
    ("masks", drop_masks),
    ("width", fold_width),
    ("simplified", to_simplified),
    ("case", fold_case),
    ("fillers", drop_fillers),
    ("colloquial", written_forms),
    ("punctuation", keep_word_chars),
    ("numerals", spell_lone_digits),
)


def base_normalize(text: str) -> str:
    text = text.replace("\n", " ")
    for _, step in BASE_STEPS:
        text = step(text)
    return text


def synonym_step(groups: Iterable[Sequence[str]]) -> Step:
    """A step that rewrites every synonym to the first word of its group."""
    table: dict[str, str] = {}
    for group in groups:
        canonical = base_normalize(group[0])
        for word in group[1:]:
            variant = base_normalize(word)
            if variant and variant != canonical:
                table[variant] = canonical
    if not table:
        return lambda text: text
    pattern = re.compile("|".join(map(re.escape, sorted(table, key=len, reverse=True))))
    return lambda text: pattern.sub(lambda m: table[m.group()], text)


class Normalizer:
    """The full pipeline: the base steps, then the staff's synonyms."""

    def __init__(self, synonyms: Iterable[Sequence[str]] = ()):
        self.steps: tuple[tuple[str, Step], ...] = (*BASE_STEPS, ("synonyms", synonym_step(synonyms)))

    def __call__(self, text: str) -> str:
        text = text[:MAX_INPUT_CHARS].replace("\n", " ")
        for _, step in self.steps:
            text = step(text)
        return text

    def many(self, texts: list[str]) -> list[str]:
        """Normalize a batch in one pass per step (the index builds ten times faster)."""
        if not texts:
            return []
        joined = "\n".join(t[:MAX_INPUT_CHARS].replace("\n", " ") for t in texts)
        for _, step in self.steps:
            joined = step(joined)
        return joined.split("\n")

    def explain(self, text: str) -> list[tuple[str, str]]:
        """Each step's name and its output, for staff debugging a match."""
        trace = []
        text = text[:MAX_INPUT_CHARS].replace("\n", " ")
        for name, step in self.steps:
            text = step(text)
            trace.append((name, text))
        return trace


# --- sound: homophone- and accent-tolerant keys ------------------------------------------

# Folds that Anhui (Jianghuai Mandarin) speakers and pinyin typists commonly blur:
# n/l, flat/retroflex initials, -in/-ing and -en/-eng.
_INITIAL_FOLDS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FINAL_FOLDS = (("ing", "in"), ("eng", "en"))
_TONES = str.maketrans(
    "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ",
    "aaaaeeeeiiiioooouuuuvvvvvnnnm",
)


def _fold_syllable(syllable: str) -> str:
    for src, dst in _INITIAL_FOLDS:
        if syllable.startswith(src):
            syllable = dst + syllable[len(src) :]
            break
    for src, dst in _FINAL_FOLDS:
        if syllable.endswith(src):
            syllable = syllable[: -len(src)] + dst
            break
    return syllable


# Each character's sound key, filled as characters are met: the reading table has 42,000
# characters, a FAQ and its questions use a few thousand.
_SOUNDS: dict[str, str] = {}


def _sound(char: str) -> str:
    """A character → "~" + its folded toneless pinyin (pypinyin's first reading); itself
    when it has no reading."""
    found = data.WORDS.one("SELECT pinyin FROM readings WHERE char = ?", char)
    return "~" + _fold_syllable(found[0].translate(_TONES)) if found else char


def sounds(tokens: list[str]) -> list[str]:
    """The sound key of each token; tokens without a reading (Latin, digits) stay themselves."""
    keys = list(map(_SOUNDS.get, tokens))
    if None in keys:
        for at, key in enumerate(keys):
            if key is None:
                token = tokens[at]
                if len(token) == 1:
                    key = _SOUNDS[token] = _sound(token)
                keys[at] = key or token
    return keys  # type: ignore[return-value]  # no None is left
