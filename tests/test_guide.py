"""The staff guide (faq/README.md) works on the first try: every command in it runs as
written, in a project folder set up the way the README installs it (the `./servicebot`
script, `.venv/bin/servicebot`) or, without one, through `docker compose exec`; every file
it names exists; every "见“…”" points at a real section; every message it quotes, and every
sample output line, is one the program really prints."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from servicebot.channels import tg_render
from servicebot.cli import build_parser
from servicebot.faq import RESERVED_FILES, check_faq, checks, messages
from servicebot.review.drafting import DRAFT_ANSWER, DRAFT_SOURCE
from servicebot.review.layout import yaml_scalar
from servicebot.storage import InteractionLog
from servicebot.tools import faq_commands

from conftest import PINNED_FAQ, REPO
from support.wording import wording

GUIDE = REPO / "faq" / "README.md"
COMMAND_RE = re.compile(r"`(\./servicebot [^`]+)`")
FENCE_RE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.MULTILINE | re.DOTALL)  # also inside list items
QUOTED_PROBLEM_RE = re.compile(r"`([\w.-]+\.\w+):(\d+): (警告：)?([^`]+)`")


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def fences(lang: str = "") -> list[str]:
    """The code blocks tagged `lang` (untagged by default), without the list item's indentation."""
    return [
        "\n".join(line.removeprefix(indent) for line in body.splitlines())
        for indent, tag, body in FENCE_RE.findall(guide())
        if tag == lang
    ]


def guide_commands() -> list[str]:
    found = COMMAND_RE.findall(guide())
    found += [line.strip() for body in fences() for line in body.splitlines() if line.startswith("./servicebot ")]
    return list(dict.fromkeys(found))


def templates(*modules) -> list[str]:
    return [v for m in modules for k, v in vars(m).items() if k.isupper() and isinstance(v, str)]


# --- a project folder as the README installs it -------------------------------------------------


def _installed_servicebot() -> Path:
    """The console script of the environment running the tests (CI's fresh venv, or .venv)."""
    found = shutil.which("servicebot", path=str(Path(sys.executable).parent))
    assert found, "servicebot is not installed next to this Python"
    return Path(found)


def _environment(extra_path: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICEBOT_")}
    if extra_path is not None:
        env["PATH"] = f"{extra_path}{os.pathsep}/usr/bin{os.pathsep}/bin"
    return env


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=staff", "-c", "user.email=staff@example.org", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A clone as staff get it: the script, the FAQ with its guide, a .venv, a git history,
    an interaction log (for review and stats) and the copy `faq diff` is shown comparing."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy2(REPO / "servicebot", root / "servicebot")
    shutil.copytree(PINNED_FAQ, root / "faq")
    shutil.copy2(GUIDE, root / "faq" / "README.md")
    shutil.copytree(root / "faq", root / "faq-old")
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "servicebot").symlink_to(_installed_servicebot())
    _git(root, "init", "-q")
    _git(root, "add", "faq")
    _git(root, "commit", "-qm", "faq")
    InteractionLog(root / "data" / "interactions.sqlite3").close()
    return root


