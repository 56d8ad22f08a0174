"""Ready-to-paste YAML for a group of residents' questions, so they are answered next time.

With evidence that the questions belong to an existing entry, the snippet adds them as
phrasings of that entry. Otherwise it drafts a new entry, with the group's wordings as its
phrasings, marked `draft: true`: the validation accepts it, `faq check` says what is left to
do, and no resident gets it until staff have written the answer and the source and deleted
that line (a placeholder left in a live entry is an error, so the bot keeps its last good
FAQ). A group about another body's matter that faq/referrals.yaml lacks gets a `draft: true`
matter for that file instead, named by the group's subject, for staff to say who handles it
and how residents reach them (a matter the file has already needs its words or text looked
at, not a draft). When staff answered one of the questions in a hand-off ticket, the draft's answer is
the reply they marked 加入问答 (the ticket in a comment; a number the log masked is left as
a placeholder); an unmarked reply is quoted in comments for them to use.

Making snippets is three steps: `SnippetWriter.plan` decides what to suggest for a group,
`trial.verify` tries the plans on the FAQ with its own checks (and drops a phrasing that
would break one), `SnippetWriter.render` writes the YAML in the staff's indentation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from pypinyin import Style, lazy_pinyin

from servicebot.conversation.hours import CHINA
from servicebot.faq import PLACEHOLDER, REFERRALS_FILE, RegressionCase, question_key
from servicebot.faq.referral_file import MIN_SUBJECT_CHARS
from servicebot.matching import Index, Match
from servicebot.privacy import MASKED_RE as _MASKED_RE  # a masked question is one resident's own case
from servicebot.records import Status
from servicebot.review.layout import FaqLayout, yaml_scalar
from servicebot.storage.tickets import StaffAnswer

MAX_YAML_CHARS = 60  # a longer message is a story, not a phrasing worth adding to the FAQ

# What a pasted draft says until staff write it: placeholders `faq check` names, and refuses
# in an entry that is not a draft any more.
DRAFT_ANSWER = f"{PLACEHOLDER}：写给居民的回答"
REFERRAL_ANSWER = f"{PLACEHOLDER}：这件事由哪个部门办理、居民怎么联系（只写官方公布的电话、地址、网址）"
DRAFT_SOURCE = f"{PLACEHOLDER}：回答依据的资料（文件、通知或网页）和日期"
ID_NOTE = f"# {PLACEHOLDER}：改成有意义的英文编号（小写字母、数字和连字符）"
DRAFT_NOTE = f"# 草稿：居民看不到这个条目。写好标着“{PLACEHOLDER}”的地方，再删掉这一行"
REPLY_NOTE = "# 工作人员在人工咨询 #{ticket} 里这样回复过（没有点“加入问答”，可参考，核对后再用）："
NEW_WHERE = "FAQ 里没有合适的条目"
REFERRAL_WHERE = "这件事多半归别的部门管，FAQ 里没有"
REFERRAL_HOW = "回答请写清该找哪个部门、怎么联系"
DRAFT_STEPS = (
    "草稿（draft: true）不会{serves}：写好标着“{placeholder}”的地方，删掉 draft: true 那一行，"
    "再运行 servicebot faq check 检查"
)
CONFLICT_NOTE = "# 注意：tests.yaml 第 {line} 行规定“{question}”{expect}。"
CONFLICT_UNANSWERED = "应该答不上来（多半归别的部门管）"
CONFLICT_OTHER = "应该得到条目 {expect}"
CONFLICT_FIX = "# 这个条目写好后会回答它：请确认确实要回答，再把 tests.yaml 那一行的 expect 改成这个条目的编号。"
# A matter for referrals.yaml, until staff write it.
REFERRAL_BODY = f"{PLACEHOLDER}：负责办理的部门（写部门类型，或官方网页能证实的名称）"
REFERRAL_HOW_TEXT = f"{PLACEHOLDER}：居民怎么办、怎么联系（只写官方公布的电话、地址、网址，并在 sources 里写明出处）"
REFERRAL_DRAFT_NOTE = f"# 草稿：机器人不会用它转介居民。写好标着“{PLACEHOLDER}”的地方，再删掉这一行"
ASKED_NOTE = "# 居民这样问过：{wordings}"
REFERRAL_FILE_WHERE = "这件事多半归别的部门管：把下面的转介事项草稿加到 referrals.yaml 的 referrals 列表末尾"
MAX_ASKED = 5  # wordings quoted in a referral draft


class Kind(StrEnum):
    ALTERNATES = "alternates"  # add phrasings to an existing entry
    NEW_ENTRY = "new-entry"  # a draft entry for staff to write
    REFERRAL = "referral"  # a draft matter of referrals.yaml for staff to write


@dataclass(frozen=True)
class Suggestion:
    """YAML to paste into the FAQ and where to paste it."""

    action: str  # a Kind
    entry_id: str
    file: str
    after_line: int | None  # paste after this line of `file` (as it is now)
    where: str  # the instruction, in Chinese
    yaml: str
    questions: tuple[str, ...]
    draft: bool = False  # marked `draft: true` (an entry, a referral): no resident gets it until staff finish it
    conflicts: tuple[str, ...] = ()  # tests.yaml questions the finished entry would answer against tests.yaml


class Asked(Protocol):
    """What drafting needs to know of a group of residents' questions (a `report.Cluster`)."""

    @property
    def subject(self) -> str: ...
    @property
    def wordings(self) -> tuple[str, ...]: ...
    @property
    def nearest_id(self) -> str | None: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def action(self) -> str: ...
    @property
    def staff_answer(self) -> StaffAnswer | None: ...
    @property
    def staff_notes(self) -> tuple[StaffAnswer, ...]: ...
    @property
    def kept_unanswered(self) -> tuple[RegressionCase, ...]: ...
    @property
    def referral(self) -> str | None: ...  # the matter of referrals.yaml the questions are about


