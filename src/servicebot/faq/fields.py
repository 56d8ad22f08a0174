"""The building blocks every staff-edited file is checked with: a problem collector, and
readers for texts, lists of texts, dates, links and unknown keys, each reporting what is
wrong with file:line in the staff's words.

The topic files, settings.yaml, tests.yaml, referrals.yaml and garbage-items.yaml are all
checked with these, so a date or a link is judged the same way whichever file it is in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from servicebot.errors import Problem, Reach, Severity
from servicebot.faq import messages
from servicebot.faq.model import PLACEHOLDER, Link
from servicebot.faq.yaml_lines import item_lines, line_of, mapping_line, parse_yaml

URL_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d+)?(?:[/?#][^\s]*)?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LINK_KEYS = ("title", "url")


class Collector:
    """Accumulates problems for one load so every mistake is reported in one run."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, file: str, line: int, message: str, reach: Reach = Reach.LINE) -> None:
        self.problems.append(Problem(file, line, message, reach=reach))

    def warning(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message, Severity.WARNING))

    def parsed(self, raw: bytes, label: str) -> Any:
        """One file's YAML; its problems are collected, None when it cannot be parsed."""
        data, problems = parse_yaml(raw, label)
        self.problems.extend(problems)
        return data

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


def draft_steps(item_id: str, unwritten: Sequence[str], publish: str) -> str:
    """What is left before a draft pasted from the review goes live, numbered: rename its todo-
    id, write the fields that still hold the placeholder, then `publish` (delete `draft: true`).
    Empty when only that last step is left."""
    todo = [messages.DRAFT_TODO_ID.format(id=item_id)] if item_id.startswith("todo-") else []
    if unwritten:
        todo.append(messages.DRAFT_TODO_WRITE.format(fields="、".join(unwritten), placeholder=PLACEHOLDER))
    return "；".join(f"{n}. {step}" for n, step in enumerate([*todo, publish], 1)) if todo else ""


def read_bytes(path: Path, label: str, out: Collector) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:  # deleted or renamed while an editor saves it
        out.error(label, 0, messages.UNREADABLE.format(reason=exc.strerror or exc), Reach.FILE)
        return None


def read_yaml(path: Path, label: str, out: Collector) -> Any:
    raw = read_bytes(path, label, out)
    return None if raw is None else out.parsed(raw, label)


# --- field checks -----------------------------------------------------------------------


def text_value(value: Any) -> str | None:
    """A non-empty string (numbers staff typed bare are accepted as text)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def text_list(value: Any, name: str, file: str, line: int, out: Collector) -> tuple[str, ...]:
    return tuple(text for text, _ in located_texts(value, name, file, line, out))


def located_texts(value: Any, name: str, file: str, line: int, out: Collector) -> list[tuple[str, int]]:
    """The texts of a list field, each with its line."""
    if value is None:
        return []
    if not isinstance(value, list):
        out.error(file, line, messages.NOT_A_LIST.format(name=name))
        return []
    items: list[tuple[str, int]] = []
    for item, item_line in zip(value, item_lines(value, line)):
        text = text_value(item)
        if text is None:
            out.error(file, item_line, messages.EMPTY_ITEM.format(name=name))
        else:
            items.append((text, item_line))
    return items


def date_value(value: Any, file: str, line: int, out: Collector, name: str = "reviewed") -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = text_value(value)
    if text and DATE_RE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            out.error(file, line, messages.NO_SUCH_DATE.format(name=name, text=text))
            return None
    out.error(file, line, messages.BAD_DATE.format(name=name, value=value))
    return None


def links_value(value: Any, file: str, line: int, out: Collector) -> tuple[Link, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        out.error(file, line, messages.LINKS_NOT_A_LIST)
        return ()
    links = []
    for item, item_line in zip(value, item_lines(value, line)):
        if not isinstance(item, dict):
            out.error(file, item_line, messages.LINK_NOT_A_MAPPING)
            continue
        for key in item:
            if key not in LINK_KEYS:
                out.error(file, line_of(item, key, item_line), messages.LINK_UNKNOWN_KEY.format(key=key))
        title, url = text_value(item.get("title")), text_value(item.get("url"))
        if title is None:
            out.error(file, item_line, messages.LINK_NO_TITLE)
        if url is None or not URL_RE.match(url):
            out.error(
                file,
                line_of(item, "url", item_line),
                messages.LINK_BAD_URL.format(url=item.get("url")),
            )
        if title and url and URL_RE.match(url):
            links.append(Link(title, url))
    return tuple(links)


def check_unknown(mapping: dict, allowed: Iterable[str], file: str, where: str, out: Collector) -> None:
    allowed = tuple(allowed)
    for key in mapping:
        if key not in allowed:
            hint = "、".join(allowed)
            out.error(
                file,
                line_of(mapping, key, mapping_line(mapping)),
                messages.UNKNOWN_KEY.format(where=where, key=key, allowed=hint),
            )
