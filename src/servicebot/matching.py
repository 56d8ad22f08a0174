"""The FAQ index and the scoring: which entry does a resident's question mean, and how sure
are we?

Pure and synchronous: no Telegram, no I/O. Chinese has no spaces, so a text is described by
its characters, adjacent-character pairs, and the *sound* of those pairs (folded pinyin, so
地保 meets 低保 and 垃圾分内 meets 垃圾分类). Each feature is weighted by how rare it is
across entries (BM25 idf), so 低保 and 秸秆 count for more than 怎么 and 申请.

An entry's score (0-100) blends two signals, each measured on the labelled set:
- *coverage*: how much of the question's weight the entry explains. Words the FAQ has
  never seen weigh heavily, which is what turns away 今天天气怎么样;
- *closeness*: rapidfuzz similarity to the entry's nearest phrasing, which settles short
  questions ("低保") between entries that share their words.
The top score decides the outcome against two thresholds, and a near tie between two
different entries is never answered outright: the resident picks.
"""

from __future__ import annotations

import gc
import math
import operator
import re
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from servicebot.config import ANSWER_THRESHOLD, SUGGEST_THRESHOLD
from servicebot.faq import Entry, Faq
from servicebot.text import Normalizer, sounds

ANSWERED = "answered"
SUGGEST = "suggest"
UNANSWERED = "unanswered"

MAX_QUERY_CHARS = 120  # after normalization; longer rambling adds no signal
MAX_SUGGESTIONS = 3
SOUND_CREDIT = 0.8  # a homophone pair counts for most, not all, of an exact pair
UNIGRAM_FACTOR = 0.4  # single characters carry less meaning than pairs
COVERAGE_WEIGHT = 0.7  # the rest is closeness to the nearest phrasing
TIE_MARGIN = 4.0  # points; a closer runner-up from another entry makes it a coin toss
UNSEEN_FACTOR = 0.75  # weight of a character the FAQ never uses, relative to the rarest one
PARTIAL_CREDIT = 0.9  # closeness credit for a phrasing found inside a longer question
MIN_INSIDE = 4  # shorter phrasings are found inside too many questions by chance
RESCORE = 12  # candidates scored in full after the cheap postings pass
MIN_LITERAL = 0.5  # an answer needs half its characters as written: 地保 is 低保, 驾照 is not 家找
MIN_TOKENS = 2  # a shorter question ("二", "火", "4") only matches a phrasing it equals


@dataclass(frozen=True)
class Thresholds:
    answer: float = ANSWER_THRESHOLD
    suggest: float = SUGGEST_THRESHOLD
    margin: float = TIE_MARGIN


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    score: float
    coverage: float
    closeness: float
    phrasing: str  # the entry's phrasing nearest to the question
    literal: float = 1.0  # share of the matched characters matched as written, not as homophones


@dataclass(frozen=True)
class Match:
    status: str
    entry_id: str | None
    score: float
    candidates: tuple[Candidate, ...]
    normalized: str

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        return self.candidates[:MAX_SUGGESTIONS] if self.status == SUGGEST else ()


_TOKEN_RE = re.compile(r"[0-9a-z]+|.", re.S)
_LATIN_RE = re.compile(r"[0-9a-z]")


def tokens(text: str) -> list[str]:
    """Chinese characters one by one; runs of Latin letters or digits as one token."""
    return _TOKEN_RE.findall(text) if _LATIN_RE.search(text) else list(text)


def _pairs(toks: list[str]) -> list[str]:
    # Plain concatenation is unambiguous: adjacent ASCII runs are always one token.
    return list(map(operator.add, toks, toks[1:]))


def _sound_pairs(sound_keys: list[str]) -> list[str]:
    # Sound keys start with "~", so their pairs can't collide with character pairs.
    return list(map(operator.add, sound_keys, sound_keys[1:]))


def _features(toks: list[str], keys: list[str]) -> list[str]:
    return [*toks, *keys, *_pairs(toks), *_sound_pairs(keys)]


