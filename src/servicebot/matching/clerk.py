"""Deciding like a counter clerk: from a read and scored question to answer, offer choices,
send elsewhere, or say honestly that the FAQ has no answer.

A clerk finds the subject a question names — one of the FAQ's (低保), or a matter another
body handles (公积金, faq/referrals.yaml) — and answers that subject: with its best entry,
or its overview entry when several of its entries fit alike. Choices ("您是不是想问") are
offered only when different subjects compete; a question is refused only when its subject
is not the FAQ's. Where no subject is named, closeness alone decides, carefully.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from servicebot.answering import words
from servicebot.matching import calibration
from servicebot.matching.characters import inner_parts, tokens
from servicebot.matching.model import (
    ANSWERED,
    GROUP_DF,
    NAMING_WEIGHT,
    REFERRAL,
    RESCORE,
    STORY_FACTOR,
    SUGGEST,
    UNANSWERED,
    Candidate,
    Decision,
    FaqIndex,
    Known,
    Reading,
    Reason,
    Thresholds,
)
from servicebot.records import Status

# A word names a subject when it weighs NAMING_WEIGHT (model.py) or is the entry's keyword ...
NAMING_SIMILARITY = 0.7  # ... and a word the FAQ lacks, when the lexicon puts it this near
NAMING_CAP = 4.0  # ... and names it at most this strongly: 防汛 is rarer than 垃圾分类, not more of a subject
NAMED_MIN = 1.5  # how strongly a question must name an entry's subject for the clerk to answer
UNKNOWN_RATIO = 1.0  # ... unless the FAQ's other words it asks about outweigh it this many times
SAME_NAMING = 0.9  # entries named this nearly as strongly, by the same word, are of one subject
AWAY_SHARE = 0.8  # a matter of another body named this strongly outweighs the FAQ's subject
RIVAL_SHARE = 0.65  # another subject named this strongly competes: the resident picks
QUALIFIER_FACTOR = 0.5  # a word that qualifies the next one names its subject this much less
SAYS_SOMETHING = 0.1  # an unknown word weighing less says nothing (正常, 一样)
MIN_MASS = 1.0  # a question whose words weigh less than this asks about nothing in particular


def naming_words(reading: Reading) -> frozenset[str]:
    """Every word of the question that may name a subject (`named`), and every part of one:
    an entry whose telling words are none of them is named by nothing."""
    found: set[str] = set()
    for term in reading.terms:
        if term.related and term.similarity < NAMING_SIMILARITY:
            continue
        word = term.related or term.word
        found.add(word)
        found.update(inner_parts(word))
    return frozenset(found)


def named(index: FaqIndex, reading: Reading, i: int, naming: frozenset[str]) -> tuple[float, str]:
    """How strongly the question names entry i's subject, and by which of the question's
    words (the strongest): each specific telling word of the entry the question has — as
    written, inside a longer word (残疾证 names 残疾) or near it in the lexicon (截肢 →
    残疾) — weighed by how few entries share it (小区, 社区 name no one subject).
    `naming`: the question's `naming_words`."""
    total, best, by = 0.0, 0.0, ""
    if index.telling[i].isdisjoint(naming):
        return total, by
    for term in reading.terms:
        if term.related and term.similarity < NAMING_SIMILARITY:
            continue
        word = term.related or term.word
        if word in index.telling[i]:
            strength = term.weight * (term.similarity if term.related else 1.0)
        else:
            inside = index.telling[i].intersection(inner_parts(word))  # of two characters or more
            if not inside:
                continue
            word = max(inside, key=lambda s: (len(s), -index.df(s), s))
            # The FAQ's own term (梧桐书屋) names its subject in full; another word only in part.
            strength = term.weight * (1.0 if term.word in index.faq_terms else len(word) / len(term.word))
        if index.df(word) > GROUP_DF or (term.weight < NAMING_WEIGHT and word not in index.keywords[i]):
            continue  # 小区, 社区, 小孩: everyday words that name no one subject
        strength = min(strength, NAMING_CAP) * (1.0 if term.asked else STORY_FACTOR) * index.specificity(word)
        if term.qualifier:
            strength *= QUALIFIER_FACTOR
        total += strength
        if strength > best:
            best, by = strength, term.word
    return total, by


