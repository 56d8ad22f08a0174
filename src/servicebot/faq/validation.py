"""FAQ files → validated, frozen entries.

Staff edit these YAML files by hand, so the validation is strict and talkative: it collects
*every* problem (with file and line) before failing, and its messages are in Chinese,
addressed to the staff who will read them. Each topic file is validated on its own (and
that verdict cached, see `cache`); what spans files (ids, shared phrasings, references,
regression questions) and what depends on the day (stale dates) is checked on every load.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import servicebot.faq.cache as cache
from servicebot import gcpause
from servicebot.config import STALE_DAYS
from servicebot.errors import FaqError, Problem, Reach
from servicebot.faq import messages, verdicts
from servicebot.faq.fields import (
    Collector,
    check_unknown,
    date_value,
    draft_steps,
    links_value,
    located_texts,
    read_bytes,
    read_yaml,
    text_list,
    text_value,
)
from servicebot.faq.freshness import office_today, stale_warnings, verify_warnings
from servicebot.faq.garbage_file import garbage_file
from servicebot.faq.knockon import KnockOns
from servicebot.faq.model import (
    GARBAGE_ITEMS_FILE,
    PLACEHOLDER,
    REFERRALS_FILE,
    RESERVED_FILES,
    SETTINGS_FILE,
    TESTS_FILE,
    Entry,
    Faq,
    RegressionCase,
    Topic,
    question_key,
)
from servicebot.faq.referral_file import referrals_file
from servicebot.faq.sharing import shared_keyword_warnings
from servicebot.faq.sources import check_facts, sources_list
from servicebot.faq.yaml_lines import item_lines, line_of, mapping_line
from servicebot.records import Status

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

ENTRY_KEYS = {
    "id": "唯一编号",
    "question": "标准问题",
    "alternates": "其他问法",
    "keywords": "关键词",
    "answer": "回答",
    "links": "链接",
    "related": "相关条目",
    "source": "资料来源",
    "sources": "工作纪实以外的事实的出处",
    "reviewed": "核对日期",
    "verify": "待核实的事项",
    "draft": "草稿标记",
}
REQUIRED_ENTRY_KEYS = ("id", "question", "alternates", "answer", "source", "reviewed")
TOPIC_KEYS = ("topic", "entries")
SETTINGS_KEYS = ("contact", "synonyms")
TEST_KEYS = ("question", "expect")

T = TypeVar("T")

# A check that needs more than one file's YAML (e.g. how an answer renders), run on every load.
EntryCheck = Callable[[Sequence[Entry]], Iterable[Problem]]


# --- files ------------------------------------------------------------------------------


def _entry(raw: Any, topic: str, file: str, line: int, out: Collector) -> Entry | None:
    if not isinstance(raw, dict):
        out.error(file, line, messages.ENTRY_NOT_A_MAPPING)
        return None
    line = mapping_line(raw)
    check_unknown(raw, ENTRY_KEYS, file, "条目", out)
    missing = [k for k in REQUIRED_ENTRY_KEYS if k not in raw]
    for key in missing:
        out.error(
            file,
            line,
            messages.ENTRY_MISSING_KEY.format(id=raw.get("id", messages.NO_ID), key=key, meaning=ENTRY_KEYS[key]),
        )
    values: dict[str, Any] = {}
    for key in ("id", "question", "answer", "source"):
        if key in raw:
            text = text_value(raw[key])
            if text is None:
                out.error(file, line_of(raw, key, line), messages.EMPTY_VALUE.format(key=key, meaning=ENTRY_KEYS[key]))
            values[key] = text
    if values.get("id") and not ID_RE.match(values["id"]):
        out.error(
            file,
            line_of(raw, "id", line),
            messages.BAD_ID.format(id=values["id"]),
        )
    if "answer" in raw and isinstance(raw["answer"], str):
        values["answer"] = raw["answer"].strip("\n").rstrip()
    alternates = located_texts(raw.get("alternates"), "alternates", file, line_of(raw, "alternates", line), out)
    values["alternates"] = tuple(text for text, _ in alternates)
    values["phrasing_lines"] = (line_of(raw, "question", line), *(item_line for _, item_line in alternates))
    keywords = located_texts(raw.get("keywords"), "keywords", file, line_of(raw, "keywords", line), out)
    values["keywords"] = tuple(text for text, _ in keywords)
    values["keyword_lines"] = tuple(item_line for _, item_line in keywords)
    values["related"] = text_list(raw.get("related"), "related", file, line_of(raw, "related", line), out)
    values["verify"] = text_value(raw.get("verify")) or ""
    if raw.get("verify") not in (None, "") and not values["verify"]:  # a list, a mapping, true/false
        out.error(file, line_of(raw, "verify", line), messages.VERIFY_NOT_TEXT)
    values["links"] = links_value(raw.get("links"), file, line_of(raw, "links", line), out)
    values["sources"] = sources_list(raw.get("sources"), file, line_of(raw, "sources", line), out)
    values["answer_line"] = line_of(raw, "answer", line)
    values["reviewed"] = (
        date_value(raw["reviewed"], file, line_of(raw, "reviewed", line), out) if "reviewed" in raw else None
    )
    if "draft" in raw and not isinstance(raw["draft"], bool):
        out.error(file, line_of(raw, "draft", line), messages.BAD_DRAFT)
    values["draft"] = raw.get("draft") is True
    answer_line = values.pop("answer_line")
    if missing or any(values.get(k) is None for k in ("id", "question", "answer", "source", "reviewed")):
        return None
    entry = Entry(topic=topic, file=file, line=line, **values)
    what = messages.ENTRY_ANSWER.format(id=entry.id)  # a fact the report lacks comes with its source
    check_facts(entry.answer, entry.sources, what, file, answer_line, out, cited=entry.source)
    return entry


def _topic_file(data: Any, file: str, out: Collector) -> tuple[Topic | None, list[Entry]]:
    if not isinstance(data, dict):
        out.error(file, 1, messages.TOPIC_FILE_SHAPE, Reach.FILE)
        return None, []
    check_unknown(data, TOPIC_KEYS, file, "文件顶层", out)
    topic = text_value(data.get("topic"))
    if topic is None:
        out.error(file, line_of(data, "topic", 1), messages.NO_TOPIC)
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        out.error(file, line_of(data, "entries", 1), messages.NO_ENTRIES, Reach.FILE)
        return None, []
    entries = []
    for raw, line in zip(raw_entries, item_lines(raw_entries, 1)):
        entry = _entry(raw, topic or "", file, line, out)
        if entry:
            entries.append(entry)
    if topic is None:
        return None, entries
    return Topic(topic, file, tuple(e.id for e in entries if not e.draft)), entries


def _settings_file(data: Any, file: str, out: Collector) -> tuple[str, tuple[tuple[str, ...], ...], tuple[int, ...]]:
    """(contact, synonym groups, the line each group is written on)."""
    if data is None:
        return "", (), ()
    if not isinstance(data, dict):
        out.error(file, 1, messages.SETTINGS_SHAPE, Reach.FILE)
        return "", (), ()
    check_unknown(data, SETTINGS_KEYS, file, "settings.yaml", out)
    contact = data.get("contact") or ""
    if not isinstance(contact, str):
        out.error(file, line_of(data, "contact", 1), messages.CONTACT_NOT_TEXT)
        contact = ""
    groups: list[tuple[str, ...]] = []
    lines: list[int] = []
    raw_groups = data.get("synonyms") or []
    if not isinstance(raw_groups, list):
        out.error(file, line_of(data, "synonyms", 1), messages.SYNONYMS_NOT_A_LIST)
        return contact.strip(), (), ()
    seen: dict[str, int] = {}
    for group, line in zip(raw_groups, getattr(raw_groups, "item_lines", ())):
        words = text_list(group, "synonyms", file, line, out) if isinstance(group, list) else ()
        if len(words) < 2:
            out.error(file, line, messages.SYNONYM_GROUP_TOO_SMALL)
            continue
        for word in words:
            key = question_key(word)
            if key in seen and seen[key] != line:
                out.error(file, line, messages.SYNONYM_IN_TWO_GROUPS.format(word=word, first=seen[key], line=line))
            seen[key] = line
        groups.append(words)
        lines.append(line)
    return contact.strip(), tuple(groups), tuple(lines)


def _tests_file(data: Any, file: str, out: Collector) -> list[RegressionCase]:
    if data is None:
        return []
    if not isinstance(data, list):
        out.error(file, 1, messages.TESTS_SHAPE, Reach.FILE)
        return []
    cases = []
    for item, line in zip(data, item_lines(data, 1)):
        if not isinstance(item, dict):
            out.error(file, line, messages.TEST_NOT_A_MAPPING)
            continue
        check_unknown(item, TEST_KEYS, file, "测试问题", out)
        question, expect = text_value(item.get("question")), text_value(item.get("expect"))
        if question is None or expect is None:
            out.error(file, line, messages.TEST_INCOMPLETE)
            continue
        cases.append(RegressionCase(question, expect, file, line))
    return cases


def _entry_checks(entry: Entry, out: Collector) -> tuple[str, ...]:
    """Problems an entry has on its own; returns each phrasing's question key ("" if repeated)."""
    keys: list[str] = []
    for k, text in enumerate(entry.phrasings):
        key = question_key(text)
        if not key:
            out.error(entry.file, entry.phrasing_line(k), messages.ONLY_PUNCTUATION.format(id=entry.id, text=text))
        elif key in keys:
            out.warning(entry.file, entry.phrasing_line(k), messages.REPEATED_PHRASING.format(id=entry.id, text=text))
            key = ""
        keys.append(key)
    if entry.draft:
        out.warning(entry.file, entry.line, _draft_left(entry))
    elif any(PLACEHOLDER in t for t in (entry.question, entry.answer, entry.source)):
        out.error(
            entry.file,
            entry.line,
            messages.PLACEHOLDER_LEFT.format(id=entry.id, placeholder=PLACEHOLDER),
        )
    elif entry.id.startswith("todo-"):
        out.warning(
            entry.file,
            entry.line,
            messages.DRAFT_ENTRY.format(id=entry.id, placeholder=PLACEHOLDER),
        )
    return tuple(keys)


