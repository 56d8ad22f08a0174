"""Live reload: notice edits in faq/ and ask the service to reload.

The service swaps in the new FAQ only if it passes every check, so a broken edit never
reaches residents; the watcher logs the outcome and hands it to `on_result` (the bot
messages admins). Runtime machinery of the running bot and terminal chat, not a staff tool.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from servicebot.config import Settings
from servicebot.errors import Problem

log = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int, int], ...]
OnResult = Callable[[bool, list[Problem]], None]


class Reloadable(Protocol):
    """What the watcher needs of `service.Service` (tests may pass a small fake)."""

    settings: Settings

    @property
    def snapshot(self): ...

    def reload(self) -> tuple[bool, list[Problem]]: ...


def directory_signature(directory: Path) -> Signature:
    """Names, sizes, mtimes and inodes of the *.yaml files: changes whenever a file does."""
    try:
        with os.scandir(directory) as it:
            stats = [(e.name, e.stat()) for e in it if e.name.endswith(".yaml") and e.is_file()]
    except OSError:
        return ()
    return tuple(sorted((name, st.st_size, st.st_mtime_ns, st.st_ino) for name, st in stats))


class FaqWatcher:
    """Polls the FAQ directory and reloads the service when its files change.

    One daemon thread; `interval` seconds between polls (0 disables the thread, while
    `check_now()` keeps working for SIGHUP and /reload). Each state of the directory is
    tried once: an unchanged broken FAQ is not reloaded again, and fixing it is a change.
    """

    def __init__(self, service: Reloadable, interval: float, on_result: OnResult | None = None, *, settle: float = 0.2):
        self.service = service
        self.interval = interval
        self.on_result = on_result
        self.settle = min(settle, interval) if interval > 0 else 0.0
        self.directory = Path(service.settings.faq_dir)
        self._seen = directory_signature(self.directory)
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
        log.info("watching %s for FAQ edits every %gs", self.directory, self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 10)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def check_now(self, *, force: bool = False) -> tuple[bool, list[Problem]] | None:
        """Reload if the files changed since the last attempt (or always, with force).

        Returns (swapped, problems), or None when nothing changed.
        """
        with self._lock:
            signature = directory_signature(self.directory)
            if signature == self._seen and not force:
                return None
            # Remember the state before reading it: an edit made during the reload is a new change.
            self._seen = signature
            swapped, problems = self._reload()
        self._report(swapped, problems)
        return swapped, problems

    def wait_for_polls(self, count: int, timeout: float) -> bool:
        """Block until the thread has polled `count` times in total; False on timeout."""
        with self._polled:
            return self._polled.wait_for(lambda: self.polls >= count, timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._poll()
            except Exception:  # the watcher must outlive any one bad poll
                log.exception("FAQ watcher poll failed")
            with self._polled:
                self.polls += 1
                self._polled.notify_all()

    def _poll(self) -> None:
        signature = directory_signature(self.directory)
        if signature == self._seen:
            return
        # Let an editor finish writing, so a half-saved file is not reported as broken.
        if self._stop.wait(self.settle) or directory_signature(self.directory) != signature:
            return
        self.check_now()

    def _reload(self) -> tuple[bool, list[Problem]]:
        try:
            return self.service.reload()
        except Exception as exc:  # e.g. a file deleted while it was being read
            log.exception("FAQ reload failed unexpectedly")
            return False, [
                Problem(str(self.directory), 0, f"读取问答文件时出错：{type(exc).__name__}，请稍后再保存一次")
            ]

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
