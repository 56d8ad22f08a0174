"""Live reload: notice edits in faq/ and offer the new FAQ to the service.

Editors save in several steps (truncate then write, write a temporary file then rename, or
several files one after another), and a file cut at an entry boundary is valid YAML. So an
edit is read only once the directory has been quiet for `quiet` seconds, and is dropped
unread if it changes while being read. The service swaps the new FAQ in only if it passes
every check, names what it removes, and holds back a removal that looks like a half-saved
file. The watcher logs the outcome and hands it to `on_result` (the bot messages admins).
SIGHUP (`check_now(force=True)`) is a staff action: immediate, and never held back.
Runtime machinery of the running bot and terminal chat, not a staff tool.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from servicebot.answering.service import Snapshot, load_snapshot
from servicebot.config import Settings
from servicebot.errors import FaqError, Problem

log = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int, int], ...]
Result = tuple[bool, list[Problem]]
OnResult = Callable[[bool, list[Problem]], None]

# How long the directory must stay unchanged before an edit is read. An editor's save takes
# milliseconds and copying a few files well under a second; with the default 2 s interval this
# means the second poll that sees the new state applies it (2-4 s after the save).
QUIET_SECONDS = 1.5

UNEXPECTED_READ_ERROR = "读取问答文件时出错：{error}，请稍后再保存一次"


class Reloadable(Protocol):
    """What the watcher needs of `service.Service`."""

    settings: Settings

    @property
    def snapshot(self) -> Snapshot: ...

    def swap(self, snapshot: Snapshot, *, guard: bool = False) -> Result: ...


def directory_signature(directory: Path) -> Signature:
    """Names, sizes, mtimes and inodes of the *.yaml files: changes whenever a file does."""
    try:
        with os.scandir(directory) as it:
            stats = [(e.name, e.stat()) for e in it if e.name.endswith(".yaml") and e.is_file()]
    except OSError:
        return ()
    return tuple(sorted((name, st.st_size, st.st_mtime_ns, st.st_ino) for name, st in stats))


class FaqWatcher:
    """Polls the FAQ directory and offers each settled new state to the service once.

    One daemon thread calls `poll()` every `interval` seconds (0 disables the thread, while
    `check_now()` keeps working for SIGHUP and tests). Each state of the directory is tried
    once: an unchanged broken or held-back FAQ is not tried again, and fixing it is a change.
    `clock` is injectable so tests can drive `poll()` through time without sleeping.
    """

    def __init__(
        self,
        service: Reloadable,
        interval: float,
        on_result: OnResult | None = None,
        *,
        quiet: float = QUIET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.service = service
        self.interval = interval
        self.on_result = on_result
        self.quiet = quiet
        self.clock = clock
        self.directory = Path(service.settings.faq_dir)
        self._seen = directory_signature(self.directory)  # the state last tried (or loaded at start)
        self._pending: Signature | None = None  # a new state waiting to be quiet
        self._pending_since = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._polled = threading.Condition()
        self.polls = 0

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="faq-watcher", daemon=True)
        self._thread.start()
        log.info(
            "watching %s for FAQ edits every %gs (applied after %gs quiet)", self.directory, self.interval, self.quiet
        )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 10)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def poll(self) -> Result | None:
        """One look at the directory: try a new state once it has stayed the same for `quiet` seconds.

        Returns (swapped, problems) when a state was tried, else None (nothing new, or not quiet yet).
        """
        with self._lock:
            signature = directory_signature(self.directory)
            now = self.clock()
            if signature == self._seen:
                self._pending = None
                return None
            if signature != self._pending:
                self._pending, self._pending_since = signature, now
                return None
            if now - self._pending_since < self.quiet:
                return None
            result = self._try(signature, force=False)
        if result is not None:
            self._report(*result)
        return result

    def check_now(self, *, force: bool = False) -> Result | None:
        """Try the directory now, without waiting for it to be quiet, if it changed since the last try.

        `force` (SIGHUP) tries it even unchanged, and applies what it removes however much.
        Returns (swapped, problems), or None when nothing changed (or it changed while being read).
        """
        with self._lock:
            signature = directory_signature(self.directory)
            if signature == self._seen and not force:
                return None
            result = self._try(signature, force=force)
        if result is not None:
            self._report(*result)
        return result

    def wait_for_polls(self, count: int, timeout: float) -> bool:
        """Block until the thread has polled `count` times in total; False on timeout."""
        with self._polled:
            return self._polled.wait_for(lambda: self.polls >= count, timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # the watcher must outlive any one bad poll
                log.exception("FAQ watcher poll failed")
            with self._polled:
                self.polls += 1
                self._polled.notify_all()

    def _try(self, signature: Signature, *, force: bool) -> Result | None:
        """Read the directory (in state `signature`) and offer it to the service; lock held."""
        snapshot, refused = self._read()
        after = directory_signature(self.directory)
        if after != signature and not force:
            # Written to while being read: the FAQ read may be half old, half new. Wait again.
            self._pending, self._pending_since = after, self.clock()
            return None
        # The state before reading: an edit made during a forced reload is a new change.
        self._seen, self._pending = signature, None
        if snapshot is None:
            return False, refused
        return self.service.swap(snapshot, guard=not force)

    def _read(self) -> tuple[Snapshot | None, list[Problem]]:
        try:
            return load_snapshot(self.service.settings), []
        except FaqError as exc:
            return None, exc.problems
        except Exception as exc:  # e.g. a file deleted while it was being read
            log.exception("FAQ reload failed unexpectedly")
            return None, [Problem(str(self.directory), 0, UNEXPECTED_READ_ERROR.format(error=type(exc).__name__))]

    def _report(self, swapped: bool, problems: list[Problem]) -> None:
        errors = [p for p in problems if p.is_error]
        if swapped:
            faq = self.service.snapshot.faq
            log.info("FAQ reloaded: %d files, %d entries, %d warnings", len(faq.files), len(faq.entries), len(problems))
        else:
            log.warning("FAQ change refused, still serving the previous FAQ: %d problems", len(errors))
            for problem in errors:
                log.warning("  %s", problem)
        if self.on_result is not None:
            try:
                self.on_result(swapped, problems)
            except Exception:
                log.exception("FAQ reload callback failed")