def run_in(root: Path, command: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", "-c", command],
        cwd=root,
        env=env or _environment(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_guide_uses_one_way_to_run_commands_and_says_where():
    text = guide()
    commands_shown = guide_commands()
    assert len(commands_shown) >= 8
    # no bare `servicebot …` a member of staff would type and get "command not found"
    bare = [line for line in re.findall(r"`(servicebot [^`]+)`", text)]
    assert bare == [], bare
    assert "docker compose exec bot servicebot faq check" in text  # the container variant


@pytest.mark.parametrize("command", guide_commands())
def test_every_command_in_the_guide_is_a_valid_command_line(command):
    argv = shlex.split(command)[1:]
    build_parser().parse_args(argv)  # exits 2 (fails the test) on a typo or an unknown option


@pytest.mark.slow
def test_every_kind_of_command_in_the_guide_runs_as_written(project):
    """One of each subcommand, verbatim (every line is parsed above); in the folder the README sets up."""
    kinds: dict[tuple[str, ...], str] = {}
    for command in guide_commands():
        words = [w for w in shlex.split(command)[1:] if not w.startswith("-")]
        kinds.setdefault(tuple(words[:2]) if words[0] == "faq" else (words[0],), command)
    assert {"faq check", "faq test", "faq stale", "faq diff", "ask", "review", "stats"} <= {" ".join(k) for k in kinds}
    for kind, command in kinds.items():
        # `staff add` asks for the password; without a terminal it reads the first line of stdin
        done = run_in(project, command, stdin="desk-password-1\n" if kind == ("staff",) else "")
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert done.stdout.strip() and "Traceback" not in done.stderr, command


def test_without_a_venv_the_script_asks_the_running_container(project, tmp_path):
    """docker compose, played by a fake `docker` that records its arguments and working directory."""
    folder = tmp_path / "compose-install"
    folder.mkdir()
    shutil.copy2(project / "servicebot", folder / "servicebot")
    (folder / "compose.yaml").write_text("services: {}\n", encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "docker-args"
    fake = bin_dir / "docker"
    fake.write_text(f'#!/bin/sh\npwd > "{record}"\nprintf "%s\\n" "$@" >> "{record}"\n', encoding="utf-8")
    fake.chmod(0o755)
    done = run_in(folder, "./servicebot faq check faq/", _environment(bin_dir))
    assert done.returncode == 0, done.stderr
    where, *argv = record.read_text(encoding="utf-8").splitlines()
    assert Path(where) == folder
    assert argv == ["compose", "exec", "-T", "bot", "servicebot", "faq", "check", "faq/"]


def test_with_neither_it_says_what_to_install(tmp_path):
    folder = tmp_path / "bare"
    folder.mkdir()
    shutil.copy2(REPO / "servicebot", folder / "servicebot")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    done = run_in(folder, "./servicebot faq check faq/", _environment(empty))
    assert done.returncode == 127
    assert "找不到 servicebot 程序" in done.stderr and "python3 -m venv .venv" in done.stderr


def test_the_container_variant_checks_the_faq_staff_edit():
    """`docker compose exec bot servicebot faq check` (no directory): the image's FAQ dir is
    where compose mounts ./faq, and relative paths start in /app, where faq/ is that mount."""
    compose = (REPO / "compose.yaml").read_text(encoding="utf-8")
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "  bot:\n" in compose and "- ./faq:/app/faq:ro" in compose
    assert "SERVICEBOT_FAQ_DIR=/app/faq" in dockerfile and "\nWORKDIR /app\n" in dockerfile


# --- what the guide names and quotes ------------------------------------------------------------


def test_every_file_the_guide_names_exists():
    names = set(re.findall(r"\b[\w-]+\.ya?ml\b", guide()))
    written = {shlex.split(c)[shlex.split(c).index("-o") + 1] for c in guide_commands() if " -o " in c}
    assert "drafts.yaml" in written  # `review --suggest-yaml -o drafts.yaml` makes it
    shipped = {p.name for p in PINNED_FAQ.glob("*.yaml")} | set(RESERVED_FILES) | written
    missing = sorted(
        n for n in names if n not in shipped and not (REPO / n).is_file() and not n.endswith(".yml")
    )  # .yml: the example of a wrong name
    assert missing == []


def test_the_guide_lists_every_topic_file_of_the_pinned_faq_with_its_topic():
    """Re-pinning a FAQ with a new or renamed topic file asks for the guide's list to follow."""
    for path in sorted(PINNED_FAQ.glob("*.yaml")):
        if path.name not in RESERVED_FILES:
            topic = yaml.safe_load(path.read_text(encoding="utf-8"))["topic"]
            assert f"`{path.name}`（{topic}）" in guide(), path.name


def test_every_section_reference_names_a_real_section():
    headings = set(re.findall(r"^## (.+)$", guide(), re.MULTILINE))
    references = re.findall(r"见“([一二三四五六七八九十]+、[^”]+)”", guide())
    assert len(references) >= 5
    assert sorted(set(references) - headings) == []


def test_every_message_the_guide_quotes_is_one_the_program_prints():
    known = [wording(t) for t in templates(messages, checks)]
    quoted = QUOTED_PROBLEM_RE.findall(guide())
    assert len(quoted) >= 30
    unknown = [m for _, _, _, m in quoted if not any(p.fullmatch(m) for p in known)]
    assert unknown == []
    shipped = {p.name for p in PINNED_FAQ.glob("*.yaml")}
    assert sorted({f for f, *_ in quoted} - shipped - {"welfare.yml"}) == []


def test_the_draft_warning_is_quoted_as_the_check_prints_it(mini_faq):
    """Quoted in full, step by step (the pattern check above lets any steps through)."""
    books = mini_faq / "books.yaml"  # a draft as `review --suggest-yaml` writes one, pasted at the end
    draft = f"""\
  - id: todo-tuo-yu-bu-tie
    draft: true
    question: 托育补贴怎么申请
    alternates: []
    answer: {yaml_scalar(DRAFT_ANSWER)}
    source: {yaml_scalar(DRAFT_SOURCE)}
    reviewed: 2026-11-01
"""
    books.write_text(books.read_text(encoding="utf-8") + draft, encoding="utf-8")
    _, problems = check_faq(mini_faq)
    [said] = [p.message for p in problems if "todo-tuo-yu-bu-tie" in p.message]
    assert f"`welfare.yaml:277: 警告：{said}`" in guide()


OUTPUT_TEMPLATES = {
    "检查通过": faq_commands.CHECK_PASSED,
    "转介清单 ": faq_commands.CHECK_REFERRALS,
    "垃圾分类物品清单 ": faq_commands.CHECK_ITEMS,
    "发现 ": faq_commands.CHECK_FAILED,
    "[通过]": faq_commands.CASE_PASSED,
    "共 2 个测试问题": faq_commands.CASES_SUMMARY,
    "【": faq_commands.STALE_TOPIC,
    "  bookhouse-": faq_commands.STALE_ENTRY,
    "共 1 个条目需要": faq_commands.STALE_SUMMARY,
    "待核实的条目": messages.TO_VERIFY_HEADER,
    "  office-contact": messages.TO_VERIFY_LINE,
    "共 1 个条目待核实": messages.TO_VERIFY_SUMMARY,
    "工作纪实以外": faq_commands.SOURCED_HEADER.strip(),
    "  welfare.yaml:": faq_commands.SOURCED_FACT.split("\n")[0],
    "    来源：": faq_commands.SOURCED_FACT.split("\n")[1],
    "比较 ": faq_commands.DIFF_HEADER,
    "  借书": faq_commands.DIFF_CHANGE,
    "1 个问题的结果": faq_commands.DIFF_SUMMARY,
    "检测到": tg_render.WATCH_PREFIX.strip(),
    "问答已重新加载": tg_render.RELOADED_TEXT,
}


def test_sample_output_in_the_guide_is_what_the_commands_print():
    lines = [line for body in fences() for line in body.splitlines()]
    matched = set()
    for line in lines:
        for prefix, template in OUTPUT_TEMPLATES.items():
            if line.startswith(prefix):
                assert wording(template).fullmatch(line), (line, template)
                matched.add(prefix)
    assert matched == set(OUTPUT_TEMPLATES)
