"""Ready-to-paste YAML for a group of unanswered questions, so they are answered next time.

With evidence that the questions belong to an existing entry, the snippet adds them as
phrasings of that entry; otherwise it drafts a new entry whose default answer is honest
(it sends residents to the office) and whose placeholders `faq check` flags until staff
fill them in. When a staff member answered one of the questions in a hand-off ticket and
marked the reply 加入问答, the new entry's answer is that reply (the ticket number in a
comment; a number the log masked is left as a placeholder `faq check` flags). Snippets
follow the staff's own indentation and name the line to paste after.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml
from pypinyin import Style, lazy_pinyin

from servicebot.faq import PLACEHOLDER, Entry, question_key
from servicebot.matching import Index, Match
from servicebot.privacy import MASKED_RE as _MASKED_RE  # a masked question is one resident's own case
from servicebot.records import Status
from servicebot.review.clustering import content_key
from servicebot.storage.tickets import StaffAnswer

MAX_YAML_CHARS = 60  # a longer message is a story, not a phrasing worth adding to the FAQ


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


class Asked(Protocol):
    """What drafting needs to know of a group of residents' questions (a `report.Cluster`)."""

    @property
    def examples(self) -> tuple[str, ...]: ...
    @property
    def nearest_id(self) -> str | None: ...
    @property
    def nearest_score(self) -> float: ...
    @property
    def chosen(self) -> tuple[tuple[str, int], ...]: ...
    @property
    def rejected(self) -> int: ...
    @property
    def staff_answer(self) -> StaffAnswer | None: ...


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
_CHINA = dt.timezone(dt.timedelta(hours=8))


def _staff_answer_lines(key: str, staff: StaffAnswer) -> list[str]:
    """`answer:` with a staff reply (a block scalar when it has several lines). What the log
    masked ([电话]...) becomes [电话：待填写], so `faq check` refuses the entry until it is filled."""
    text = _MASKED_RE.sub(lambda m: f"{m.group(0)[:-1]}：{PLACEHOLDER}]", staff.answer.strip())
    note = f"# 回答来自人工咨询 #{staff.ticket}（{staff.staff_name or '工作人员'}的答复），请核对后再用"
    lines = [line.rstrip() for line in text.splitlines()]
    if len(lines) == 1 or any(line[:1].isspace() for line in lines):
        return [f"{key}answer: {yaml_scalar(text)}  {note}"]
    return [f"{key}answer: |-  {note}", *(f"{key}  {line}" if line else "" for line in lines)]


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
        self.used |= {question_key(c.question) for c in self.faq.tests if c.expect == Status.UNANSWERED}
        self.ids = set(self.faq.by_id)

    def _phrasings(self, cluster: Asked) -> list[str]:
        """The examples worth adding; with a staff answer, also one the FAQ answers now (the
        resident still asked for a person: that answer did not help)."""
        chosen: list[str] = []
        for text in cluster.examples:
            key = question_key(text)
            if key in self.used or not key or len(text) > MAX_YAML_CHARS or _MASKED_RE.search(text):
                continue
            if cluster.staff_answer is not None or self.match(text).status != Status.ANSWERED:
                chosen.append(text)
                self.used.add(key)
        return chosen

    def suggest(self, cluster: Asked) -> Suggestion | None:
        phrasings = self._phrasings(cluster)
        if not phrasings:
            return None  # already answered now, already in the FAQ, or not a phrasing
        nearest = self.faq.by_id.get(cluster.nearest_id or "")
        if cluster.staff_answer is not None:
            file = nearest.file if nearest is not None else self.faq.topics[0].file
            return self._new_entry(file, phrasings, cluster.staff_answer)
        target = self._owner(cluster)
        if target is not None:
            return self._alternates(target.id, target.file, phrasings)
        return self._new_entry(nearest.file if nearest is not None else self.faq.topics[0].file, phrasings)

    def _owner(self, cluster: Asked) -> Entry | None:
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

    def _new_entry(self, file: str, phrasings: list[str], staff: StaffAnswer | None = None) -> Suggestion:
        entry_id = placeholder_id(content_key(self.index.normalize(phrasings[0])), self.ids)
        self.ids.add(entry_id)
        spot = self.layout.entries(file)
        dash = " " * (spot.indent if spot else 2)
        key = " " * (self.layout.key_indent(file) or len(dash) + 2)
        others = phrasings[1:]
        if staff is None:
            answer = [f"{key}answer: {NEW_ENTRY_ANSWER}  # {PLACEHOLDER}：换成真正的回答"]
            source = f"居民提问（{self.today:%Y-%m-%d} 未答问题汇总）"
        else:
            answer = _staff_answer_lines(key, staff)
            source = f"人工咨询 #{staff.ticket} 工作人员答复（{staff.at.astimezone(_CHINA):%Y-%m-%d}）"
        lines = [
            f"{dash}- id: {entry_id}  # {PLACEHOLDER}：改成有意义的英文编号（小写字母、数字和连字符）",
            f"{key}question: {yaml_scalar(phrasings[0])}",
            f"{key}alternates:" + ("" if others else " []"),
            *(f"{key}  - {yaml_scalar(p)}" for p in others),
            *answer,
            f"{key}source: {source}  # {PLACEHOLDER}：写上回答依据的资料",
            f"{key}reviewed: {self.today:%Y-%m-%d}",
        ]
        where = f"FAQ 里没有合适的条目：把下面的新条目加到 {file} 的 entries 列表末尾"
        if spot:
            where += f"（第 {spot.after_line} 行之后）"
        if staff is None:
            where += f"，再改好标着“{PLACEHOLDER}”的地方（改好之前，居民会得到“请到社区或办事处咨询”的回答）"
        else:
            where += f"，回答取自人工咨询 #{staff.ticket} 里工作人员的答复；核对后改好标着“{PLACEHOLDER}”的地方"
        return Suggestion(
            "new-entry",
            entry_id,
            file,
            spot.after_line if spot else None,
            where,
            "\n".join(lines) + "\n",
            tuple(phrasings),
        )