@dataclass(frozen=True)
class Proposal:
    """The entry the clerk would answer with, and what speaks for and against it."""

    entry_id: str
    reason: Reason  # SUBJECT, or OVERVIEW when several entries of the subject fit alike
    features: dict[str, float]
    probability: float  # calibrated: how likely this answer is right (calibration.py)
    others: tuple[str, ...] = ()  # the subject's other entries that fit alike (follow-ups)


def clerk(
    index: FaqIndex, reading: Reading, scored: list[Candidate]
) -> tuple[Status, str | None, Reason] | Decision | Proposal | None:
    """Decide the way a counter clerk does: find the subject the question names. A matter
    another body handles that is named more strongly sends the resident there; several
    subjects of the FAQ named alike are offered as choices; one subject gives its best entry
    (its overview when several fit alike) as a `Proposal`, whose probability the caller weighs.
    None: no FAQ subject is named; the caller decides by closeness alone."""
    naming = naming_words(reading)
    namings = [(named(index, reading, index.position[c.entry_id], naming), c) for c in scored[:RESCORE]]
    namings.sort(key=lambda nc: (-nc[0][0], -nc[1].score))
    (strength, by), top = namings[0] if namings else ((0.0, ""), None)
    # A story may name its subject once, and weakly: in a sentence that only tells (我家老人偏瘫好几年了，
    # 有什么补助), or qualified in a long post. A story's bar is a third of a question's; whether
    # to answer is then the calibrated model's call (it weighs length and naming strength).
    if top is None or strength < NAMED_MIN * (STORY_FACTOR if reading.long else 1.0):
        return None
    away_strength, matter = away(index, reading, top)
    if away_strength >= strength * AWAY_SHARE:
        return REFERRAL, matter, Reason.ELSEWHERE  # 医保报销 outweighs 住院费: the 医保 office's matter
    # A rival is another subject: an entry named as strongly by another word, unless either entry
    # has both words (俺娃想去书屋看书，梧桐书屋在哪块: both entries are the bookhouse's).
    rivals = [
        c
        for (s, w), c in namings
        if w != by and s >= strength * RIVAL_SHARE and not same_subject(index, reading, (by, top), (w, c))
    ]
    if rivals:  # each subject's best entry, the strongest named first
        return Decision(SUGGEST, None, Reason.SUBJECTS, tuple(dict.fromkeys(c.entry_id for c in (top, *rivals))))
    close = [
        c
        for (s, w), c in namings
        if w == by and s >= strength * SAME_NAMING and c.score >= top.score - index.thresholds.margin
    ]
    pick, reason = top, Reason.SUBJECT
    if len(close) > 1 and not reading.aspects:
        overview = [c for c in close if by in index.phrasings[index.position[c.entry_id]]]
        pick, reason = (overview or close)[0], Reason.OVERVIEW
    others = [c.score for (_, w), c in namings if w != by]
    term = next(t for t in reading.terms if t.word == by)
    unknown = sum(t.weight for t in reading.asked if t.known == Known.UNSEEN and not t.circumstance)
    features = {
        "score": pick.score / 100,
        "coverage": pick.coverage,
        "similarity": pick.similarity,
        "strength": math.log1p(strength),
        "keyword": float((term.related or term.word) in index.keywords[index.position[pick.entry_id]]),
        "lead": (pick.score - max(others, default=0.0)) / 100,
        "elsewhere": min(3.0, elsewhere(index, reading, pick) / strength),
        "rival_words": min(3.0, elsewhere(index, reading, pick, known_only=True) / strength),
        "away": min(3.0, away_strength / strength),
        "unknown": unknown / reading.mass if reading.mass else 0.0,
        "long": float(reading.long),
        "untold": float(not index.tells(reading, pick.entry_id)),
        "overview": float(reason == Reason.OVERVIEW),
        "guess": float(bool(term.heard_as)),
        "related": float(bool(term.related)),
    }
    features |= _relevance(pick, scored)
    alike = tuple(c.entry_id for c in close if c.entry_id != pick.entry_id)
    return Proposal(pick.entry_id, reason, features, calibration.probability(features), alike)


