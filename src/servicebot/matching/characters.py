"""The character layer of the matcher: characters, character pairs and their sounds, the
features BM25 weighs (so 地保 meets 低保 by sound); and their spelling, a character each, into
the compact strings the built index keeps per entry and per phrasing."""

from __future__ import annotations

import operator
import re
from collections.abc import Collection
from functools import lru_cache

from servicebot.answering.text import sounds

_TOKEN_RE = re.compile(r"[0-9a-z]+|.", re.S)
_LATIN_RE = re.compile(r"[0-9a-z]")
PARTS_MEMO = 4096  # words whose inner parts are remembered


def tokens(text: str) -> list[str]:
    """Chinese characters one by one; runs of Latin letters or digits as one token."""
    return _TOKEN_RE.findall(text) if _LATIN_RE.search(text) else list(text)


def pairs(toks: list[str]) -> list[str]:
    # Plain concatenation is unambiguous: adjacent ASCII runs are always one token.
    return list(map(operator.add, toks, toks[1:]))


def feature_list(toks: list[str], keys: list[str]) -> list[str]:
    # Sound keys start with "~", so their pairs can't collide with character pairs.
    return [*toks, *keys, *pairs(toks), *pairs(keys)]


def features(text: str) -> frozenset[str]:
    """Every feature of a normalized text: characters, their sounds, pairs and sound pairs."""
    toks = tokens(text)
    return frozenset(feature_list(toks, sounds(toks)))


@lru_cache(maxsize=PARTS_MEMO)
def inner_parts(word: str) -> tuple[str, ...]:
    """Each part of `word` two characters or more long but shorter than it, the longest first
    (what of a question's word an entry may have: 残疾 of 残疾证; asked of every candidate)."""
    return tuple(
        word[start : start + size] for size in range(len(word) - 1, 1, -1) for start in range(len(word) - size + 1)
    )


def sound_text(text: str) -> str:
    return "".join(sounds(list(text)))


# Spelling: each of a set of strings (sound keys, features) stands for one character of its own,
# so that a row of them is one compact string. rapidfuzz compares such strings directly, where a
# list of keys would be hashed key by key on every comparison; and an entry's features spelled
# this way fill a few hundred bytes that a look-up scans, where a set of them spreads over
# kilobytes. Spellings compare as the strings they spell do: equal strings, equal characters.
ABSENT = "\0"  # spells whatever the codes lack (the FAQ never has it): no code is this character
_SURROGATES = 0xD800, 0xE000  # not characters on their own: codes skip them
MAX_CODES = 0x110000 - 1 - (_SURROGATES[1] - _SURROGATES[0])  # 1,112,063 (10,000 synthetic entries: 57,000 features)


def spell(items: Collection[str], codes: dict[str, str]) -> str:
    """`items` as one string, a character each; an item `codes` lacks is given the next free
    character (building the FAQ's tables)."""
    for item in items:
        if item not in codes:
            n = len(codes) + 1  # from U+0001: never ABSENT
            if n > MAX_CODES:
                raise ValueError(f"more than {MAX_CODES:,} distinct sound keys or features to spell")
            codes[item] = chr(n if n < _SURROGATES[0] else n + _SURROGATES[1] - _SURROGATES[0])
    return "".join([codes[item] for item in items])


def spelled(items: list[str], codes: dict[str, str]) -> str:
    """`items` (a question's) spelled with the FAQ's `codes`; one they lack is `ABSENT`."""
    return "".join([codes.get(item, ABSENT) for item in items])