def _draft_left(entry: Entry) -> str:
    """What staff still have to do before a pasted draft can answer residents."""
    unwritten = [
        f"{name}（{ENTRY_KEYS[name]}）"
        for name, text in (
            ("question", entry.question),
            ("alternates", " ".join(entry.alternates)),
            ("answer", entry.answer),
            ("source", entry.source),
        )
        if PLACEHOLDER in text
    ]
    steps = draft_steps(entry.id, unwritten, messages.DRAFT_TODO_PUBLISH)
    return messages.DRAFT_LEFT.format(id=entry.id, steps=steps) if steps else messages.DRAFT_READY.format(id=entry.id)


def _cross_checks(
    entries: list[Entry],
    keys: list[tuple[str, ...]],
    cases: list[RegressionCase],
    out: Collector,
    knock_ons: KnockOns,
) -> None:
    """Problems between entries of different files: ids, shared phrasings, references.

    A reference to an entry that an error kept out is folded into one line by `knock_ons`.
    """
    first_by_id: dict[str, Entry] = {}
    drafts = {e.id for e in entries if e.draft}
    for entry in entries:
        if entry.id in first_by_id:
            other = first_by_id[entry.id]
            out.error(
                entry.file,
                entry.line,
                messages.DUPLICATE_ID.format(id=entry.id, file=other.file, line=other.line),
            )
        else:
            first_by_id[entry.id] = entry
    owner: dict[str, tuple[Entry, int]] = {}
    for entry, entry_keys in zip(entries, keys):
        for k, key in enumerate(entry_keys):
            if not key:
                continue
            other, at = owner.setdefault(key, (entry, k))
            if other is not entry:
                out.error(
                    entry.file,
                    entry.phrasing_line(k),
                    messages.SHARED_PHRASING.format(
                        text=entry.phrasings[k],
                        id=entry.id,
                        other=other.id,
                        file=other.file,
                        line=other.phrasing_line(at),
                    ),
                )
        for rel in entry.related:
            if rel not in first_by_id:
                if not knock_ons.absorbs(rel, entry.file, entry.line):
                    out.error(entry.file, entry.line, messages.UNKNOWN_RELATED.format(id=entry.id, related=rel))
            elif rel in drafts and not entry.draft:
                out.error(
                    entry.file,
                    entry.line,
                    messages.DRAFT_REFERENCED.format(draft=rel, what=f"条目 {entry.id} 的 related"),
                )
            elif rel == entry.id:
                out.error(entry.file, entry.line, messages.RELATED_TO_ITSELF.format(id=entry.id))
    for case in cases:
        missing = case.expect != Status.UNANSWERED and case.expect not in first_by_id
        if missing and not knock_ons.absorbs(case.expect, case.file, case.line):
            out.error(case.file, case.line, messages.UNKNOWN_EXPECT.format(expect=case.expect))
        elif case.expect in drafts:
            what = f"测试问题“{case.question}”的 expect"
            out.error(case.file, case.line, messages.DRAFT_REFERENCED.format(draft=case.expect, what=what))
    out.problems.extend(knock_ons.problems())


