"""How likely the clerk's pick is right: a logistic model over what speaks for and against it
(how strongly the question names the subject, how close the entry is, what the question asks
that the entry does not cover, whether another body's matter is named too …).

The weights are fitted by `bench/tools/tune.py --fit` on the tuning sets only (never on a held-out
set) and kept in `decision.json` beside this module, with the names of the features they
weigh, so `ask --explain` can show the probability and what drove it.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources

MODEL_FILE = "decision.json"


@lru_cache(maxsize=1)
def model() -> tuple[dict[str, float], float]:
    """(weight per feature, bias), as fitted."""
    data = json.loads(resources.files("servicebot.matching").joinpath(MODEL_FILE).read_text(encoding="utf-8"))
    return {str(k): float(v) for k, v in data["weights"].items()}, float(data["bias"])


@lru_cache(maxsize=1)
def cutoffs() -> tuple[float, float]:
    """(sure, unsure): the clerk answers its pick from the first probability, offers it from the second."""
    data = json.loads(resources.files("servicebot.matching").joinpath(MODEL_FILE).read_text(encoding="utf-8"))
    return float(data.get("sure", 0.5)), float(data.get("unsure", 0.2))


def contributions(features: dict[str, float]) -> dict[str, float]:
    """What each feature adds to the log-odds (for `ask --explain`)."""
    weights, _ = model()
    return {name: weights.get(name, 0.0) * value for name, value in features.items()}


def drivers(features: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """Each feature's contribution to the log-odds, the strongest (either way) first."""
    return tuple(sorted(contributions(features).items(), key=lambda kv: -abs(kv[1])))


def probability(features: dict[str, float]) -> float:
    _, bias = model()
    z = bias + sum(contributions(features).values())
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


__all__ = ["MODEL_FILE", "contributions", "cutoffs", "drivers", "model", "probability"]
