"""The character layer of the matcher: characters, character pairs and their sounds, the
features BM25 weighs (so 地保 meets 低保 by sound)."""

from __future__ import annotations

import operator
import re

from servicebot.answering.text import sounds

_TOKEN_RE = re.compile(r"[0-9a-z]+|.", re.S)
_LATIN_RE = re.compile(r"[0-9a-z]")


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


def sound_text(text: str) -> str:
    return "".join(sounds(list(text)))