def faq_files(directory: Path) -> list[Path]:
    """Topic files in a stable order (reserved files excluded)."""
    return sorted(p for p in directory.glob("*.yaml") if p.name not in RESERVED_FILES)


def _topic_result(path: Path, disk: cache.DiskCache | None) -> tuple[cache.FileResult, bytes | None]:
    """The file's verdict (parsed, or from the cache) and its bytes (None when unreadable)."""
    out = Collector()
    raw = read_bytes(path, path.name, out)
    if raw is None:
        return cache.FileResult(None, (), tuple(out.problems)), None
    key = cache.digest(raw)
    result = cache.recall(path, key, disk)
    if result is None:
        data = out.parsed(raw, path.name)
        topic, entries = _topic_file(data, path.name, out) if data is not None else (None, [])
        keys = tuple(_entry_checks(entry, out) for entry in entries)
        result = cache.FileResult(topic, tuple(entries), tuple(out.problems), keys)
        cache.remember(path, key, result, disk)
    return result, raw


def check_faq(
    directory: str | Path,
    *,
    today: dt.date | None = None,
    stale_days: int = STALE_DAYS,
    cache_dir: Path | None = None,
    entry_checks: EntryCheck | None = None,
) -> tuple[Faq | None, list[Problem]]:
    """Load and validate a FAQ directory; return the Faq (None if any error) and all problems.

    With `cache_dir`, unchanged files are taken from the parse cache kept there.
    `entry_checks` adds problems about the loaded entries that this package cannot judge
    alone (`checks.answer_length_problems`: how long an answer is once rendered).
    """
    with gcpause.paused():  # ~10 objects per YAML node, none freed
        return _check_faq(Path(directory), today or office_today(), stale_days, cache_dir, entry_checks)


