"""faq/referrals.yaml → validated `Referrals`: matters other bodies handle, and how residents
reach them.

Most of what residents ask is not the office's business (户口, 护照, 公积金, 停电). Staff keep
the list of such matters in one file, with the subject words residents use, the body that
handles each and its official channels; every phone number or date in it needs a source
(`sources`), like any other fact beyond the office's report. The file looks like:

    sources:                       # named sources, cited by id below
      gov-12345: {url: …, title: …, date: 2021-01-06, facts: ["12345"]}
    general:                       # the general way in, said under every referral
      text: 不清楚找哪个部门时，可以拨打12345政务服务便民热线。
      sources: [gov-12345]
    referrals:
      - id: hukou
        matter: 户口、身份证
        subjects: [户口, 身份证, 落户]
        body: 户籍所在地的公安派出所
        how: 带上户口簿和身份证到派出所户籍窗口办理。
        sources: []                # optional; required when `how` names a number
        links: []                  # optional link buttons, as in an FAQ entry

A matter marked `draft: true` (as `servicebot review --suggest-yaml` drafts one) is checked
like the others but kept apart (`Referrals.drafts`): no resident is referred to it, and the
check says what is left to write. A placeholder (待填写) left in a matter without that mark
is an error, so the bot keeps its last good FAQ rather than show it to residents.
"""

from __future__ import annotations

from typing import Any

from servicebot.errors import Reach
from servicebot.faq import messages
from servicebot.faq.fields import Collector, check_unknown, draft_steps, links_value, text_list, text_value
from servicebot.faq.model import PLACEHOLDER, REFERRALS_FILE, Link, Referral, Referrals, Source, question_key
from servicebot.faq.sources import check_facts, cited_sources, named_sources
from servicebot.faq.yaml_lines import item_lines, line_of, mapping_line

FILE = REFERRALS_FILE
TOP_KEYS = ("sources", "general", "referrals")
GENERAL_KEYS = ("text", "sources")
REFERRAL_KEYS = {
    "id": "事项编号",
    "matter": "事项名称",
    "subjects": "主题词",
    "body": "负责的部门",
    "how": "怎么联系、怎么办",
    "sources": "出处（来源编号）",
    "links": "链接",
    "draft": "草稿标记",
}
REQUIRED = ("id", "matter", "subjects", "body", "how")
MIN_SUBJECT_CHARS = 2  # one character (电, 税) would match far too many questions


def referrals_file(data: Any, out: Collector) -> Referrals | None:
    """The parsed file → Referrals (None when its shape is wrong); problems go to `out`."""
    if not isinstance(data, dict):
        out.error(FILE, 1, messages.REFERRALS_SHAPE, Reach.FILE)
        return None
    check_unknown(data, TOP_KEYS, FILE, "referrals.yaml", out)
    named = named_sources(data.get("sources"), FILE, line_of(data, "sources", 1), out)
    used: set[str] = set()
    general, general_sources = _general(data.get("general"), named, used, line_of(data, "general", 1), out)
    raw = data.get("referrals")
    if not isinstance(raw, list) or not raw:
        out.error(FILE, line_of(data, "referrals", 1), messages.NO_REFERRALS)
        return None
    matters = [_referral(item, named, used, at, out) for item, at in zip(raw, item_lines(raw, 1))]
    found = tuple(m for m in matters if m is not None)
    _cross_checks(found, out)
    for matter in found:
        _placeholder_check(matter, out)
    for key, (_, at) in named.items():
        if key not in used:
            out.warning(FILE, at, messages.UNUSED_SOURCE.format(source=key))
    live = tuple(m for m in found if not m.draft)
    return Referrals(live, general, general_sources, tuple(m for m in found if m.draft))


def _general(
    raw: Any, named: dict[str, tuple[Source | None, int]], used: set[str], line: int, out: Collector
) -> tuple[str, tuple[Source, ...]]:
    if raw is None:
        return "", ()
    if not isinstance(raw, dict):
        out.error(FILE, line, messages.GENERAL_SHAPE)
        return "", ()
    check_unknown(raw, GENERAL_KEYS, FILE, "general", out)
    text = text_value(raw.get("text")) or ""
    if not text:
        out.error(FILE, line, messages.GENERAL_SHAPE)
    where = "general"
    sources, ids = cited_sources(raw.get("sources"), named, where, FILE, line_of(raw, "sources", line), out)
    used.update(ids)
    check_facts(text, sources, where, FILE, line_of(raw, "text", line), out, shared=True)
    return text, sources


