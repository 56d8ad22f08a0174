"""Tools for the staff who edit the FAQ: see an edit live, and know what it changes.

- `FaqWatcher` notices edits in faq/ and asks the service to reload. The service swaps in
  the new FAQ only if it passes every check, so a broken edit never reaches residents;
  the watcher logs the outcome and hands it to `on_result` (the bot messages admins).
- `stale_entries` lists entries whose `reviewed` date is too old (`servicebot faq stale`).
- `diff_outcomes` answers "what does this edit change?" on the labelled and regression
  questions, between two directories or git revisions (`servicebot faq diff`).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import yaml

from servicebot.checks import build_index, outcome_label
from servicebot.config import Settings
from servicebot.errors import FaqError, Problem, ServicebotError
from servicebot.evaluate import load_labelled
from servicebot.faq import Entry, Faq, check_faq

log = logging.getLogger(__name__)

DEFAULT_LABELLED_GLOB = "tests/data/*.yaml"

# --- freshness ---------------------------------------------------------------------------


def stale_entries(
    faq: Faq, stale_days: int, *, today: dt.date | None = None
) -> list[tuple[str, list[tuple[Entry, int]]]]:
    """Entries not reviewed for more than `stale_days`, by topic (menu order), oldest first."""
    today = today or dt.date.today()
    groups = []
    for topic in faq.topics:
        aged = [(faq.by_id[i], (today - faq.by_id[i].reviewed).days) for i in topic.entry_ids]
        stale = sorted((pair for pair in aged if pair[1] > stale_days), key=lambda p: (-p[1], p[0].id))
        if stale:
            groups.append((topic.name, stale))
    return groups


# --- which questions an edit changes -----------------------------------------------------


def labelled_questions(paths: list[Path] | None = None) -> list[str]:
    """Questions of the labelled sets (YAML mappings question → id), without repeats.

    Explicit paths must be valid labelled sets; the default, tests/data/*.yaml under the
    current directory, quietly skips files that are not mappings.
    """
    if paths:
        return _unique(q for path in paths for q, _ in load_labelled(Path(path)))
    found = sorted(Path.cwd().glob(DEFAULT_LABELLED_GLOB))
    return _unique(q for path in found for q in _mapping_keys(path))


def _mapping_keys(path: Path) -> list[str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    return [str(q) for q in data] if isinstance(data, dict) else []


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def diff_outcomes(
    old: str, new: str, settings: Settings, questions: list[str]
) -> tuple[list[tuple[str, str, str]], int, int]:
    """(question, before, after) for every question whose outcome differs between two FAQs.

    `old` and `new` are FAQ directories or git revisions of settings.faq_dir. The questions
    are `questions` plus both sides' regression questions. Outcomes are entry ids, or
    "suggest"/"unanswered". Raises FaqError if either side does not validate.
    """
    with tempfile.TemporaryDirectory(prefix="servicebot-diff-") as tmp:
        old_faq = _load_side(old, settings, Path(tmp) / "old")
        new_faq = _load_side(new, settings, Path(tmp) / "new")
    old_index, new_index = build_index(old_faq, settings), build_index(new_faq, settings)
    regression = [c.question for faq in (old_faq, new_faq) for c in faq.tests]
    changes = []
    for question in _unique([*questions, *regression]):
        before, after = outcome_label(old_index, question), outcome_label(new_index, question)
        if before != after:
            changes.append((question, before, after))
    return changes, len(old_faq.entries), len(new_faq.entries)


def _load_side(spec: str, settings: Settings, scratch: Path) -> Faq:
    """A directory as it is, or a git revision of the FAQ directory extracted to `scratch`."""
    if Path(spec).is_dir():
        directory, prefix = Path(spec), os.path.join(spec, "")
    else:
        directory = extract_revision(spec, settings.faq_dir, scratch)
        inside = directory.relative_to(scratch).as_posix()
        prefix = f"{spec}:" if inside == "." else f"{spec}:{inside}/"
    faq, problems = check_faq(directory, stale_days=settings.stale_days)
    if faq is None:
        raise FaqError([Problem(prefix + p.file, p.line, p.message) for p in problems if p.severity == "error"])
    return faq


def extract_revision(revision: str, faq_dir: Path, target: Path) -> Path:
    """Write the FAQ directory as of a git revision into `target`; return the FAQ directory there."""
    root, inside = _repo_path(faq_dir)
    pathspec = inside.as_posix() if inside != Path(".") else "."
    archive = _git(
        root,
        "archive",
        "--format=tar",
        revision,
        "--",
        pathspec,
        failure=f"“{revision}”既不是目录，也不是 git 里能找到 {pathspec} 的版本",
    )
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
        tar.extractall(target, members=members, **_safe_filter())
    return target / inside


def _safe_filter() -> dict:
    # tarfile's "data" filter (Python 3.11.4+) refuses absolute paths and links out of target.
    return {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def _repo_path(faq_dir: Path) -> tuple[Path, Path]:
    """(repository root, FAQ directory relative to it) for the FAQ directory in the settings."""
    absolute = Path(os.path.abspath(faq_dir))
    probe = next((p for p in (absolute, *absolute.parents) if p.is_dir()), Path.cwd())
    failure = f"问答目录 {faq_dir} 不在 git 仓库里，只能比较两个目录"
    root = Path(_git(probe, "rev-parse", "--show-toplevel", failure=failure).decode().strip())
    try:
        return root, absolute.resolve().relative_to(root.resolve())
    except ValueError:
        raise ServicebotError(f"问答目录 {faq_dir} 不在 git 仓库 {root} 里") from None


def _git(cwd: Path, *args: str, failure: str) -> bytes:
    """stdout of a git command; ServicebotError(`failure` and git's reason) if it fails."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise ServicebotError("没有安装 git，只能比较两个目录") from None
    except subprocess.TimeoutExpired:
        raise ServicebotError(f"{failure}（git {args[0]} 超时）") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise ServicebotError(f"{failure}（{detail[-1] if detail else 'git 出错'}）")
    return done.stdout


# --- live reload -------------------------------------------------------------------------

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
        errors = [p for p in problems if p.severity == "error"]
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


__all__ = [
    "FaqWatcher",
    "diff_outcomes",
    "directory_signature",
    "extract_revision",
    "labelled_questions",
    "stale_entries",
]