def _check_faq(
    directory: Path, today: dt.date, stale_days: int, cache_dir: Path | None, entry_checks: EntryCheck | None
) -> tuple[Faq | None, list[Problem]]:
    out = Collector()
    if not directory.is_dir():
        out.error(str(directory), 0, messages.NO_DIRECTORY)
        return None, out.problems
    files = faq_files(directory)
    if not files:
        out.error(str(directory), 0, messages.NO_FILES)
    for ignored in sorted(directory.iterdir()):
        if ignored.suffix.lower() in (".yaml", ".yml") and ignored.suffix != ".yaml":
            out.warning(ignored.name, 1, messages.IGNORED_EXTENSION.format(stem=ignored.stem))
    topics: list[Topic] = []
    entries: list[Entry] = []
    keys: list[tuple[str, ...]] = []
    disk = cache.DiskCache(cache_dir) if cache_dir is not None else None
    knock_ons = KnockOns()
    for path in files:
        result, raw = _topic_result(path, disk)
        out.problems.extend(result.problems)
        if raw is not None:
            out.saw(path.name, raw)
        if raw is not None and any(p.is_error for p in result.problems):
            knock_ons.add_file(path.name, raw, (e.id for e in result.entries), result.problems)
        entries.extend(result.entries)
        keys.extend(result.keys)
        if result.topic:
            topics.append(result.topic)
    contact = ""
    synonyms: tuple[tuple[str, ...], ...] = ()
    synonym_lines: tuple[int, ...] = ()
    settings_path = directory / SETTINGS_FILE
    if settings_path.exists():
        contact, synonyms, synonym_lines = _settings_file(
            read_yaml(settings_path, SETTINGS_FILE, out), SETTINGS_FILE, out
        )
    cases: list[RegressionCase] = []
    tests_path = directory / TESTS_FILE
    if tests_path.exists():
        cases = _tests_file(read_yaml(tests_path, TESTS_FILE, out), TESTS_FILE, out)
    referrals = _optional_file(directory / REFERRALS_FILE, referrals_file, out)
    garbage = _optional_file(directory / GARBAGE_ITEMS_FILE, garbage_file, out)
    _cross_checks(entries, keys, cases, out, knock_ons)
    if entry_checks is not None:
        out.problems.extend(entry_checks(entries))
    out.problems.extend(stale_warnings(entries, today, stale_days))
    out.problems.extend(verify_warnings(entries))
    out.problems.extend(_shared_keywords(entries, cache_dir, out.read.hexdigest()))
    if out.errors:
        return None, out.problems
    faq = Faq(
        entries=tuple(e for e in entries if not e.draft),
        topics=tuple(t for t in topics if t.entry_ids),  # a file of drafts only is no topic yet
        synonyms=synonyms,
        synonym_lines=synonym_lines,
        contact=contact,
        tests=tuple(cases),
        files=tuple(p.name for p in files),
        warnings=tuple(out.warnings),
        referrals=referrals,
        garbage=garbage,
        drafts=tuple(e for e in entries if e.draft),
    ).with_content_key(out.read.hexdigest())
    return faq, out.problems


