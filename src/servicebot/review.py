"""Turns the interaction log into work for the staff who edit the FAQ.

`servicebot review` groups what residents asked that the bot could not answer outright
(unanswered and "did you mean" questions), ranks the groups by how many residents asked,
shows the nearest FAQ entry and, with ``--suggest-yaml``, the YAML to paste so those
questions are answered next time; it also lists the answers residents rated 👎.
`servicebot stats` gives the usage numbers. Reports are for office staff, so headings are
Chinese and times are China time (UTC+8).

Grouping: each distinct question is normalized with the FAQ's own Normalizer, reduced to
its content words (question words such as 怎么 / 在哪里 / 什么 carry no topic), and joined to
the first earlier, more-asked group it resembles (rapidfuzz ratio >= CLUSTER_THRESHOLD).
Identical texts are merged first, so 100,000 rows cost what their distinct texts cost.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import html
import io
import json
import math
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import yaml
from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz, process

from servicebot import checks
from servicebot.config import Settings
from servicebot.errors import ConfigError
from servicebot.faq import UNANSWERED as EXPECT_UNANSWERED, Entry, Faq, check_faq, question_key
from servicebot.matching import ANSWERED, SUGGEST, UNANSWERED, Index, Match
from servicebot.storage import CHINA_TZ, DayCounts, LogReader, QuestionRow, RatedRow

CLUSTER_THRESHOLD = 70.0  # rapidfuzz ratio between content keys to share a group (60 merged 出生证明 with 残疾证)
MAX_EXAMPLES = 3
MAX_YAML_CHARS = 60  # a longer message is a story, not a phrasing worth adding to the FAQ
TABLE_CLUSTERS = 50  # the terminal table lists this many groups; csv/json/html list all
TOP_ENTRIES = 10

# Words that ask rather than say what about; removed only to compare questions.
QUESTION_WORDS = (
    "怎么样",
    "怎么办",
    "怎么",
    "怎样",
    "如何",
    "为什么",
    "为啥",
    "什么时候",
    "什么",
    "啥",
    "在哪里",
    "在哪儿",
    "在哪",
    "哪里",
    "哪儿",
    "哪个",
    "哪些",
    "哪",
    "多少",
    "几点",
    "是不是",
    "能不能",
    "可不可以",
    "可以",
    "有没有",
    "需要",
    "请问",
    "我想",
    "我们",
    "我",
)
_QUESTION_WORDS_RE = re.compile("|".join(map(re.escape, sorted(QUESTION_WORDS, key=len, reverse=True))))
# What privacy.mask_personal leaves behind: such a message is one resident's own case.
_MASKED_RE = re.compile(r"\[(?:身份证号|手机号|电话|数字)\]")

STATUS_LABELS = {ANSWERED: "直接回答", SUGGEST: "给出建议", UNANSWERED: "未能回答"}
NO_SNIPPET = "没有可加的问法（已在 FAQ 中、现在已能回答、含个人信息、太长，或 tests.yaml 规定不回答）"
VIA_LABELS = {"topic": "（从主题菜单点选）", "related": "（从相关条目点选）"}


# --- the period --------------------------------------------------------------------------

_SPAN_RE = re.compile(r"^\s*(\d+)\s*([dh])\s*$", re.I)


@dataclass(frozen=True)
class Period:
    since: dt.datetime
    until: dt.datetime

    @property
    def label(self) -> str:
        return f"{_clock(self.since, '%Y-%m-%d %H:%M')} 至 {_clock(self.until, '%Y-%m-%d %H:%M')}（北京时间）"

    def days(self) -> list[dt.date]:
        first, last = self.since.astimezone(CHINA_TZ).date(), self.until.astimezone(CHINA_TZ).date()
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def parse_period(since: str, now: dt.datetime | None = None) -> Period:
    """`7d`, `24h` back from now, or a date (`2026-11-01`, from its start in China time)."""
    now = now or dt.datetime.now(CHINA_TZ)
    unreadable = ConfigError(f"--since {since!r} 看不懂：请写成 7d（7 天）、24h（24 小时）或 2026-11-01 这样的日期")
    span = _SPAN_RE.match(since)
    try:
        if span:
            amount, unit = int(span.group(1)), span.group(2).lower()
            start = now - dt.timedelta(**{"days" if unit == "d" else "hours": amount})
        else:
            start = dt.datetime.combine(dt.date.fromisoformat(since.strip()), dt.time(), CHINA_TZ)
            start.astimezone(dt.timezone.utc)  # 0001-01-01 in China time is before year 1 in UTC
    except (ValueError, OverflowError):
        raise unreadable from None
    if start > now:
        raise ConfigError(f"--since {since!r} 在将来：请写今天或以前的日期")
    return Period(start, now)


def _clock(moment: dt.datetime, fmt: str = "%m-%d %H:%M") -> str:
    return moment.astimezone(CHINA_TZ).strftime(fmt)


# --- grouping ----------------------------------------------------------------------------


def content_key(normalized: str) -> str:
    """The words that say what a question is about: 社区医院几点开门 → 社区医院开门."""
    return _QUESTION_WORDS_RE.sub("", normalized) or normalized


def display_text(question: str) -> str:
    return " ".join(question.split())


@dataclass
class _Tally:
    """Counts for one set of questions; merged upwards from texts to groups."""

    count: int = 0
    residents: set[str] = field(default_factory=set)
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    statuses: Counter = field(default_factory=Counter)
    refs: list[str] = field(default_factory=list)
    phrasings: dict[str, Counter] = field(default_factory=dict)  # normalized text → written form → n

    def add_row(self, row: QuestionRow) -> None:
        self.count += 1
        if row.resident:
            self.residents.add(row.resident)
        self.first = row.at if self.first is None or row.at < self.first else self.first
        self.last = row.at if self.last is None or row.at > self.last else self.last
        self.statuses[row.status] += 1
        self.refs.append(row.ref)

    def merge(self, other: "_Tally") -> None:
        self.count += other.count
        self.residents |= other.residents
        self.first = min(t for t in (self.first, other.first) if t is not None)
        self.last = max(t for t in (self.last, other.last) if t is not None)
        self.statuses.update(other.statuses)
        self.refs += other.refs
        for key, forms in other.phrasings.items():
            self.phrasings.setdefault(key, Counter()).update(forms)

    @property
    def rank_key(self) -> tuple:
        return (-len(self.residents), -self.count, -(self.last.timestamp() if self.last else 0.0))

    def examples(self, n: int = MAX_EXAMPLES) -> tuple[str, ...]:
        """The most frequent phrasings that differ after normalization, each in its most
        frequent written form (the shortest on a tie: fewer fillers)."""
        shown = [min(forms, key=lambda f: (-forms[f], len(f), f)) for forms in self.phrasings.values()]
        counts = [sum(forms.values()) for forms in self.phrasings.values()]
        ranked = sorted(zip(counts, shown), key=lambda cs: (-cs[0], len(cs[1]), cs[1]))
        return tuple(text for _, text in ranked[:n])


def _by_text(rows: Iterable[QuestionRow]) -> dict[str, _Tally]:
    texts: dict[str, _Tally] = defaultdict(_Tally)
    for row in rows:
        texts[row.question].add_row(row)
    return texts


def group_questions(
    rows: Iterable[QuestionRow],
    normalize_many: Callable[[list[str]], list[str]],
    threshold: float = CLUSTER_THRESHOLD,
) -> list[_Tally]:
    """Questions → groups of similar questions, most residents first."""
    texts = _by_text(rows)
    raw = list(texts)
    by_key: dict[str, _Tally] = {}
    for text, normalized in zip(raw, normalize_many(raw)):
        if not normalized:
            continue  # only emoji or punctuation: nothing to review
        tally = texts[text]
        tally.phrasings = {normalized: Counter({display_text(text): tally.count})}
        key = content_key(normalized)
        if key in by_key:
            by_key[key].merge(tally)
        else:
            by_key[key] = tally
    leaders: list[str] = []
    groups: list[_Tally] = []
    for key in sorted(by_key, key=lambda k: (*by_key[k].rank_key, k)):
        hit = process.extractOne(key, leaders, scorer=fuzz.ratio, score_cutoff=threshold) if leaders else None
        if hit is None:
            leaders.append(key)
            groups.append(by_key[key])
        else:
            groups[hit[2]].merge(by_key[key])
    groups.sort(key=lambda g: g.rank_key)
    return groups


# --- report rows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """YAML to paste into the FAQ and where to paste it."""

    action: str  # "alternates": add phrasings to an entry; "new-entry": a skeleton to fill in
    entry_id: str
    file: str
    after_line: int | None  # paste after this line of `file` (as it is now)
    where: str  # the instruction, in Chinese
    yaml: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Cluster:
    rank: int
    residents: int
    count: int
    unanswered: int
    suggest: int
    first: dt.datetime
    last: dt.datetime
    examples: tuple[str, ...]
    nearest_id: str | None
    nearest_question: str | None
    nearest_score: float
    now: str  # what the current FAQ does with the top example
    chosen: tuple[tuple[str, int], ...]  # suggestions residents tapped afterwards, most first
    rejected: int  # times residents pressed 都不是
    suggestion: Suggestion | None = None


@dataclass(frozen=True)
class Unhelpful:
    entry_id: str
    entry_question: str
    down: int
    up: int
    questions: tuple[tuple[str, int], ...]  # what residents asked before the 👎, most first
    last: dt.datetime


@dataclass(frozen=True)
class ReviewReport:
    period: Period
    generated: dt.datetime
    totals: dict[str, int]
    daily: tuple[DayCounts, ...]
    clusters: tuple[Cluster, ...]
    unhelpful: tuple[Unhelpful, ...]
    suggest_yaml: bool


def _followups(reader: LogReader, period: Period) -> dict[str, Counter]:
    """origin ref → what the resident did next (tapped entry id, or "none")."""
    after: dict[str, Counter] = defaultdict(Counter)
    for origin, via, entry_id in reader.followups(period.since, period.until):
        after[origin][entry_id if via == "suggestion" else "none"] += 1
    return after


def _cluster(
    rank: int, tally: _Tally, index: Index, match_text: Callable[[str], Match], after: dict[str, Counter]
) -> Cluster:
    examples = tally.examples()
    match = match_text(examples[0])
    top = match.candidates[0] if match.candidates else None
    next_steps: Counter = Counter()
    for ref in tally.refs:
        next_steps.update(after.get(ref, ()))
    rejected = next_steps.pop("none", 0)
    assert tally.first is not None and tally.last is not None
    return Cluster(
        rank=rank,
        residents=len(tally.residents),
        count=tally.count,
        unanswered=tally.statuses[UNANSWERED],
        suggest=tally.statuses[SUGGEST],
        first=tally.first,
        last=tally.last,
        examples=examples,
        nearest_id=top.entry_id if top else None,
        nearest_question=index.faq.by_id[top.entry_id].question if top else None,
        nearest_score=top.score if top else 0.0,
        now=match.status,
        chosen=tuple(sorted(next_steps.items(), key=lambda kv: (-kv[1], kv[0]))),
        rejected=rejected,
    )


def unhelpful_answers(rated: Iterable[RatedRow], faq: Faq) -> list[Unhelpful]:
    """Entries that got 👎, most 👎 first, with the questions that led to them."""
    down: dict[str, Counter] = defaultdict(Counter)
    up: Counter = Counter()
    last: dict[str, dt.datetime] = {}
    for row in rated:
        entry_id = row.entry_id or "?"
        if row.positive:
            up[entry_id] += 1
            continue
        asked = (
            display_text(row.question)
            if row.via in ("question", "suggestion")
            else VIA_LABELS.get(row.via, row.question)
        )
        down[entry_id][asked] += 1
        last[entry_id] = max(last.get(entry_id, row.at), row.at)
    rows = [
        Unhelpful(
            entry_id,
            faq.by_id[entry_id].question if entry_id in faq.by_id else "（条目已删除）",
            sum(asked.values()),
            up[entry_id],
            tuple(sorted(asked.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_EXAMPLES]),
            last[entry_id],
        )
        for entry_id, asked in down.items()
    ]
    return sorted(rows, key=lambda r: (-r.down, r.up, r.entry_id))


def build_review(
    reader: LogReader,
    index: Index,
    period: Period,
    *,
    answer_threshold: float,
    suggest_yaml: bool = False,
    faq_dir: Path | None = None,
    today: dt.date | None = None,
) -> ReviewReport:
    faq = index.faq
    match_text = functools.lru_cache(maxsize=None)(index.match)  # the snippets ask again about the same texts
    groups = group_questions(reader.question_rows(period.since, period.until), index.normalize.many)
    after = _followups(reader, period)
    clusters = [_cluster(rank, tally, index, match_text, after) for rank, tally in enumerate(groups, 1)]
    if suggest_yaml:
        today = today or dt.datetime.now(CHINA_TZ).date()
        writer = SnippetWriter(index, answer_threshold, faq_dir, today, match_text)
        clusters = [replace(c, suggestion=writer.suggest(c)) for c in clusters]
    return ReviewReport(
        period=period,
        generated=dt.datetime.now(CHINA_TZ),
        totals=reader.totals(period.since, period.until),
        daily=tuple(reader.daily(period.since, period.until)),
        clusters=tuple(clusters),
        unhelpful=tuple(unhelpful_answers(reader.rated(period.since, period.until), faq)),
        suggest_yaml=suggest_yaml,
    )


# --- ready-to-paste YAML -----------------------------------------------------------------


_PLAIN_RE = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@`\s][^\x00-\x1f\x7f\x85\u2028\u2029\ufeff]*")
_RESOLVER = yaml.resolver.Resolver()


def _plain_is_safe(text: str) -> bool:
    """Written bare, `text` reads back as this very string (the common case, decided fast)."""
    return (
        _PLAIN_RE.fullmatch(text) is not None
        and ": " not in text
        and " #" not in text
        and text[-1] not in ": "
        and text.isprintable()
        and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"
    )


def yaml_scalar(text: str) -> str:
    """A one-line YAML scalar: plain when safe, quoted when YAML would misread it."""
    if _plain_is_safe(text):
        return text
    dumped = yaml.safe_dump(text, allow_unicode=True, width=math.inf, default_style='"')
    return dumped.rstrip("\n")


# What a pasted, not yet edited new entry tells residents: honest, and true whatever they asked.
NEW_ENTRY_ANSWER = "这个问题本问答还没有收录详细答复，请到所在社区居委会或凤凰办事处咨询。"


def placeholder_id(text: str, taken: set[str]) -> str:
    """todo-<pinyin of the first words>, unique: an id that passes the check but asks to be renamed."""
    parts = [re.sub(r"[^a-z0-9]", "", p.lower()) for p in lazy_pinyin(text, style=Style.NORMAL, errors="default")]
    base = "-".join(["todo", *[p for p in parts if p][:4]])
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


@dataclass(frozen=True)
class _Spot:
    indent: int  # column of the "-" of the list's items
    after_line: int  # 1-based line of the list's last item
    last_text: str


def _last_line(node: yaml.Node) -> int:
    """1-based last line of a composed node's content."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value:
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    end = node.end_mark
    return end.line + (1 if end.column > 0 else 0)


