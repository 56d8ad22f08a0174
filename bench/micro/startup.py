"""Start-up benchmark: how long the commands people type take, as whole processes, beside the
floor of the same run (the Python interpreter starting and exiting, and `servicebot --help`).

- `servicebot ask 低保怎么申请`: start, load the FAQ, build the index, answer one question;
- `servicebot faq check`: the same plus every lint staff get (self-consistency, regression
  questions, the synonym lint that rebuilds the index once per synonym group);
- `servicebot run` with a web port: from the process starting to `/healthz` answering 200;
- optionally `ask` on a synthetic FAQ of --entries entries (bench/micro/faq_load.py writes it):
  start-up plus loading and indexing that FAQ, with the parse cache warm as after a restart.

Each figure is the median (and min-max) of --runs runs after one warm-up run, on the FAQ in
./faq by default; the data directory is a fresh temporary one (the parse cache warm after the
warm-up, as on a restart). One process at a time, no network beyond 127.0.0.1.

Usage: python -m bench.micro.startup [--runs 7] [--faq faq] [--entries 10000]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

SERVICEBOT = [sys.executable, "-m", "servicebot"]


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=300)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # faq check exits 1 when it finds problems: still a full run
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode(errors='replace')}")
    return elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until_healthy(env: dict[str, str]) -> float:
    """Seconds from starting `servicebot run` to /healthz answering 200 (the process is then stopped)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    start = time.perf_counter()
    process = subprocess.Popen(
        [*SERVICEBOT, "run"],
        env={**env, "SERVICEBOT_WEB_PORT": str(port), "SERVICEBOT_WEB_LISTEN": "127.0.0.1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - start < 60:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if process.poll() is not None:
                raise SystemExit(f"servicebot run exited with {process.returncode} before /healthz answered")
            time.sleep(0.01)
        raise SystemExit("/healthz did not answer within 60 s")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(name: str, run: Callable[[], float], runs: int) -> None:
    run()  # warm-up: bytecode and the parse cache written, files in the page cache
    seconds = [run() for _ in range(runs)]
    print(
        f"{name:<46} median {statistics.median(seconds):6.2f} s   (min {min(seconds):.2f}, max {max(seconds):.2f})",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--faq", type=Path, default=Path("faq"))
    parser.add_argument("--entries", type=int, default=0, help="also `ask` on a synthetic FAQ this large")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICEBOT_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached
        env.update(SERVICEBOT_FAQ_DIR=str(args.faq.resolve()), SERVICEBOT_DATA_DIR=str(Path(tmp) / "data"))
        print(f"{args.runs} runs each after a warm-up; FAQ {args.faq}; {sys.executable}")
        measure("baseline: python -c pass", lambda: timed([sys.executable, "-c", "pass"], env), args.runs)
        measure("baseline: servicebot --help", lambda: timed([*SERVICEBOT, "--help"], env), args.runs)
        measure("servicebot ask 低保怎么申请", lambda: timed([*SERVICEBOT, "ask", "低保怎么申请"], env), args.runs)
        measure("servicebot faq check", lambda: timed([*SERVICEBOT, "faq", "check"], env), args.runs)
        measure("servicebot run: start until /healthz answers", lambda: until_healthy(env), args.runs)
        if args.entries:
            from bench.micro.faq_load import write_faq

            big = Path(tmp) / "big-faq"
            big.mkdir()
            write_faq(big, args.entries)
            big_env = {**env, "SERVICEBOT_FAQ_DIR": str(big)}
            measure(
                f"servicebot ask, {args.entries:,} entries",
                lambda: timed([*SERVICEBOT, "ask", "低保怎么申请"], big_env),
                args.runs,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
