"""What the load checks (bench/load/) and two fault scripts share, so that they ask alike and report alike.

- the questions residents ask: FAQ phrasings, some with a typo-like ending, and off-topic ones;
- latency figures: median, p99 and max of a list of seconds, printed in one format;
- the baseline: a direct `Service.answer` call per question, measured in the same run;
- the client in a process of its own (so that the clients' work does not share the server's
  event loop): the script runs itself (`python -m` its module) with `--client PLAN_FILE ARGS…`
  and prints JSON.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

OFF_TOPIC = ("今天天气怎么样", "护照在哪里办", "附近有什么好吃的", "快递站几点关门", "我想投诉邻居装修太吵")


def question_pool(faq, off_topic: Sequence[str] = OFF_TOPIC, seed: int = 3) -> list[str]:
    """FAQ phrasings, some with a typo-like ending, and off-topic questions."""
    pool = [p for e in faq.entries for p in (e.question, *e.alternates)]
    rng = random.Random(seed)
    typos = [p[:-1] + "吗" if len(p) > 3 else p for p in rng.sample(pool, min(len(pool), 50))]
    return pool + typos + list(off_topic) * 5


def plans(pool: Sequence[str], users: int, each: int, solo: int, seed: int) -> tuple[list[list[str]], list[list[str]]]:
    """What `users` residents ask (`each` questions apiece), and what one lone resident asks."""
    rng = random.Random(seed)
    return [[rng.choice(pool) for _ in range(each)] for _ in range(users)], [[rng.choice(pool) for _ in range(solo)]]


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    """The q-quantile (0 < q < 1) of `seconds`, in milliseconds."""
    if len(seconds) < 2:
        return seconds[0] * 1000 if seconds else float("nan")
    return statistics.quantiles(seconds, n=1000, method="inclusive")[int(q * 1000) - 1] * 1000


def latency_line(name: str, seconds: Sequence[float], width: int = 52) -> str:
    return (
        f"{name:<{width}} median {statistics.median(seconds) * 1000:8.2f} ms   "
        f"p99 {percentile_ms(seconds, 0.99):8.2f} ms   max {max(seconds) * 1000:8.2f} ms"
    )


def direct_seconds(answer: Callable[[str], object], questions: Sequence[str]) -> list[float]:
    """Seconds `answer` takes on each question, one after another in this process."""
    seconds = []
    for question in questions:
        started = time.perf_counter()
        answer(question)
        seconds.append(time.perf_counter() - started)
    return seconds


def run_client(module: str, plan: list[list[str]], workdir: Path, timeout: float, *args: str) -> Any:
    """Run `python -m module --client PLAN_FILE *args` in a new process; what it printed, as JSON."""
    plan_file = workdir / f"plan-{len(plan)}.json"
    plan_file.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", module, "--client", str(plan_file), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return json.loads(done.stdout)


def read_plan(path: str) -> list[list[str]]:
    """In the client process: the plan `run_client` wrote."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def print_result(result: Any) -> None:
    """In the client process: hand the result back to `run_client`."""
    sys.stdout.write(json.dumps(result, ensure_ascii=False))


def failed(exc: BaseException) -> int:
    """A run that timed out or broke: one line saying why, exit status 1."""
    print(f"load run failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    return 1
