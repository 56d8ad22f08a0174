"""Choose the matcher's thresholds from measurements on a labelled set.

Scores every labelled question once per coverage weight, then sweeps the answer threshold,
suggest threshold and tie margin, and prints the best settings by a cost that weighs a
confident wrong answer (or an answered off-topic question) twice as heavily as a question
sent to suggestions, and a suggestion twice as heavily as... nothing: missing the right
answer entirely counts like a wrong answer.

Usage: python bench/tune.py tests/data/labelled.yaml [--faq faq]
The chosen defaults live in config.py / matching.py; this script is how they were chosen.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from servicebot import matching
from servicebot.checks import load_validated
from servicebot.config import load_settings
from servicebot.evaluate import load_labelled


def outcomes(index, labelled, answer, suggest, margin):
    """Counts (correct, wrong, suggested, rejected) for one threshold setting, from cached candidates."""
    correct = wrong = suggested = rejected = 0
    for (_question, expected), cands in labelled:
        top = cands[0].score if cands else 0.0
        runner = cands[1].score if len(cands) > 1 else 0.0
        if top >= answer and top - runner >= margin:
            if expected is None:
                continue
            if cands[0].entry_id == expected:
                correct += 1
            else:
                wrong += 1
        elif top >= suggest:
            if expected is None:
                rejected += 1
            else:
                suggested += 1
        elif expected is None:
            rejected += 1
    return correct, wrong, suggested, rejected


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("labelled", type=Path)
    parser.add_argument("--faq", type=Path, default=Path("faq"))
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    settings = load_settings(env={}, overrides={"faq_dir": args.faq})
    faq, _ = load_validated(settings)
    labelled = load_labelled(args.labelled, faq)
    n_in = sum(1 for _, e in labelled if e is not None)
    n_out = len(labelled) - n_in
    results = []
    for weight, unseen, partial in itertools.product((0.5, 0.6, 0.7, 0.8), (0.5, 0.75, 1.0), (0.0, 0.8, 0.9)):
        matching.COVERAGE_WEIGHT, matching.UNSEEN_FACTOR, matching.PARTIAL_CREDIT = weight, unseen, partial
        faq, index = load_validated(settings)
        cached = [((q, e), index.candidates(index.normalize(q)[: matching.MAX_QUERY_CHARS])) for q, e in labelled]
        for answer, suggest, margin in itertools.product(range(40, 81, 2), range(20, 61, 4), (0, 2, 4, 6, 8, 10)):
            if suggest > answer:
                continue
            c, w, s, r = outcomes(index, cached, answer, suggest, margin)
            fp = n_out - r
            cost = 2 * (w + fp) + s + (n_in - c - w - s)
            results.append(
                (
                    cost,
                    f"{weight}/{unseen}/{partial}",
                    answer,
                    suggest,
                    margin,
                    100 * c / n_in,
                    100 * w / n_in,
                    100 * s / n_in,
                    100 * r / n_out,
                )
            )
    results.sort()
    print(
        f"{'cost':>5} {'cov/unseen/partial':>18} {'answer':>6} {'suggest':>7} {'margin':>6} "
        f"{'acc%':>6} {'wrong%':>6} {'sugg%':>6} {'rej%':>6}"
    )
    for row in results[: args.top]:
        print("{:>5} {:>18} {:>6} {:>7} {:>6} {:>6.1f} {:>6.1f} {:>6.1f} {:>6.1f}".format(*row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
