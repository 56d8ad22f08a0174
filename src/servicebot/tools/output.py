"""How a command writes what it prints: a line of text to stdout, or a whole report as UTF-8
bytes to stdout or a file. One home, so that every command writes Chinese the same way
whatever the terminal's or the pipe's encoding."""

from __future__ import annotations

import sys
from pathlib import Path


def echo(text: str = "") -> None:
    """One line to stdout."""
    sys.stdout.write(text + "\n")


def emit(text: str, output: Path | None, *, bom: bool = False) -> None:
    """Write a report as UTF-8 bytes (with a BOM for CSV, so spreadsheet programs read Chinese)."""
    data = text.encode("utf-8-sig" if bom else "utf-8")
    if output is not None:
        output.write_bytes(data)
        return
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        sys.stdout.write(data.decode("utf-8"))
        return
    sys.stdout.flush()
    stream.write(data)
    stream.flush()