@dataclass(frozen=True)
class Plan:
    """What to suggest for one group, before it is tried on the FAQ and written as YAML."""

    kind: Kind
    entry_id: str
    file: str
    phrasings: tuple[str, ...]  # for a referral, the wordings residents asked (quoted for staff)
    subject: str = ""
    staff: StaffAnswer | None = None  # the reply marked 加入问答: the draft's answer
    replies: tuple[StaffAnswer, ...] = ()  # other staff replies, quoted for staff
    conflicts: tuple[RegressionCase, ...] = ()
    referral: bool = False  # another body's matter: the answer says where to go


def _staff_answer_lines(key: str, staff: StaffAnswer) -> list[str]:
    """`answer:` with a staff reply (a block scalar when it has several lines). What the log
    masked ([电话]...) becomes [电话：待填写], which `faq check` names until it is filled."""
    text = _MASKED_RE.sub(lambda m: f"{m.group(0)[:-1]}：{PLACEHOLDER}]", staff.answer.strip())
    note = f"# 回答来自人工咨询 #{staff.ticket}（{staff.staff_name or '工作人员'}的答复），请核对后再用"
    lines = [line.rstrip() for line in text.splitlines()]
    if len(lines) == 1 or any(line[:1].isspace() for line in lines):
        return [f"{key}answer: {yaml_scalar(text)}  {note}"]
    return [f"{key}answer: |-  {note}", *(f"{key}  {line}" if line else "" for line in lines)]


def _quoted_reply(key: str, reply: StaffAnswer) -> list[str]:
    lines = [line.rstrip() for line in reply.answer.strip().splitlines() if line.strip()]
    return [f"{key}{REPLY_NOTE.format(ticket=reply.ticket)}", *(f"{key}#   {line}" for line in lines)]


def _conflict_lines(key: str, cases: tuple[RegressionCase, ...]) -> list[str]:
    if not cases:
        return []
    lines = []
    for case in cases:
        expect = CONFLICT_UNANSWERED if case.expect == Status.UNANSWERED else CONFLICT_OTHER.format(expect=case.expect)
        lines.append(f"{key}{CONFLICT_NOTE.format(line=case.line, question=case.question, expect=expect)}")
    return [*lines, f"{key}{CONFLICT_FIX}"]


def placeholder_id(text: str, taken: set[str]) -> str:
    """todo-<pinyin of the subject>, unique: an id that passes the check but asks to be renamed."""
    parts = [re.sub(r"[^a-z0-9]", "", p.lower()) for p in lazy_pinyin(text, style=Style.NORMAL, errors="default")]
    base = "-".join(["todo", *[p for p in parts if p][:4]])
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


