"""Try the review's snippets on the FAQ before staff paste them: what `faq check` would say.

Phrasings added to an entry go live as soon as they are pasted, so each must pass the
checks the bot applies to every FAQ (`faq/checks.py`): it must reach its own entry, must not
pull a phrasing away from the entries near it (the matcher's top candidates for it: checking
every phrasing of a 1,000-entry FAQ would take minutes), and must not break a regression
question of tests.yaml.
A draft entry answers nobody until staff finish it, so it cannot break anything as pasted;
tried as if finished, its wordings that would reach another entry are dropped, and the
tests.yaml questions it would answer against tests.yaml are named in it for staff to decide.
A referral draft goes to referrals.yaml, which none of these checks reads: it is not tried.

The trial is the FAQ with every plan applied, indexed as `faq check` would index it; what
fails is put down to the plan whose entry took the question, a phrasing at a time (the most
similar one), until nothing fails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

from rapidfuzz import fuzz

from servicebot.faq import Entry, Faq, RegressionCase
from servicebot.faq.checks import outcome_label
from servicebot.matching import Index, Match
from servicebot.records import Status
from servicebot.review.drafting import DRAFT_ANSWER, DRAFT_SOURCE, Kind, Plan

ROUNDS = 4  # tries; a plan still breaking something after them is dropped
NEAR = 4  # a new phrasing may pull phrasings away from the entries this near it (the matcher's top candidates)


def verify(index: Index, plans: list[Plan | None], today: dt.date) -> list[Plan | None]:
    """The plans, with what would fail `faq check` taken out (see the module docstring)."""
    referrals = [plan if plan is not None and plan.kind == Kind.REFERRAL else None for plan in plans]
    current = [None if referral is not None else plan for plan, referral in zip(plans, referrals)]
    before = {case.question: outcome_label(index, case.question) for case in index.faq.tests}
    for attempt in range(ROUNDS):
        trial = Index(_applied(index.faq, current, today), index.normalize, index.thresholds)
        drops, conflicts = _failures(trial, index, current, before)
        late = attempt >= ROUNDS - 2  # a plan still to blame this late is left out, not trimmed again
        current = [
            None
            if late and n in drops and plan is not None and plan.kind == Kind.ALTERNATES
            else _with(plan, drops.get(n, set()), conflicts.get(n, ()))
            for n, plan in enumerate(current)
        ]
        if not drops:
            break
    return [referral or plan for plan, referral in zip(current, referrals)]


def _with(plan: Plan | None, dropped: set[str], conflicts: tuple[RegressionCase, ...]) -> Plan | None:
    if plan is None:
        return None
    kept = tuple(p for p in plan.phrasings if p not in dropped)
    if not kept:
        return None
    known = {c.question for c in plan.conflicts}
    extra = tuple(c for c in conflicts if c.question not in known)
    return dataclasses.replace(plan, phrasings=kept, conflicts=plan.conflicts + extra)


def _applied(faq: Faq, plans: list[Plan | None], today: dt.date) -> Faq:
    """The FAQ as it would be with every plan pasted, and every draft finished."""
    added: dict[str, list[str]] = defaultdict(list)
    drafts = []
    topic_of = {t.file: t.name for t in faq.topics}
    for plan in plans:
        if plan is None:
            continue
        if plan.kind == Kind.ALTERNATES:
            added[plan.entry_id] += plan.phrasings
        else:
            question, *others = plan.phrasings
            drafts.append(
                Entry(
                    plan.entry_id,
                    question,
                    tuple(others),
                    plan.staff.answer if plan.staff else DRAFT_ANSWER,
                    DRAFT_SOURCE,
                    today,
                    topic_of.get(plan.file, ""),
                    file=plan.file,
                )
            )
    entries = [
        dataclasses.replace(e, alternates=(*e.alternates, *added[e.id])) if e.id in added else e for e in faq.entries
    ]
    # A new Faq, not dataclasses.replace: that would hand the original's by_id dict to the copy.
    return Faq(
        entries=(*entries, *drafts),
        topics=faq.topics,
        synonyms=faq.synonyms,
        contact=faq.contact,
        tests=faq.tests,
        files=faq.files,
    )


def _failures(
    trial: Index, index: Index, plans: list[Plan | None], before: dict[str, str]
) -> tuple[dict[int, set[str]], dict[int, tuple[RegressionCase, ...]]]:
    """Per plan: phrasings to drop, and regression questions its finished draft would answer."""
    owners: dict[str, list[int]] = defaultdict(list)  # planned entry id → its plans' numbers
    for n, plan in enumerate(plans):
        if plan is not None:
            owners[plan.entry_id].append(n)
    drops: dict[int, set[str]] = defaultdict(set)
    conflicts: dict[int, list[RegressionCase]] = defaultdict(list)

    def taker(match: Match) -> str | None:
        """The planned entry that took a question: the one answering it, else the best candidate."""
        if match.status == Status.ANSWERED and match.entry_id in owners:
            return match.entry_id
        return next((c.entry_id for c in match.candidates if c.entry_id in owners), None)

    def blame(question: str, entry_id: str) -> None:
        """Drop the new phrasing closest to `question` from the plans of the entry that took it."""
        target = trial.normalize(question)
        phrasings = [(n, p) for n in owners[entry_id] for p in plans[n].phrasings]  # type: ignore[union-attr]
        n, closest = max(phrasings, key=lambda np: fuzz.ratio(trial.normalize(np[1]), target))
        drops[n].add(closest)

    # New phrasings must reach their own entry ...
    near: set[str] = set()  # ... and the entries near them keep their own phrasings.
    for n, plan in enumerate(plans):
        for text in plan.phrasings if plan is not None else ():
            match = trial.match(text)
            if (match.status, match.entry_id) != (Status.ANSWERED, plan.entry_id):  # type: ignore[union-attr]
                drops[n].add(text)
            near.update(c.entry_id for c in match.candidates[:NEAR] if c.entry_id in index.position)
    for entry_id in sorted(near):
        for text in index.faq.by_id[entry_id].phrasings:
            match = trial.match(text)
            took = taker(match)
            if (match.status, match.entry_id) != (Status.ANSWERED, entry_id) and took:
                blame(text, took)
    # Regression questions that passed must still pass; a finished draft answering one is named.
    for case in index.faq.tests:
        match = trial.match(case.question)
        got = match.entry_id if match.status == Status.ANSWERED and match.entry_id else match.status
        took = taker(match)
        if got == case.expect or got == before.get(case.question) != case.expect or took is None:
            continue
        drafts = [n for n in owners[took] if plans[n].kind == Kind.NEW_ENTRY]  # type: ignore[union-attr]
        if drafts:
            conflicts[drafts[0]].append(case)
        else:
            blame(case.question, took)
    return dict(drops), {n: tuple(cases) for n, cases in conflicts.items()}