def _block_list_spot(node: yaml.Node | None, lines: list[str]) -> _Spot | None:
    if not isinstance(node, yaml.SequenceNode) or node.flow_style or not node.value:
        return None
    first = node.value[0].start_mark
    dash = lines[first.line].rfind("-", 0, first.column)
    after = _last_line(node)
    return _Spot(dash, after, lines[after - 1].strip()) if dash >= 0 else None


def _mapping_get(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


class _FaqLayout:
    """Where things are in the staff's files, so snippets match their indentation and lines."""

    def __init__(self, faq_dir: Path | None):
        self.faq_dir = faq_dir
        self._files: dict[str, tuple[yaml.Node | None, list[str]]] = {}

    def _file(self, name: str) -> tuple[yaml.Node | None, list[str]]:
        if name not in self._files:
            try:
                text = (self.faq_dir / name).read_text(encoding="utf-8-sig") if self.faq_dir else ""
                self._files[name] = (yaml.compose(text, Loader=yaml.SafeLoader), text.splitlines())
            except (OSError, yaml.YAMLError):
                self._files[name] = (None, [])
        return self._files[name]

    def entries(self, file: str) -> _Spot | None:
        root, lines = self._file(file)
        return _block_list_spot(_mapping_get(root, "entries"), lines) if root else None

    def alternates(self, file: str, entry_id: str) -> _Spot | None:
        root, lines = self._file(file)
        items = _mapping_get(root, "entries") if root else None
        for item in getattr(items, "value", None) or ():
            node = _mapping_get(item, "id")
            if isinstance(node, yaml.ScalarNode) and node.value == entry_id:
                return _block_list_spot(_mapping_get(item, "alternates"), lines)
        return None

    def key_indent(self, file: str) -> int | None:
        root, _ = self._file(file)
        items = _mapping_get(root, "entries") if root else None
        first = (getattr(items, "value", None) or [None])[0]
        return first.start_mark.column if isinstance(first, yaml.MappingNode) else None


class SnippetWriter:
    """Makes one report's snippets; keeps ids and phrasings unique across all of them."""

    def __init__(
        self,
        index: Index,
        threshold: float,
        faq_dir: Path | None,
        today: dt.date,
        match_text: Callable[[str], Match] | None = None,
    ):
        self.index, self.faq, self.threshold, self.today = index, index.faq, threshold, today
        self.match = match_text or index.match
        self.layout = _FaqLayout(faq_dir)
        self.used = {question_key(p) for e in self.faq.entries for p in e.phrasings}
        # tests.yaml says these must stay unanswered; suggesting them would fail the check
        self.used |= {question_key(c.question) for c in self.faq.tests if c.expect == EXPECT_UNANSWERED}
        self.ids = set(self.faq.by_id)

    def _phrasings(self, cluster: Cluster) -> list[str]:
        chosen: list[str] = []
        for text in cluster.examples:
            key = question_key(text)
            if key in self.used or not key or len(text) > MAX_YAML_CHARS or _MASKED_RE.search(text):
                continue
            if self.match(text).status != ANSWERED:
                chosen.append(text)
                self.used.add(key)
        return chosen

    def suggest(self, cluster: Cluster) -> Suggestion | None:
        phrasings = self._phrasings(cluster)
        if not phrasings:
            return None  # already answered now, already in the FAQ, or not a phrasing
        target = self._owner(cluster)
        if target is not None:
            return self._alternates(target.id, target.file, phrasings)
        nearest = self.faq.by_id.get(cluster.nearest_id or "")
        return self._new_entry(nearest.file if nearest is not None else self.faq.topics[0].file, phrasings)

    def _owner(self, cluster: Cluster) -> Entry | None:
        """The entry these questions belong to, when the log or the matcher gives evidence.

        Residents tapping one of the suggestions is the best evidence. Without a tap, only a
        nearest entry the matcher would answer with (it lost on margin) qualifies: a "did you
        mean" near miss shares words, not meaning, as often as not (驾照怎么考 → 物业考核).
        """
        if cluster.chosen:
            return self.faq.by_id.get(cluster.chosen[0][0])
        if cluster.rejected == 0 and cluster.nearest_score >= self.threshold:
            return self.faq.by_id.get(cluster.nearest_id or "")
        return None

    def _alternates(self, entry_id: str, file: str, phrasings: list[str]) -> Suggestion:
        spot = self.layout.alternates(file, entry_id)
        indent = " " * (spot.indent if spot else 6)
        text = "".join(f"{indent}- {yaml_scalar(p)}\n" for p in phrasings)
        where = f"把下面 {len(phrasings)} 行加到 {file} 条目 {entry_id} 的 alternates 列表末尾"
        if spot:
            where += f"（第 {spot.after_line} 行“{spot.last_text}”之后）"
        return Suggestion(
            "alternates", entry_id, file, spot.after_line if spot else None, where, text, tuple(phrasings)
        )

    def _new_entry(self, file: str, phrasings: list[str]) -> Suggestion:
        entry_id = placeholder_id(content_key(self.index.normalize(phrasings[0])), self.ids)
        self.ids.add(entry_id)
        spot = self.layout.entries(file)
        dash = " " * (spot.indent if spot else 2)
        key = " " * (self.layout.key_indent(file) or len(dash) + 2)
        others = phrasings[1:]
        lines = [
            f"{dash}- id: {entry_id}  # 待填写：改成有意义的英文编号（小写字母、数字和连字符）",
            f"{key}question: {yaml_scalar(phrasings[0])}",
            f"{key}alternates:" + ("" if others else " []"),
            *(f"{key}  - {yaml_scalar(p)}" for p in others),
            f"{key}answer: {NEW_ENTRY_ANSWER}  # 待填写：换成真正的回答",
            f"{key}source: 居民提问（{self.today:%Y-%m-%d} 未答问题汇总）  # 待填写：写上回答依据的资料",
            f"{key}reviewed: {self.today:%Y-%m-%d}",
        ]
        where = f"FAQ 里没有合适的条目：把下面的新条目加到 {file} 的 entries 列表末尾"
        if spot:
            where += f"（第 {spot.after_line} 行之后）"
        where += "，再改好标着“待填写”的地方（改好之前，居民会得到“请到社区或办事处咨询”的回答）"
        return Suggestion(
            "new-entry",
            entry_id,
            file,
            spot.after_line if spot else None,
            where,
            "\n".join(lines) + "\n",
            tuple(phrasings),
        )


# --- terminal tables ---------------------------------------------------------------------


def text_width(text: str) -> int:
    """Columns a string takes in a terminal: wide and full-width characters take two."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, width: int) -> str:
    if text_width(text) <= width:
        return text
    out, used = [], 0
    for c in text:
        w = text_width(c)
        if used + w > width - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - text_width(text))
    return gap + text if right else text + gap


Cell = str | Sequence[str]


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Cell]], limits: Sequence[int], numeric: Sequence[bool]
) -> list[str]:
    """Aligned lines; a cell may hold several lines; cells are clipped to their column's limit."""
    body = [
        [
            [clip(line, limit) for line in ([cell] if isinstance(cell, str) else cell) or [""]]
            for cell, limit in zip(row, limits)
        ]
        for row in rows
    ]
    widths = [
        max([text_width(h)] + [text_width(line) for row in body for line in row[i]]) for i, h in enumerate(headers)
    ]
    out = ["  ".join(pad(h, w, r) for h, w, r in zip(headers, widths, numeric)).rstrip()]
    out.append("  ".join("-" * w for w in widths))  # ASCII: box drawing is double width in some CJK terminals
    for row in body:
        for n in range(max(len(cell) for cell in row)):
            parts = [pad(cell[n] if n < len(cell) else "", w, r) for cell, w, r in zip(row, widths, numeric)]
            out.append("  ".join(parts).rstrip())
    return out


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _summary_line(totals: dict[str, int]) -> str:
    n = totals["questions"]
    return (
        f"居民提问 {n} 次（{totals['residents']} 位居民）：直接回答 {totals['answered']} 次（{_percent(totals['answered'], n)}），"
        f"给出建议 {totals['suggest']} 次（{_percent(totals['suggest'], n)}），"
        f"未能回答 {totals['unanswered']} 次（{_percent(totals['unanswered'], n)}）"
    )


def _nearest_cell(c: Cluster) -> list[str]:
    if c.nearest_id is None:
        return ["（无）"]
    lines = [f"{c.nearest_id}（{c.nearest_score:.0f} 分）", c.nearest_question or ""]
    if c.now == ANSWERED:
        lines.append("✓ 现在已能直接回答")
    return lines


def _chosen(c: Cluster) -> list[str]:
    """What residents did with the suggestions they were offered."""
    return [f"{entry_id}×{n}" for entry_id, n in c.chosen] + ([f"都不是×{c.rejected}"] if c.rejected else [])


def render_table(report: ReviewReport) -> str:
    lines = [
        "凤凰办事处问答机器人 · 未答问题汇总",
        f"时间范围：{report.period.label}",
        _summary_line(report.totals),
        "",
    ]
    clusters = report.clusters
    asked = sum(c.count for c in clusters)
    if clusters:
        lines.append(
            f"需要补充的问题：共 {len(clusters)} 组（{asked} 次提问），按提问人数排序"
            + (
                f"，下表列出前 {TABLE_CLUSTERS} 组（完整列表请用 --format csv 或 html）"
                if len(clusters) > TABLE_CLUSTERS
                else ""
            )
        )
        rows = [
            [
                str(c.rank),
                str(c.residents),
                str(c.count),
                [_clock(c.first), _clock(c.last)],
                list(c.examples),
                _nearest_cell(c),
                _chosen(c),
            ]
            for c in clusters[:TABLE_CLUSTERS]
        ]
        lines += table(
            ["排名", "人数", "次数", "首次/最近", "问法示例", "最接近的条目", "居民点选"],
            rows,
            [4, 4, 6, 11, 40, 34, 24],
            [True, True, True, False, False, False, False],
        )
    else:
        lines.append("这段时间没有未能回答或需要居民选择的问题。")
    lines += ["", "居民点了 👎 的回答："]
    if report.unhelpful:
        rows = [
            [u.entry_id, str(u.down), str(u.up), [f"{q}（{n} 次）" for q, n in u.questions]] for u in report.unhelpful
        ]
        lines += table(["条目", "👎", "👍", "引出这个回答的问题"], rows, [34, 5, 5, 50], [False, True, True, False])
    else:
        lines.append("没有。")
    if report.suggest_yaml:
        lines += ["", "建议的 YAML（粘贴到 FAQ 文件后运行 servicebot faq check 检查）："]
        for c in clusters[:TABLE_CLUSTERS]:
            lines.append("")
            lines += _snippet_block(c)
    return "\n".join(lines) + "\n"


def _snippet_block(c: Cluster) -> list[str]:
    s = c.suggestion
    if s is None:
        return [f"# 第 {c.rank} 组：{NO_SNIPPET}"]
    return [f"# 第 {c.rank} 组：{s.where}", s.yaml.rstrip("\n")]


# --- csv / json / html -------------------------------------------------------------------

CSV_HEADERS = [
    "排名",
    "居民人数",
    "提问次数",
    "其中未能回答",
    "其中给出建议",
    "首次提问",
    "最近提问",
    "问法示例1",
    "问法示例2",
    "问法示例3",
    "最接近的条目",
    "条目的标准问题",
    "相似度",
    "现在的结果",
    "居民点选",
]


def _cell(text: str) -> str:
    """Spreadsheet-safe: a resident's text starting with = + - @ must not become a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_csv(report: ReviewReport) -> str:
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(CSV_HEADERS + (["建议操作", "建议的YAML"] if report.suggest_yaml else []))
    for c in report.clusters:
        examples = [*c.examples, "", "", ""][:MAX_EXAMPLES]
        row = [
            c.rank,
            c.residents,
            c.count,
            c.unanswered,
            c.suggest,
            _clock(c.first, "%Y-%m-%d %H:%M"),
            _clock(c.last, "%Y-%m-%d %H:%M"),
            *map(_cell, examples),
            c.nearest_id or "",
            c.nearest_question or "",
            f"{c.nearest_score:.1f}",
            STATUS_LABELS.get(c.now, c.now),
            "，".join(_chosen(c)),
        ]
        if report.suggest_yaml:
            row += [c.suggestion.where, c.suggestion.yaml] if c.suggestion else [NO_SNIPPET, ""]
        out.writerow(row)
    return buffer.getvalue()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def report_dict(report: ReviewReport) -> dict:
    def cluster(c: Cluster) -> dict:
        doc = {k: v for k, v in asdict(c).items() if k not in ("first", "last", "chosen", "suggestion")}
        doc.update(
            first=_iso(c.first),
            last=_iso(c.last),
            examples=list(c.examples),
            chosen=[{"entry_id": e, "count": n} for e, n in c.chosen],
        )
        if report.suggest_yaml:
            doc["suggestion"] = (
                {**asdict(c.suggestion), "questions": list(c.suggestion.questions)} if c.suggestion else None
            )
        return doc

    return {
        "period": {"since": _iso(report.period.since), "until": _iso(report.period.until), "timezone": "UTC+8"},
        "generated": _iso(report.generated),
        "totals": report.totals,
        "daily": [{**asdict(d), "day": d.day.isoformat()} for d in report.daily],
        "clusters": [cluster(c) for c in report.clusters],
        "unhelpful": [
            {**asdict(u), "questions": [{"question": q, "count": n} for q, n in u.questions], "last": _iso(u.last)}
            for u in report.unhelpful
        ],
    }


def render_json(report: ReviewReport) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n"


_CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:2px solid #c33;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;font-size:.95em}
th,td{border:1px solid #ccc;padding:.35em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}ul{margin:0;padding-left:1.2em}
.muted{color:#777;font-size:.9em}.ok{color:#080}pre{background:#f7f7f7;padding:.5em;margin:.3em 0 0;white-space:pre-wrap}
svg{width:100%;height:auto;border:1px solid #eee}
""".strip()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _daily_filled(report: ReviewReport) -> list[DayCounts]:
    known = {d.day: d for d in report.daily}
    return [known.get(day) or DayCounts(day, 0, 0, 0, 0, 0, 0, 0) for day in report.period.days()]


def chart_svg(days: list[DayCounts]) -> str:
    """Bars: questions per day; line: share answered outright. Plain SVG, no script."""
    width, height, left, right, top, bottom = 900, 280, 50, 50, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([d.total for d in days] + [1])
    step = plot_w / max(len(days), 1)
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="每日提问量与回答率">']
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{round(peak * frac)}</text>'
        )
        parts.append(f'<text x="{width - right + 6}" y="{y + 4:.1f}" font-size="11">{round(100 * frac)}%</text>')
    label_every = max(1, math.ceil(len(days) / 12))
    points = []
    for n, d in enumerate(days):
        x = left + n * step
        h = plot_h * d.total / peak
        rate = d.answered / d.total if d.total else None
        tip = f"{d.day:%m-%d}：提问 {d.total} 次，直接回答 {_percent(d.answered, d.total)}"
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" fill="#7aa6d6"><title>{_e(tip)}</title></rect>'
        )
        if rate is not None:
            points.append(f"{x + step / 2:.1f},{top + plot_h * (1 - rate):.1f}")
        if n % label_every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
                f'text-anchor="middle">{d.day:%m-%d}</text>'
            )
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#c33" stroke-width="2"/>')
    parts.append(f'<text x="{left}" y="{height - 6}" font-size="12" fill="#7aa6d6">■ 每日提问次数（左）</text>')
    parts.append(f'<text x="{left + 180}" y="{height - 6}" font-size="12" fill="#c33">— 直接回答的比例（右）</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _ul(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


def _cluster_row(c: Cluster, suggest_yaml: bool) -> str:
    nearest = (
        "（无）"
        if c.nearest_id is None
        else (
            f"{_e(c.nearest_id)}（{c.nearest_score:.0f} 分）<br>{_e(c.nearest_question)}"
            + ('<br><span class="ok">✓ 现在已能直接回答</span>' if c.now == ANSWERED else "")
        )
    )
    cells = [
        f'<td class="n">{c.rank}</td>',
        f'<td class="n">{c.residents}</td>',
        f'<td class="n">{c.count}</td>',
        f"<td>{_e(_clock(c.first))}<br>{_e(_clock(c.last))}</td>",
        f"<td>{_ul(c.examples)}</td>",
        f"<td>{nearest}</td>",
        f"<td>{_ul(_chosen(c))}</td>",
    ]
    if suggest_yaml:
        s = c.suggestion
        cells.append(
            f"<td>{_e(s.where)}<pre>{_e(s.yaml)}</pre></td>" if s else f'<td class="muted">{_e(NO_SNIPPET)}</td>'
        )
    return "<tr>" + "".join(cells) + "</tr>"


def _html_table(heads: Sequence[str], rows: Sequence[str], empty: str) -> str:
    if not rows:
        return f"<p>{_e(empty)}</p>"
    return "<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in heads) + "</tr>" + "".join(rows) + "</table>"


def _unhelpful_row(u: Unhelpful) -> str:
    asked = _ul(f"{q}（{n} 次）" for q, n in u.questions)
    return (
        f'<tr><td>{_e(u.entry_id)}<br>{_e(u.entry_question)}</td><td class="n">{u.down}</td>'
        f'<td class="n">{u.up}</td><td>{asked}</td></tr>'
    )


def render_html(report: ReviewReport) -> str:
    heads = ["排名", "人数", "次数", "首次/最近", "问法示例", "最接近的条目", "居民点选"] + (
        ["建议的 YAML"] if report.suggest_yaml else []
    )
    clusters = _html_table(
        heads,
        [_cluster_row(c, report.suggest_yaml) for c in report.clusters],
        "这段时间没有未能回答或需要居民选择的问题。",
    )
    unhelpful = _html_table(
        ["条目", "👎", "👍", "引出这个回答的问题"], [_unhelpful_row(u) for u in report.unhelpful], "没有。"
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>未答问题汇总 {_e(report.period.label)}</title>
<style>{_CSS}</style></head><body>
<h1>凤凰办事处问答机器人 · 未答问题汇总</h1>
<p>时间范围：{_e(report.period.label)}<br>{_e(_summary_line(report.totals))}</p>
<h2>每日提问量与直接回答的比例</h2>
{chart_svg(_daily_filled(report))}
<h2>需要补充的问题（共 {len(report.clusters)} 组，按提问人数排序）</h2>
{clusters}
<h2>居民点了 👎 的回答</h2>
{unhelpful}
<p class="muted">生成时间：{_e(_clock(report.generated, "%Y-%m-%d %H:%M"))}（北京时间）。居民编号是匿名的，问题中的手机号、身份证号已被遮盖。</p>
</body></html>
"""


RENDERERS: dict[str, Callable[[ReviewReport], str]] = {
    "table": render_table,
    "csv": render_csv,
    "json": render_json,
    "html": render_html,
}


# --- stats -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatsReport:
    period: Period
    totals: dict[str, int]
    daily: tuple[DayCounts, ...]
    top: tuple[tuple[str, str, int, int], ...]  # entry id, its question, answered, tapped
    helpful: int
    unhelpful: int


def build_stats(reader: LogReader, period: Period, faq: Faq | None) -> StatsReport:
    daily = tuple(reader.daily(period.since, period.until))
    names = faq.by_id if faq else {}
    top = tuple(
        (entry_id, names[entry_id].question if entry_id in names else "", answered, tapped)
        for entry_id, answered, tapped in reader.entry_counts(period.since, period.until, TOP_ENTRIES)
    )
    return StatsReport(
        period,
        reader.totals(period.since, period.until),
        daily,
        top,
        sum(d.helpful for d in daily),
        sum(d.unhelpful for d in daily),
    )


def stats_dict(report: StatsReport) -> dict:
    n = report.totals["questions"]
    rated = report.helpful + report.unhelpful
    return {
        "period": {"since": _iso(report.period.since), "until": _iso(report.period.until), "timezone": "UTC+8"},
        "totals": report.totals,
        "rates": {k: round(report.totals[k] / n, 4) if n else None for k in (ANSWERED, SUGGEST, UNANSWERED)},
        "feedback": {
            "helpful": report.helpful,
            "unhelpful": report.unhelpful,
            "helpful_ratio": round(report.helpful / rated, 4) if rated else None,
        },
        "daily": [{**asdict(d), "day": d.day.isoformat()} for d in report.daily],
        "top_entries": [{"entry_id": e, "question": q, "answered": a, "tapped": t} for e, q, a, t in report.top],
    }


def render_stats(report: StatsReport) -> str:
    t = report.totals
    rated = report.helpful + report.unhelpful
    lines = [
        "凤凰办事处问答机器人 · 使用统计",
        f"时间范围：{report.period.label}",
        _summary_line(t),
        f"按钮点选 {t['taps']} 次；居民对建议选“都不是” {t['none_of_these']} 次",
        f"评价：👍 {report.helpful} 次，👎 {report.unhelpful} 次（好评率 {_percent(report.helpful, rated)}）",
        "",
        "每日：",
    ]
    rows = [
        [
            f"{d.day:%Y-%m-%d}",
            str(d.total),
            _percent(d.answered, d.total),
            _percent(d.suggest, d.total),
            _percent(d.unanswered, d.total),
            str(d.taps),
            str(d.helpful),
            str(d.unhelpful),
        ]
        for d in report.daily
    ]
    lines += (
        table(
            ["日期", "提问", "直接回答", "给出建议", "未能回答", "点选", "👍", "👎"],
            rows,
            [10, 7, 8, 8, 8, 6, 5, 5],
            [False] + [True] * 7,
        )
        if rows
        else ["（没有记录）"]
    )
    lines += ["", f"最常用的条目（前 {TOP_ENTRIES} 个）："]
    rows = [[str(n), e, q, str(a), str(tp)] for n, (e, q, a, tp) in enumerate(report.top, 1)]
    lines += (
        table(
            ["排名", "条目", "标准问题", "直接回答", "点选"], rows, [4, 34, 40, 8, 6], [True, False, False, True, True]
        )
        if rows
        else ["（没有记录）"]
    )
    return "\n".join(lines) + "\n"


# --- the commands ------------------------------------------------------------------------


def _emit(text: str, output: Path | None, *, bom: bool = False) -> None:
    data = text.encode("utf-8-sig" if bom else "utf-8")
    if output is not None:
        output.write_bytes(data)
        return
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        sys.stdout.write(data.decode("utf-8"))
        return
    sys.stdout.flush()
    stream.write(data)
    stream.flush()


def run_review(settings: Settings, *, since: str, fmt: str, suggest_yaml: bool, output: Path | None) -> int:
    """`servicebot review`: the report for the period, in the chosen format."""
    period = parse_period(since)
    _, index = checks.build_snapshot(settings)
    report = build_review(
        LogReader(settings.db_path),
        index,
        period,
        answer_threshold=settings.answer_threshold,
        suggest_yaml=suggest_yaml,
        faq_dir=settings.faq_dir,
    )
    _emit(RENDERERS[fmt](report), output, bom=fmt == "csv")
    if output is not None:
        print(f"已写入 {output}：{len(report.clusters)} 组问题，{len(report.unhelpful)} 个被点 👎 的回答。")
    return 0


def run_stats(settings: Settings, *, since: str, as_json: bool) -> int:
    """`servicebot stats`: usage numbers; entry questions are shown when the FAQ loads."""
    period = parse_period(since)
    faq, _ = check_faq(settings.faq_dir, stale_days=settings.stale_days, cache_dir=settings.cache_dir)
    report = build_stats(LogReader(settings.db_path), period, faq)
    _emit(
        json.dumps(stats_dict(report), ensure_ascii=False, indent=2) + "\n" if as_json else render_stats(report), None
    )
    return 0
