"""What the fault scripts (bench/faults/) share: a real bot process they can kill, and the
state of its files at the moment it died.

- `BotProcess`: `python -m servicebot run` (or another entry point) with a given environment,
  its stderr appended to one log file; started (bounded wait until it answers), killed with
  SIGKILL, or stopped with SIGTERM (how long that took);
- `unfinished_updates`: the update journal's unanswered update ids, read right after a kill
  (before the restart), to tell a reply Telegram's protocol forces the bot to send again from
  one the bot should have known it had sent;
- `until`: poll a condition (bounded), `Quiet`: "nothing new for N seconds";
- `log_lines`: the bot log's lines that count something (ERRORs, tracebacks, "sending again");
- `python -m bench.faults.faulting --bot`: what `servicebot run` runs, with the staff group's send
  limit off (`BOT_WITHOUT_GROUP_LIMIT`): Telegram's 20 messages a minute in a group would make
  a run of hundreds of cards take an hour.

Every script runs a baseline the same way with `--compare SRC` (a servicebot source tree put
first on PYTHONPATH), so each figure stands next to the code it replaces, measured in the
same run on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

START_TIMEOUT = 90.0  # seconds for a bot process to start answering (a loaded machine is slow)
STOP_TIMEOUT = 60.0  # seconds a clean stop may take before the script kills the process


def quiet_fake_server() -> None:
    """A killed bot leaves requests half-read: the fake Bot API's server would log a traceback
    for each; what the bot got or did not get is counted from what it recorded instead."""
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)


def bot_env(extra: dict[str, str], src: Path | None = None) -> dict[str, str]:
    """This process's environment without SERVICEBOT_* variables, plus `extra`; with `src`,
    that servicebot source tree is imported instead of this checkout's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICEBOT_")}
    env.update(extra)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def add_compare(parser: argparse.ArgumentParser) -> None:
    """The `--compare SRC` option every script has: a servicebot source tree run as the baseline."""
    parser.add_argument("--compare", type=_source_tree, help="a servicebot package source dir to run as the baseline")


def _source_tree(value: str) -> Path:
    path = Path(value)
    if not (path / "servicebot" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"{value}: no servicebot package there")
    return path


def fake_api_env(
    base_url: str, faq: Path, data_dir: Path, extra: dict[str, str] | None = None, src: Path | None = None
) -> dict[str, str]:
    """`bot_env` for a bot that polls the fake Bot API at `base_url` with its test token, answers
    from `faq`, keeps its files in `data_dir` and never polls the FAQ for changes; `extra`: the
    script's own SERVICEBOT_* settings."""
    from tests.support.botapi import TOKEN

    base = {
        "SERVICEBOT_TOKEN": TOKEN,
        "SERVICEBOT_BASE_URL": base_url,
        "SERVICEBOT_FAQ_DIR": str(faq),
        "SERVICEBOT_DATA_DIR": str(data_dir),
        "SERVICEBOT_RELOAD_INTERVAL": "0",
    }
    return bot_env(base | (extra or {}), src)


async def polling(api: Any, env: dict[str, str], log_path: Path, argv: Sequence[str] | None = None) -> BotProcess:
    """A bot started against the fake Bot API `api` and polling: it has registered its commands
    (setMyCommands) since it was started."""
    mark = api.mark()
    process = BotProcess(env, log_path) if argv is None else BotProcess(env, log_path, argv)
    return await process.start(lambda: api.wait_for("setMyCommands", since=mark, timeout=START_TIMEOUT))


async def web_ready(http, base: str) -> None:
    """Wait until the bot's web server at `base` answers /healthz (TimeoutError after START_TIMEOUT)."""
    import aiohttp

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(base + "/healthz") as response:
                if response.status == 200:
                    return
        if time.monotonic() > deadline:
            raise TimeoutError("the bot's web server did not start")
        await asyncio.sleep(0.1)