def _relevance(pick: Candidate, scored: list[Candidate]) -> dict[str, float]:
    """What BM25 says of the pick among the candidates: is it BM25's first, by how much."""
    ranked = sorted((c.bm25 for c in scored), reverse=True)
    best = ranked[0] if ranked else 0.0
    second = ranked[1] if len(ranked) > 1 else 0.0
    return {
        "bm25_top": float(best > 0 and pick.bm25 >= best),
        "bm25_share": pick.bm25 / best if best else 0.0,
        "bm25_margin": (best - second) / best if best else 0.0,
    }


def away(index: FaqIndex, reading: Reading, top: Candidate) -> tuple[float, str]:
    """How strongly the question names a matter another body handles, and which: its
    strongest subject word that is not also the entry's own, or part of one (失火). A
    longer word that contains the entry's is the matter's (低保房 is not 低保)."""
    i = index.position[top.entry_id]
    best, matter = 0.0, ""
    for t in reading.terms:
        if t.away and not any(t.word in w for w in index.telling[i]):
            strength = min(t.weight, NAMING_CAP) * (1.0 if t.asked else STORY_FACTOR)
            if strength > best:
                best, matter = strength, t.away
    return best, matter


def elsewhere(index: FaqIndex, reading: Reading, top: Candidate, *, known_only: bool = False) -> float:
    """How much the question asks about what the entry does not cover: its asked words that
    could name a subject — unknown to the FAQ (护照) or known from other entries (电动车) —
    and that the entry lacks; people, places and times excepted (妈妈, 民政局)."""
    i = index.position[top.entry_id]
    return sum(
        t.weight
        for t in reading.asked
        if t.weight >= 1.0
        and not t.circumstance
        and not words.is_aspect(t.word)
        and words.names_subject(t.word)
        and index.covers_at(t, i) < 0.5
        and (not known_only or t.known == Known.PHRASING)
    )


def same_subject(index: FaqIndex, reading: Reading, one: tuple[str, Candidate], other: tuple[str, Candidate]) -> bool:
    """Whether two entries, each named by its own word of the question, are of one subject:
    one of them has the other's word too (看书 and 梧桐书屋: both are the bookhouse's)."""

    def has(entry: Candidate, word: str) -> bool:
        forms = {f for t in reading.terms if t.word == word for f in (t.word, t.related) if f}
        return not forms.isdisjoint(index.telling[index.position[entry.entry_id]])

    (by_one, entry_one), (by_other, entry_other) = one, other
    return has(entry_one, by_other) or has(entry_other, by_one)


def guessing(reading: Reading, *, heard: bool = False) -> bool:
    """Reading a real word as the FAQ term it sounds like (树屋 → 书屋) is a guess: it is
    offered, not asserted, when anything else the question says is unknown (搭; not 正常, which
    says nothing). `heard`: any word read by its sound counts, not only a real word."""
    read_by_sound = any(x.heard_as if heard else x.guess for x in reading.terms)
    return read_by_sound and any(x.known == Known.UNSEEN and x.weight >= SAYS_SOMETHING for x in reading.asked)


def decide(index: FaqIndex, reading: Reading, scored: list[Candidate], t: Thresholds | None = None) -> Decision:
    """Answer, offer choices, send elsewhere or refuse (see the module's docstring)."""
    t = t or index.thresholds
    verdict = _decide(index, reading, scored, t)
    if isinstance(verdict, Decision):
        return verdict
    return Decision(*verdict)


