"""What each topic file yields once parsed and validated, remembered so it is not done twice.

Two levels. In memory, the last version of each file: a reload after one edit re-parses
only the edited file. On disk (in the data directory), one small file per file content: a
restart or a one-shot command does not pay libyaml's ~2 s for 10 MB of unchanged YAML.

A cached verdict must be the verdict a fresh run would give, so the disk key covers
everything a topic file's result depends on: the file's name and content, the source of
this package (the YAML loader, the validation, the model, this encoding) and of the
`Problem` type, the YAML library and loader in use, and the Python version (marshal's
format). What depends on more than one file or on the day (stale-date warnings,
duplicates across files, checks of the rendered answers) is never cached: it is computed
on every load. Files are marshal data (plain tuples, no pickle: nothing in them can run
code). The cache is only an accelerator: any failure to read or write it is ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import marshal
import os
import sys
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import yaml

from servicebot import errors
from servicebot.errors import Problem, Reach, Severity
from servicebot.faq.model import Entry, Link, Source, Topic
from servicebot.faq.yaml_lines import LOADER_KIND


@dataclass(frozen=True)
class FileResult:
    """One topic file, parsed and validated on its own."""

    topic: Topic | None
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...]
    keys: tuple[tuple[str, ...], ...] = ()  # per entry, each phrasing's question key ("" if repeated)


def digest(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=16).digest()


# The code that produces a FileResult: this package and the Problem type.
SOURCES = (*sorted(Path(__file__).parent.glob("*.py")), Path(errors.__file__))


def format_key(sources: Iterable[Path]) -> str:
    """Changes whenever the code or the libraries that produce a FileResult change."""
    h = hashlib.blake2b(digest_size=16)
    for path in sources:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    h.update(f"{yaml.__version__}/{LOADER_KIND}/{sys.version_info[:2]}".encode())
    return h.hexdigest()


FORMAT = format_key(SOURCES)

# File path → (content digest, what that content yields), the last version only.
MEMORY: dict[Path, tuple[bytes, FileResult]] = {}


def recall(path: Path, key: bytes, disk: DiskCache | None) -> FileResult | None:
    """The result for `path` whose content has digest `key`, from memory or disk; None if unknown."""
    cached = MEMORY.get(path.absolute())
    if cached is not None and cached[0] == key:
        return cached[1]
    result = disk.get(path.name, key) if disk else None
    if result is not None:
        MEMORY[path.absolute()] = (key, result)
    return result


def remember(path: Path, key: bytes, result: FileResult, disk: DiskCache | None) -> None:
    MEMORY[path.absolute()] = (key, result)
    if disk:
        disk.put(path.name, key, result)


def _encode(result: FileResult) -> tuple:
    topic = (result.topic.name, result.topic.file, result.topic.entry_ids) if result.topic else None
    entries = tuple(
        (
            e.id,
            e.question,
            e.alternates,
            e.answer,
            e.source,
            e.reviewed.toordinal(),
            e.topic,
            e.keywords,
            tuple((link.title, link.url) for link in e.links),
            e.related,
            e.file,
            e.line,
            e.phrasing_lines,
            e.keyword_lines,
            e.verify,
            tuple((s.url, s.title, s.date.toordinal(), s.facts) for s in e.sources),
            e.draft,
        )
        for e in result.entries
    )
    problems = tuple((p.file, p.line, p.message, str(p.severity), int(p.reach)) for p in result.problems)
    return topic, entries, problems, result.keys


def _decode_entry(fields: tuple) -> Entry:
    eid, question, alternates, answer, source, reviewed, topic, keywords, links, related, file, line = fields[:12]
    lines, keyword_lines, verify, sources, draft = fields[12:]
    return Entry(
        eid,
        question,
        alternates,
        answer,
        source,
        dt.date.fromordinal(reviewed),
        topic,
        keywords,
        tuple(Link(*link) for link in links),
        related,
        file,
        line,
        lines,
        keyword_lines,
        verify,
        tuple(Source(url, title, dt.date.fromordinal(date), facts) for url, title, date, facts in sources),
        draft,
    )


def _decode(data: tuple) -> FileResult:
    topic, entries, problems, keys = data
    return FileResult(
        Topic(*topic) if topic else None,
        tuple(map(_decode_entry, entries)),
        tuple(
            Problem(file, line, message, Severity(severity), Reach(reach))
            for file, line, message, severity, reach in problems
        ),
        keys,
    )


class DiskCache:
    """Validated results of topic files, one small file per file content, in `directory`."""

    UNUSED_DAYS = 30  # a cache file not used for this long is removed when another is written

    def __init__(self, directory: Path):
        self.directory = directory

    def _path(self, name: str, key: bytes) -> Path:
        hashed = hashlib.blake2b(f"{FORMAT}/{name}".encode() + key, digest_size=16).hexdigest()
        return self.directory / f"{hashed}.faqcache"

    def get(self, name: str, key: bytes) -> FileResult | None:
        path = self._path(name, key)
        try:
            result = _decode(marshal.loads(path.read_bytes()))
            os.utime(path)  # recently used: not pruned
        except (OSError, EOFError, ValueError, TypeError, IndexError):  # absent, or written by a broken run
            return None
        return result

    def put(self, name: str, key: bytes, result: FileResult) -> None:
        path = self._path(name, key)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(marshal.dumps(_encode(result)))
            os.replace(tmp, path)
            self._prune()
        except OSError:
            with suppress(OSError):
                tmp.unlink(missing_ok=True)

    def _prune(self) -> None:
        cutoff = time.time() - self.UNUSED_DAYS * 86400
        for old in self.directory.glob("*.faqcache"):
            with suppress(OSError):
                if old.stat().st_mtime < cutoff:
                    old.unlink()
