"""What checking and indexing a FAQ compute, remembered on disk by content: the verdict of the
checks that run the matcher over the whole FAQ, the lints over all its entries, and the built index.

Before the bot may serve a FAQ, `checks.check_directory` matches every phrasing of every entry
against its own entry and asks the regression questions (`faq check` adds the synonym lint,
which rebuilds the index once per synonym group): about a second for the office's FAQ, five
with the lint, on every start. The verdict depends only on the FAQ's files, the matcher's
thresholds and the code and data behind the matcher, so a restart on an unchanged FAQ (a
deploy, a crash, `ask` after `faq check`) reads it back instead. The key covers all of that:
every file the FAQ was loaded from (names and bytes, `Faq.content_key`), the thresholds, whether the synonym
lint ran, every file of this package (its code and its data tables), the libraries the matcher
calls and Python's version (see `code_key`). Like the parse cache (`faq/cache.py`) it is only an accelerator:
marshal data (plain tuples, no pickle), and any failure to read or write it is ignored.

The lints over all entries that follow from the bytes alone (keywords two entries share) are
kept the same way.

The built index (`Index.built()`) is kept the same way, keyed by the FAQ as loaded and the same
code key: building it takes 0.1 s for the office's FAQ but 3-4 s at 10,000 entries, reading it
back a fraction of that. Only the newest few are kept (tens of MB each at that size).
"""

from __future__ import annotations

import hashlib
import importlib
import marshal
import os
import sys
import tempfile
import time
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servicebot import gcpause
from servicebot.errors import Problem, Severity

if TYPE_CHECKING:
    from servicebot.faq.model import Faq

KEPT_INDEXES = 3  # built indexes kept in the cache directory: the most recently used
ABANDONED_AFTER = 3600.0  # seconds after which a temporary file is a killed writer's leftover
UNUSED_DAYS = 30  # a verdict not read for this long is removed when another is written
LIBRARIES = ("rapidfuzz", "opencc", "rjieba", "yaml")  # what the matcher and the FAQ loader call


@cache
def code_key() -> bytes:
    """Changes whenever this package's code or data, a library the matcher calls, or Python does.

    Code and small files by content; the data tables (20 MB) and the libraries' installed files
    by size and modification time, which any rebuild or reinstall changes (hashing them would
    cost a tenth of a second on every start)."""
    package = Path(__file__).parent
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(package)).encode() + b"\0")
            h.update(_stamp(path) if path.suffix == ".sqlite3" else path.read_bytes())
    for name in LIBRARIES:
        with suppress(ImportError, TypeError, OSError):
            module = importlib.import_module(name)
            h.update(name.encode() + _stamp(Path(module.__file__ or "")))
    h.update(repr(sys.version_info).encode())
    return h.digest()


def _stamp(path: Path) -> bytes:
    status = path.stat()
    return f"{status.st_size}:{status.st_mtime_ns}".encode()


def key(faq: Faq, *facts: object) -> str | None:
    """The key of a loaded FAQ's verdict under `facts` (thresholds, which checks ran): the bytes
    it was loaded from (`Faq.content_key`), so a file changed while it was read can never pair
    one version's verdict with another; None for a FAQ not loaded from files."""
    if not faq.content_key:
        return None
    return content_name(faq.content_key, *facts)


def content_name(content_key: str, *facts: object) -> str:
    """The name of what was computed from the FAQ read as `content_key` under `facts`."""
    return hashlib.blake2b(code_key() + repr(facts).encode() + content_key.encode(), digest_size=16).hexdigest()


def recall(cache_dir: Path, name: str) -> tuple[list[str], list[Problem]] | None:
    """(each regression question's outcome, the problems found) stored under `name`, or None."""
    try:
        outcomes, problems = _read(cache_dir / f"{name}.verdict")
        return list(outcomes), _problems(problems)
    except (OSError, EOFError, ValueError, TypeError):  # absent, or written by a broken run
        return None


def remember(cache_dir: Path, name: str, outcomes: list[str], problems: list[Problem]) -> None:
    _write(cache_dir / f"{name}.verdict", (tuple(outcomes), _rows(problems)))


def recall_lint(cache_dir: Path, name: str) -> list[Problem] | None:
    """What a lint over every entry found, stored under `name`, or None."""
    try:
        return _problems(_read(cache_dir / f"{name}.lint"))
    except (OSError, EOFError, ValueError, TypeError):
        return None


def remember_lint(cache_dir: Path, name: str, problems: list[Problem]) -> None:
    _write(cache_dir / f"{name}.lint", _rows(problems))


def _rows(problems: list[Problem]) -> tuple[tuple[str, int, str, str], ...]:
    return tuple((p.file, p.line, p.message, str(p.severity)) for p in problems)


def _problems(rows: Any) -> list[Problem]:
    return [Problem(file, line, message, Severity(severity)) for file, line, message, severity in rows]


def _read(path: Path) -> Any:
    data = marshal.loads(path.read_bytes())
    with suppress(OSError):
        os.utime(path)  # recently used: not pruned
    return data


def _write(path: Path, data: Any) -> None:
    """Store `data` (marshal) at `path`, and remove the files of its kind not used for UNUSED_DAYS."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(marshal.dumps(data))
        os.replace(tmp, path)
        cutoff = time.time() - UNUSED_DAYS * 86400
        for old in path.parent.glob(f"*{path.suffix}"):
            with suppress(OSError):
                if old.stat().st_mtime < cutoff:
                    old.unlink()
    except (OSError, ValueError):
        with suppress(OSError):
            tmp.unlink(missing_ok=True)


def index_key(faq: Faq) -> str | None:
    """The key of the index built from this FAQ: the files it was loaded from (None for a Faq
    made in code, never kept)."""
    if not faq.content_key:
        return None
    return hashlib.blake2b(code_key() + faq.content_key.encode(), digest_size=16).hexdigest()


def recall_index(cache_dir: Path, name: str) -> dict[str, Any] | None:
    """The built index stored under `name`, or None."""
    path = cache_dir / f"{name}.index"
    try:
        with gcpause.paused():  # millions of small objects that live as long as the index
            state = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError, MemoryError):
        return None
    with suppress(OSError):  # another user's file: read, not touched
        os.utime(path)  # recently used: kept
    return state if isinstance(state, dict) else None


def remember_index(cache_dir: Path, name: str, state: dict[str, Any]) -> None:
    tmp = None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=cache_dir)  # a name of its own per writer
        with os.fdopen(fd, "wb") as out:
            out.write(marshal.dumps(state))
        os.replace(tmp, cache_dir / f"{name}.index")
        kept = sorted(cache_dir.glob("*.index"), key=lambda p: p.stat().st_mtime, reverse=True)
        stale = time.time() - ABANDONED_AFTER
        abandoned = [p for p in cache_dir.glob("*.tmp") if p.stat().st_mtime < stale]  # a writer killed
        for old in kept[KEPT_INDEXES:] + abandoned:
            with suppress(OSError):
                old.unlink()
    except (OSError, ValueError):
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)


__all__ = [
    "code_key",
    "content_name",
    "index_key",
    "key",
    "recall",
    "recall_index",
    "recall_lint",
    "remember",
    "remember_index",
    "remember_lint",
]
