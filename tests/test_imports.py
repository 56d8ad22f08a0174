"""The layout stays a one-way street: no module of the package imports, even lazily, a module
that imports it back (directly or through others); and a command imports only what it uses."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import servicebot

from conftest import PINNED_FAQ
from support.processes import process_env

PACKAGE = Path(servicebot.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules `path` imports anywhere in its body (an imported name that is a
    submodule counts as that submodule, not its package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return found & modules


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports_of(path, set(paths)) - {name} for name, path in paths.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for nxt in sorted(edges[name]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[name] = 2
        return None

    for name in sorted(edges):
        if name not in state and (found := visit(name)):
            return found
    return None


def test_no_module_imports_one_that_imports_it_back():
    loop = cycle(graph())
    assert loop is None, " → ".join(loop or [])


def test_the_cycle_finder_finds_a_planted_loop():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


# What a command that only reads the FAQ and answers must not load: Telegram, the web server,
# the staff desk's password hasher, the poster's image library, WeChat's crypto, the review's
# pinyin dictionaries, the evaluation's baselines. Each is a tenth of a second or more.
NOT_FOR_ANSWERING = (
    "telegram",
    "starlette",
    "uvicorn",
    "httpx",
    "argon2",
    "PIL",
    "segno",
    "cryptography",
    "pypinyin",
    "servicebot.tools.evaluate",
    "servicebot.review.drafting",
    "servicebot.staffdesk.accounts",
    "servicebot.channels.server",
)


@pytest.mark.slow  # a fresh process per command
@pytest.mark.parametrize("argv", [["ask", "低保怎么申请"], ["faq", "check"]])
def test_a_command_loads_only_what_it_uses(tmp_path, argv):
    code = (
        "import sys\n"
        "from servicebot.cli import main\n"
        f"status = main({argv!r})\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=process_env(tmp_path, PINNED_FAQ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = set(done.stderr.split())
    assert "servicebot.matching.index" in loaded  # it did answer
    assert sorted(m for m in loaded if m.split(".")[0] in NOT_FOR_ANSWERING or m in NOT_FOR_ANSWERING) == []
