"""A bounded wait on the running event loop, for tests that cannot wait on an event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def until(condition: Callable[[], Any], what: str, timeout: float = 5.0) -> None:
    """Poll `condition()` on the running loop until it is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        await asyncio.sleep(0.01)
