"""`servicebot` in a process of its own, as operators start it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


def process_env(tmp_path: Path, faq_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a `servicebot` process: this one's, without its SERVICEBOT_*
    variables, plus the FAQ, a data dir under tmp_path and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICEBOT_")}
    env.update(SERVICEBOT_FAQ_DIR=str(faq_dir), SERVICEBOT_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


@contextlib.contextmanager
def servicebot_process(env: dict[str, str], *argv: str) -> Iterator[subprocess.Popen]:
    """`python -m servicebot ARGV…` as operators start it (stderr readable as text); killed
    at the end of the block if it is still running."""
    command = [sys.executable, "-m", "servicebot", *argv]
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
