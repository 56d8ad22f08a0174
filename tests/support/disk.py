"""A full disk: the conftest fixture `small_disk` mounts a small tmpfs, `fill` fills it."""

from __future__ import annotations

from pathlib import Path


def fill(disk: Path) -> Path:
    """Fill `disk` to the last byte; returns the filler file (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError:
                pass
    return filler
