"""Aligned plain-text tables for a terminal, where Chinese characters take two columns."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence


def text_width(text: str) -> int:
    """Columns a string takes in a terminal: wide and full-width characters take two."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, width: int) -> str:
    if text_width(text) <= width:
        return text
    out, used = [], 0
    for c in text:
        w = text_width(c)
        if used + w > width - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - text_width(text))
    return gap + text if right else text + gap


Cell = str | Sequence[str]


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Cell]], limits: Sequence[int], numeric: Sequence[bool]
) -> list[str]:
    """Aligned lines; a cell may hold several lines; cells are clipped to their column's limit."""
    body = [
        [
            [clip(line, limit) for line in ([cell] if isinstance(cell, str) else cell) or [""]]
            for cell, limit in zip(row, limits)
        ]
        for row in rows
    ]
    widths = [
        max([text_width(h)] + [text_width(line) for row in body for line in row[i]]) for i, h in enumerate(headers)
    ]
    out = ["  ".join(pad(h, w, r) for h, w, r in zip(headers, widths, numeric)).rstrip()]
    out.append("  ".join("-" * w for w in widths))  # ASCII: box drawing is double width in some CJK terminals
    for row in body:
        for n in range(max(len(cell) for cell in row)):
            parts = [pad(cell[n] if n < len(cell) else "", w, r) for cell, w, r in zip(row, widths, numeric)]
            out.append("  ".join(parts).rstrip())
    return out