def _referral(
    raw: Any, named: dict[str, tuple[Source | None, int]], used: set[str], line: int, out: Collector
) -> Referral | None:
    if not isinstance(raw, dict):
        out.error(FILE, line, messages.REFERRAL_NOT_A_MAPPING)
        return None
    line = mapping_line(raw) or line
    check_unknown(raw, REFERRAL_KEYS, FILE, "事项", out)
    rid = text_value(raw.get("id")) or messages.NO_ID
    values: dict[str, str] = {}
    for key in REQUIRED:
        if key not in raw:
            out.error(FILE, line, messages.REFERRAL_MISSING_KEY.format(id=rid, key=key, meaning=REFERRAL_KEYS[key]))
        elif key != "subjects":
            text = text_value(raw[key])
            if text is None:
                out.error(
                    FILE,
                    line_of(raw, key, line),
                    messages.REFERRAL_EMPTY.format(id=rid, key=key, meaning=REFERRAL_KEYS[key]),
                )
            else:
                values[key] = text
    subjects = text_list(raw.get("subjects"), "subjects", FILE, line_of(raw, "subjects", line), out)
    if "subjects" in raw and not subjects:
        out.error(
            FILE,
            line_of(raw, "subjects", line),
            messages.REFERRAL_EMPTY.format(id=rid, key="subjects", meaning=REFERRAL_KEYS["subjects"]),
        )
    where = f"事项 {rid} "
    sources, ids = cited_sources(raw.get("sources"), named, where, FILE, line_of(raw, "sources", line), out)
    used.update(ids)
    links: tuple[Link, ...] = links_value(raw.get("links"), FILE, line_of(raw, "links", line), out)
    for key in ("body", "how"):
        if key in values:
            what = f"事项 {rid} 的 {key}"
            check_facts(values[key], sources, what, FILE, line_of(raw, key, line), out, shared=True)
    if "draft" in raw and not isinstance(raw["draft"], bool):
        out.error(FILE, line_of(raw, "draft", line), messages.BAD_REFERRAL_DRAFT)
    if any(key not in values for key in ("id", "matter", "body", "how")) or not subjects:
        return None
    return Referral(
        id=values["id"],
        matter=values["matter"],
        subjects=subjects,
        body=values["body"],
        how=values["how"],
        sources=sources,
        links=links,
        file=FILE,
        line=line,
        draft=raw.get("draft") is True,
    )


def _placeholder_check(matter: Referral, out: Collector) -> None:
    """A draft gets what is left to write (a warning); a live matter may hold no placeholder."""
    fields = (("matter", matter.matter), ("subjects", " ".join(matter.subjects)), ("body", matter.body))
    unwritten = [
        f"{name}（{REFERRAL_KEYS[name]}）" for name, text in (*fields, ("how", matter.how)) if PLACEHOLDER in text
    ]
    if matter.draft:
        steps = draft_steps(matter.id, unwritten, messages.REFERRAL_TODO_PUBLISH)
        said = messages.REFERRAL_DRAFT_LEFT.format(id=matter.id, steps=steps) if steps else None
        out.warning(FILE, matter.line, said or messages.REFERRAL_DRAFT_READY.format(id=matter.id))
    elif unwritten:
        out.error(FILE, matter.line, messages.REFERRAL_PLACEHOLDER_LEFT.format(id=matter.id, placeholder=PLACEHOLDER))


def _cross_checks(matters: tuple[Referral, ...], out: Collector) -> None:
    """Ids unique; each subject word at least two characters and in one matter only."""
    first_id: dict[str, Referral] = {}
    owner: dict[str, Referral] = {}
    for matter in matters:
        other = first_id.setdefault(matter.id, matter)
        if other is not matter:
            out.error(FILE, matter.line, messages.DUPLICATE_REFERRAL_ID.format(id=matter.id, line=other.line))
        for word in matter.subjects:
            key = question_key(word)
            if len(key) < MIN_SUBJECT_CHARS:
                out.error(FILE, matter.line, messages.SHORT_SUBJECT.format(id=matter.id, word=word))
                continue
            holder = owner.setdefault(key, matter)
            if holder is not matter:
                out.error(
                    FILE,
                    matter.line,
                    messages.SHARED_SUBJECT.format(word=word, id=matter.id, other=holder.id, line=holder.line),
                )
