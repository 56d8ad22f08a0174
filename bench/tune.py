"""Choose the matcher's decision thresholds from measurements on the tuning sets.

Reads and scores every question once, then sweeps the thresholds of `matching.Thresholds`
and prints the best settings by a cost that weighs a confident wrong answer four times and
an answered off-topic question three times as heavily as a missed answer, and a "did you
mean" offered for an off-topic question a little. The held-out set (tests/data/fresh-eval.yaml)
must never be passed here: its figures are only honest while nothing is chosen by them.

Usage: python bench/tune.py tests/data/fresh-tune.yaml tests/data/labelled.yaml [--faq faq]
The chosen defaults live in matching.py (and config.py for the two staff may change).
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

from servicebot.checks import load_validated
from servicebot.config import load_settings
from servicebot.evaluate import load_set
from servicebot.matching import ANSWERED, SUGGEST, Index, Thresholds

GRID = {
    "answer": [45.0, 50.0, 55.0],
    "suggest": [35.0, 40.0, 45.0],
    "margin": [2.0, 3.0, 5.0],
    "coverage": [0.3, 0.4, 0.5],
    "sure_coverage": [0.8, 0.9, 1.01],
    "sure_drop": [10.0, 15.0, 20.0],
    "verbatim": [0.8, 0.9],
}


def cost(right: float, wrong: float, suggested: float, off_answered: float, off_suggested: float) -> float:
    return (1 - right) + 4 * wrong + 3 * off_answered + 0.3 * off_suggested + 0.2 * suggested


def figures(index: Index, cached, thresholds: Thresholds) -> tuple[float, float, float, float, float]:
    right = wrong = suggested = off = off_suggested = inside = outside = 0
    for item, reading, scored in cached:
        status, entry_id, _ = index.decide(reading, scored, thresholds)
        if not item.in_scope:
            outside += 1
            off += status == ANSWERED
            off_suggested += status == SUGGEST
        else:
            inside += 1
            right += status == ANSWERED and entry_id in item.expected
            wrong += status == ANSWERED and entry_id not in item.expected
            suggested += status == SUGGEST
    return right / inside, wrong / inside, suggested / inside, off / max(outside, 1), off_suggested / max(outside, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--faq", type=Path, default=Path("faq"))
    args = parser.parse_args()
    if any("eval" in p.name for p in args.sets):
        parser.error("the held-out evaluation set must not be used for tuning")
    faq, index = load_validated(load_settings(env={}, overrides={"faq_dir": args.faq}))
    items = [item for path in args.sets for item in load_set(path, faq)]
    cached = []
    for item in items:
        match = index.match(item.question)
        if match.intent is not None:  # small talk: decided before any threshold
            continue
        reading = index.read(item.question)
        cached.append((item, reading, index.score(reading)))
    print(f"{len(items)} questions ({len(items) - len(cached)} small talk), FAQ {len(faq.entries)} entries")
    results = []
    for values in itertools.product(*GRID.values()):
        thresholds = replace(index.thresholds, **dict(zip(GRID, values, strict=True)))
        got = figures(index, cached, thresholds)
        results.append((cost(*got), values, got))
    results.sort()
    print("  ".join(GRID), "| right wrong suggested off-answered off-suggested")
    for c, values, got in results[:12]:
        print(f"{c:.3f}", values, " ".join(f"{x:.3f}" for x in got))
    current = figures(index, cached, index.thresholds)
    print(f"current {cost(*current):.3f}", index.thresholds, " ".join(f"{x:.3f}" for x in current))


if __name__ == "__main__":
    main()
