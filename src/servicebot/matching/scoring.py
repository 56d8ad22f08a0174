"""Scoring a read question against one FAQ's entries, in two layers. *Words*: how much of the
question's weighed words an entry covers — as written, as a sound-alike, in its answer only,
or a telling part of a compound (残疾证 → 残疾). *Characters*: BM25 over characters, pairs and
their sounds, and rapidfuzz closeness to the entry's nearest phrasing. An entry not on the
question's subject scores less. A cheap pass over the postings nominates the few entries
scored in full (`RESCORE`).

Also what the clerk asks of one entry: does it cover a word (`covers_at`), say everything the
question asks about (`tells`, `untold`), or lack what the question names (`conflict`)?
"""

from __future__ import annotations

from rapidfuzz import fuzz, process

from servicebot.answering import words
from servicebot.answering.text import sounds
from servicebot.matching.characters import ABSENT, inner_parts, pairs, spelled, tokens
from servicebot.matching.model import GROUP_DF, MAX_QUERY_CHARS, RESCORE, STORY_FACTOR, Candidate, Known, Reading, Term
from servicebot.matching.tables import Tables

# Character layer (BM25 over characters, pairs and their sounds).
SOUND_CREDIT = 0.8  # a homophone counts for most, not all, of the written form
UNIGRAM_FACTOR = 0.4  # single characters carry less meaning than pairs
BM25_K1, BM25_B = 1.2, 0.75  # the usual Okapi BM25 parameters
FINE_COVERAGE = 0.7  # the rest of the character score is closeness to the nearest phrasing

# Word layer.
UNSEEN_PENALTY = 1.5  # an unknown word of the question weighs this much more against the coverage
LONG_UNSEEN = 0.5  # ... but in a story's asking clause, this much (这种单亲家庭能申请低保吗)
CONFLICT_WEIGHT = 3.0  # a word this telling, from another entry, keeps a short question from a sure answer
ANSWER_CREDIT = 0.5  # a word only the entry's answer contains counts half
PART_CREDIT = 0.5  # ... and so does a word found only inside one of its longer keywords
FULL_COVERAGE = 0.9  # an entry covering this much of the question is on its subject anyway
WORD_SHARE = 0.2  # share of the word coverage in a short question's score (the rest: characters)
WORD_SHARE_LONG = 0.7  # ... in a long one, where character closeness means little
OFF_SUBJECT = 0.7  # score factor of an entry not on the question's subject


def covers_at(tables: Tables, term: Term, i: int) -> float:
    """How much of one question word entry i has: as written, as a sound-alike, in its
    answer only, or a telling part of a compound (残疾证 → 残疾)."""
    if term.related:  # 截肢 is covered as far as its FAQ word 残疾 is, times their nearness
        return term.similarity * _covers_word(tables, term.related, term.weight, i)
    return _covers_word(tables, term.word, term.weight, i)


def _covers_word(tables: Tables, word: str, weight: float, i: int) -> float:
    """`covers_at` for a question word as written, weighing `weight`."""
    # Its phrasings and keywords all, joined by "|" (which no normalized word has): a word the
    # entry lacks is looked up once, not in its sentences and its keywords apart.
    text = tables.texts[i]
    if word in text:
        return 1.0 if word in tables.sentences[i] or word in tables.keywords[i] else PART_CREDIT  # 快递 in 快递盒
    if len(word) > MAX_QUERY_CHARS and word in tables.keywords[i]:
        return 1.0  # a keyword too long to be a phrasing
    best = ANSWER_CREDIT if (len(word) > 1 or weight >= 1) and word in tables.answers[i] else 0.0
    for part in inner_parts(word):
        if part in text:  # a telling part of a longer word: 残疾 of 残疾证
            # A word that weighs (almost) nothing (一部分 rounds to 0) is covered by any telling part.
            share = min(1.0, words.weight(part) / weight) if weight > 0 else 1.0
            best = max(best, share * len(part) / len(word))
    return best


def _weighed(tables: Tables, reading: Reading) -> tuple[list[tuple[Term, float]], float]:
    """Each question word's weight in the coverage, and their total (the same for every entry)."""
    weighed, total = [], 0.0
    for term in reading.terms:
        if not term.asked and term.known == Known.UNSEEN:
            continue  # a story's unknown words are circumstance, not another subject
        weight = term.weight * (1.0 if term.asked else STORY_FACTOR) * tables.specificity(term.word)
        weighed.append((term, weight))
        unseen = LONG_UNSEEN if reading.long else UNSEEN_PENALTY
        total += weight * (unseen if term.known == Known.UNSEEN and not term.circumstance else 1.0)
    return weighed, total


