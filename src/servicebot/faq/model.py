"""What a FAQ is once loaded: frozen entries, topics and staff regression questions.

Every layer above the loader (the matcher, the replies, the review) reads these types and
nothing else of the FAQ files, so they live apart from the YAML and the validation.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from servicebot.errors import Problem

SETTINGS_FILE = "settings.yaml"
TESTS_FILE = "tests.yaml"
RESERVED_FILES = (SETTINGS_FILE, TESTS_FILE)
PLACEHOLDER = "待填写"  # marks what staff must still write in a drafted entry


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Entry:
    """One question/answer pair as residents will see it."""

    id: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    source: str
    reviewed: dt.date
    topic: str
    keywords: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    related: tuple[str, ...] = ()
    file: str = ""
    line: int = 0
    phrasing_lines: tuple[int, ...] = ()  # the line of each phrasing, for staff messages
    draft: bool = False  # `draft: true`: pasted from the review, not yet written; never served

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The canonical question followed by every alternate."""
        return (self.question, *self.alternates)

    def phrasing_line(self, k: int) -> int:
        """The line of phrasings[k] in its file (the entry's own line if unknown)."""
        return self.phrasing_lines[k] if k < len(self.phrasing_lines) else self.line


@dataclass(frozen=True)
class Topic:
    name: str
    file: str
    entry_ids: tuple[str, ...]


@dataclass(frozen=True)
class RegressionCase:
    """A staff-written question that must reach `expect` (an entry id, or Status.UNANSWERED)."""

    question: str
    expect: str
    file: str
    line: int


@dataclass(frozen=True)
class Faq:
    """A whole validated FAQ directory: `entries` are what residents get, `drafts` wait for staff."""

    entries: tuple[Entry, ...]
    topics: tuple[Topic, ...]
    synonyms: tuple[tuple[str, ...], ...] = ()
    contact: str = ""
    tests: tuple[RegressionCase, ...] = ()
    files: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()
    drafts: tuple[Entry, ...] = ()  # entries marked `draft: true`: validated, never served
    by_id: dict[str, Entry] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id.update({e.id: e for e in self.entries})

    @property
    def question_count(self) -> int:
        return sum(len(e.phrasings) for e in self.entries)


_NOT_LETTER_OR_NUMBER_RE = re.compile(r"[\W_]+")  # \w minus "_" is exactly Unicode L* and N*


def question_key(text: str) -> str:
    """How two phrasings are compared for duplicates: width, case, punctuation and space folded."""
    return _NOT_LETTER_OR_NUMBER_RE.sub("", unicodedata.normalize("NFKC", text).casefold())
