"""A slip that makes one file unreadable: its error comes first, and what it causes
elsewhere (related ids, tests.yaml lines naming its entries) is one line after it, in
`faq check`, in the running bot's log and in the admins' reload message alike.

Done as staff do it: the office's FAQ (the pinned copy) with a tab, or an indentation
slip, typed into welfare.yaml.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from servicebot.answering.service import Service
from servicebot.channels.tg_render import reload_text
from servicebot.cli import main
from servicebot.errors import Problem, Reach, Severity
from servicebot.faq import messages
from servicebot.faq.knockon import declared_ids
from servicebot.faq.watcher import FaqWatcher
from servicebot.tools.faq_commands import CHECK_FAILED

from conftest import PINNED_FAQ
from support.wording import wording


def _tab(text: str) -> tuple[str, int]:
    """A tab typed in front of the 10th alternate of the first entry, as an editor might."""
    lines = text.split("\n")
    n = next(i for i, line in enumerate(lines) if line.startswith("      - ") and i > 10)
    lines[n] = "\t" + lines[n].lstrip(" ")
    return "\n".join(lines), n + 1


def _indent(text: str) -> tuple[str, int]:
    """The second entry's `question:` one space too far right."""
    lines = text.split("\n")
    n = [i for i, line in enumerate(lines) if line.startswith("    question:")][1]
    lines[n] = " " + lines[n]
    return "\n".join(lines), n + 1


SLIPS = {"tab": _tab, "indentation": _indent}


@pytest.fixture
def office_faq(tmp_path: Path) -> Path:
    target = tmp_path / "faq"
    shutil.copytree(PINNED_FAQ, target)
    return target


def slip(faq: Path, kind: str) -> None:
    path = faq / "welfare.yaml"
    broken, _ = SLIPS[kind](path.read_text(encoding="utf-8"))
    path.write_text(broken, encoding="utf-8")


@pytest.mark.parametrize("kind", sorted(SLIPS))
def test_the_unreadable_file_is_named_first_and_what_it_causes_is_one_line(office_faq, kind, capsys):
    slip(office_faq, kind)
    assert main(["faq", "check", str(office_faq)]) == 1
    lines = capsys.readouterr().out.splitlines()
    cause = wording("welfare.yaml:{line}: " + messages.YAML_SYNTAX).fullmatch(lines[0])
    assert cause, lines[0]
    folded = wording(f"welfare.yaml:{cause['line']}: " + messages.KNOCK_ON_FILE).fullmatch(lines[1])
    assert folded, lines[1]
    # welfare.yaml's entries are named by community.yaml, population.yaml and tests.yaml
    assert int(folded["count"]) >= 10
    assert all(f in folded["places"] for f in ("tests.yaml 第", "community.yaml 第", "population.yaml 第"))
    assert lines[2:] == [CHECK_FAILED.format(errors=2, warnings=0)]


def test_a_reference_to_an_id_that_exists_nowhere_is_still_reported_on_its_own(office_faq, capsys):
    slip(office_faq, "tab")
    tests = office_faq / "tests.yaml"
    tests.write_text(tests.read_text(encoding="utf-8") + "- question: 测试\n  expect: no-such-entry\n", "utf-8")
    main(["faq", "check", str(office_faq)])
    lines = capsys.readouterr().out.splitlines()
    assert wording(messages.YAML_SYNTAX).search(lines[0]) and wording(messages.KNOCK_ON_FILE).search(lines[1])
    assert any(wording(messages.UNKNOWN_EXPECT, expect="no-such-entry").search(line) for line in lines[2:])


def test_an_entry_left_out_for_an_error_takes_the_references_to_it_along(mini_faq, capsys):
    welfare = mini_faq / "welfare.yaml"
    text = welfare.read_text(encoding="utf-8")
    welfare.write_text(text.replace("    answer: 不符合条件的低保对象会被清退。\n", ""), encoding="utf-8")
    assert main(["faq", "check", str(mini_faq)]) == 1
    lines = capsys.readouterr().out.splitlines()
    at = next(n for n, line in enumerate(text.splitlines(), 1) if "id: dibao-removal" in line)
    missing = wording(f"welfare.yaml:{at}: " + messages.ENTRY_MISSING_KEY, id="dibao-removal", key="answer")
    folded = wording(f"welfare.yaml:{at}: " + messages.KNOCK_ON_ENTRY, id="dibao-removal", count=1)
    [first] = [n for n, line in enumerate(lines) if missing.fullmatch(line)]
    assert folded.fullmatch(lines[first + 1]), lines  # right after the error that left the entry out
    assert not any(wording(messages.UNKNOWN_RELATED).search(line) for line in lines)


@pytest.mark.parametrize("kind", sorted(SLIPS))
def test_the_running_bot_logs_the_cause_first_and_once(office_faq, make_settings, caplog, kind):
    service = Service.from_settings(make_settings(office_faq))
    watcher = FaqWatcher(service, 0)
    slip(office_faq, kind)
    with caplog.at_level(logging.WARNING, logger="servicebot.faq.watcher"):
        tried = watcher.check_now()
    assert tried is not None
    swapped, problems = tried
    assert not swapped
    logged = [r.getMessage() for r in caplog.records]
    listed = [m.strip() for m in logged[1:]]
    assert wording("welfare.yaml:{line}: " + messages.YAML_SYNTAX).fullmatch(listed[0])
    assert wording(messages.KNOCK_ON_FILE).search(listed[1])
    assert len(listed) == 2
    syntax = wording(messages.YAML_SYNTAX)
    assert sum(len(syntax.findall(m)) for m in logged) == 1
    # the admins' Telegram message lists them in the same order
    text = reload_text(swapped, problems, service.snapshot.faq).splitlines()
    assert text[1:] == listed


def test_problems_sort_unread_files_first_then_what_follows_then_by_file_and_line():
    line = Problem("a.yaml", 3, "x")
    unread = Problem("welfare.yaml", 13, "y", reach=Reach.FILE)
    follows = Problem("welfare.yaml", 13, "a", reach=Reach.AFTER_FILE)
    after_line = Problem("a.yaml", 3, "a", reach=Reach.AFTER_LINE)
    warning = Problem("tests.yaml", 1, "z", Severity.WARNING)
    other_unread = Problem("b.yaml", 1, "w", reach=Reach.FILE)
    ordered = [other_unread, unread, follows, line, after_line, warning]
    assert sorted([after_line, line, follows, warning, unread, other_unread]) == ordered


def test_ids_are_found_in_the_text_of_a_file_yaml_cannot_read():
    raw = "topic: x\nentries:\n  - id: one\n\t question: q\n  -   id:   'two'  # comment\n    related: [id-x]\n"
    assert declared_ids(raw.encode()) == {"one": 3, "two": 5}
