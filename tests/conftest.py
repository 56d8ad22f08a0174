"""Shared fixtures (a small valid FAQ copied per test and its index, settings pointing at tmp
dirs, the bot's servers and clients for them, a small disk), the paths tests read (`PINNED_FAQ`,
`FIXTURES`, `REPO`), and how async tests run: on asyncio through anyio's plugin, each within its
deadline. The fakes and helpers test modules import are in tests/support/."""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest

from servicebot.config import Settings, load_settings

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]
# The shipped FAQ as the developers last measured it (tests/pin_faq.py copies faq/ here on
# purpose). Tests that measure the office's real entries read this, never faq/, which staff
# edit: the suite passes whatever valid FAQ they keep.
PINNED_FAQ = FIXTURES / "faq-pinned"
# Seconds an async test may run before it fails with TimeoutError, unless its `deadline` mark
# says otherwise: a test that waits for something that never comes fails instead of hanging.
DEADLINE = 30.0


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


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests (marked `anyio`) run on asyncio, the bot's own event loop, never on trio."""
    return "asyncio"


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    """Run an async test within its deadline (`pytest.mark.deadline(seconds)`, else DEADLINE)."""
    test = pyfuncitem.obj
    if not (inspect.iscoroutinefunction(test) and "anyio_backend" in pyfuncitem.funcargs):
        return (yield)
    mark = pyfuncitem.get_closest_marker("deadline")
    seconds = mark.args[0] if mark else DEADLINE

    @functools.wraps(test)
    async def within_deadline(**kwargs):
        with anyio.fail_after(seconds):
            return await test(**kwargs)

    pyfuncitem.obj = within_deadline
    try:
        return (yield)
    finally:
        pyfuncitem.obj = test


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
def http(server):
    """An HTTP client for the web chat of the module's `server` (a ServerThread), as a browser's."""
    import httpx

    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def resident(desk_server):
    """An HTTP client for the web chat's JSON API."""
    import httpx

    client = httpx.Client(base_url=desk_server.base_url, timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="session")
def mini_index():
    """The matcher's index of tests/fixtures/mini, built once and only read."""
    from servicebot.faq import load_faq
    from servicebot.matching import Index

    return Index(load_faq(FIXTURES / "mini"))


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