def features(text: str) -> frozenset[str]:
    """Every feature of a normalized text: characters, their sounds, pairs and sound pairs."""
    toks = tokens(text)
    return frozenset(_features(toks, sounds(toks)))


class Index:
    """Everything needed to score questions against one FAQ, built once per FAQ load."""

    def __init__(self, faq: Faq, normalizer: Normalizer | None = None, thresholds: Thresholds = Thresholds()):
        # The build allocates millions of small objects that all live as long as the index;
        # pausing the cyclic GC meanwhile saves a third of the build time at 10,000 entries.
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._build(faq, normalizer, thresholds)
        finally:
            if enabled:
                gc.enable()

    def _build(self, faq: Faq, normalizer: Normalizer | None, thresholds: Thresholds) -> None:
        self.faq = faq
        self.thresholds = thresholds
        self.normalize = normalizer or Normalizer(faq.synonyms)
        self.entries: list[Entry] = list(faq.entries)
        self.phrasings: list[list[str]] = []  # normalized, per entry
        self.phrasing_sounds: list[list[list[str]]] = []  # sound keys of each phrasing
        self.originals: list[list[str]] = []
        self.entry_features: list[frozenset[str]] = []
        postings: dict[str, list[int]] = defaultdict(list)
        texts = [(*e.phrasings, *e.keywords) for e in self.entries]
        flat = self.normalize.many([t for group in texts for t in group])
        at = 0
        for i, group in enumerate(texts):
            normalized, originals, heard, feats = [], [], [], set()
            for text, norm in zip(group, flat[at : at + len(group)]):
                norm = norm[:MAX_QUERY_CHARS]
                if norm and norm not in normalized:
                    toks = tokens(norm)
                    keys = sounds(toks)
                    normalized.append(norm)
                    originals.append(text)
                    heard.append(keys)
                    feats.update(_features(toks, keys))
            at += len(group)
            self.phrasings.append(normalized)
            self.originals.append(originals)
            self.phrasing_sounds.append(heard)
            frozen = frozenset(feats)
            self.entry_features.append(frozen)
            for feat in frozen:
                postings[feat].append(i)
        n = max(len(self.entries), 1)
        self.postings = dict(postings)
        self.idf = {f: math.log((n - len(p) + 0.5) / (len(p) + 0.5) + 1.0) for f, p in postings.items()}
        self.unseen_idf = UNSEEN_FACTOR * math.log((n + 0.5) / 0.5 + 1.0)
        # Features in more than this many entries are too common to nominate candidates.
        self.common_df = max(30, n // 50)

    # -- weights -------------------------------------------------------------------------

    def _char_weight(self, tok: str) -> float:
        return self.idf.get(tok, self.unseen_idf)

    def query_terms(self, text: str) -> list[tuple[float, tuple[tuple[str, float], ...]]]:
        """(weight, ((feature, credit), ...)) per query position, alternatives best first.

        A pair the FAQ has never seen weighs what its characters weigh: the seam between two
        known words (家里|也) is cheap, a truly new word (天气) is not. A misspelled pair
        takes the weight of the pair it sounds like.
        """
        toks = tokens(text)
        keys = sounds(toks)
        terms = []
        for tok, sound in zip(toks, keys):
            weight = self.idf.get(tok) or self.idf.get(sound) or self.unseen_idf
            terms.append((weight * UNIGRAM_FACTOR, ((tok, 1.0), (sound, SOUND_CREDIT))))
        for k, (pair, sound) in enumerate(zip(_pairs(toks), _sound_pairs(keys))):
            if pair in self.idf:
                weight = self.idf[pair]
            elif sound in self.idf:
                weight = self.idf[sound]
            else:
                weight = (self._char_weight(toks[k]) + self._char_weight(toks[k + 1])) / 2
            terms.append((weight, ((pair, 1.0), (sound, SOUND_CREDIT))))
        return terms

    # -- scoring -------------------------------------------------------------------------

    def _coverage(self, terms, feats: frozenset[str], total: float, chars: int) -> tuple[float, float]:
        """(share of the question's weight the entry covers, share of the characters it covers
        that it has as written rather than as homophones). The first `chars` terms are characters."""
        got = 0.0
        heard = written = 0
        for weight, ((feat, _), (sound, credit)) in terms[:chars]:
            if feat in feats:
                got += weight
                written += 1
            elif sound in feats:
                got += weight * credit
                heard += 1
        for weight, ((feat, _), (sound, credit)) in terms[chars:]:
            if feat in feats:
                got += weight
            elif sound in feats:
                got += weight * credit
        heard += written
        return got / total, written / heard if heard else 0.0

    def _nominate(self, terms) -> dict[int, float]:
        """Cheap first pass: entries sharing a not-too-common feature with the question."""
        rough: dict[int, float] = {}
        for weight, alternatives in terms:
            for feat, credit in alternatives:
                posting = self.postings.get(feat)
                if posting and len(posting) <= self.common_df:
                    gain = weight * credit
                    for i in posting:
                        rough[i] = rough.get(i, 0.0) + gain
                    break
        return rough

    def _inside(self, normalized: str, i: int) -> tuple[str, float, int]:
        """A phrasing found (nearly) whole inside a longer, rambling question."""
        best = ("", 0.0, 0)
        size = len(normalized)
        for k, phrasing in enumerate(self.phrasings[i]):
            if MIN_INSIDE <= len(phrasing) < size:
                score = fuzz.partial_ratio(phrasing, normalized) * PARTIAL_CREDIT
                if score > best[1]:
                    best = (phrasing, score, k)
        return best

    def candidates(self, normalized: str) -> list[Candidate]:
        if not normalized:
            return []
        terms = self.query_terms(normalized)
        total = sum(w for w, _ in terms)
        rough = self._nominate(terms)
        if not rough:
            return []
        shortlist = sorted(rough, key=rough.__getitem__, reverse=True)[:RESCORE]
        query_sounds = sounds(tokens(normalized))
        scored = []
        for i in shortlist:
            coverage, literal = self._coverage(terms, self.entry_features[i], total, len(query_sounds))
            best = process.extractOne(normalized, self.phrasings[i], scorer=fuzz.ratio)
            if PARTIAL_CREDIT and best[1] < 100 * PARTIAL_CREDIT and len(normalized) > MIN_INSIDE:
                best = max(best, self._inside(normalized, i), key=lambda b: b[1])
            heard = process.extractOne(query_sounds, self.phrasing_sounds[i], scorer=fuzz.ratio)
            if heard[1] * SOUND_CREDIT > best[1]:
                best = (best[0], heard[1] * SOUND_CREDIT, heard[2])
            closeness = best[1] / 100.0
            score = 100.0 * (COVERAGE_WEIGHT * coverage + (1 - COVERAGE_WEIGHT) * closeness)
            scored.append(
                Candidate(self.entries[i].id, round(score, 1), coverage, closeness, self.originals[i][best[2]], literal)
            )
        if len(query_sounds) < MIN_TOKENS:
            # One character shares its only feature with too many phrasings to mean anything.
            scored = [c for c in scored if c.closeness >= 1.0]
        scored.sort(key=lambda c: (-c.score, c.entry_id))
        return scored

    def decide(self, candidates: list[Candidate]) -> tuple[str, str | None, float]:
        t = self.thresholds
        if not candidates or candidates[0].score < t.suggest:
            return UNANSWERED, None, candidates[0].score if candidates else 0.0
        top = candidates[0]
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        if top.score >= t.answer and top.score - runner_up >= t.margin and top.literal >= MIN_LITERAL:
            return ANSWERED, top.entry_id, top.score
        return SUGGEST, None, top.score

    def match(self, question: str) -> Match:
        normalized = self.normalize(question)[:MAX_QUERY_CHARS]
        candidates = self.candidates(normalized)
        status, entry_id, score = self.decide(candidates)
        shown = [c for c in candidates if c.score >= self.thresholds.suggest] if status == SUGGEST else candidates
        return Match(status, entry_id, score, tuple(shown[: max(MAX_SUGGESTIONS, 5)]), normalized)
