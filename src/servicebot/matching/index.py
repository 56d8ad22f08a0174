"""The FAQ index: everything needed to read a question against one FAQ and score its entries,
built once per FAQ load. Pure and synchronous: no Telegram, no I/O.

A question is read in two layers. *Words*: cut by jieba (the FAQ's terms and the referral
matters' subject words added), each weighed by how telling it is in everyday Chinese
(`words.weight`), typos that sound like an FAQ term repaired, words the FAQ lacks related
to its words through the lexicon (截肢 → 残疾) or marked as circumstance (妈妈, 民政局).
*Characters*: BM25 over characters, pairs and their sounds, and rapidfuzz closeness to the
nearest phrasing. The decision is the clerk's (`clerk.py`).
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections import defaultdict
from typing import Any

from rapidfuzz import fuzz, process

from servicebot import gcpause
from servicebot.answering import lexicon, smalltalk, words
from servicebot.answering.text import Normalizer, sounds
from servicebot.faq import Entry, Faq
from servicebot.matching import calibration, clerk
from servicebot.matching.characters import feature_list, pairs, sound_text, tokens
from servicebot.matching.model import (
    ANSWERED,
    DEFAULT_THRESHOLDS,
    GROUP_DF,
    MAX_QUERY_CHARS,
    MAX_SUGGESTIONS,
    REFERRAL,
    RESCORE,
    STORY_FACTOR,
    SUGGEST,
    UNANSWERED,
    Candidate,
    Decision,
    Known,
    Match,
    Reading,
    Reason,
    Term,
    Thresholds,
)

# Character layer (BM25 over characters, pairs and their sounds).
SOUND_CREDIT = 0.8  # a homophone counts for most, not all, of the written form
UNIGRAM_FACTOR = 0.4  # single characters carry less meaning than pairs
UNSEEN_FACTOR = 0.75  # weight of a character the FAQ never uses, relative to the rarest one
BM25_K1, BM25_B = 1.2, 0.75  # the usual Okapi BM25 parameters
FINE_COVERAGE = 0.7  # the rest of the character score is closeness to the nearest phrasing

# Word layer.
LONG_CHARS = 26  # a normalized question longer than this, in several clauses, is a story
STORY_CLAUSES = 3  # ... and so is one told in three or more punctuated parts, however short
LONG_UNSEEN = 0.5  # ... and an unknown word in its asking clause this much (这种单亲家庭能申请低保吗)
UNSEEN_PENALTY = 1.5  # an unknown word in the asking clause weighs this much more against
WEAK_UNKNOWN = 0.35  # ... unless it is no noun (搞不清, 顾不上, 喝完): circumstance, not subject
UNKNOWN_NOUN = 1.2  # an unknown noun weighs at least this, however common (医院, 学校, 银行)
RELATED_RANK = 3  # ... and only among its few nearest words (公积金's are 社会保险, 还贷, 贷款, not 养老金)
RELATED_MIN = 0.6  # similarity at which the lexicon relates a question's word to one of the FAQ's
PLACE_WEIGHT = 1.0  # a place name (滁州, 南京) says where, not what; FAQ terms (长乐小区) excepted
TERM_WEIGHT = 1.5  # a keyword or synonym of the FAQ weighs at least this, however common (老人)
CONFLICT_WEIGHT = 3.0  # a word this telling, from another entry, keeps a short question from a sure answer
ANSWER_CREDIT = 0.5  # a word only the entry's answer contains counts half
PART_CREDIT = 0.5  # ... and so does a word found only inside one of its longer keywords
SPECIFICITY = 0.7  # how much a word shared by many entries is discounted when ranking them
SUBJECT_MIN = 0.5  # weight a word needs to define an entry's subject
SUBJECT_DF = 3  # ... and at most this many entries may share it
FULL_COVERAGE = 0.9  # an entry covering this much of the question is on its subject anyway
RARE_IDF = 10.5  # a real word this rare may be a typo of an FAQ term (地保 → 低保)
WORD_SHARE = 0.2  # share of the word coverage in a short question's score (the rest: characters)
WORD_SHARE_LONG = 0.7  # ... in a long one, where character closeness means little
OFF_SUBJECT = 0.7  # score factor of an entry not on the question's subject
ABOUT_BOT_SIMILARITY = 0.5  # a capability question this close to an entry's phrasing gets that entry

_SENTENCE_RE = re.compile(r"[，。！？；,.!?;]+")
_WORD_RE = re.compile(r"[^\W_]")  # a part with a letter or a character in it (not only emoji)
_CLAUSE_RE = re.compile(r"[，。！？、；：,.!?;:\s…~～·—\-]+")


def asking_clause(cut: list[list[str]]) -> int:
    """Where a story's question is: its last clause that names something."""
    return max((k for k, ws in enumerate(cut) if any(words.weight(w) >= 1 for w in ws)), default=0)