def _coverage(weighed: tuple[list[tuple[Term, float]], float], covered: list[float]) -> float:
    """How much of the question an entry covers, each word weighed (see `_weighed`), from how
    much of each word it has (`covered`, in the same order)."""
    terms, total = weighed
    got = 0.0
    for (_, weight), have in zip(terms, covered, strict=True):
        got += weight * have
    return got / total if total else 0.0


def _query_terms(tables: Tables, text: str) -> list[tuple[float, tuple[tuple[str, float], ...]]]:
    """(weight, ((feature, credit), ...)) per position of the character layer.

    A pair the FAQ has never seen weighs what its characters weigh: the seam between two
    known words (家里|也) is cheap, a truly new word (天气) is not. A misspelled pair
    takes the weight of the pair it sounds like.
    """
    toks = tokens(text)
    keys = sounds(toks)
    terms: list[tuple[float, tuple[tuple[str, float], ...]]] = []
    for tok, sound in zip(toks, keys, strict=True):
        weight = tables.idf.get(tok) or tables.idf.get(sound) or tables.unseen_idf
        terms.append((weight * UNIGRAM_FACTOR, ((tok, 1.0), (sound, SOUND_CREDIT))))
    for k, (pair, sound) in enumerate(zip(pairs(toks), pairs(keys), strict=True)):
        if pair in tables.idf:
            weight = tables.idf[pair]
        elif sound in tables.idf:
            weight = tables.idf[sound]
        else:
            weight = (tables.idf.get(toks[k], tables.unseen_idf) + tables.idf.get(toks[k + 1], tables.unseen_idf)) / 2
        terms.append((weight, ((pair, 1.0), (sound, SOUND_CREDIT))))
    return terms


def _nominate(tables: Tables, terms) -> list[int]:
    """Cheap first pass: entries sharing a not-too-common feature with the question."""
    rough: dict[int, float] = {}
    for weight, alternatives in terms:
        for feat, credit in alternatives:
            posting = tables.postings.get(feat)
            if posting and len(posting) <= tables.common_df:
                gain = weight * credit
                for i in posting:
                    rough[i] = rough.get(i, 0.0) + gain
                break
    return sorted(rough, key=rough.__getitem__, reverse=True)[:RESCORE]


def _closeness(tables: Tables, text: str, terms, ids: list[int]) -> dict[int, tuple[float, float, int]]:
    """The character layer: (score 0-1, similarity to the nearest phrasing, its index)."""
    total = sum(w for w, _ in terms) or 1.0
    heard = spelled(sounds(tokens(text)), tables.sound_codes)
    # Each position's feature and its sound, spelled as the entries' features are, and what
    # each earns: unpacked once for every entry. A position the FAQ has neither of earns nothing.
    code = tables.feature_codes.get
    spelled_terms = [
        (code(feat, ABSENT), weight, code(sound, ABSENT), weight * credit)
        for weight, ((feat, _), (sound, credit)) in terms
    ]
    flat = [term for term in spelled_terms if term[0] != ABSENT or term[2] != ABSENT]
    out = {}
    for i in ids:
        feats = tables.entry_features[i]
        got = 0.0
        for feat, weight, sound, heard_weight in flat:
            if feat in feats:
                got += weight
            elif sound in feats:
                got += heard_weight
        # The phrasings, and their sounds, each split from one string (no phrasing has "|"): one
        # place in memory to read rather than a string per phrasing, for entries seldom read.
        best = process.extractOne(text, tables.texts[i].split("|"), scorer=fuzz.ratio)
        near, at = best[1] / 100.0, best[2]
        sound_best = process.extractOne(heard, tables.phrasing_sounds[i].split(ABSENT), scorer=fuzz.ratio)
        if sound_best[1] / 100.0 * SOUND_CREDIT > near:
            near, at = sound_best[1] / 100.0 * SOUND_CREDIT, sound_best[2]
        out[i] = (FINE_COVERAGE * got / total + (1 - FINE_COVERAGE) * near, near, at)
    return out


def conflict(tables: Tables, reading: Reading, entry_id: str) -> bool:
    """A short question naming something the FAQ knows from *other* entries, which this
    one lacks (城乡居民医保 against 城乡居民养老保险, 过期食品…投诉 against 厨余垃圾): the
    resident picks. A story may mention other subjects; its asking clause decides."""
    if reading.long:
        return False
    i = tables.position[entry_id]
    return any(
        t.known in (Known.PHRASING, Known.ANSWER)
        and t.weight >= CONFLICT_WEIGHT
        and not words.is_aspect(t.word)
        and words.names_subject(t.word)
        and covers_at(tables, t, i) < 0.5
        for t in reading.asked
    )


