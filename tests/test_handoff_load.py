"""The hand-off load check, run as CI runs the benchmark: bench/load/handoff.py in its own
process (200 tickets from 100 residents, 200 staff replies, through the fake Bot API over
HTTP), bounded in time. It exits 0 only when nothing was lost, duplicated or delivered to the
wrong resident; its figures are printed with `pytest -s`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def test_200_tickets_from_100_residents_and_200_staff_replies_lose_and_repeat_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.load.handoff", "--tickets", "200", "--residents", "100"],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=tmp_path,
        # bench runs as a package from the checkout's root (its imports: bench.*, tests.support.*)
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))},
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lost 0, duplicated 0, misdelivered 0" in result.stdout
    assert "tickets opened: 200; cards in the staff group: 200 (wrong or repeated: 0)" in result.stdout
    assert "{'answered': 200}; replies left undelivered: 0" in result.stdout