class BotProcess:
    """One bot process; `argv` after the Python executable (default: `-m servicebot run`)."""

    def __init__(self, env: dict[str, str], log_path: Path, argv: Sequence[str] = ("-m", "servicebot", "run")):
        self.env = env
        self.log_path = log_path
        self.argv = list(argv)
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, ready: Callable[[], Awaitable[object]]) -> BotProcess:
        """Start it and wait for `ready()` (e.g. the fake Bot API seeing setMyCommands)."""
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, *self.argv, env=self.env, stdin=asyncio.subprocess.DEVNULL, stderr=log
            )
        await asyncio.wait_for(ready(), START_TIMEOUT)
        return self

    async def kill(self) -> None:
        """SIGKILL, as the OOM killer or `docker kill` would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> float:
        """SIGTERM; seconds until the process exited (killed after STOP_TIMEOUT)."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        return time.monotonic() - began

    def ensure_gone(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()


def unfinished_updates(journal: Path) -> set[int]:
    """Update ids the journal holds unanswered (read while no bot runs)."""
    if not journal.exists():
        return set()
    with contextlib.closing(sqlite3.connect(journal)) as conn:
        return {row[0] for row in conn.execute("SELECT update_id FROM updates WHERE done IS NULL")}


def dead_letters(journal: Path) -> int:
    """Updates the journal gave up (0 for a journal without dead letters, or none)."""
    if not journal.exists():
        return 0
    with contextlib.closing(sqlite3.connect(journal)) as conn:
        try:
            return conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


async def until(check: Callable[[], object], timeout: float, step: float = 0.05) -> bool:
    """Poll `check()` until true or `timeout` seconds pass; whether it came true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


class Quiet:
    """True once `count()` has not changed for `seconds` (call it repeatedly)."""

    def __init__(self, count: Callable[[], int], seconds: float):
        self.count, self.seconds = count, seconds
        self.last, self.since = -1, time.monotonic()

    def __call__(self) -> bool:
        now = self.count()
        if now != self.last:
            self.last, self.since = now, time.monotonic()
        return time.monotonic() - self.since >= self.seconds


def log_lines(log_path: Path) -> dict[str, list[str]]:
    """The bot log's telling lines: errors (ERROR lines and tracebacks) and the desk's
    "sending again" lines (what it may have sent before a crash)."""
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    lines = text.splitlines()
    return {
        "errors": [line for line in lines if " ERROR " in line or "Traceback" in line],
        "again": [line for line in lines if "sending again what may have been sent" in line],
    }


class Labelled(Protocol):
    """An outcome of one checkout, named in the table's heading."""

    label: str


Outcome = TypeVar("Outcome", bound=Labelled)


def number_in(pattern: re.Pattern[str], text: str) -> int:
    """The number in `pattern`'s first group, in a text it matches (a card, a token)."""
    found = pattern.search(text)
    assert found, f"{pattern.pattern!r} not in {text!r}"
    return int(found.group(1))


def print_table(
    title: str, rows: Sequence[tuple[str, Callable[[Outcome], object]]], outcomes: Sequence[Outcome]
) -> None:
    """One column per outcome (its `label`), one line per row."""
    print(title)
    width = max(len(name) for name, _ in rows) + 2
    column = max(26, *(len(o.label) + 2 for o in outcomes))
    print(f"{'':<{width}}" + "".join(f"{o.label:>{column}}" for o in outcomes))
    for name, value in rows:
        print(f"{name:<{width}}" + "".join(f"{value(o)!s:>{column}}" for o in outcomes))


async def checkouts(
    args, scenario: Callable[..., Awaitable[Any]], prefix: str, workdir: Path | None = None
) -> list[Any]:
    """Run `scenario(args, label, src, workdir)` on this checkout, then on `args.compare`'s when given
    (the baseline of the same run), each in a fresh directory under `workdir` (a temporary one by
    default); their outcomes, this checkout's first."""
    outcomes = []
    kept = contextlib.nullcontext(str(workdir)) if workdir else None
    with kept or tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        runs: list[tuple[str, Path | None]] = [("this checkout", None)]
        if args.compare:
            runs.append((f"baseline ({args.compare})", args.compare))
        for n, (label, src) in enumerate(runs):
            place = Path(tmp) / str(n)
            place.mkdir(parents=True)
            began = time.monotonic()
            outcomes.append(await scenario(args, label, src, place))
            print(f"{label}: {time.monotonic() - began:.0f} s", file=sys.stderr)
    return outcomes


async def each_checkout(
    args, scenario: Callable[..., Awaitable[Any]], report: Callable[..., None], prefix: str, workdir: Path | None = None
) -> int:
    """`checkouts`, then `report(args, outcomes)`; exit 0 when this checkout's outcome is `ok`."""
    outcomes = await checkouts(args, scenario, prefix, workdir)
    report(args, outcomes)
    return 0 if outcomes[0].ok else 1


BOT_WITHOUT_GROUP_LIMIT = ("-m", "bench.faults.faulting", "--bot")  # BotProcess argv


def run_bot() -> int:
    """`servicebot run`, with the staff group's send limit off (see the module docstring)."""
    from servicebot import cli
    from servicebot.channels import tg
    from servicebot.channels.tg_net import RetryingRateLimiter

    original = tg.TelegramChannel.__init__

    def init(self, core, **options):
        options.setdefault("rate_limiter", RetryingRateLimiter(group_max_rate=0, max_retries=3))
        original(self, core, **options)

    tg.TelegramChannel.__init__ = init  # type: ignore[method-assign]
    return cli.main(["run"])


__all__ = [
    "BOT_WITHOUT_GROUP_LIMIT",
    "BotProcess",
    "Quiet",
    "add_compare",
    "bot_env",
    "dead_letters",
    "fake_api_env",
    "log_lines",
    "polling",
    "print_table",
    "quiet_fake_server",
    "unfinished_updates",
    "until",
]


if __name__ == "__main__" and sys.argv[1:] == ["--bot"]:
    raise SystemExit(run_bot())
