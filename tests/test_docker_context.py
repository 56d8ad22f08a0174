"""What `.dockerignore` lets into the image's build context, read with Docker's own rules (the
last matching line wins; a line matches a path or any directory above it; `!` lets back in).

The image once started without the matcher's word tables: `**/*.sqlite3*`, there to keep a
live interaction log out of the image, also kept out src/servicebot/data/*.sqlite3, and
`servicebot ask` failed with "unable to open database file" (found with docker_check.sh)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from conftest import REPO

WILDCARDS = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}


def _rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line.removeprefix("!").strip("/")
        parts = re.split(r"(\*\*/?|\*|\?)", pattern)
        regex = "".join(WILDCARDS.get(p, re.escape(p)) for p in parts)
        rules.append((include, re.compile(regex + r"\Z")))
    return rules


def in_context(path: str) -> bool:
    """Whether Docker sends `path` (relative to the project) to the build."""
    parents = ["/".join(path.split("/")[: n + 1]) for n in range(path.count("/") + 1)]
    sent = True
    for include, rule in _rules():
        if any(rule.match(p) for p in parents):
            sent = include
    return sent


def test_everything_the_package_installs_reaches_the_build():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    declared = config["tool"]["setuptools"]["package-data"]
    files = [
        path
        for package, patterns in declared.items()
        for pattern in patterns
        for path in (REPO / "src" / Path(*package.split("."))).glob(pattern)
    ]
    assert any(p.suffix == ".sqlite3" for p in files) and len(files) >= 8
    code = list((REPO / "src").rglob("*.py"))
    missing = [str(p.relative_to(REPO)) for p in files + code if not in_context(str(p.relative_to(REPO)))]
    assert missing == []


def test_secrets_logs_and_the_checkout_stay_out():
    for path in (
        "servicebot.env",
        "servicebot.toml",
        "data/interactions.sqlite3",
        "src/servicebot/interactions.sqlite3-wal",
        ".git/config",
        "tests/conftest.py",
        "src/servicebot/__pycache__/cli.cpython-311.pyc",
    ):
        assert not in_context(path), path
    for path in ("Dockerfile", "pyproject.toml", "requirements.lock", "faq/welfare.yaml", "faq/garbage-items.yaml"):
        assert in_context(path), path
