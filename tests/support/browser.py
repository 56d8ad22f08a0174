"""Driving Debian's chromium + chromium-driver with selenium (nothing is downloaded), for the
page tests (the web chat, the staff desk): the driver, bounded waits, screenshots in
tests/artifacts/ (git-ignored), a phone's or a desktop's screen, and the web chat's page.

Without chromium and chromedriver a test is skipped, saying so — except under CI (CI=true),
where that is a failure: .ci/run installs them.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"  # tests/artifacts/
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--lang=zh-CN",
)
WAIT = 15.0  # seconds any one thing on the page may take


def _browser_or_skip():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        reason = (
            f"needs Debian's chromium and chromium-driver ({', '.join(missing)} missing): "
            "apt-get install chromium chromium-driver"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason} — .ci/run installs them, so under CI this is a failure")
        pytest.skip(reason)
    try:
        from selenium import webdriver  # noqa: F401
    except ImportError:
        pytest.skip("needs selenium (pip install -r requirements-test.lock)")


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A headless Chromium with its own profile directory, quit at the end of the block."""
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    os.environ["SE_OFFLINE"] = "true"  # selenium must never try to download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=360,780")
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll the page for a condition with a bounded deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # the element is being redrawn
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def bot_messages(driver) -> list:
    return driver.find_elements("css selector", "#log .msg.bot")


def entries(driver) -> list:
    return driver.find_elements("css selector", "#log .msg")


def type_question(driver, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element("id", "q")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def wait_for_new_bot_message(driver, before: int, what: str):
    return until(lambda: len(bot_messages(driver)) > before and bot_messages(driver)[before], what)


def button(message, label_part: str):
    return next(b for b in message.find_elements("css selector", "button") if label_part in b.text)


def press(driver, element) -> None:
    """Scroll an element to the middle of the screen, as a resident would, and tap it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def screenshot(driver, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    if full_page:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))
    else:
        driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def viewport(driver, width: int, height: int, scale: float, mobile: bool) -> None:
    """Emulate a screen: CSS pixels wide and high, at a pixel density (2 = a phone, or 200% zoom)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile},
    )
    until(lambda: driver.execute_script("return window.innerWidth") == width, f"a {width} px wide viewport")


def no_sideways_scroll(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