class Index:
    """Everything needed to score questions against one FAQ, built once per FAQ load."""

    def __init__(
        self,
        faq: Faq,
        normalizer: Normalizer | None = None,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        *,
        segmenter: words.Segmenter | None = None,
        built: dict[str, Any] | None = None,
    ):
        """`built`: what `built()` returned for the same FAQ and normalizer under the same code
        (see verdicts.py), taken back instead of building again."""
        # The build allocates millions of small objects that all live as long as the index;
        # pausing the cyclic GC meanwhile saves a third of the build time at 10,000 entries.
        self._df: dict[str, int] = {}  # memos of df() and specificity(), filled as asked
        self._specificity: dict[str, float] = {}
        with gcpause.paused():
            if built is None:
                self._build(faq, normalizer, thresholds, segmenter)
            else:
                self._restore(faq, normalizer, thresholds, built)

    # -- building ------------------------------------------------------------------------

    def _build(
        self, faq: Faq, normalizer: Normalizer | None, thresholds: Thresholds, segmenter: words.Segmenter | None
    ) -> None:
        self.faq = faq
        self.thresholds = thresholds
        self.normalize = normalizer or Normalizer(faq.synonyms)
        self.entries: list[Entry] = list(faq.entries)
        self.position = {e.id: i for i, e in enumerate(self.entries)}
        self._build_characters()
        self._build_words(segmenter)

    # Made again on a restore rather than kept: not plain data (the FAQ, the normalizer, the
    # segmenter), not built from the FAQ (the thresholds), or lookup memos.
    _NOT_BUILT = frozenset(("faq", "thresholds", "normalize", "entries", "segmenter", "_df", "_specificity"))

    def built(self) -> dict[str, Any]:
        """Everything the build computed from the FAQ as plain data (lists, dicts, sets, strings,
        numbers: marshal stores it), with the segmenter's terms."""
        state = {k: v for k, v in vars(self).items() if k not in self._NOT_BUILT}
        state["segmenter_terms"] = sorted(self.segmenter.terms)
        return state

    def _restore(self, faq: Faq, normalizer: Normalizer | None, thresholds: Thresholds, built: dict[str, Any]) -> None:
        self.faq = faq
        self.thresholds = thresholds
        self.normalize = normalizer or Normalizer(faq.synonyms)
        self.entries = list(faq.entries)
        state = dict(built)
        self.segmenter = words.Segmenter(state.pop("segmenter_terms"))
        vars(self).update(state)

    def _build_characters(self) -> None:
        self.phrasings: list[list[str]] = []  # normalized, per entry
        self.phrasing_sounds: list[list[list[str]]] = []  # sound keys of each phrasing
        self.originals: list[list[str]] = []
        self.entry_features: list[frozenset[str]] = []
        self.verbatim: dict[str, list[int]] = {}  # normalized phrasing → the entries that have it
        postings: dict[str, list[int]] = defaultdict(list)
        texts = [(*e.phrasings, *e.keywords) for e in self.entries]
        flat = self.normalize.many([t for group in texts for t in group])
        at = 0
        for i, group in enumerate(texts):
            normalized, originals, heard, feats = [], [], [], set()
            for text, norm in zip(group, flat[at : at + len(group)], strict=True):
                norm = norm[:MAX_QUERY_CHARS]
                if norm and norm not in normalized:
                    toks = tokens(norm)
                    keys = sounds(toks)
                    normalized.append(norm)
                    originals.append(text)
                    heard.append(keys)
                    feats.update(feature_list(toks, keys))
            at += len(group)
            self.phrasings.append(normalized)
            for norm in normalized:
                self.verbatim.setdefault(norm, []).append(i)
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

    def _build_words(self, segmenter: words.Segmenter | None) -> None:
        self.texts = ["|".join(p) for p in self.phrasings]
        self.average_text = sum(map(len, self.texts)) / max(len(self.texts), 1)
        # Keywords are single terms: 快递 inside the keyword 快递盒 is not the entry's word.
        kw = self.normalize.many([k for e in self.entries for k in e.keywords])
        at = 0
        self.keywords: list[frozenset[str]] = []
        self.sentences: list[str] = []  # the phrasings that are not keywords, joined
        for i, e in enumerate(self.entries):
            entry_keywords = frozenset(kw[at : at + len(e.keywords)])
            at += len(e.keywords)
            self.keywords.append(entry_keywords)
            self.sentences.append("|".join(p for p in self.phrasings[i] if p not in entry_keywords))
        answers = self.normalize.many([f"{e.answer} {e.topic}".replace("\n", " ") for e in self.entries])
        self.answers = answers
        self.answer_pairs: set[str] = set()
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
        synonyms = [self.normalize(group[0]) for group in self.faq.synonyms]
        # Matters other bodies handle (faq/referrals.yaml): subject words of their own, so a
        # question about 公积金提取 or 医保报销 is read as being about that matter.
        matters = self.faq.referrals.matters if self.faq.referrals else ()
        away = self.normalize.many([w for m in matters for w in m.subjects])
        owners = [m.id for m in matters for _ in m.subjects]
        self.away: dict[str, str] = {}  # normalized subject word → the referral matter's id
        for word, owner in zip(away, owners, strict=True):
            if len(word) > 1:
                self.away.setdefault(word, owner)
        self.faq_terms = frozenset(t for t in (*kw, *synonyms, *bare) if len(t) > 1)  # the FAQ's own terms
        self.segmenter = segmenter or words.Segmenter([*kw, *synonyms, *bare, *self.away])
        self.vocabulary: dict[str, str] = {}  # sound key → FAQ word, for reading typos
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
        for term in sorted(self.segmenter.terms):
            self.vocabulary.setdefault(sound_text(term), term)
        self.telling = [frozenset(t) for t in entry_words]  # each entry's telling words
        self.subjects: list[frozenset[str]] = []
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
            toks = tokens(word)
            keys = pairs(toks) or toks
            found = min((len(self.postings.get(k, ())) for k in keys), default=0)
            if found and len(toks) > 2:
                found = sum(
                    1 for i in self.postings[min(keys, key=lambda k: len(self.postings[k]))] if word in self.texts[i]
                )
            self._df[word] = found
        return found

    def _known(self, word: str) -> Known:
        if self.df(word):
            return Known.PHRASING
        if len(word) > 1:
            if all(p in self.answer_pairs for p in pairs(list(word))):
                return Known.ANSWER
            if not self.segmenter.known(word) and sound_text(word) in self.vocabulary:
                return Known.SOUND
        elif word in self.answer_chars:
            return Known.ANSWER
        return Known.UNSEEN

    def _related(self, word: str) -> tuple[str, float]:
        """The FAQ word the lexicon puts nearest to a word the FAQ lacks (截肢 → 残疾), with
        its similarity; ("", 0) when none is near enough. Only words that can name a subject
        relate: 偏瘫 → 瘫痪, not 怀疑 → 相信."""
        if not words.names_subject(word):
            return "", 0.0
        for other, sim in lexicon.neighbours(word, RELATED_RANK):
            if sim < RELATED_MIN:
                break
            if len(other) > 1 and self.df(other) and words.weight(other) >= SUBJECT_MIN and words.names_subject(other):
                return other, sim
        return "", 0.0

    def specificity(self, word: str) -> float:
        found = self._specificity.get(word)
        if found is None:
            n = len(self.entries)
            share = math.log((n + 1) / (self.df(word) + 0.5)) / math.log((n + 1) / 0.5)
            found = self._specificity[word] = (1.0 - SPECIFICITY) + SPECIFICITY * share
        return found

    # -- reading the question -----------------------------------------------------------------

    def _repair(self, toks: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """Spans the FAQ lacks that sound like an FAQ term are read as that term (低饱 → 低保).

        Only runs of single characters, a word jieba does not know, a rare real word (地保), or
        a span of three or more characters (垃圾分内 → 垃圾分类): a common word keeps its meaning.
        """
        out: list[str] = []
        fixes = []
        t = 0
        while t < len(toks):
            for k in (3, 2, 1):
                part = toks[t : t + k]
                span = "".join(part)
                if len(part) < k or not 2 <= len(span) <= 6 or self.df(span):
                    continue
                if any(p in words.FUNCTION_WORDS for p in part):
                    continue
                target = self.vocabulary.get(sound_text(span))
                if not target or target == span:
                    continue
                if k == 1:
                    plausible = not self.segmenter.known(span) or words.idf(span) >= RARE_IDF
                else:
                    plausible = len(span) >= 3 or all(len(p) == 1 for p in part)
                if plausible:
                    out.append(target)
                    fixes.append((span, target))
                    t += k
                    break
            else:
                out.append(toks[t])
                t += 1
        return out, fixes

    def read(self, question: str) -> Reading:
        """Normalize clause by clause, cut into words, repair typos, weigh every word."""
        clauses = [c for c in _CLAUSE_RE.split(question) if c]
        normed = [c for c in self.normalize.many(clauses) if c] if clauses else []
        cut: list[list[str]] = []
        heard: dict[str, str] = {}
        for clause in normed:
            toks, fixes = self._repair(self.segmenter.cut(clause))
            cut.append(toks)
            heard.update((target, span) for span, target in fixes)
        guesses = {target for target, span in heard.items() if self.segmenter.known(span)}
        fixed = ["".join(toks) for toks in cut]
        normalized = "".join(fixed)[:MAX_QUERY_CHARS]
        # A story is told in sentences: count the parts punctuation separates (spaces separate
        # lists too: 油漆桶 杀虫剂瓶子 扔哪个桶).
        told = sum(1 for part in _SENTENCE_RE.split(question) if _WORD_RE.search(part))
        long = told >= STORY_CLAUSES or (len(normalized) > LONG_CHARS and len(fixed) > 1)
        ask_at = asking_clause(cut)
        terms = []
        for k, clause_words in enumerate(cut):
            for at, word in enumerate(clause_words):
                weight = words.weight(word)
                if weight <= 0:
                    continue
                known = self._known(word)
                related, similarity, circumstance = "", 0.0, False
                away = self.away.get(word, "")
                if known == Known.UNSEEN and not away:
                    related, similarity = self._related(word)
                    if related:
                        known = Known.RELATED
                    else:
                        circumstance = lexicon.is_circumstance(word)
                if word in self.segmenter.terms:  # the FAQ's own terms (老人, 临时救助) name its subjects
                    weight = max(weight, TERM_WEIGHT)
                elif words.is_place(word):
                    weight = min(weight, PLACE_WEIGHT)
                elif known == Known.UNSEEN and not circumstance and words.is_noun(word) and not word.isascii():
                    weight = max(weight, UNKNOWN_NOUN)
                elif known == Known.UNSEEN:
                    weight *= WEAK_UNKNOWN
                asked = not long or k >= ask_at
                # A noun right before another telling noun qualifies it (低保|大病救助: the 救助 of 低保 families).
                after = clause_words[at + 1] if at + 1 < len(clause_words) else ""
                qualifier = bool(after) and words.is_noun(word) and words.is_noun(after) and words.weight(after) >= 1
                terms.append(
                    Term(
                        word,
                        round(weight, 2),
                        asked,
                        known,
                        heard.get(word, ""),
                        word in guesses,
                        related,
                        similarity,
                        circumstance,
                        away,
                        qualifier,
                    )
                )
        focus = "".join(fixed[ask_at:]) if long else normalized
        asking = words.aspects("".join(fixed[ask_at:]))  # 我的电话…，低保怎么申请 asks no phone number
        return Reading(normalized, focus[:MAX_QUERY_CHARS], terms, long, asking, words.is_complaint(question))

    # -- scoring ------------------------------------------------------------------------------

    def covered(self, term: Term, entry_id: str) -> float:
        """How much of one question word an entry has (for `ask --explain`)."""
        return self.covers_at(term, self.position[entry_id])

    def covers_at(self, term: Term, i: int) -> float:
        """How much of one question word entry i has: as written, as a sound-alike, in its
        answer only, or a telling part of a compound (残疾证 → 残疾)."""
        word = term.word
        if term.related:  # 截肢 is covered as far as its FAQ word 残疾 is, times their nearness
            return term.similarity * self.covers_at(Term(term.related, term.weight, term.asked, Known.PHRASING), i)
        if word in self.sentences[i] or word in self.keywords[i]:
            return 1.0
        if word in self.texts[i]:
            return PART_CREDIT  # only inside a longer keyword (快递 in 快递盒)
        best = ANSWER_CREDIT if (len(word) > 1 or term.weight >= 1) and word in self.answers[i] else 0.0
        for size in range(len(word) - 1, 1, -1):
            for start in range(len(word) - size + 1):
                part = word[start : start + size]
                if part in self.texts[i]:  # a telling part of a longer word: 残疾 of 残疾证
                    best = max(best, min(1.0, words.weight(part) / term.weight) * size / len(word))
        return best

    def _weighed(self, reading: Reading) -> tuple[list[tuple[Term, float]], float]:
        """Each question word's weight in the coverage, and their total (the same for every entry)."""
        weighed, total = [], 0.0
        for term in reading.terms:
            if not term.asked and term.known == Known.UNSEEN:
                continue  # a story's unknown words are circumstance, not another subject
            weight = term.weight * (1.0 if term.asked else STORY_FACTOR) * self.specificity(term.word)
            weighed.append((term, weight))
            unseen = LONG_UNSEEN if reading.long else UNSEEN_PENALTY
            total += weight * (unseen if term.known == Known.UNSEEN and not term.circumstance else 1.0)
        return weighed, total

    def _coverage(self, weighed: tuple[list[tuple[Term, float]], float], i: int) -> float:
        """How much of the question entry i covers, each word weighed (see `_weighed`)."""
        terms, total = weighed
        got = 0.0
        for term, weight in terms:
            got += weight * self.covers_at(term, i)
        return got / total if total else 0.0

    def _query_terms(self, text: str) -> list[tuple[float, tuple[tuple[str, float], ...]]]:
        """(weight, ((feature, credit), ...)) per position of the character layer.

        A pair the FAQ has never seen weighs what its characters weigh: the seam between two
        known words (家里|也) is cheap, a truly new word (天气) is not. A misspelled pair
        takes the weight of the pair it sounds like.
        """
        toks = tokens(text)
        keys = sounds(toks)
        terms: list[tuple[float, tuple[tuple[str, float], ...]]] = []
        for tok, sound in zip(toks, keys, strict=True):
            weight = self.idf.get(tok) or self.idf.get(sound) or self.unseen_idf
            terms.append((weight * UNIGRAM_FACTOR, ((tok, 1.0), (sound, SOUND_CREDIT))))
        for k, (pair, sound) in enumerate(zip(pairs(toks), pairs(keys), strict=True)):
            if pair in self.idf:
                weight = self.idf[pair]
            elif sound in self.idf:
                weight = self.idf[sound]
            else:
                weight = (self.idf.get(toks[k], self.unseen_idf) + self.idf.get(toks[k + 1], self.unseen_idf)) / 2
            terms.append((weight, ((pair, 1.0), (sound, SOUND_CREDIT))))
        return terms

    def _nominate(self, terms) -> list[int]:
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
        return sorted(rough, key=rough.__getitem__, reverse=True)[:RESCORE]

    def _closeness(self, text: str, terms, ids: list[int]) -> dict[int, tuple[float, float, int]]:
        """The character layer: (score 0-1, similarity to the nearest phrasing, its index)."""
        total = sum(w for w, _ in terms) or 1.0
        heard = sounds(tokens(text))
        out = {}
        for i in ids:
            feats = self.entry_features[i]
            got = 0.0
            for weight, ((feat, _), (sound, credit)) in terms:
                if feat in feats:
                    got += weight
                elif sound in feats:
                    got += weight * credit
            best = process.extractOne(text, self.phrasings[i], scorer=fuzz.ratio)
            near, at = best[1] / 100.0, best[2]
            sound_best = process.extractOne(heard, self.phrasing_sounds[i], scorer=fuzz.ratio)
            if sound_best[1] / 100.0 * SOUND_CREDIT > near:
                near, at = sound_best[1] / 100.0 * SOUND_CREDIT, sound_best[2]
            out[i] = (FINE_COVERAGE * got / total + (1 - FINE_COVERAGE) * near, near, at)
        return out

    def conflict(self, reading: Reading, entry_id: str) -> bool:
        """A short question naming something the FAQ knows from *other* entries, which this
        one lacks (城乡居民医保 against 城乡居民养老保险, 过期食品…投诉 against 厨余垃圾): the
        resident picks. A story may mention other subjects; its asking clause decides."""
        if reading.long:
            return False
        i = self.position[entry_id]
        return any(
            t.known in (Known.PHRASING, Known.ANSWER)
            and t.weight >= CONFLICT_WEIGHT
            and not words.is_aspect(t.word)
            and words.names_subject(t.word)
            and self.covers_at(t, i) < 0.5
            for t in reading.asked
        )

    def untold(self, reading: Reading, entry_id: str) -> tuple[str, ...]:
        """The aspects the question asks (time, phone, money) that the entry says nothing of."""
        i = self.position[entry_id]
        return tuple(
            sorted(
                aspect
                for aspect in reading.aspects
                if not any(cue in self.texts[i] or cue in self.answers[i] for cue in words.ASPECT_GROUPS[aspect][1])
            )
        )

    def tells(self, reading: Reading, entry_id: str) -> bool:
        """Whether the entry mentions every aspect the question asks about (几点, 电话, 在哪)."""
        i = self.position[entry_id]
        return all(
            any(cue in self.texts[i] or cue in self.answers[i] for cue in words.ASPECT_GROUPS[aspect][1])
            for aspect in reading.aspects
        )

    def _subject_words(self, reading: Reading) -> tuple[Term, Term | None] | None:
        """The question's main subject word and its most telling specific one (shared by few
        entries), or None when it names nothing: the same for every entry."""
        named = [
            t
            for t in reading.asked
            if not words.is_aspect(t.word) and (t.word in self.segmenter.terms or words.names_subject(t.word))
        ]
        if not named:
            return None
        main = max(named, key=lambda t: t.weight)
        specific = [t for t in named if self.df(t.word) <= GROUP_DF]
        return main, max(specific, key=lambda t: t.weight) if specific else None

    def _on_subject(self, reading: Reading, subject: tuple[Term, Term | None] | None, i: int, coverage: float) -> bool:
        """Whether entry i is about what the question is about: the question names one of the
        entry's own subject words, or the entry has the question's most telling word that is
        shared by few entries (老鼠 rather than 小区), or it covers nearly all of it."""
        if any(s in reading.normalized for s in self.subjects[i]):  # typos were repaired while reading
            return True
        if subject is None:
            return False
        main, specific = subject
        # Only its answer, or one of its longer keywords, is not enough (快递 of 快递盒).
        if coverage >= FULL_COVERAGE and self.covers_at(main, i) > PART_CREDIT:
            return True
        if specific is not None:
            return self.covers_at(specific, i) > PART_CREDIT
        # Only words many entries share (办事处, 小区, 垃圾): every entry that has the main one is
        # on the subject, and closeness picks among them.
        return self.covers_at(main, i) > PART_CREDIT

    def score(self, reading: Reading) -> list[Candidate]:
        """Every nominated entry, scored, best first."""
        if not reading.normalized:
            return []
        terms = self._query_terms(reading.normalized)
        ids = self._nominate(terms)
        # A short question is its own focus: weigh its characters once.
        focus_terms = terms if reading.focus == reading.normalized else self._query_terms(reading.focus)
        close = self._closeness(reading.focus, focus_terms, ids)
        share = WORD_SHARE_LONG if reading.long else WORD_SHARE
        weighed, subject = self._weighed(reading), self._subject_words(reading)
        relevance = self._bm25(reading.normalized, ids)
        scored = []
        for i in ids:
            coverage = self._coverage(weighed, i)
            fine, near, at = close[i]
            on_subject = self._on_subject(reading, subject, i, coverage)
            score = 100.0 * (share * coverage + (1 - share) * fine) * (1.0 if on_subject else OFF_SUBJECT)
            scored.append(
                Candidate(
                    self.entries[i].id,
                    round(score, 1),
                    coverage,
                    fine,
                    self.originals[i][at],
                    on_subject,
                    near,
                    round(relevance[i], 3),
                )
            )
        scored.sort(key=lambda c: (-c.score, c.entry_id))
        return scored

    def _bm25(self, text: str, ids: list[int]) -> dict[int, float]:
        """Okapi BM25 (k1 1.2, b 0.75) of a question's characters and pairs against each nominated
        entry's phrasings: the more of the rarer words a long question shares, the higher. Counted
        on the fly in the entry's phrasings, so it costs no memory per entry."""
        toks = tokens(text)
        query = {f: self.idf[f] for f in (*toks, *pairs(toks)) if f in self.idf}
        out = {}
        for i in ids:
            doc, total = self.texts[i], 0.0
            norm = BM25_K1 * (1 - BM25_B + BM25_B * len(doc) / self.average_text)
            for feat, weight in query.items():
                tf = doc.count(feat)
                if tf:
                    total += weight * tf * (BM25_K1 + 1) / (tf + norm)
            out[i] = total
        return out

    def decide(self, reading: Reading, scored: list[Candidate], t: Thresholds | None = None) -> Decision:
        """The clerk's decision on a scored reading (`bench/tools/tune.py` calls it with other thresholds)."""
        return clerk.decide(self, reading, scored, t)

    def match(self, question: str) -> Match:
        intent = smalltalk.detect(question)
        if intent is not None and intent != smalltalk.Intent.CAPABILITY:
            return Match(
                UNANSWERED, None, 0.0, (), self.normalize(question)[:MAX_QUERY_CHARS], Reason.SMALL_TALK, intent=intent
            )
        reading = self.read(question)
        scored = self.score(reading)
        if intent == smalltalk.Intent.CAPABILITY:
            # The entry a capability question resembles most is the FAQ's entry about the bot.
            if scored and scored[0].similarity >= ABOUT_BOT_SIMILARITY:
                return Match(
                    ANSWERED,
                    scored[0].entry_id,
                    scored[0].score,
                    tuple(scored[:5]),
                    reading.normalized,
                    Reason.ABOUT_BOT,
                    tuple(reading.terms),
                    intent,
                )
            return Match(UNANSWERED, None, 0.0, (), reading.normalized, Reason.SMALL_TALK, tuple(reading.terms), intent)
        decision = self.decide(reading, scored)
        status, entry_id, reason = decision.status, decision.entry_id, decision.reason
        if status == REFERRAL:
            top = scored[0].score if scored else 0.0
            return Match(
                status,
                None,
                top,
                (),
                reading.normalized,
                reason,
                tuple(reading.terms),
                referral=entry_id or "",
                focus=reading.focus,
            )
        if status == SUGGEST and decision.follow_ups:  # the clerk's choices: one per subject, or its unsure pick
            by_id = {c.entry_id: c for c in scored}
            shown = tuple(by_id[e] for e in decision.follow_ups if e in by_id)
        elif status == SUGGEST:
            shared = {self.entries[i].id for i in self.verbatim.get(reading.normalized, ())}
            shown = tuple(
                c for c in scored if c.entry_id in shared or (c.on_subject and c.score >= self.thresholds.suggest)
            )
        else:
            shown = tuple(scored)
        top = 100.0 if reason == Reason.EXACT else (scored[0].score if scored else 0.0)
        return Match(
            status,
            entry_id,
            top,
            shown[: max(MAX_SUGGESTIONS, 5)],
            reading.normalized,
            reason,
            tuple(reading.terms),
            focus=reading.focus,
            follow_ups=decision.follow_ups if status == ANSWERED else (),
            untold=self.untold(reading, entry_id) if status == ANSWERED and entry_id else (),
            complaint=reading.complaint,
            probability=decision.probability,
            drivers=calibration.drivers(dict(decision.features)) if decision.features else (),
        )
