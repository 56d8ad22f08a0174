"""What a FAQ is once loaded: frozen entries, topics and staff regression questions.

Every layer above the loader (the matcher, the replies, the review) reads these types and
nothing else of the FAQ files, so they live apart from the YAML and the validation.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from servicebot.errors import Problem

SETTINGS_FILE = "settings.yaml"
TESTS_FILE = "tests.yaml"
REFERRALS_FILE = "referrals.yaml"  # matters other bodies handle, and how to reach them
GARBAGE_ITEMS_FILE = "garbage-items.yaml"  # everyday items and their bins
RESERVED_FILES = (SETTINGS_FILE, TESTS_FILE, REFERRALS_FILE, GARBAGE_ITEMS_FILE)
PLACEHOLDER = "待填写"  # marks what staff must still write in a drafted entry


@dataclass(frozen=True)
class Link:
    title: str
    url: str


# Hosts whose pages residents may be sent to as a link button: government sites. A source read
# elsewhere (a newspaper's reprint) is still named and dated, but not linked.
OFFICIAL_HOST_SUFFIXES = (".gov.cn",)


@dataclass(frozen=True)
class Source:
    """An official page that states a fact the office's report does not: where, what, when.

    `facts` are the fact's words as the answer writes them (a hotline, an amount, a date),
    which the validation finds in the answer; `date` is the page's own date."""

    url: str
    title: str
    date: dt.date
    facts: tuple[str, ...] = ()

    @property
    def official(self) -> bool:
        """On a government site: shown to residents as a link button."""
        host = urlsplit(self.url).hostname or ""
        return host.endswith(OFFICIAL_HOST_SUFFIXES)


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
    keyword_lines: tuple[int, ...] = ()  # the line of each keyword, for staff messages
    verify: str = ""  # what staff must still confirm (待核实); shown to staff, never to residents
    sources: tuple[Source, ...] = ()  # pages behind the facts the report lacks
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
class Referral:
    """A matter another body handles (户口, 护照, 公积金 …): who, and how residents reach them."""

    id: str
    matter: str  # what residents call it, as the reply names it: 户口、身份证
    subjects: tuple[str, ...]  # words that show a question is about it, colloquial forms included
    body: str  # who handles it
    how: str  # how residents reach them through official channels
    sources: tuple[Source, ...] = ()
    links: tuple[Link, ...] = ()
    file: str = ""
    line: int = 0
    draft: bool = False  # `draft: true`: pasted from the review, not yet written; never referred to


@dataclass(frozen=True)
class Referrals:
    """faq/referrals.yaml: the matters, and the general way in said under each of them;
    `matters` are what residents are referred to, `drafts` wait for staff."""

    matters: tuple[Referral, ...]
    general: str = ""  # e.g. 12345: for when residents are unsure which body to ask
    general_sources: tuple[Source, ...] = ()
    drafts: tuple[Referral, ...] = ()


BIN_CATEGORIES = ("可回收物", "有害垃圾", "厨余垃圾", "其他垃圾")  # GB/T 19095-2019, in its order


@dataclass(frozen=True)
class BinCategory:
    name: str
    means: str  # what belongs in it, in one sentence
    put_out: str  # how to put it out


@dataclass(frozen=True)
class BinCase:
    when: str
    category: str


@dataclass(frozen=True)
class GarbageItem:
    """One everyday item: its bin, or the cases its bin depends on."""

    name: str
    aliases: tuple[str, ...] = ()
    category: str | None = None
    cases: tuple[BinCase, ...] = ()
    tip: str = ""
    line: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def categories(self) -> tuple[str, ...]:
        """The bins it may go into: its one category, or its cases' (each once, in order)."""
        return (self.category,) if self.category else tuple(dict.fromkeys(c.category for c in self.cases))


@dataclass(frozen=True)
class GarbageGuide:
    """faq/garbage-items.yaml: the four categories and the items sorted into them."""

    categories: tuple[BinCategory, ...]
    items: tuple[GarbageItem, ...]
    sources: tuple[Source, ...] = ()

    def category(self, name: str) -> BinCategory:
        return next(c for c in self.categories if c.name == name)


@dataclass(frozen=True)
class Faq:
    """A whole validated FAQ directory: `entries` are what residents get, `drafts` wait for staff."""

    entries: tuple[Entry, ...]
    topics: tuple[Topic, ...]
    synonyms: tuple[tuple[str, ...], ...] = ()
    synonym_lines: tuple[int, ...] = ()  # where each group is written in settings.yaml
    contact: str = ""
    tests: tuple[RegressionCase, ...] = ()
    files: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()
    referrals: Referrals | None = None  # faq/referrals.yaml, when there is one
    garbage: GarbageGuide | None = None  # faq/garbage-items.yaml, when there is one
    drafts: tuple[Entry, ...] = ()  # entries marked `draft: true`: validated, never served
    by_id: dict[str, Entry] = field(default_factory=dict, compare=False, repr=False)
    # A digest of every file's bytes as loaded, set by the loader (`with_content_key`); "" for a
    # Faq made in code or changed with dataclasses.replace, which does not copy it. Keys the
    # built index (verdicts.py).
    content_key: str = field(default="", init=False, compare=False, repr=False)

    def with_content_key(self, key: str) -> Faq:
        """This Faq, marked as loaded from files whose digest is `key`."""
        object.__setattr__(self, "content_key", key)
        return self

    def __post_init__(self) -> None:
        self.by_id.update({e.id: e for e in self.entries})

    @property
    def question_count(self) -> int:
        return sum(len(e.phrasings) for e in self.entries)


_NOT_LETTER_OR_NUMBER_RE = re.compile(r"[\W_]+")  # \w minus "_" is exactly Unicode L* and N*


def question_key(text: str) -> str:
    """How two phrasings are compared for duplicates: width, case, punctuation and space folded."""
    return _NOT_LETTER_OR_NUMBER_RE.sub("", unicodedata.normalize("NFKC", text).casefold())
