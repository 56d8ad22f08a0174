"""Live reload against half-saved files: the quiet period, and removals named to staff.

Real files on disk and the real service. Time is a `Clock` handed to the watcher, so
`poll()` (what the thread does every interval) is driven through the quiet period without
sleeping; the thread tests wait on the watcher's own poll count, with bounded deadlines.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from servicebot.answering.service import Service
from servicebot.faq import Entry, watcher as watcher_module
from servicebot.faq.checks import (
    ENTRIES,
    HALF_SAVED_SHARE,
    HELD_BACK,
    MAX_NAMES,
    MORE_NAMES,
    REMOVED,
    TESTS,
    Removal,
    removal_problems,
)
from servicebot.faq.watcher import FaqWatcher
from servicebot.records import Channel, Status

from conftest import FIXTURES, PINNED_FAQ
from support.fakes import Clock, Recorder
from support.wording import wording

WAIT = 10.0  # seconds; generous upper bound for event waits, never a sleep
# an entry or a referral matter, a garbage item, or a regression question
ITEM_START = re.compile(r"^(  - id:|  - name:|- question:)", re.MULTILINE)


class ServedLog(Service):
    """The real service, remembering every FAQ it served (to prove a state never went live)."""

    served: list[frozenset[str]]

    def swap(self, snapshot, *, guard=False):
        result = super().swap(snapshot, guard=guard)
        if result[0]:
            self.served.append(frozenset(snapshot.faq.by_id))
        return result


@pytest.fixture
def service(mini_faq, make_settings) -> ServedLog:
    service = ServedLog.from_settings(make_settings(mini_faq))
    service.served = []
    return service


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder() -> Recorder:
    """What the `watcher` fixture reported."""
    return Recorder(WAIT)


@pytest.fixture
def watcher(service, clock, recorder):
    w = FaqWatcher(service, 0, recorder, clock=clock)
    yield w
    w.stop()


def write(path: Path, text: str) -> None:
    """Write a file as an editor would; the size or the modification time surely changes."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:  # coarse clock: make the new state visible
        os.utime(path, ns=(before + 1, before + 1))


def cut_points(text: str) -> list[int]:
    """Where an editor's truncate-then-write can leave a file that is still valid YAML."""
    return [m.start() for m in ITEM_START.finditer(text)]


def without_entry(text: str, entry_id: str) -> str:
    start = text.index(f"  - id: {entry_id}\n")
    later = [p for p in cut_points(text) if p > start]
    return text[:start] + (text[later[0] :] if later else "")


def messages(problems) -> list[str]:
    return [p.message for p in problems]


def quiet_poll(watcher: FaqWatcher, clock: Clock):
    """Let the current state settle, as the thread would: seen, then still the same `quiet` later."""
    assert watcher.poll() is None, "a new state was tried before the directory was quiet"
    clock.advance(watcher.quiet)
    return watcher.poll()


# --- the quiet period --------------------------------------------------------------------------


def test_a_new_state_is_tried_only_after_the_directory_was_quiet(watcher, service, clock, mini_faq, recorder):
    books = mini_faq / "books.yaml"
    write(books, books.read_text(encoding="utf-8").replace("梧桐书屋是滁州首家", "梧桐书屋是全市首家"))
    assert watcher.poll() is None
    clock.advance(watcher.quiet / 2)
    assert watcher.poll() is None
    assert service.served == [] and recorder.results == []
    clock.advance(watcher.quiet / 2)
    swapped, problems = watcher.poll()
    assert swapped and problems == [] and len(service.served) == 1
    assert watcher.poll() is None  # each state once


def test_a_two_step_save_is_never_served_half_way(watcher, service, clock, mini_faq):
    books = mini_faq / "books.yaml"
    whole = books.read_text(encoding="utf-8")
    # Step 1: the editor truncates the file and has written only its first entry: valid YAML.
    write(books, whole[: cut_points(whole)[1]])
    assert watcher.poll() is None
    clock.advance(watcher.quiet / 2)
    assert watcher.poll() is None
    # Step 2, still within the quiet period: the rest of the file, plus an edit.
    write(books, whole.replace("梧桐书屋是滁州首家", "梧桐书屋是全市首家"))
    clock.advance(watcher.quiet / 2)
    assert watcher.poll() is None, "the quiet period restarts with every change"
    clock.advance(watcher.quiet)
    swapped, problems = watcher.poll()
    assert swapped and problems == []
    assert service.served == [frozenset({"bookhouse-wutong", "garbage-hall", *_welfare_ids()})]


def _welfare_ids() -> set[str]:
    return {"dibao-apply", "dibao-removal", "pension-insurance"}


