"""The FAQ index: one FAQ, ready to answer questions. Built once per FAQ load; pure and
synchronous: no Telegram, no I/O.

A question goes through four steps, each in its own module: the FAQ's entries are built into
tables once (`tables.py`: characters, words, their postings, kept on disk between runs); a
question is read against them (`reading.py`: words, typo repair, the lexicon); its entries
are scored (`scoring.py`: word coverage, BM25 and closeness over characters); and the clerk
decides (`clerk.py`). `Index` ties them together for one FAQ, and is what the rest of the
package holds: `match(question)`, and the parts `ask --explain`, the review and the service
look at.
"""

from __future__ import annotations

from typing import Any

from servicebot import gcpause
from servicebot.answering import smalltalk, words
from servicebot.answering.text import Normalizer
from servicebot.faq import Faq
from servicebot.matching import calibration, clerk, scoring
from servicebot.matching.model import (
    ANSWERED,
    DEFAULT_THRESHOLDS,
    MAX_QUERY_CHARS,
    MAX_SUGGESTIONS,
    REFERRAL,
    SUGGEST,
    UNANSWERED,
    Candidate,
    Decision,
    Match,
    Reading,
    Reason,
    Term,
    Thresholds,
)
from servicebot.matching.reading import read as read_question
from servicebot.matching.tables import Tables

ABOUT_BOT_SIMILARITY = 0.5  # a capability question this close to an entry's phrasing gets that entry


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
        with gcpause.paused():
            self.faq = faq
            self.thresholds = thresholds
            self.normalize = normalizer or Normalizer(faq.synonyms)
            self.tables = self._build(segmenter) if built is None else Tables.restore(list(faq.entries), built)
        tables = self.tables
        # What the clerk (`model.FaqIndex`), the service and the review read of the tables.
        self.entries, self.position, self.verbatim = tables.entries, tables.position, tables.verbatim
        self.phrasings, self.texts, self.keywords = tables.phrasings, tables.texts, tables.keywords
        self.telling, self.faq_terms, self.segmenter = tables.telling, tables.faq_terms, tables.segmenter

    def _build(self, segmenter: words.Segmenter | None) -> Tables:
        return Tables.build(self.faq, self.normalize, segmenter)

    def built(self) -> dict[str, Any]:
        """Everything the build computed from the FAQ as plain data (lists, dicts, sets, strings,
        numbers: marshal stores it), with the segmenter's terms."""
        return self.tables.plain()

    # -- what the FAQ knows, and what an entry covers -----------------------------------------

    def df(self, word: str) -> int:
        """How many entries' phrasings contain `word` (at most; from the pair postings)."""
        return self.tables.df(word)

    def specificity(self, word: str) -> float:
        return self.tables.specificity(word)

    def covered(self, term: Term, entry_id: str) -> float:
        """How much of one question word an entry has (for `ask --explain`)."""
        return scoring.covers_at(self.tables, term, self.position[entry_id])

    def covers_at(self, term: Term, i: int) -> float:
        return scoring.covers_at(self.tables, term, i)

    def conflict(self, reading: Reading, entry_id: str) -> bool:
        return scoring.conflict(self.tables, reading, entry_id)

    def untold(self, reading: Reading, entry_id: str) -> tuple[str, ...]:
        return scoring.untold(self.tables, reading, entry_id)

    def tells(self, reading: Reading, entry_id: str) -> bool:
        return scoring.tells(self.tables, reading, entry_id)

    # -- answering ------------------------------------------------------------------------------

    def read(self, question: str) -> Reading:
        """Normalize clause by clause, cut into words, repair typos, weigh every word."""
        return read_question(self.tables, self.normalize, question)

    def score(self, reading: Reading) -> list[Candidate]:
        """Every nominated entry, scored, best first."""
        return scoring.score(self.tables, reading)

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