class SnippetWriter:
    """Makes one report's snippets; keeps ids and phrasings unique across all of them."""

    def __init__(
        self,
        index: Index,
        faq_dir: Path | None,
        today: dt.date,
        match_text: Callable[[str], Match] | None = None,
    ):
        self.index, self.faq, self.today = index, index.faq, today
        self.match = match_text or index.match
        self.layout = FaqLayout(faq_dir)
        everything = (*self.faq.entries, *self.faq.drafts)
        self.used = {question_key(p) for e in everything for p in e.phrasings}
        # tests.yaml says these must stay unanswered; suggesting them would fail the check
        self.used |= {question_key(c.question) for c in self.faq.tests if c.expect == Status.UNANSWERED}
        self.ids = {e.id for e in everything}
        referrals = self.faq.referrals
        matters = (*referrals.matters, *referrals.drafts) if referrals else ()
        self.referral_ids = {m.id for m in matters}
        self.referral_words = {question_key(w) for m in matters for w in m.subjects}  # a draft waiting included

    # -- what to suggest --------------------------------------------------------------------

    def _phrasings(self, cluster: Asked) -> list[str]:
        """The wordings worth adding; with a staff answer, also one the FAQ answers now (the
        resident still asked for a person: that answer did not help)."""
        chosen: list[str] = []
        for text in cluster.wordings:
            key = question_key(text)
            if key in self.used or not key or len(text) > MAX_YAML_CHARS or _MASKED_RE.search(text):
                continue
            if cluster.staff_answer is not None or self.match(text).status != Status.ANSWERED:
                chosen.append(text)
                self.used.add(key)
        return chosen

    def plan(self, cluster: Asked) -> Plan | None:
        if cluster.action == "referral" and cluster.staff_answer is None:
            if cluster.referral is not None:
                return None  # referrals.yaml has the matter: its words or text need a look, not a draft
            if self.faq.referrals is not None:
                return self._referral_plan(cluster)
        phrasings = tuple(self._phrasings(cluster))
        if not phrasings:
            return None  # already answered now, already in the FAQ, or not a phrasing
        nearest = self.faq.by_id.get(cluster.nearest_id or "")
        target = None if cluster.staff_answer is not None else self.faq.by_id.get(cluster.owner or "")
        if target is not None:
            return Plan(Kind.ALTERNATES, target.id, target.file, phrasings, cluster.subject)
        entry_id = placeholder_id(cluster.subject or self.index.normalize(phrasings[0]), self.ids)
        self.ids.add(entry_id)
        return Plan(
            Kind.NEW_ENTRY,
            entry_id,
            nearest.file if nearest is not None else self.faq.topics[0].file,
            phrasings,
            cluster.subject,
            cluster.staff_answer,
            tuple(cluster.staff_notes),
            tuple(cluster.kept_unanswered),
            cluster.action == "referral",
        )

    def _referral_plan(self, cluster: Asked) -> Plan | None:
        """A matter named by the group's subject, unless referrals.yaml has that word already."""
        key = question_key(cluster.subject)
        if len(key) < MIN_SUBJECT_CHARS or key in self.referral_words:
            return None
        self.referral_words.add(key)
        matter_id = placeholder_id(cluster.subject, self.referral_ids)
        self.referral_ids.add(matter_id)
        asked = [w for w in cluster.wordings if len(w) <= MAX_YAML_CHARS and not _MASKED_RE.search(w)]
        return Plan(Kind.REFERRAL, matter_id, REFERRALS_FILE, tuple(asked[:MAX_ASKED]), cluster.subject)

    # -- the YAML ---------------------------------------------------------------------------

    def render(self, plan: Plan) -> Suggestion:
        if plan.kind == Kind.ALTERNATES:
            return self._alternates(plan)
        if plan.kind == Kind.REFERRAL:
            return self._referral(plan)
        return self._new_entry(plan)

    def _referral(self, plan: Plan) -> Suggestion:
        spot = self.layout.entries(plan.file, "referrals")
        dash = " " * (spot.indent if spot else 2)
        key = " " * (self.layout.key_indent(plan.file, "referrals") or len(dash) + 2)
        asked = "；".join(" ".join(w.split()) for w in plan.phrasings)
        lines = [
            f"{dash}- id: {plan.entry_id}  {ID_NOTE}",
            f"{key}draft: true  {REFERRAL_DRAFT_NOTE}",
            f"{key}matter: {yaml_scalar(plan.subject)}",
            f"{key}subjects:",
            f"{key}  - {yaml_scalar(plan.subject)}",
            *([f"{key}{ASKED_NOTE.format(wordings=asked)}"] if asked else []),
            f"{key}body: {yaml_scalar(REFERRAL_BODY)}",
            f"{key}how: {yaml_scalar(REFERRAL_HOW_TEXT)}",
        ]
        where = REFERRAL_FILE_WHERE + (f"（第 {spot.after_line} 行之后）" if spot else "")
        where += f"，{REFERRAL_HOW}。" + DRAFT_STEPS.format(serves="转介居民", placeholder=PLACEHOLDER)
        return Suggestion(
            Kind.REFERRAL,
            plan.entry_id,
            plan.file,
            spot.after_line if spot else None,
            where,
            "\n".join(lines) + "\n",
            plan.phrasings,
            draft=True,
        )

    def _alternates(self, plan: Plan) -> Suggestion:
        spot = self.layout.alternates(plan.file, plan.entry_id)
        indent = " " * (spot.indent if spot else 6)
        text = "".join(f"{indent}- {yaml_scalar(p)}\n" for p in plan.phrasings)
        where = f"把下面 {len(plan.phrasings)} 行加到 {plan.file} 条目 {plan.entry_id} 的 alternates 列表末尾"
        if spot:
            where += f"（第 {spot.after_line} 行“{spot.last_text}”之后）"
        return Suggestion(
            Kind.ALTERNATES,
            plan.entry_id,
            plan.file,
            spot.after_line if spot else None,
            where,
            text,
            plan.phrasings,
        )

    def _new_entry(self, plan: Plan) -> Suggestion:
        spot = self.layout.entries(plan.file)
        dash = " " * (spot.indent if spot else 2)
        key = " " * (self.layout.key_indent(plan.file) or len(dash) + 2)
        question, *others = plan.phrasings
        if plan.staff is None:
            answer = [f"{key}answer: {yaml_scalar(REFERRAL_ANSWER if plan.referral else DRAFT_ANSWER)}"]
            source = DRAFT_SOURCE
        else:
            answer = _staff_answer_lines(key, plan.staff)
            source = f"人工咨询 #{plan.staff.ticket} 工作人员答复（{plan.staff.at.astimezone(CHINA):%Y-%m-%d}）"
        lines = [
            f"{dash}- id: {plan.entry_id}  {ID_NOTE}",
            f"{key}draft: true  {DRAFT_NOTE}",
            f"{key}question: {yaml_scalar(question)}",
            f"{key}alternates:" + ("" if others else " []"),
            *(f"{key}  - {yaml_scalar(p)}" for p in others),
            *_conflict_lines(key, plan.conflicts),
            *(line for reply in plan.replies for line in _quoted_reply(key, reply)),
            *answer,
            f"{key}source: {yaml_scalar(source)}",
            f"{key}reviewed: {self.today:%Y-%m-%d}",
        ]
        where = REFERRAL_WHERE if plan.referral else NEW_WHERE
        where += f"：把下面的草稿加到 {plan.file} 的 entries 列表末尾"
        if spot:
            where += f"（第 {spot.after_line} 行之后）"
        if plan.staff is not None:
            where += f"，回答取自人工咨询 #{plan.staff.ticket} 里工作人员的答复"
        elif plan.referral:
            where += f"，{REFERRAL_HOW}"
        where += "。" + DRAFT_STEPS.format(serves="回答居民", placeholder=PLACEHOLDER)
        return Suggestion(
            Kind.NEW_ENTRY,
            plan.entry_id,
            plan.file,
            spot.after_line if spot else None,
            where,
            "\n".join(lines) + "\n",
            plan.phrasings,
            draft=True,
            conflicts=tuple(c.question for c in plan.conflicts),
        )