def test_a_state_written_to_while_being_read_is_not_served(watcher, service, clock, mini_faq, monkeypatch, recorder):
    books = mini_faq / "books.yaml"
    whole = books.read_text(encoding="utf-8")
    write(books, whole[: cut_points(whole)[1]])  # garbage-hall cut off
    real_load = watcher_module.load_snapshot

    def load_then_editor_saves(settings):
        snapshot = real_load(settings)  # the cut state, read in full
        write(books, whole.replace("梧桐书屋是滁州首家", "梧桐书屋是全市首家"))
        return snapshot

    monkeypatch.setattr(watcher_module, "load_snapshot", load_then_editor_saves)
    assert quiet_poll(watcher, clock) is None
    assert service.served == [] and recorder.results == []
    monkeypatch.setattr(watcher_module, "load_snapshot", real_load)
    assert watcher.poll() is None, "the state written during the read must be quiet in turn"
    clock.advance(watcher.quiet)
    swapped, _ = watcher.poll()
    assert swapped and "garbage-hall" in service.served[-1]
    assert "全市首家" in service.snapshot.faq.by_id["bookhouse-wutong"].answer


@pytest.mark.slow  # a real watcher thread polling
def test_the_watcher_thread_never_serves_a_two_step_save_half_way(service, mini_faq):
    recorder = Recorder(WAIT)
    watcher = FaqWatcher(service, 0.01, recorder, quiet=1.0)  # a real clock
    books = mini_faq / "books.yaml"
    whole = books.read_text(encoding="utf-8")
    watcher.start()
    try:
        for step in range(2):
            write(books, whole[: cut_points(whole)[1]])
            # The thread has certainly seen the cut file (two polls after the write)...
            assert watcher.wait_for_polls(watcher.polls + 2, WAIT)
            write(books, whole + f"# 第 {step} 次保存\n")
            swapped, problems = recorder.next()  # ...and only the finished save is tried
            assert swapped and problems == []
        assert len(recorder.results) == 2
        assert all("garbage-hall" in served for served in service.served) and len(service.served) == 2
    finally:
        watcher.stop()


# --- what an edit removes ----------------------------------------------------------------------


