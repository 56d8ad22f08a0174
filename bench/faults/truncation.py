"""Half-saved FAQ files: which cuts at an entry boundary would go live, and how staff hear of it.

An editor that saves by truncating and rewriting a file can leave it cut short at an entry
boundary, and such a file is valid YAML. For every such cut of every topic file and
tests.yaml of a FAQ (a copy, never the original), this prints how many cuts:

- pass the full check (the checks alone cannot tell them from a deliberate edit: before the
  quiet period and the removal report, the live reloader served every one of them, silently);
- are served while the editor is still saving: the cut is on disk for half the quiet period,
  then the finished file (the watcher's `poll()`, driven by a fake clock);
- when the cut stays on disk (the editor died): are refused by the checks, held back as a
  likely half-save, applied with every dropped id or question named, or applied silently.

Usage: python -m bench.faults.truncation [FAQ_DIR]      (default: faq/ of this checkout; about a minute)
Exits 1 if any cut is served half-way or applied without naming what it drops.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from servicebot.answering.service import Service
from servicebot.config import load_settings
from servicebot.faq.checks import HELD_BACK, check_directory
from servicebot.faq.watcher import FaqWatcher

from bench import REPO

ITEM_START = re.compile(r"^(  - id:|- question:)", re.MULTILINE)
HELD_BACK_START = HELD_BACK.split("{", 1)[0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str) -> None:
    """Rewrite a file so that the directory signature surely changes (coarse file clocks)."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1, before + 1))


def main(source: Path) -> int:
    logging.basicConfig(level=logging.ERROR)  # one reload line per cut would drown the figures
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="servicebot-truncation-") as tmp:
        faq = Path(tmp) / "faq"
        shutil.copytree(source, faq)
        settings = load_settings(env={}, overrides={"faq_dir": faq, "data_dir": Path(tmp) / "data"})
        service = Service.from_settings(settings)
        original = service.snapshot
        clock = FakeClock()
        served_cut = []

        def on_result(swapped, problems):  # the FAQ just swapped in is served from now on
            faq = service.snapshot.faq
            served_cut.append(swapped and (faq.entries, faq.tests) != (original.faq.entries, original.faq.tests))

        watcher = FaqWatcher(service, 0, on_result, clock=clock)
        for path in sorted(faq.glob("*.yaml")):
            if path.name == "settings.yaml":
                continue
            whole = path.read_text(encoding="utf-8")
            for point in (m.start() for m in ITEM_START.finditer(whole)):
                counts["cuts"] += 1
                write(path, whole[:point])
                counts["pass the full check"] += not check_directory(faq, settings).errors

                # The editor finishes within the quiet period.
                served_cut.clear()
                watcher.poll()
                clock.now += watcher.quiet / 2
                watcher.poll()
                write(path, whole)
                watcher.poll()
                clock.now += watcher.quiet
                watcher.poll()
                counts["served half-way while saving"] += any(served_cut)

                # The cut stays on disk.
                write(path, whole[:point])
                swapped, problems = watcher.check_now() or (False, [])
                said = " ".join(p.message for p in problems)
                if swapped:
                    gone = set(original.faq.by_id) - set(service.snapshot.faq.by_id)
                    kept = {c.question for c in service.snapshot.faq.tests}
                    gone |= {f"“{c.question}”" for c in original.faq.tests if c.question not in kept}
                    named = all(name in said for name in gone)
                    counts["stays: applied, every drop named" if named else "stays: applied SILENTLY"] += 1
                    service.swap(original)
                elif HELD_BACK_START in said:
                    counts["stays: held back as a half-save"] += 1
                else:
                    counts["stays: refused by the checks"] += 1
                write(path, whole)
                watcher.check_now()
    width = max(map(len, counts))
    for name in (
        "cuts",
        "pass the full check",
        "served half-way while saving",
        "stays: refused by the checks",
        "stays: held back as a half-save",
        "stays: applied, every drop named",
        "stays: applied SILENTLY",
    ):
        print(f"{name:<{width}}  {counts[name]:>4}")
    bad = counts["served half-way while saving"] + counts["stays: applied SILENTLY"]
    return 1 if bad else 0


if __name__ == "__main__":
    default = REPO / "faq"
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
