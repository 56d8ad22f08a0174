"""Every command that prints stops quietly when its reader stops reading
(`servicebot faq stale | head`): no BrokenPipeError traceback, exit 141 as for SIGPIPE."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from servicebot.cli import OUTPUT_CLOSED, main
from servicebot.storage import InteractionLog

from support.processes import process_env


def _old_reviews(faq: Path) -> None:
    """Every entry last reviewed long ago, so that `faq stale` has a list to print."""
    for path in faq.glob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8").replace("reviewed: 2026-", "reviewed: 2020-"), "utf-8")


COMMANDS = [  # one of each way a command writes: lines, a report as bytes, argparse's help
    ["faq", "check"],
    ["faq", "stale"],
    ["ask", "低保怎么申请"],
    ["stats", "--json"],
    ["review", "--format", "csv"],
    ["tickets"],
    ["health"],
    ["--help"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_reader_that_went_away_ends_the_command_quietly(argv, mini_faq, make_settings, monkeypatch):
    _old_reviews(mini_faq)
    settings = make_settings(mini_faq)
    InteractionLog(settings.db_path).close()
    monkeypatch.setenv("SERVICEBOT_FAQ_DIR", str(mini_faq))
    monkeypatch.setenv("SERVICEBOT_DATA_DIR", str(settings.data_dir))
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command prints anything
    with open(write, "w", encoding="utf-8") as closed:
        monkeypatch.setattr(sys, "stdout", closed)
        code: int | str | None
        try:
            code = main(argv)
        except SystemExit as stop:  # --help
            code = stop.code
        monkeypatch.undo()
    assert code == OUTPUT_CLOSED


def test_servicebot_faq_stale_into_a_closed_pipe_prints_no_traceback(mini_faq, tmp_path):
    _old_reviews(mini_faq)
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "servicebot", "faq", "stale"],
            stdout=write,
            stderr=subprocess.PIPE,
            env=process_env(tmp_path, mini_faq),
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == OUTPUT_CLOSED
