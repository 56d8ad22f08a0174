"""Where to go: which other body handles what a resident asks about (户口 → 派出所).

Most of what residents ask is not the office's business. When the FAQ has no answer, a clerk
would still say where to go; this module finds, in a normalized question, the matter of
faq/referrals.yaml it is about. Pure and synchronous: a question's text in, a `Found` (or
None) out.

A matter is recognised by its subject words (and the colloquial forms staff list with them),
normalized exactly as the matcher normalizes questions (`servicebot.answering.text`, the FAQ's
synonyms included), so 護照, 护照 and ＨＵ照 meet. Where several subject words occur, the
first one the resident wrote wins, and at one place the longest (违章建筑 before 违章): a
question names its matter first and the circumstances after (办护照要带户口本吗 is about 护照).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from servicebot.faq import Entry, Referral, Referrals

Normalize = Callable[[str], str]


@dataclass(frozen=True)
class Found:
    """The matter a question is about, and the subject word (normalized) that showed it."""

    referral: Referral
    word: str
    at: int


class ReferralIndex:
    """The subject words of every matter, ready to be found in a normalized question."""

    def __init__(self, referrals: Referrals | None, normalize: Normalize):
        self.referrals = referrals
        self.normalize = normalize
        self._owner: dict[str, Referral] = {}
        for matter in referrals.matters if referrals else ():
            for word in normalize_all(normalize, matter.subjects):
                if len(word) >= 2:  # staff's one-character words are refused by the validation
                    self._owner.setdefault(word, matter)
        words = sorted(self._owner, key=lambda w: (-len(w), w))
        self._pattern = re.compile("|".join(map(re.escape, words))) if words else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def find(self, normalized: str) -> Found | None:
        """The matter the question is about: its first subject word, the longest where several start."""
        if self._pattern is None:
            return None
        m = self._pattern.search(normalized)
        if m is None:
            return None
        return Found(self._owner[m.group()], m.group(), m.start())

    def shared_by(self, found: Found, entries: Iterable[Entry]) -> bool:
        """Whether one of these FAQ entries is about the same subject: one of its phrasings or
        keywords contains the subject word (an offered 养老保险 entry shares 养老保险)."""
        texts = [text for entry in entries for text in (*entry.phrasings, *entry.keywords)]
        return any(found.word in text for text in normalize_all(self.normalize, texts))

    def keywords(self, entry: Entry) -> list[str]:
        """An FAQ entry's keywords, normalized as questions are."""
        return [k for k in normalize_all(self.normalize, entry.keywords) if k]


def normalize_all(normalize: Normalize, texts: Iterable[str]) -> list[str]:
    """Each text normalized (in one batch when the normalizer can)."""
    texts = list(texts)
    many = getattr(normalize, "many", None)
    return many(texts) if many is not None else [normalize(t) for t in texts]