def _shared_keywords(entries: list[Entry], cache_dir: Path | None, content_key: str) -> list[Problem]:
    """`shared_keyword_warnings` over every entry, which follows from the bytes read and the code
    alone, so it is kept in `cache_dir` by those (`verdicts`): at 10,000 entries it costs a
    fifth of loading a cached FAQ."""
    if cache_dir is None:  # a FAQ version not served (faq diff's sides): nothing kept
        return shared_keyword_warnings(entries)
    name = verdicts.content_name(content_key, "shared keywords")
    known = verdicts.recall_lint(cache_dir, name)
    if known is None:
        known = shared_keyword_warnings(entries)
        verdicts.remember_lint(cache_dir, name, known)
    return known


def _optional_file(path: Path, reader: Callable[[Any, Collector], T | None], out: Collector) -> T | None:
    """A file the FAQ may have (referrals.yaml, garbage-items.yaml), read and checked when it does."""
    if not path.exists():
        return None
    data = read_yaml(path, path.name, out)
    return None if data is None else reader(data, out)


def load_faq(directory: str | Path, **kwargs: Any) -> Faq:
    """Load a FAQ directory or raise FaqError with every problem found."""
    faq, problems = check_faq(directory, **kwargs)
    if faq is None:
        raise FaqError([p for p in problems if p.is_error])
    return faq
