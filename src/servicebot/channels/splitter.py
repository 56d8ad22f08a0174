"""One message splitter for every channel: a text too long for one message, as several.

Each channel has a size limit and its own way of measuring it — Telegram counts UTF-16 code
units (4,096 a message), WeChat's passive reply UTF-8 bytes (2,047) — so the measure is a
parameter, like the limit. `split` packs a text's pieces into pages with `pack`, the one
packing loop; `Cuts` says where a page may end:

- `Cuts.LINES` (Telegram): whole lines, as many as fit; only a line longer than a page is cut,
  between two code points. Indentation is kept; blank lines at the edges of a page are dropped.
- `Cuts.PROSE` (WeChat): the best break in the second half of a page — a line break, then a
  sentence end, then a pause or a link's edge — never inside a character (an emoji sequence, a
  flag, an accented letter) or an `<a href>` link; blank space at the cuts is dropped.

With `more`, every page but the last ends with it on a line of its own (WeChat's "更多" hint).
Pure functions: no channel, no I/O.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Callable, Sequence
from enum import Enum

Measure = Callable[[str], int]


def utf8_len(text: str) -> int:
    """WeChat's measure: UTF-8 bytes."""
    return len(text.encode("utf-8", "surrogatepass"))


def utf16_len(text: str) -> int:
    """Telegram's measure: UTF-16 code units (an emoji beyond the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


class Cuts(Enum):
    """Where a page may end; see the module docstring."""

    LINES = "lines"
    PROSE = "prose"


def split(text: str, limit: int, measure: Measure, *, cuts: Cuts = Cuts.LINES, more: str | None = None) -> list[str]:
    """`text` as pages of at most `limit` by `measure`, cut as `cuts` says; with `more`, every
    page but the last ends with "\\n" + `more`, which counts towards the limit."""
    if cuts is Cuts.PROSE:
        return _prose(text, limit, measure, more)
    return _lines(text, limit, measure, more)


def _tail(more: str | None) -> str:
    """What ends every page but the last: `more` on a line of its own."""
    return "" if more is None else "\n" + more


def _hinted(pages: list[str], tail: str) -> list[str]:
    return [page + tail for page in pages[:-1]] + pages[-1:]


# --- the packing loop ------------------------------------------------------------------------


def pack(
    sizes: Sequence[int],
    limit: int,
    *,
    reserve: int = 0,
    joiner: int = 0,
    rank: Callable[[int], int] | None = None,
    fill: float = 0.0,
    blank: Callable[[int], bool] | None = None,
) -> list[range]:
    """Consecutive pieces of these `sizes` grouped into pages: the last page at most `limit`,
    every other one at most `limit - reserve` (room left for a hint), counting `joiner` between
    two pieces of a page. A page ends as late as it can or, with `rank`, at the best-ranked cut
    (`rank(i)`: the cut before piece i) that still fills `fill` of the page, the latest among
    equals. `blank` pieces at the start of a page are left out. A piece bigger than a page
    is a page of its own."""
    budget = limit - reserve
    ends = list(itertools.accumulate(sizes, initial=0))

    def size(start: int, end: int) -> int:
        return ends[end] - ends[start] + joiner * max(end - start - 1, 0)

    pages: list[range] = []
    start, count = 0, len(sizes)
    while True:
        while blank is not None and start < count and blank(start):
            start += 1
        if size(start, count) <= limit:
            if start < count:
                pages.append(range(start, count))
            return pages
        end = start
        while end < count and size(start, end + 1) <= budget:
            end += 1
        if end == start:
            end += 1
        elif rank is not None:
            best, best_rank = end, -1
            for position in range(end, start, -1):
                if size(start, position) < fill * budget:
                    break
                if (ranked := rank(position)) > best_rank:
                    best, best_rank = position, ranked
            end = best
        pages.append(range(start, end))
        start = end


# --- Cuts.LINES --------------------------------------------------------------------------------


def cut_line(line: str, limit: int, measure: Measure) -> list[str]:
    """Pieces of one line, each at most `limit` by `measure` (one that is not longer, whole),
    never splitting a code point."""
    if measure(line) <= limit:
        return [line]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = measure(char)
        if size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    pieces.append("".join(current))
    return pieces


def group_lines(lengths: Sequence[int], limit: int) -> list[range]:
    """Consecutive lines packed greedily into groups whose joined length (with one newline
    between lines) is at most `limit`. Every length must already be ≤ limit."""
    return pack(lengths, limit, joiner=1)


def _lines(text: str, limit: int, measure: Measure, more: str | None) -> list[str]:
    tail = _tail(more)
    reserve = measure(tail)
    pieces = [piece for line in text.split("\n") for piece in cut_line(line, limit - reserve, measure)]
    groups = pack([measure(piece) for piece in pieces], limit, reserve=reserve, joiner=measure("\n"))
    pages = ["\n".join(pieces[g.start : g.stop]).strip("\n") for g in groups]
    return _hinted([page for page in pages if page.strip()], tail)


# --- Cuts.PROSE --------------------------------------------------------------------------------

_LINK_RE = re.compile(r"<a\s[^<>]*>[^<>]*</a>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^<>]*>")
_SENTENCE_END = frozenset("。！？!?；;…")
_CLOSERS = frozenset("”’」』）)】》\"'")
_SOFT = frozenset("，、,：: \t　")
_MAX_CLUSTER = 64  # by the measure; a longer "character" (zalgo text) may be cut, so no cluster outgrows a page


def _extends(char: str) -> bool:
    """Whether `char` belongs to the character before it (combining mark, joiner, selector, modifier)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or code == 0x200D
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or 0xE0100 <= code <= 0xE01EF
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _clusters(text: str, measure: Measure) -> list[str]:
    """`text` as user-perceived characters (a close approximation of extended grapheme clusters):
    a cut between two of them never breaks an emoji sequence, a flag or an accented letter."""
    out: list[str] = []
    for char in text:
        if out and measure(out[-1]) < _MAX_CLUSTER:
            last = out[-1]
            if (
                _extends(char)
                or last.endswith("\u200d")
                or (last == "\r" and char == "\n")
                or (_regional(char) and len(last) == 1 and _regional(last))
            ):
                out[-1] = last + char
                continue
        out.append(char)
    return out


