"""`servicebot faq diff`: what does this edit change for residents?

Both FAQ versions (directories, or git revisions of the FAQ directory) are validated and
indexed, and every labelled and regression question is asked of each; the questions whose
outcome differs are the edit's effect, before anyone sees it.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

import yaml

from servicebot.config import Settings
from servicebot.errors import FaqError, Problem, ServicebotError
from servicebot.faq import Faq
from servicebot.faq.checks import build_index, outcome_label, validate
from servicebot.faq.labelled import load_labelled

DEFAULT_LABELLED_GLOB = "tests/data/*.yaml"

# What staff read when a side cannot be loaded (str.format templates).
NOT_A_REVISION = "“{revision}”既不是目录，也不是 git 里能找到 {pathspec} 的版本"
NOT_IN_GIT = "问答目录 {faq_dir} 不在 git 仓库里，只能比较两个目录"
OUTSIDE_REPOSITORY = "问答目录 {faq_dir} 不在 git 仓库 {root} 里"
NO_GIT = "没有安装 git，只能比较两个目录"
GIT_TIMEOUT = "{failure}（git {command} 超时）"
GIT_FAILED = "{failure}（{reason}）"
GIT_UNKNOWN_FAILURE = "git 出错"


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
    old_index, new_index = build_index(old_faq, settings, keep=False), build_index(new_faq, settings, keep=False)
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
    faq, problems = validate(directory, settings, cached=False)
    if faq is None:
        raise FaqError([Problem(prefix + p.file, p.line, p.message) for p in problems if p.is_error])
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
        failure=NOT_A_REVISION.format(revision=revision, pathspec=pathspec),
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
    failure = NOT_IN_GIT.format(faq_dir=faq_dir)
    root = Path(_git(probe, "rev-parse", "--show-toplevel", failure=failure).decode().strip())
    try:
        return root, absolute.resolve().relative_to(root.resolve())
    except ValueError:
        raise ServicebotError(OUTSIDE_REPOSITORY.format(faq_dir=faq_dir, root=root)) from None


def _git(cwd: Path, *args: str, failure: str) -> bytes:
    """stdout of a git command; ServicebotError(`failure` and git's reason) if it fails."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise ServicebotError(NO_GIT) from None
    except subprocess.TimeoutExpired:
        raise ServicebotError(GIT_TIMEOUT.format(failure=failure, command=args[0])) from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise ServicebotError(GIT_FAILED.format(failure=failure, reason=detail[-1] if detail else GIT_UNKNOWN_FAILURE))
    return done.stdout
