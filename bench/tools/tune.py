"""Fit the clerk's calibrated decision and choose its thresholds, on the tuning sets only.

1. Every question of the tuning sets is read and scored once. Where the clerk picks an entry
   because the question names its subject, the pick's features are recorded with whether the
   pick was right (a question the FAQ does not answer makes every pick wrong).
2. A logistic model is fitted to them (ridge-regularised, by iteratively reweighted least
   squares; questions real residents wrote weigh `REAL_WEIGHT` times as much, since they are
   what the bot is for).
3. The two thresholds on its probability (`sure`: answer; `unsure`: offer as a choice) are
   swept. The setting chosen answers the most questions right, averaged over the sets, while
   answering on every set at most `MAX_WRONG` (report-written sets: `MAX_WRONG_WRITTEN`) wrongly
   and `MAX_OFF` of off-topic questions (the product's targets); ties go to the lower cost (a
   confident wrong answer weighs four times, an answered off-topic question three times as
   much as a missed answer).

With `--write`, the fitted weights and the chosen thresholds go to
src/servicebot/matching/decision.json, which the bot reads. Held-out sets (file names with
"eval" or "test": tests/data/fresh-eval.yaml, tests/data/real/*-test.yaml) are refused: their
figures are only honest while nothing is chosen by them.

Usage: python -m bench.tools.tune tests/data/real/in-tune.yaml tests/data/real/out-tune.yaml \\
           tests/data/fresh-tune.yaml tests/data/labelled.yaml tests/data/holdout.yaml [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from dataclasses import replace
from pathlib import Path

from servicebot.config import load_settings
from servicebot.faq.checks import load_validated
from servicebot.faq.labelled import load_set
from servicebot.matching import ANSWERED, SUGGEST, Index
from servicebot.matching.calibration import MODEL_FILE
from servicebot.matching.clerk import Proposal, clerk

from bench import REPO

REAL_WEIGHT = 3.0
MAX_WRONG = 0.02  # on every set: the product's targets (real ≤ 2%, report-written ≤ 1%) ...
MAX_WRONG_WRITTEN = 0.01
# ... and off-topic answers: ≤ 5% real, ≤ 2% written, which the written sets' near-subject
# questions make unreachable today, so every set is held at the real target less a margin.
MAX_OFF = 0.04
REAL = "real"  # the real questions, in and out of scope, are one set
RIDGE = 1.0
SURE = [x / 100 for x in range(30, 91, 5)]
UNSURE = [x / 100 for x in range(5, 51, 5)]
OUT = REPO / "src" / "servicebot" / "matching" / MODEL_FILE


def max_wrong(set_name: str) -> float:
    """The most a set may answer wrongly: real questions' target, or the report-written sets'."""
    return MAX_WRONG if set_name == REAL else MAX_WRONG_WRITTEN


def cost(right: float, wrong: float, suggested: float, off_answered: float, off_suggested: float) -> float:
    return (1 - right) + 4 * wrong + 3 * off_answered + 0.3 * off_suggested + 0.2 * suggested


def fit(rows: list[tuple[dict[str, float], bool, float]], names: list[str]) -> tuple[dict[str, float], float]:
    """Logistic regression by IRLS with a ridge penalty (not on the bias)."""
    n = len(names) + 1
    beta = [0.0] * n
    xs = [[1.0, *(r[0][k] for k in names)] for r in rows]
    for _ in range(50):
        grad = [0.0] * n
        hess = [[0.0] * n for _ in range(n)]
        for x, (_, label, weight) in zip(xs, rows, strict=True):
            z = sum(b * v for b, v in zip(beta, x, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g, h = weight * (p - float(label)), weight * p * (1.0 - p)
            for a in range(n):
                grad[a] += g * x[a]
                for b in range(a, n):
                    hess[a][b] += h * x[a] * x[b]
        for a in range(1, n):
            grad[a] += RIDGE * beta[a]
            hess[a][a] += RIDGE
        for a in range(n):
            for b in range(a):
                hess[a][b] = hess[b][a]
        step = _solve(hess, grad)
        beta = [b - s for b, s in zip(beta, step, strict=True)]
        if max(map(abs, step)) < 1e-7:
            break
    return dict(zip(names, beta[1:], strict=True)), beta[0]


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (small systems only)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def figures(index: Index, cached, thresholds) -> tuple[float, float, float, float, float]:
    right = wrong = suggested = off = off_suggested = inside = outside = 0
    for item, reading, scored in cached:
        decision = index.decide(reading, scored, thresholds)
        status, entry_id = decision.status, decision.entry_id
        if not item.in_scope:
            outside += 1
            off += status == ANSWERED
            off_suggested += status == SUGGEST
        else:
            inside += 1
            right += status == ANSWERED and entry_id in item.expected
            wrong += status == ANSWERED and entry_id not in item.expected
            suggested += status == SUGGEST
    inside = max(inside, 1)
    return right / inside, wrong / inside, suggested / inside, off / max(outside, 1), off_suggested / max(outside, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--faq", type=Path, default=Path("faq"))
    parser.add_argument("--write", action="store_true", help=f"write the fitted model to {OUT}")
    args = parser.parse_args()
    if any("eval" in p.name or "test" in p.name for p in args.sets):
        parser.error("a held-out set (eval, test) must not be used for tuning")
    faq, index = load_validated(load_settings(env={}, overrides={"faq_dir": args.faq}))
    by_set: dict[str, list] = {}
    rows: list[tuple[dict[str, float], bool, float]] = []
    for path in args.sets:
        weight = REAL_WEIGHT if REAL in path.parts else 1.0
        cached = by_set.setdefault(REAL if REAL in path.parts else path.name, [])
        for item in load_set(path, faq):
            if index.match(item.question).intent is not None:  # small talk: decided before any threshold
                continue
            reading = index.read(item.question)
            scored = index.score(reading)
            cached.append((item, reading, scored))
            verdict = clerk(index, reading, scored)
            if isinstance(verdict, Proposal):
                rows.append((verdict.features, verdict.entry_id in item.expected, weight))
    names = sorted({name for features, _, _ in rows for name in features})
    rows = [({n: f.get(n, 0.0) for n in names}, right, weight) for f, right, weight in rows]
    weights, bias = fit(rows, names)
    print(f"{len(rows)} picks ({sum(r[1] for r in rows)} right) from {sum(map(len, by_set.values()))} questions")
    for name in names:
        print(f"  {name:<11} {weights[name]:+.3f}")
    print(f"  {'(bias)':<11} {bias:+.3f}")
    # The sweep decides with the fitted model: write it where calibration.py reads it, for now.
    previous = OUT.read_text(encoding="utf-8")
    _write(weights, bias, 0.5, 0.2, args.sets)
    try:
        from servicebot.matching import calibration

        calibration.model.cache_clear()
        results = []
        for sure in SURE:
            for unsure in (u for u in UNSURE if u <= sure):
                t = replace(index.thresholds, sure=sure, unsure=unsure)
                per_set = {name: figures(index, cached, t) for name, cached in by_set.items()}
                got = tuple(sum(f[k] for f in per_set.values()) / len(per_set) for k in range(5))
                within = all(f[1] <= max_wrong(name) and f[3] <= MAX_OFF for name, f in per_set.items())
                results.append((sum(cost(*f) for f in per_set.values()) / len(per_set), sure, unsure, got, within))
        results.sort(key=lambda r: (not r[4], -r[3][0], r[0]))
        print("sure unsure | right wrong suggested off-answered off-suggested (mean over the sets)")
        for c, sure, unsure, got, within in results[:8]:
            limits = "" if within else "  (over a set's limit)"
            print(f"{sure:.2f} {unsure:.2f} | " + " ".join(f"{x:.3f}" for x in got) + f"  cost {c:.3f}{limits}")
        _, sure, unsure, _, within = results[0]
        if not within:
            print("warning: no setting keeps every set within its limits; the best one is shown")
        t = replace(index.thresholds, sure=sure, unsure=unsure)
        for name, cached in by_set.items():
            print(f"  {name:<16} " + " ".join(f"{x:.3f}" for x in figures(index, cached, t)))
    finally:
        if args.write:
            _write(weights, bias, sure, unsure, args.sets)
            print(f"wrote {OUT}")
        else:
            OUT.write_text(previous, encoding="utf-8")


def _write(weights: dict[str, float], bias: float, sure: float, unsure: float, sets: list[Path]) -> None:
    data = {
        "fitted_on": f"{dt.date.today().isoformat()}: " + ", ".join(str(p) for p in sets),
        "bias": round(bias, 4),
        "weights": {k: round(v, 4) for k, v in sorted(weights.items())},
        "sure": sure,
        "unsure": unsure,
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
