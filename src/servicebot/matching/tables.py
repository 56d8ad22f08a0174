"""The built index: what one FAQ's entries are made of, computed once per FAQ load, as plain
data (lists, dicts, sets, strings, numbers) that marshal can keep on disk and read back
(`faq/verdicts.py`) instead of building again; and the two look-ups every layer asks of it:
how many entries share a word (`df`) and how little that makes it tell them apart
(`specificity`).

Two layers, the ones a question is read (`reading.py`) and scored (`scoring.py`) in.
*Characters*: each entry's normalized phrasings as written and as heard, the features BM25
weighs (characters, pairs and their sounds) and their postings. *Words*: each entry's
keywords, telling words and subject words, its answer's words, the subject words of matters
other bodies handle (faq/referrals.yaml), the segmenter that keeps the FAQ's terms whole, and
the vocabulary that reads a typo as the FAQ's word it sounds like.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections import defaultdict
from typing import Any

from servicebot.answering import words
from servicebot.answering.text import Normalizer, sounds
from servicebot.faq import Entry, Faq
from servicebot.matching.characters import ABSENT, feature_list, pairs, sound_text, spell, tokens
from servicebot.matching.model import MAX_QUERY_CHARS

UNSEEN_FACTOR = 0.75  # weight of a character the FAQ never uses, relative to the rarest one
SPECIFICITY = 0.7  # how much a word shared by many entries is discounted when ranking them
SUBJECT_MIN = 0.5  # weight a word needs to define an entry's subject
SUBJECT_DF = 3  # ... and at most this many entries may share it
MEMO_SIZE = 200_000  # words whose df and specificity are remembered; a few tens of MB at most


class Tables:
    """Everything built from one FAQ's entries (see the module's docstring), entry i being
    `entries[i]` throughout."""

    # The character layer.
    position: dict[str, int]  # entry id → its index
    phrasings: list[list[str]]  # normalized, per entry
    phrasing_sounds: list[str]  # each phrasing's sound keys spelled (`characters.spell`), joined by ABSENT
    sound_codes: dict[str, str]  # sound key → the character that spells it
    originals: list[list[str]]  # each phrasing as written
    entry_features: list[str]  # characters, pairs and their sounds, spelled (`feature_codes`)
    feature_codes: dict[str, str]  # feature → the character that spells it
    verbatim: dict[str, list[int]]  # normalized phrasing → the entries that have it
    postings: dict[str, list[int]]  # feature → the entries that have it
    idf: dict[str, float]  # feature → its inverse document frequency
    unseen_idf: float
    common_df: int  # features in more entries than this are too common to nominate candidates
    # The word layer.
    texts: list[str]  # each entry's phrasings, joined
    average_text: float
    keywords: list[frozenset[str]]  # each entry's normalized keywords
    sentences: list[str]  # each entry's phrasings that are not keywords, joined
    answers: list[str]  # each entry's answer and topic, normalized
    answer_pairs: set[str]
    answer_chars: set[str]
    away: dict[str, str]  # normalized subject word → the referral matter's id
    faq_terms: frozenset[str]  # the FAQ's own terms: keywords, synonyms, bare subjects (梧桐书屋)
    segmenter: words.Segmenter
    vocabulary: dict[str, str]  # sound key → FAQ word, for reading typos
    telling: list[frozenset[str]]  # each entry's telling words
    subjects: list[frozenset[str]]  # ... those that define its subject

    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self._df: dict[str, int] = {}  # memos of df() and specificity(), filled as asked:
        self._specificity: dict[str, float] = {}  # emptied at MEMO_SIZE (residents' words never end)

    @classmethod
    def build(cls, faq: Faq, normalize: Normalizer, segmenter: words.Segmenter | None = None) -> Tables:
        """Build the tables of `faq`'s entries; `segmenter`: one already made for this FAQ."""
        tables = cls(list(faq.entries))
        tables.position = {e.id: i for i, e in enumerate(tables.entries)}
        tables._build_characters(normalize)
        tables._build_words(faq, normalize, segmenter)
        return tables

    # Made again on a restore rather than kept: not plain data (the entries, the segmenter), or
    # look-up memos.
    _NOT_PLAIN = frozenset(("entries", "segmenter", "_df", "_specificity"))

    def plain(self) -> dict[str, Any]:
        """Everything the build computed from the FAQ as plain data (marshal stores it), with
        the segmenter's terms."""
        state = {k: v for k, v in vars(self).items() if k not in self._NOT_PLAIN}
        state["segmenter_terms"] = sorted(self.segmenter.terms)
        return state

    @classmethod
    def restore(cls, entries: list[Entry], state: dict[str, Any]) -> Tables:
        """The tables `plain()` returned for the same entries, taken back."""
        tables = cls(entries)
        state = dict(state)
        tables.segmenter = words.Segmenter(state.pop("segmenter_terms"))
        vars(tables).update(state)
        return tables

    # -- building ------------------------------------------------------------------------

    def _build_characters(self, normalize: Normalizer) -> None:
        self.phrasings = []
        self.phrasing_sounds = []
        self.sound_codes = {}
        self.originals = []
        self.entry_features = []
        self.feature_codes = {}
        self.verbatim = {}
        postings: dict[str, list[int]] = defaultdict(list)
        texts = [(*e.phrasings, *e.keywords) for e in self.entries]
        flat = normalize.many([t for group in texts for t in group])
        at = 0
        # The entries' numbers made in one go sit together in memory: the postings that hold
        # them are read faster (a few percent of a question's time at 10,000 entries).
        numbers = list(range(len(texts)))
        for i, group in zip(numbers, texts, strict=True):
            normalized, originals, heard, feats = [], [], [], set()
            for text, norm in zip(group, flat[at : at + len(group)], strict=True):
                norm = norm[:MAX_QUERY_CHARS]
                if norm and norm not in normalized:
                    toks = tokens(norm)
                    keys = sounds(toks)
                    normalized.append(norm)
                    originals.append(text)
                    heard.append(spell(keys, self.sound_codes))
                    feats.update(feature_list(toks, keys))
            at += len(group)
            self.phrasings.append(normalized)
            for norm in normalized:
                self.verbatim.setdefault(norm, []).append(i)
            self.originals.append(originals)
            self.phrasing_sounds.append(ABSENT.join(heard))
            self.entry_features.append(spell(feats, self.feature_codes))
            for feat in feats:
                postings[feat].append(i)
        n = max(len(self.entries), 1)
        self.postings = dict(postings)
        self.idf = {f: math.log((n - len(p) + 0.5) / (len(p) + 0.5) + 1.0) for f, p in postings.items()}
        self.unseen_idf = UNSEEN_FACTOR * math.log((n + 0.5) / 0.5 + 1.0)
        self.common_df = max(30, n // 50)

    def _build_words(self, faq: Faq, normalize: Normalizer, segmenter: words.Segmenter | None) -> None:
        self.texts = ["|".join(p) for p in self.phrasings]
        self.average_text = sum(map(len, self.texts)) / max(len(self.texts), 1)
        # Keywords are single terms: 快递 inside the keyword 快递盒 is not the entry's word.
        kw = normalize.many([k for e in self.entries for k in e.keywords])
        at = 0
        self.keywords = []
        self.sentences = []
        for i, e in enumerate(self.entries):
            entry_keywords = frozenset(kw[at : at + len(e.keywords)])
            at += len(e.keywords)
            self.keywords.append(entry_keywords)
            self.sentences.append("|".join(p for p in self.phrasings[i] if p not in entry_keywords))
        answers = normalize.many([f"{e.answer} {e.topic}".replace("\n", " ") for e in self.entries])
        self.answers = answers
        self.answer_pairs = set()
        for text in set(answers):
            self.answer_pairs.update(map(operator.add, text, text[1:]))
        self.answer_chars = set("".join(set(answers)))
        # Each entry's own words: its canonical question and its short phrasings, cut once.
        # Short ones made only of telling words are bare subjects (垃圾分类, 医疗救助): with
        # keywords and synonyms they become terms jieba keeps whole in questions too.
        owns: list[list[list[str]]] = []
        bare: list[str] = []
        for i in range(len(self.entries)):
            short = [p for p in self.phrasings[i][1:] if len(p) <= 6 and p not in self.keywords[i]]
            cuts = [words.cut(p) for p in self.phrasings[i][:1] + short]
            owns.append(cuts)
            bare += ["".join(c) for c in cuts[1:] if len(c) > 1 and all(words.weight(w) > 0 for w in c)]
        synonyms = [normalize(group[0]) for group in faq.synonyms]
        # Matters other bodies handle (faq/referrals.yaml): subject words of their own, so a
        # question about 公积金提取 or 医保报销 is read as being about that matter.
        matters = faq.referrals.matters if faq.referrals else ()
        away = normalize.many([w for m in matters for w in m.subjects])
        owners = [m.id for m in matters for _ in m.subjects]
        self.away = {}
        for word, owner in zip(away, owners, strict=True):
            if len(word) > 1:
                self.away.setdefault(word, owner)
        self.faq_terms = frozenset(t for t in (*kw, *synonyms, *bare) if len(t) > 1)  # the FAQ's own terms
        self.segmenter = segmenter or words.Segmenter([*kw, *synonyms, *bare, *self.away])
        self.vocabulary = {}
        entry_words: list[set[str]] = []
        terms = self.segmenter.terms
        for i, cuts in enumerate(owns):
            own = [w for c in cuts for w in c]
            telling = {
                w
                for w in own
                if words.weight(w) >= SUBJECT_MIN and not words.is_aspect(w) and (w in terms or words.names_subject(w))
            }
            telling |= {k for k in self.keywords[i] if not words.is_aspect(k)}
            entry_words.append(telling)
            for w in sorted(telling):  # sorted: the same sound key always reads as the same word
                if len(w) > 1:
                    self.vocabulary.setdefault(sound_text(w), w)
            for a, b in itertools.pairwise(own):
                if 3 <= len(a + b) <= 6 and words.weight(a) > 0 and words.weight(b) > 0:
                    self.vocabulary.setdefault(sound_text(a + b), a + b)
        for term in sorted(self.faq_terms):  # the FAQ's words only: 返水 is not 水质 (a referral's)
            self.vocabulary.setdefault(sound_text(term), term)
        self.telling = [frozenset(t) for t in entry_words]
        self.subjects = []
        for telling in entry_words:
            specific = {w for w in telling if self.df(w) <= SUBJECT_DF}
            if not specific and telling:
                top = max(map(words.weight, telling))
                specific = {w for w in telling if words.weight(w) >= top}
            self.subjects.append(frozenset(specific))

    # -- what the FAQ knows ----------------------------------------------------------------

    def df(self, word: str) -> int:
        """How many entries' phrasings contain `word` (at most; from the pair postings)."""
        found = self._df.get(word)
        if found is None:
            found = self._count(word)
            if len(self._df) >= MEMO_SIZE:
                self._df.clear()
            self._df[word] = found
        return found

    def _count(self, word: str) -> int:
        """`df` without its memo: the size of the rarest posting among the word's pairs (its
        character, if it has one); for a longer word, how many of those entries' phrasings
        have it."""
        toks = tokens(word)
        keys = pairs(toks) or toks
        sizes = [len(self.postings.get(k, ())) for k in keys]
        found = min(sizes, default=0)
        if found and len(toks) > 2:
            rarest = self.postings[keys[sizes.index(found)]]
            # `word in texts[i]` for each entry i of the posting, counted in C.
            found = sum(map(operator.contains, map(self.texts.__getitem__, rarest), itertools.repeat(word)))
        return found

    def specificity(self, word: str) -> float:
        """How much `word` tells entries apart when ranking them: 1 when no entry's phrasings
        have it, down to 1 - SPECIFICITY when all of them do."""
        found = self._specificity.get(word)
        if found is None:
            n = len(self.entries)
            share = math.log((n + 1) / (self.df(word) + 0.5)) / math.log((n + 1) / 0.5)
            if len(self._specificity) >= MEMO_SIZE:
                self._specificity.clear()
            found = self._specificity[word] = (1.0 - SPECIFICITY) + SPECIFICITY * share
        return found