def _atoms(text: str, max_atom: int, measure: Measure) -> list[str]:
    """Clusters, except that each `<a href>…</a>` link is one atom (a link longer than a page
    keeps its words and loses its markup)."""
    atoms: list[str] = []
    pos = 0
    for match in _LINK_RE.finditer(text):
        atoms.extend(_clusters(text[pos : match.start()], measure))
        link = match.group()
        atoms.extend([link] if measure(link) <= max_atom else _clusters(_TAG_RE.sub("", link), measure))
        pos = match.end()
    atoms.extend(_clusters(text[pos:], measure))
    return atoms


def _rank(atoms: list[str], end: int) -> int:
    """How good a place the cut after atoms[:end] is: 3 a line break, 2 a sentence end, 1 a
    pause (comma, space) or a link's edge, 0 between two characters."""
    last = atoms[end - 1]
    if last.endswith("\n"):
        return 3
    if last in _SENTENCE_END or (last in _CLOSERS and end > 1 and atoms[end - 2] in _SENTENCE_END):
        return 2
    if last in _SOFT or last.startswith("<a") or (end < len(atoms) and atoms[end].startswith("<a")):
        return 1
    return 0


def _prose(text: str, limit: int, measure: Measure, more: str | None) -> list[str]:
    """A text that fits is left as it is; only whitespace at the cuts is dropped."""
    if measure(text) <= limit:
        return [text]
    tail = _tail(more)
    reserve = measure(tail)
    if limit - reserve < 4 * _MAX_CLUSTER:
        raise ValueError(f"limit {limit} leaves no room for text next to {more!r}")
    atoms = _atoms(text, limit - reserve, measure)
    groups = pack(
        [measure(atom) for atom in atoms],
        limit,
        reserve=reserve,
        rank=functools.partial(_rank, atoms),
        fill=0.5,
        blank=lambda i: not atoms[i].strip(),
    )
    return _hinted(["".join(atoms[g.start : g.stop]).rstrip() for g in groups], tail)


__all__ = ["Cuts", "Measure", "cut_line", "group_lines", "pack", "split", "utf8_len", "utf16_len"]