def _decide(
    index: FaqIndex, reading: Reading, scored: list[Candidate], t: Thresholds
) -> tuple[Status, str | None, Reason] | Decision:
    owners = index.verbatim.get(reading.normalized, ())
    if len(owners) == 1:
        return ANSWERED, index.entries[owners[0]].id, Reason.EXACT
    if owners:  # two entries share the phrasing (a synonym made them equal): the resident picks
        return SUGGEST, None, Reason.NEAR_TIE
    if not scored:
        return UNANSWERED, None, Reason.NOTHING_ASKED if reading.mass < MIN_MASS else Reason.OFF_SUBJECT
    if reading.mass < MIN_MASS or len(tokens(reading.normalized)) < 2:
        # No telling word (你能回答什么, 需要什么材料): only a near-verbatim phrasing answers.
        top, runner_up = scored[0], (scored[1].similarity if len(scored) > 1 else 0.0)
        if top.similarity >= t.verbatim and top.similarity - runner_up >= t.margin / 100:
            return ANSWERED, top.entry_id, Reason.EXACT
        return UNANSWERED, None, Reason.NOTHING_ASKED
    verdict = clerk(index, reading, scored)
    if verdict is None:
        # The matter named first: a question names its matter, then its circumstances (办护照要带户口本吗).
        matter = next((x.away for x in reading.asked if x.away), "")
        if matter:  # no subject of the FAQ named, a matter of another body asked about: where to go
            return REFERRAL, matter, Reason.ELSEWHERE
    if isinstance(verdict, Proposal):
        features = tuple(sorted(verdict.features.items()))
        # A short question as much about another of the FAQ's words that the entry lacks (电动车电池,
        # 低保户孩子考研有补助吗) is offered; so is a subject read from a word that only sounds like
        # it (树屋 → 书屋).
        overshadowed = not reading.long and verdict.features["rival_words"] > UNKNOWN_RATIO
        if verdict.probability >= t.sure and not overshadowed and not guessing(reading, heard=True):
            return Decision(ANSWERED, verdict.entry_id, verdict.reason, verdict.others, verdict.probability, features)
        if verdict.probability >= t.unsure:
            choices = (verdict.entry_id, *verdict.others)  # the pick, and its subject's others alike
            return Decision(SUGGEST, None, Reason.UNSURE, choices, verdict.probability, features)
    elif verdict is not None:
        return verdict  # a referral, or choices between subjects
    top = scored[0]
    second = scored[1] if len(scored) > 1 else None
    lead = top.score - (second.score if second else 0.0)
    # A question the top entry covers fully may score lower (a long or chatty wording),
    # unless the runner-up covers it as fully: then only the characters tell them apart.
    contested = second is not None and second.coverage >= t.sure_coverage and lead < 2 * t.margin
    enough = (top.score >= t.answer and top.coverage >= t.coverage) or (
        top.coverage >= t.sure_coverage and top.score >= t.answer - t.sure_drop and not contested
    )
    if (
        top.on_subject
        and not reading.long  # a story that names no subject of the FAQ is offered, never asserted
        and enough
        and lead >= t.margin
        and not guessing(reading)
        and index.tells(reading, top.entry_id)
        and not index.conflict(reading, top.entry_id)
    ):
        return ANSWERED, top.entry_id, Reason.CONFIDENT
    if any(c.on_subject and c.score >= t.suggest for c in scored):
        return SUGGEST, None, Reason.NEAR_TIE if top.on_subject and enough else Reason.LOW_SCORE
    unseen = sum(x.weight for x in reading.asked if x.known == Known.UNSEEN and not x.circumstance)
    if unseen >= reading.mass / 2:
        return UNANSWERED, None, Reason.UNKNOWN_WORDS
    return UNANSWERED, None, Reason.OFF_SUBJECT if not top.on_subject else Reason.LOW_SCORE
