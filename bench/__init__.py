"""Benchmarks and checks of the bot under load and faults: scripts, not tests (bench/README.md).

Each runs as a module from the checkout's root, e.g. `python -m bench.load.bot --questions 2000`,
so that the scripts import what they share (`bench.harness`, `bench.faults.faulting`) and the
tests' fakes (`tests.support.botapi`, …) as packages. A script that starts itself or another
script again (a client process, a bot process) starts it with `-m` too.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the checkout: its faq/, tests/fixtures/, src/
