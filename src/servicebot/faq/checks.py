"""Checks that need more than the YAML: the rendered replies and the matcher.

`faq check`, `/reload` and the live reloader all pass a FAQ through `check_directory`, so
what one accepts the others accept: a FAQ is refused when it doesn't validate, when an
answer is too long to send, when one of its own phrasings would reach another entry, or
when it breaks a staff regression question. Lint that only advises (look-alike entries,
a synonym that moved a question) is reported as warnings.

A reload also compares the new FAQ with the one being served (`find_removal`): entries or
regression questions it drops are named to staff, because a file cut short at an entry
boundary is valid YAML and would otherwise pass every check above.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from servicebot.answering.replies import MAX_ANSWER_CHARS, answer_text
from servicebot.answering.text import Normalizer, base_normalize
from servicebot.answering.words import Segmenter
from servicebot.config import Settings
from servicebot.errors import FaqError, Problem, Severity
from servicebot.faq import (
    GARBAGE_ITEMS_FILE,
    REFERRALS_FILE,
    SETTINGS_FILE,
    Entry,
    Faq,
    RegressionCase,
    check_faq,
    verdicts,
)
from servicebot.matching import Candidate, Index, Match, Thresholds
from servicebot.records import Status

# What staff read about these checks (str.format templates; tests name them, not their words).
ANSWER_TOO_LONG = (
    "条目 {id} 的回答太长：显示出来有 {length} 个字，Telegram 一条消息最多 {limit} 个字，请精简或拆成两个条目"
)
REGRESSION_FAILED = "测试问题“{question}”应得到 {expect}，实际得到 {got}"
PHRASING_ASTRAY = "条目 {id} 的问法“{text}”{what}。{fix}"
REACHES_OTHER = "却匹配到了条目 {other}（{file}）"
FIX_REACHES_OTHER = "请把这个问法改得更具体，或从 {other} 中删除相近的问法"
TIED_WITH = "和条目 {other}（{file}）难分高下，机器人只能让居民自己选"
FIX_TIED = "请把两个条目的问法写得更有区别，或合并这两个条目"
REACHES_NOTHING = "匹配不到任何条目（可能全是标点或常用词）"
FIX_REACHES_NOTHING = "请写得更具体一些"
LOOKALIKE = (
    "条目 {id} 和 {other} 非常相似，居民提问时容易拿到另一个回答；请确认两者确实不同，并让问法更有区别"
    "（例如“{text}”和 {other} 的“{phrasing}”几乎一样）"
)
SYNONYM_MOVES = "同义词组 [{group}] 让问题“{question}”从条目 {before} {now}；如果这不是想要的，请调整这组同义词"
MOVED_TO = "改为匹配 {entry}"
LOST: dict[str, str] = {Status.SUGGEST: "变成了难分高下（要居民自己选）", Status.UNANSWERED: "变成了答不上来"}
REMOVED = "这次修改删除了 {count} 个{what}：{names}。如果不是有意删除，请检查文件是否保存完整，把它们补回来"
HELD_BACK = (
    "这次修改会删除 {count} 个{what}（原有 {total} 个）：{names}。一次删除这么多，像是文件没有保存完整，"
    "所以没有自动生效。如果确实要删除，请发送 /reload（或重启机器人）让修改生效；如果不是，请把文件恢复完整后再保存"
)
ENTRIES = "条目"
TESTS = "测试问题"
MATTERS = "转介事项"
ITEMS = "垃圾分类物品"
MORE_NAMES = "……"


# Rendered length of each entry still in use: a reload renders only new or edited entries
# (unchanged files give back the very same Entry objects from the parse cache).
_RENDERED: weakref.WeakKeyDictionary[Entry, int] = weakref.WeakKeyDictionary()


def rendered_length(entry: Entry) -> int:
    """Characters the answer takes once rendered for residents (`replies.answer_text`)."""
    length = _RENDERED.get(entry)
    if length is None:
        length = _RENDERED[entry] = len(answer_text(entry))
    return length


def answer_length_problems(entries: Iterable[Entry]) -> list[Problem]:
    """An answer must fit in one message once rendered, on every channel."""
    problems = []
    for entry in entries:
        length = rendered_length(entry)
        if length > MAX_ANSWER_CHARS:
            problems.append(
                Problem(
                    entry.file,
                    entry.line,
                    ANSWER_TOO_LONG.format(id=entry.id, length=length, limit=MAX_ANSWER_CHARS),
                )
            )
    return problems


def validate(
    directory: Path, settings: Settings, *, today: dt.date | None = None, cached: bool = True
) -> tuple[Faq | None, list[Problem]]:
    """The FAQ directory validated in full, including how its answers render: (Faq or None, problems).

    `cached=False` skips the on-disk parse cache (for FAQ versions that are not the one served).
    """
    return check_faq(
        directory,
        today=today,
        stale_days=settings.stale_days,
        cache_dir=settings.cache_dir if cached else None,
        entry_checks=answer_length_problems,
    )


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(answer=settings.answer_threshold, suggest=settings.suggest_threshold)


def build_index(
    faq: Faq, settings: Settings, synonyms=None, segmenter: Segmenter | None = None, *, keep: bool = True
) -> Index:
    """The matcher's index of `faq`; `keep=False` for a FAQ not served (`faq diff`'s two sides),
    whose index must not push the served one out of the cache."""
    name = verdicts.index_key(faq)
    if name is None or synonyms is not None or segmenter is not None:  # the synonym lint's variants: never kept
        groups = faq.synonyms if synonyms is None else synonyms
        return Index(faq, Normalizer(groups), thresholds(settings), segmenter=segmenter)
    # The index of an unchanged FAQ is read back from the cache directory (verdicts.py).
    built = verdicts.recall_index(settings.cache_dir, name)
    index = Index(faq, Normalizer(faq.synonyms), thresholds(settings), built=built)
    if built is None and keep:
        verdicts.remember_index(settings.cache_dir, name, index.built())
    return index


def outcome_label(index: Index, question: str) -> str:
    """The entry id a question reaches when answered, else its status."""
    match = index.match(question)
    return match.entry_id if match.status == Status.ANSWERED and match.entry_id else match.status


@dataclass(frozen=True)
class CaseResult:
    case: RegressionCase
    got: str

    @property
    def passed(self) -> bool:
        # "unanswered" means: no FAQ entry answers it; telling the resident where to go is no answer.
        return self.got == self.case.expect or (self.case.expect == Status.UNANSWERED and self.got == Status.REFERRAL)


def run_regression(index: Index) -> list[CaseResult]:
    return [CaseResult(case, outcome_label(index, case.question)) for case in index.faq.tests]


def regression_problems(results: list[CaseResult]) -> list[Problem]:
    return [
        Problem(
            r.case.file,
            r.case.line,
            REGRESSION_FAILED.format(question=r.case.question, expect=r.case.expect, got=r.got),
        )
        for r in results
        if not r.passed
    ]


# A rival phrasing this close in plain wording (rapidfuzz ratio of the normalized texts) is
# the same question asked twice. Short forms like 低保 are covered by longer rivals but are
# not look-alikes: their own entry wins them on closeness.
LOOKALIKE_WORDING = 80


def _rival(match: Match, entry_id: str) -> Candidate | None:
    """The best candidate that is not the entry itself."""
    return next((c for c in match.candidates if c.entry_id != entry_id), None)


def consistency_problems(index: Index) -> list[Problem]:
    """Every phrasing must reach its own entry; near-identical entries are flagged."""
    problems = []
    for entry in index.faq.entries:
        lookalike: tuple[Candidate, str] | None = None
        for k, text in enumerate(entry.phrasings):
            match = index.match(text)
            rival = _rival(match, entry.id)
            if match.status == Status.ANSWERED and match.entry_id == entry.id:
                if (
                    rival
                    and rival.score >= index.thresholds.answer
                    and lookalike is None
                    and (fuzz.ratio(index.normalize(text), index.normalize(rival.phrasing)) >= LOOKALIKE_WORDING)
                ):
                    lookalike = (rival, text)
                continue
            if match.status == Status.ANSWERED and match.entry_id:
                what = REACHES_OTHER.format(other=match.entry_id, file=index.faq.by_id[match.entry_id].file)
                fix = FIX_REACHES_OTHER.format(other=match.entry_id)
            elif rival:
                what = TIED_WITH.format(other=rival.entry_id, file=index.faq.by_id[rival.entry_id].file)
                fix = FIX_TIED
            else:
                what, fix = REACHES_NOTHING, FIX_REACHES_NOTHING
            message = PHRASING_ASTRAY.format(id=entry.id, text=text, what=what, fix=fix)
            problems.append(Problem(entry.file, entry.phrasing_line(k), message))
        if lookalike:
            rival, text = lookalike
            problems.append(
                Problem(
                    entry.file,
                    entry.line,
                    LOOKALIKE.format(id=entry.id, other=rival.entry_id, text=text, phrasing=rival.phrasing),
                    Severity.WARNING,
                )
            )
    return problems


def synonym_problems(faq: Faq, settings: Settings, base: Index) -> list[Problem]:
    """For each synonym group: which existing questions it moves from one entry to another."""
    questions = [p for e in faq.entries for p in e.phrasings] + [c.question for c in faq.tests]
    plain = [base_normalize(q) for q in questions]
    problems = []
    for i, group in enumerate(faq.synonyms):
        # Only questions that contain one of the group's words can move because of it.
        words = [w for w in map(base_normalize, group) if w]
        touched = [q for q, text in zip(questions, plain) if any(w in text for w in words)]
        if not touched:
            continue
        # The same segmenter: a copy of jieba's dictionary per group would cost a tenth of a
        # second each, and one synonym more or less in it does not move the lint's verdicts.
        without = build_index(faq, settings, faq.synonyms[:i] + faq.synonyms[i + 1 :], base.segmenter)
        for q in touched:
            before, after = outcome_label(without, q), outcome_label(base, q)
            if before != after and before in faq.by_id:
                now = MOVED_TO.format(entry=after) if after in faq.by_id else LOST.get(after, after)
                problems.append(
                    Problem(
                        SETTINGS_FILE,
                        faq.synonym_lines[i] if i < len(faq.synonym_lines) else 0,
                        SYNONYM_MOVES.format(group=", ".join(group), question=q, before=before, now=now),
                        Severity.WARNING,
                    )
                )
    return problems


@dataclass
class Report:
    faq: Faq | None
    index: Index | None
    problems: list[Problem] = field(default_factory=list)
    regression: list[CaseResult] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


def check_directory(
    directory: Path, settings: Settings, *, lint_synonyms: bool = False, today: dt.date | None = None
) -> Report:
    faq, problems = validate(directory, settings, today=today)
    if faq is None:
        return Report(None, None, sorted(problems))
    index = build_index(faq, settings)
    # The matcher's verdict on an unchanged FAQ is read back (verdicts.py).
    name = verdicts.key(faq, thresholds(settings), lint_synonyms)
    known = verdicts.recall(settings.cache_dir, name) if name else None
    if known is not None and len(known[0]) == len(faq.tests):
        outcomes, found = known
        statuses = {str(status): status for status in Status}
        regression = [CaseResult(case, statuses.get(got, got)) for case, got in zip(faq.tests, outcomes, strict=True)]
    else:
        regression = run_regression(index)
        found = consistency_problems(index) + regression_problems(regression)
        if lint_synonyms:
            found += synonym_problems(faq, settings, index)
        if name:
            verdicts.remember(settings.cache_dir, name, [str(r.got) for r in regression], found)
    return Report(faq, index, sorted(problems + found), regression)


# An automatic reload that drops more than this share of the served entries, or of the
# regression questions, is held back as a likely half-saved file (see `Removal.looks_half_saved`).
HALF_SAVED_SHARE = 0.2
MAX_NAMES = 50  # names listed per message; the log line has them all


@dataclass(frozen=True)
class Removal:
    """What a new FAQ drops compared with the one served: entries by id, regression questions by
    text, referral matters by id and garbage items by name (each list is a file staff edit)."""

    entries: tuple[Entry, ...] = ()
    tests: tuple[RegressionCase, ...] = ()
    entries_before: int = 0
    tests_before: int = 0
    matters: tuple[str, ...] = ()  # referrals.yaml
    matters_before: int = 0
    items: tuple[str, ...] = ()  # garbage-items.yaml
    items_before: int = 0

    def __bool__(self) -> bool:
        return bool(self.entries or self.tests or self.matters or self.items)

    @property
    def looks_half_saved(self) -> bool:
        """More than one item and more than a fifth of either kind gone at once.

        A single removal is always allowed: deleting one entry is the common deliberate edit,
        and a file cut after its second-to-last item looks exactly like it (it is named anyway).
        """
        kinds: tuple[tuple[tuple[object, ...], int], ...] = (
            (self.entries, self.entries_before),
            (self.tests, self.tests_before),
            (self.matters, self.matters_before),
            (self.items, self.items_before),
        )
        return any(len(gone) > 1 and len(gone) > HALF_SAVED_SHARE * before for gone, before in kinds)

    def __str__(self) -> str:
        """For the log, in one line: `2 entries (a, b) and 1 regression question ('…')`."""
        parts = []
        if self.entries:
            parts.append(f"{_plural(len(self.entries), 'entry', 'entries')} ({', '.join(e.id for e in self.entries)})")
        if self.tests:
            questions = ", ".join(repr(c.question) for c in self.tests)
            parts.append(f"{_plural(len(self.tests), 'regression question', 'regression questions')} ({questions})")
        if self.matters:
            parts.append(f"{_plural(len(self.matters), 'referral', 'referrals')} ({', '.join(self.matters)})")
        if self.items:
            parts.append(f"{_plural(len(self.items), 'garbage item', 'garbage items')} ({', '.join(self.items)})")
        return " and ".join(parts) or "nothing"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def find_removal(old: Faq, new: Faq) -> Removal:
    """Entries of `old` whose id `new` lacks, and regression questions `new` no longer asks."""
    asked = {case.question for case in new.tests}
    old_matters, new_matters = _matter_ids(old), set(_matter_ids(new))
    old_items, new_items = _item_names(old), set(_item_names(new))
    return Removal(
        entries=tuple(e for e in old.entries if e.id not in new.by_id),
        tests=tuple(c for c in old.tests if c.question not in asked),
        entries_before=len(old.entries),
        tests_before=len(old.tests),
        matters=tuple(m for m in old_matters if m not in new_matters),
        matters_before=len(old_matters),
        items=tuple(i for i in old_items if i not in new_items),
        items_before=len(old_items),
    )


def _matter_ids(faq: Faq) -> list[str]:
    return [m.id for m in faq.referrals.matters] if faq.referrals else []


def _item_names(faq: Faq) -> list[str]:
    return [i.name for i in faq.garbage.items] if faq.garbage else []


def removal_problems(removal: Removal, *, held_back: bool = False) -> list[Problem]:
    """One message per file that loses something, naming what it loses.

    Applied: warnings (staff read them with the reload's result). Held back: errors, saying why
    and how to apply the edit on purpose.
    """
    template, severity = (HELD_BACK, Severity.ERROR) if held_back else (REMOVED, Severity.WARNING)
    kinds = (
        (ENTRIES, removal.entries_before, [(e.file, e.id) for e in removal.entries]),
        (TESTS, removal.tests_before, [(c.file, f"“{c.question}”") for c in removal.tests]),
        (MATTERS, removal.matters_before, [(REFERRALS_FILE, m) for m in removal.matters]),
        (ITEMS, removal.items_before, [(GARBAGE_ITEMS_FILE, i) for i in removal.items]),
    )
    problems = []
    for what, total, located in kinds:
        for file in dict.fromkeys(f for f, _ in located):
            names = [name for f, name in located if f == file]
            shown = "、".join(names[:MAX_NAMES]) + (MORE_NAMES if len(names) > MAX_NAMES else "")
            message = template.format(count=len(names), what=what, total=total, names=shown)
            problems.append(Problem(file, 0, message, severity))
    return problems


def load_validated(settings: Settings) -> tuple[Faq, Index]:
    """A FAQ that validates, indexed, without the regression and lint gate.

    For staff tools (`ask --explain`, `eval`) that must work exactly when a regression
    question fails, to show why.
    """
    faq, problems = validate(settings.faq_dir, settings)
    if faq is None:
        raise FaqError([p for p in problems if p.is_error])
    return faq, build_index(faq, settings)


def build_snapshot(settings: Settings) -> tuple[Faq, Index]:
    """The FAQ the bot may serve, or FaqError listing why not."""
    report = check_directory(settings.faq_dir, settings)
    if report.errors or report.faq is None or report.index is None:
        raise FaqError(report.errors)
    return report.faq, report.index
