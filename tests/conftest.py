"""Shared fixtures (a small valid FAQ copied per test, settings pointing at tmp dirs) and the
helpers test modules import from here: `wording`, a full disk, small fakes, a bounded wait."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import shutil
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from servicebot.config import Settings, load_settings

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]
# The shipped FAQ as the developers last measured it (tests/pin_faq.py copies faq/ here on
# purpose). Tests that measure the office's real entries read this, never faq/, which staff
# edit: the suite passes whatever valid FAQ they keep.
PINNED_FAQ = FIXTURES / "faq-pinned"


def pytest_terminal_summary(terminalreporter) -> None:
    """Say (never fail) when faq/ is no longer the FAQ the accuracy tests measure."""
    from pin_faq import differences

    found = differences()
    if found:
        terminalreporter.write_line(
            "note: the tests measure tests/fixtures/faq-pinned/, and faq/ has changed since it was pinned: "
            + ", ".join(found)
            + ". To measure faq/ as it is now: python tests/pin_faq.py, then run the tests again."
        )


@pytest.fixture
def mini_faq(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/mini (5 entries, 2 topics, synonyms, tests.yaml)."""
    target = tmp_path / "faq"
    shutil.copytree(FIXTURES / "mini", target)
    return target


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium (tests/support/browser.py); skipped without one, except under CI."""
    from support.browser import chromium

    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


@pytest.fixture
def desk_settings(mini_faq, make_settings):
    """The web chat and the staff desk, each on a free port; accounts 张三 (admin) and 李四."""
    from support.deskclient import add_account
    from support.webserver import free_port

    settings = make_settings(mini_faq, reload_interval=0, desk_port=free_port(), web_port=free_port())
    add_account(settings, "张三", admin=True)
    add_account(settings, "李四")
    return settings


@pytest.fixture
def desk_server(desk_settings):
    """The bot's servers (web chat + staff desk) on their own thread; see tests/support/webserver.py."""
    from support.webserver import ServerThread

    with ServerThread(desk_settings) as running:
        yield running


@pytest.fixture
def staff(desk_server):
    """A staff member's browser at the desk (signed out)."""
    from support.deskclient import DeskClient

    client = DeskClient(f"http://127.0.0.1:{desk_server.settings.desk_port}")
    yield client
    client.close()


@pytest.fixture
def resident(desk_server):
    """An HTTP client for the web chat's JSON API."""
    import httpx

    client = httpx.Client(base_url=desk_server.base_url, timeout=30)
    yield client
    client.close()


@pytest.fixture
def make_settings(tmp_path: Path):
    """Settings for a FAQ dir with data under tmp_path; keyword overrides as in load_settings."""

    def make(faq_dir: Path, **overrides) -> Settings:
        values = {"faq_dir": faq_dir, "data_dir": tmp_path / "data", **overrides}
        return load_settings(env={}, overrides=values)

    return make


@pytest.fixture(scope="session", autouse=True)
def _outside_the_checkout(tmp_path_factory):
    """Module-scoped fixtures run before `_clean_env`: they too start outside the checkout."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("session-cwd"))
        yield


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    """Tests never see the developer's SERVICEBOT_* variables, and never write into the checkout.

    Without --data-dir a command writes under this test's tmp_path, not ./data, whose parse
    cache would otherwise carry verdicts from one run into the next. Settings built with an
    empty environment fall back to the relative default `data`, so each test also runs in a
    directory of its own (tests needing the checkout use REPO, or chdir there themselves).
    """
    for key in list(os.environ):
        if key.startswith("SERVICEBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SERVICEBOT_DATA_DIR", str(tmp_path / "default-data"))
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


def wording(template: str, **known: object) -> re.Pattern[str]:
    """A pattern for the messages a `str.format` template makes, with `known` fields filled in.

    Tests name the constant that owns a message instead of repeating its words, so staff
    wording can change without breaking them; unknown fields match anything and are
    captured by name (`wording(T, id="a").search(out)["other"]`).
    """
    parts, seen = [], set()
    for literal, field, _spec, conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field in known:
            value = known[field]
            parts.append(re.escape(repr(value) if conversion == "r" else format(value)))
        elif field in seen:
            parts.append(f"(?P={field})")
        else:
            seen.add(field)
            parts.append(f"(?P<{field}>.+?)")
    return re.compile("".join(parts))


def process_env(tmp_path: Path, faq_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a `servicebot` process: this one's, without its SERVICEBOT_*
    variables, plus the FAQ, a data dir under tmp_path and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICEBOT_")}
    env.update(SERVICEBOT_FAQ_DIR=str(faq_dir), SERVICEBOT_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def readme_backup_commands() -> tuple[str, str]:
    """The Python that the online backup and the restore of docs/operations.md run, as written there."""
    text = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text[text.index("## Back up and restore") :]
    backup, restore = re.findall(r"python -c '(.*?)'", section, re.S)[:2]
    return backup, restore


def run_readme_command(code: str, paths: dict[str, Path]) -> None:
    """Run a command of docs/operations.md with its container paths (`/data/…`) replaced by `paths`."""
    for container_path, path in paths.items():
        assert container_path in code, container_path
        code = code.replace(container_path, str(path))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


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


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MiB tmpfs, to fill up: a real "No space left on device", not a simulation. Mounting
    needs root (CI's container has it); elsewhere the test is skipped."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path) -> Path:
    """Fill `disk` to the last byte; returns the filler file (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError:
                pass
    return filler


# --- small hand-written fakes and waits, shared by the test modules ---------------------------


class Clock:
    """A clock that stands still until a test moves it: `clock()` is `clock.now`."""

    def __init__(self, now: Any = 1000.0) -> None:
        self.now = now

    def __call__(self) -> Any:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorded:
    """A hand-written interaction sink: keeps what the service records, in order."""

    def __init__(self) -> None:
        self.interactions: list = []
        self.feedback_given: list = []

    def record(self, interaction) -> None:
        self.interactions.append(interaction)

    def feedback(self, ref, positive) -> None:
        self.feedback_given.append((ref, positive))


class Recorder:
    """The reload watcher's on_result callback: keeps every result and signals each one."""

    def __init__(self, wait: float = 10.0) -> None:
        self.results: list[tuple[bool, list]] = []
        self.event = threading.Event()
        self.wait = wait

    def __call__(self, swapped, problems) -> None:
        self.results.append((swapped, list(problems)))
        self.event.set()

    def next(self) -> tuple[bool, list]:
        assert self.event.wait(self.wait), "the watcher never reported"
        self.event.clear()
        return self.results[-1]


async def until(condition: Callable[[], Any], what: str, timeout: float = 5.0) -> None:
    """Poll `condition()` on the running loop until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def telegram_bot(settings, api, **channel_options):
    """The Telegram bot polling `api` (a FakeBotApi) until the block ends; yields its channel."""
    from servicebot.answering.service import Service
    from servicebot.channels import Core
    from servicebot.channels.server import serve
    from servicebot.channels.tg import TelegramChannel

    settings = dataclasses.replace(settings, base_url=api.base_url)
    core = Core(settings, Service.from_settings(settings, secret="bot-secret"))
    telegram = TelegramChannel(core, **channel_options)
    stop = asyncio.Event()
    mark = api.mark()
    task = asyncio.create_task(serve(core, [telegram], stop))
    try:
        await api.wait_for("setMyCommands", since=mark, timeout=10)
        yield telegram
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