def untold(tables: Tables, reading: Reading, entry_id: str) -> tuple[str, ...]:
    """The aspects the question asks (time, phone, money) that the entry's answer says nothing
    of: a phrasing that asks when (残疾补贴啥时候发) does not make the answer say it."""
    i = tables.position[entry_id]
    return tuple(
        sorted(
            aspect
            for aspect in reading.aspects
            if not any(cue in tables.answers[i] for cue in words.ASPECT_GROUPS[aspect][1])
        )
    )


def tells(tables: Tables, reading: Reading, entry_id: str) -> bool:
    """Whether the entry mentions every aspect the question asks about (几点, 电话, 在哪)."""
    i = tables.position[entry_id]
    return all(
        any(cue in tables.texts[i] or cue in tables.answers[i] for cue in words.ASPECT_GROUPS[aspect][1])
        for aspect in reading.aspects
    )


def _subject_words(tables: Tables, terms: list[tuple[Term, float]]) -> tuple[int, int | None] | None:
    """Where, among the weighed words (`_weighed`'s, which hold every asked one), the question's
    main subject word is and its most telling specific one (shared by few entries); None when
    it names nothing: the same for every entry."""
    named = [
        k
        for k, (t, _) in enumerate(terms)
        if t.asked and not words.is_aspect(t.word) and (t.word in tables.segmenter.terms or words.names_subject(t.word))
    ]
    if not named:
        return None
    main = max(named, key=lambda k: terms[k][0].weight)
    specific = [k for k in named if tables.df(terms[k][0].word) <= GROUP_DF]
    return main, max(specific, key=lambda k: terms[k][0].weight) if specific else None


def _on_subject(
    tables: Tables,
    reading: Reading,
    subject: tuple[int, int | None] | None,
    i: int,
    coverage: float,
    covered: list[float],
) -> bool:
    """Whether entry i is about what the question is about: the question names one of the
    entry's own subject words, or the entry has the question's most telling word that is
    shared by few entries (老鼠 rather than 小区), or it covers nearly all of it. `covered`:
    how much of each weighed word it has (see `_subject_words`)."""
    if any(map(reading.normalized.__contains__, tables.subjects[i])):  # typos were repaired while reading
        return True
    if subject is None:
        return False
    main, specific = subject
    # Only its answer, or one of its longer keywords, is not enough (快递 of 快递盒).
    if coverage >= FULL_COVERAGE and covered[main] > PART_CREDIT:
        return True
    if specific is not None:
        return covered[specific] > PART_CREDIT
    # Only words many entries share (办事处, 小区, 垃圾): every entry that has the main one is
    # on the subject, and closeness picks among them.
    return covered[main] > PART_CREDIT


def score(tables: Tables, reading: Reading) -> list[Candidate]:
    """Every nominated entry, scored, best first."""
    if not reading.normalized:
        return []
    terms = _query_terms(tables, reading.normalized)
    ids = _nominate(tables, terms)
    # A short question is its own focus: weigh its characters once.
    focus_terms = terms if reading.focus == reading.normalized else _query_terms(tables, reading.focus)
    close = _closeness(tables, reading.focus, focus_terms, ids)
    share = WORD_SHARE_LONG if reading.long else WORD_SHARE
    weighed = _weighed(tables, reading)
    subject = _subject_words(tables, weighed[0])
    relevance = _bm25(tables, reading.normalized, ids)
    scored = []
    for i in ids:
        covered = [covers_at(tables, term, i) for term, _ in weighed[0]]
        coverage = _coverage(weighed, covered)
        fine, near, at = close[i]
        on_subject = _on_subject(tables, reading, subject, i, coverage, covered)
        points = 100.0 * (share * coverage + (1 - share) * fine) * (1.0 if on_subject else OFF_SUBJECT)
        scored.append(
            Candidate(
                tables.entries[i].id,
                round(points, 1),
                coverage,
                fine,
                tables.originals[i][at],
                on_subject,
                near,
                round(relevance[i], 3),
            )
        )
    scored.sort(key=lambda c: (-c.score, c.entry_id))
    return scored


def _bm25(tables: Tables, text: str, ids: list[int]) -> dict[int, float]:
    """Okapi BM25 (k1 1.2, b 0.75) of a question's characters and pairs against each nominated
    entry's phrasings: the more of the rarer words a long question shares, the higher. Counted
    on the fly in the entry's phrasings, so it costs no memory per entry."""
    toks = tokens(text)
    query = {f: tables.idf[f] for f in (*toks, *pairs(toks)) if f in tables.idf}
    out = {}
    for i in ids:
        doc, total = tables.texts[i], 0.0
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(doc) / tables.average_text)
        for feat, weight in query.items():
            tf = doc.count(feat)
            if tf:
                total += weight * tf * (BM25_K1 + 1) / (tf + norm)
        out[i] = total
    return out
