"""Problems that follow from another one, folded into one line after their cause.

A tab in welfare.yaml makes the whole file unreadable, and then every `related:` and every
tests.yaml question that names one of its entries reports an id that "does not exist": a
dozen errors in other files, listed before the one that matters. Staff fix the first error
first, so they were sent to the wrong file. The same happens, on a smaller scale, when one
entry is left out for a missing field.

The ids a file declares are found in its text even when its YAML cannot be parsed. A
reference to one of them is not reported on its own: the unread file (or entry) gets one
line saying how many places mention it and where, and that fixing it clears them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from servicebot.errors import Problem, Reach
from servicebot.faq import messages

# `- id: dibao-apply` or `id: "dibao-apply"`, at any indentation, tabs included (the slip
# that made the file unreadable may be on that very line).
_ID_LINE_RE = re.compile(r"""^[ \t]*(?:-[ \t]+)?id[ \t]*:[ \t]*["']?([^\s"'#,\]}]+)""", re.MULTILINE)

MAX_LINES_SHOWN = 10  # per file, in the folded line; the count is always complete


def declared_ids(raw: bytes) -> dict[str, int]:
    """Every id a topic file's text declares, with the line of its first declaration."""
    text = raw.decode("utf-8", errors="replace")
    ids: dict[str, int] = {}
    for match in _ID_LINE_RE.finditer(text):
        ids.setdefault(match.group(1), text.count("\n", 0, match.start()) + 1)
    return ids


@dataclass
class _Unread:
    """An id declared in a file but not loaded, and where the folded line about it goes."""

    file: str
    line: int  # the unread file's error, or the last error of the entry left out
    whole_file: bool
    id: str


@dataclass
class KnockOns:
    """Collects references to ids that were declared but not loaded, instead of reporting each."""

    _unread: dict[str, _Unread] = field(default_factory=dict)
    _mentions: dict[tuple[str, int, str], list[tuple[str, int]]] = field(default_factory=dict)

    def add_file(self, file: str, raw: bytes, loaded: Iterable[str], problems: Iterable[Problem]) -> None:
        """A topic file with errors: remember the ids its text declares that did not load."""
        errors = [p for p in problems if p.is_error]
        cause = next((p for p in errors if p.reach == Reach.FILE), None)
        loaded = set(loaded)
        declared = sorted(declared_ids(raw).items(), key=lambda item: item[1])
        ends = [line for _, line in declared[1:]] + [float("inf")]
        for (entry_id, start), end in zip(declared, ends):
            if entry_id in loaded or entry_id in self._unread:
                continue
            if cause is not None:
                self._unread[entry_id] = _Unread(file, cause.line, True, entry_id)
            else:  # the entry was left out: after its last error
                last = max((p.line for p in errors if start <= p.line < end), default=start)
                self._unread[entry_id] = _Unread(file, last, False, entry_id)

    def absorbs(self, entry_id: str, file: str, line: int) -> bool:
        """True (and noted) when a reference to a missing id follows from an unread file or entry."""
        unread = self._unread.get(entry_id)
        if unread is None:
            return False
        key = (unread.file, unread.line, "" if unread.whole_file else entry_id)
        self._mentions.setdefault(key, []).append((file, line))
        return True

    def problems(self) -> list[Problem]:
        """One line per unread file (right after its cause) or left-out entry (after its errors)."""
        problems = []
        for (file, line, entry_id), places in self._mentions.items():
            where = _places(places)
            if entry_id:
                message = messages.KNOCK_ON_ENTRY.format(id=entry_id, count=len(places), places=where)
                problems.append(Problem(file, line, message, reach=Reach.AFTER_LINE))
            else:
                message = messages.KNOCK_ON_FILE.format(count=len(places), places=where)
                problems.append(Problem(file, line, message, reach=Reach.AFTER_FILE))
        return problems


def _places(places: list[tuple[str, int]]) -> str:
    """`tests.yaml 第 6、8 行；community.yaml 第 28 行`, files in the order first met."""
    by_file: dict[str, list[int]] = {}
    for file, line in places:
        by_file.setdefault(file, []).append(line)
    parts = []
    for file, lines in by_file.items():
        lines = sorted(set(lines))
        shown = "、".join(map(str, lines[:MAX_LINES_SHOWN]))
        more = messages.KNOCK_ON_MORE.format(count=len(lines)) if len(lines) > MAX_LINES_SHOWN else ""
        parts.append(messages.KNOCK_ON_PLACE.format(file=file, lines=shown, more=more))
    return "；".join(parts)
