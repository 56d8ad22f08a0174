"""The documentation stays a front door and a true reference: the README is short (at most
400 lines), starts with the two commands and links every page of docs/; every relative link
of the README and docs/ reaches a file (and a heading, where it names one); the settings
table of docs/configuration.md is the one `Settings` gives (bench/tools/settings_doc.py); and
docs/architecture.md names every module of the package, which stays in wings."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import unicodedata
from pathlib import Path

import pytest

from servicebot.config import Settings

from conftest import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def settings_doc():
    """bench/tools/settings_doc.py, the script that writes the table, as a module."""
    path = REPO / "bench" / "tools" / "settings_doc.py"
    spec = importlib.util.spec_from_file_location("settings_doc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_is_a_front_door_of_at_most_400_lines():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 400


def test_the_readme_starts_with_the_command_to_run_it_and_the_one_to_test_it():
    text = README.read_text(encoding="utf-8")
    before_sections = text[: text.index("\n## ")]
    blocks = re.findall(r"```sh\n(.*?)\n```", before_sections, re.DOTALL)
    assert len(blocks) == 2
    assert "-r requirements.lock -e ." in blocks[0] and blocks[0].endswith(".venv/bin/servicebot")
    assert "-r requirements-test.lock -e ." in blocks[1] and blocks[1].endswith(".venv/bin/python -m pytest -q")


def test_the_readme_links_every_page_of_docs():
    linked = {target.split("#")[0] for target in LINK.findall(README.read_text(encoding="utf-8"))}
    pages = {f"docs/{page.name}" for page in DOCS.glob("*.md")}
    assert pages - linked == set()


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation and symbols dropped
    (full-width too), spaces as hyphens."""
    kept = (c for c in heading.strip().lower() if c in "-_ " or unicodedata.category(c)[0] not in "PS")
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def test_the_slug_is_the_one_github_makes():
    assert slug("Hand-off to staff (转人工)") == "hand-off-to-staff-转人工"
    assert slug("十七、打印宣传海报（二维码）") == "十七打印宣传海报二维码"
    assert slug("Figures (2026-12-07)") == "figures-2026-12-07"


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_every_relative_link_reaches_a_file_and_its_heading(page):
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        name, _, anchor = target.partition("#")
        linked = (page.parent / name).resolve() if name else page
        if not linked.is_file() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)
    assert broken == []


def test_the_settings_table_is_the_one_settings_gives():
    doc = settings_doc()
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert doc.committed(page) == doc.table(), f"docs/configuration.md is out of date: run {doc.COMMAND}"


def test_every_setting_is_described_once_beside_its_field_and_secrets_say_so():
    for f in dataclasses.fields(Settings):
        described = f.metadata["doc"]
        assert described.strip() and "|" not in described, f.name
        assert ("Secret" in described) == f.metadata["secret"] == (not f.repr), f.name


def test_check_names_the_command_when_the_table_is_stale_and_a_run_rewrites_only_the_table(tmp_path, capsys):
    doc = settings_doc()
    page = tmp_path / "configuration.md"
    original = (DOCS / "configuration.md").read_text(encoding="utf-8")
    stale = original.replace("| `log_level` |", "| `log_levels` |")
    assert stale != original
    page.write_text(stale, encoding="utf-8")

    assert doc.main(["--check"], page_path=page) == 1
    assert doc.COMMAND in capsys.readouterr().err
    assert page.read_text(encoding="utf-8") == stale

    assert doc.main([], page_path=page) == 0
    assert page.read_text(encoding="utf-8") == original
    assert doc.main(["--check"], page_path=page) == 0


PACKAGE = REPO / "src" / "servicebot"


def test_the_architecture_page_names_every_module_of_the_package():
    page = (DOCS / "architecture.md").read_text(encoding="utf-8")
    modules = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    packages = [p.parent.relative_to(PACKAGE).as_posix() + "/" for p in PACKAGE.rglob("*/__init__.py")]
    assert [m for m in modules + packages if f"`{m}`" not in page] == []


def test_the_package_is_in_wings_of_modules_under_600_lines():
    """At most 12 modules in the package's root; no module over 600 lines."""
    assert len([p for p in PACKAGE.glob("*.py")]) <= 12
    long = {
        p.relative_to(PACKAGE).as_posix(): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_bytes().splitlines())) > 600
    }
    assert long == {}