def test_removing_an_entry_on_purpose_is_applied_and_named(watcher, service, clock, mini_faq, caplog, recorder):
    books = mini_faq / "books.yaml"
    write(books, without_entry(books.read_text(encoding="utf-8"), "garbage-hall"))
    caplog.set_level(logging.INFO)
    swapped, problems = quiet_poll(watcher, clock)
    assert swapped and "garbage-hall" not in service.snapshot.faq.by_id
    named = [p for p in problems if wording(REMOVED, what=ENTRIES).search(p.message)]
    assert [(p.file, p.is_error) for p in named] == [("books.yaml", False)]
    assert wording(REMOVED, count=1, what=ENTRIES, names="garbage-hall").fullmatch(named[0].message)
    assert problems[0] == named[0], "the removal comes first in what staff read"
    assert recorder.results == [(True, problems)]
    lines = [r for r in caplog.records if "removed" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert "1 entry (garbage-hall)" in lines[0].getMessage()


def test_removing_a_regression_question_is_applied_and_named(watcher, service, clock, mini_faq, caplog):
    tests = mini_faq / "tests.yaml"
    write(tests, "- question: 地保怎么申请\n  expect: dibao-apply\n")
    caplog.set_level(logging.WARNING, logger="servicebot.answering.service")
    swapped, problems = quiet_poll(watcher, clock)
    assert swapped and [c.question for c in service.snapshot.faq.tests] == ["地保怎么申请"]
    expected = REMOVED.format(count=1, what=TESTS, names="“今天天气怎么样”")
    assert [(p.file, p.message) for p in problems] == [("tests.yaml", expected)]
    assert "1 regression question ('今天天气怎么样')" in caplog.text


def test_editing_without_removing_names_nothing(watcher, clock, mini_faq, caplog):
    tests = mini_faq / "tests.yaml"
    write(tests, tests.read_text(encoding="utf-8") + "- question: 低保被停了怎么办\n  expect: dibao-removal\n")
    caplog.set_level(logging.WARNING, logger="servicebot.answering.service")
    swapped, problems = quiet_poll(watcher, clock)
    assert swapped and problems == [] and caplog.records == []


def test_a_removal_that_looks_half_saved_is_held_back_until_staff_apply_it(watcher, service, clock, mini_faq):
    before = service.snapshot
    write(mini_faq / "tests.yaml", "")  # every regression question gone at once
    swapped, problems = quiet_poll(watcher, clock)
    assert not swapped and service.snapshot is before
    names = "“地保怎么申请”、“今天天气怎么样”"
    held = HELD_BACK.format(count=2, what=TESTS, total=2, names=names)
    assert [(p.file, p.message, p.is_error) for p in problems] == [("tests.yaml", held, True)]
    assert "/reload" in HELD_BACK
    clock.advance(60)
    assert watcher.poll() is None, "a held-back state is reported once, not again"
    # /reload (the Telegram command calls Service.reload): applied on purpose, and named.
    swapped, problems = service.reload()
    assert swapped and service.snapshot.faq.tests == ()
    assert messages(problems) == [REMOVED.format(count=2, what=TESTS, names=names)]


def test_sighup_applies_a_held_back_removal(watcher, service, clock, mini_faq):
    welfare = mini_faq / "welfare.yaml"
    (mini_faq / "books.yaml").unlink()  # two of five entries at once
    swapped, problems = quiet_poll(watcher, clock)
    assert not swapped and wording(HELD_BACK, count=2, what=ENTRIES, total=5).search(problems[0].message)
    assert welfare.exists()
    swapped, problems = watcher.check_now(force=True)
    assert swapped and set(service.snapshot.faq.by_id) == _welfare_ids()
    assert [(p.file, p.is_error) for p in problems] == [("books.yaml", False)]
    assert wording(REMOVED, count=2, what=ENTRIES, names="bookhouse-wutong、garbage-hall").fullmatch(
        problems[0].message
    )


def test_a_long_list_of_names_is_cut_short():
    def entry(n: int) -> Entry:
        return Entry(f"e{n}", "问题？", (), "回答。", "测试资料", dt.date(2026, 11, 1), "很多", file="many.yaml")

    removal = Removal(entries=tuple(entry(n) for n in range(MAX_NAMES + 10)), entries_before=1000)
    (problem,) = removal_problems(removal)
    names = "、".join(f"e{n}" for n in range(MAX_NAMES)) + MORE_NAMES
    assert problem.message == REMOVED.format(count=MAX_NAMES + 10, what=ENTRIES, names=names)
    assert f"e{MAX_NAMES}、" not in problem.message


# --- the reproduction: cut a file at every entry boundary ----------------------------


def items(text: str) -> list[str]:
    """What staff would miss from a cut file: its entries' (or matters') ids, its garbage items'
    names, or its regression questions as named."""
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or []
    if isinstance(data, dict):
        if "items" in data:
            return [item["name"] for item in data["items"] or []]
        return [entry["id"] for entry in data.get("entries") or data.get("referrals") or []]
    return [f"“{case['question']}”" for case in data]


@pytest.mark.slow  # a full check of the shipped FAQ per cut
def test_cuts_at_entry_boundaries_are_refused_held_back_or_named(tmp_path, make_settings):
    """The issue's reproduction on the office's FAQ: each cut stays on disk (the editor died
    mid-save) and is offered to the service; none may go live without naming what it drops.

    A file can be cut so that it loses all its items, half, one item either side of the
    one-fifth line, or one; each file gets two of those five, in turn, so that every kind of cut
    is tried on several files (each valid cut costs a full check; bench/faults/truncation.py runs
    every cut of every file).
    """
    faq = tmp_path / "faq"
    shutil.copytree(PINNED_FAQ, faq)
    service = Service.from_settings(make_settings(faq))
    original = service.snapshot
    watcher = FaqWatcher(service, 0)
    outcomes = {"refused": 0, "held back": 0, "applied": 0}
    cuts = 0
    files = [p for p in sorted(faq.glob("*.yaml")) if p.name != "settings.yaml"]
    for turn, path in enumerate(files):
        whole = path.read_text(encoding="utf-8")
        every = items(whole)
        points = cut_points(whole)
        line = int(HALF_SAVED_SHARE * len(points))
        kinds = [len(points), len(points) // 2, line + 1, line, 1]
        dropped = sorted({kinds[turn % 5], kinds[(turn + 2) % 5]} - {0})
        for point in (points[len(points) - drop] for drop in dropped):
            cuts += 1
            write(path, whole[:point])
            tried = watcher.check_now()
            assert tried is not None
            swapped, problems = tried
            kept = items(whole[:point])
            gone = [name for name in every if name not in kept]
            said = " ".join(messages(problems))
            if not swapped and not wording(HELD_BACK).search(said):
                assert service.snapshot is original  # refused by the checks, for another reason
                outcomes["refused"] += 1
                continue
            outcomes["applied" if swapped else "held back"] += 1
            missing = [name for name in gone[:MAX_NAMES] if name not in said]
            assert gone and not missing, f"{path.name} cut at {point}: dropped {missing} without a word"
            if swapped:
                service.swap(original)  # back to the whole FAQ for the next cut
            else:
                assert service.snapshot is original
        write(path, whole)
    assert sum(outcomes.values()) == cuts
    assert outcomes["held back"] > 0 and outcomes["applied"] > 0, outcomes


def test_the_referral_and_item_files_are_reloaded_live(watcher, service, clock, mini_faq):
    """Like any faq/ file: referrals.yaml and garbage-items.yaml are picked up once quiet."""
    shutil.copy(PINNED_FAQ / "referrals.yaml", mini_faq / "referrals.yaml")
    shutil.copy(FIXTURES / "garbage-items.yaml", mini_faq / "garbage-items.yaml")
    swapped, problems = quiet_poll(watcher, clock)
    assert swapped and not [p for p in problems if p.is_error]
    assert service.answer("护照怎么办", channel=Channel.ASK).status == Status.REFERRAL
    assert service.answer("塑料瓶是什么垃圾", channel=Channel.ASK).status == Status.ITEM
    items = mini_faq / "garbage-items.yaml"
    write(items, items.read_text(encoding="utf-8") + "  - name: 榴莲壳\n    category: 其他垃圾\n")
    swapped, _ = quiet_poll(watcher, clock)
    assert swapped and service.answer("榴莲壳是什么垃圾", channel=Channel.ASK).status == Status.ITEM
