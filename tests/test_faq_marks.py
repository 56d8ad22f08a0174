"""What staff can mark or slip into an entry that `faq check` must point out: a 待核实 note
(`verify:`), shown to staff in every list they read and never to residents; and a keyword
two entries share, named with both entries and where each is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servicebot.answering.replies import answer_text
from servicebot.answering.service import Service
from servicebot.channels import terminal
from servicebot.cli import main
from servicebot.faq import cache, check_faq, messages
from servicebot.records import Channel
from servicebot.storage import InteractionLog
from servicebot.tools.faq_commands import CHECK_PASSED, NOTHING_STALE
from servicebot.tools.report_commands import run_review, run_stats

from support.wording import wording

NOTE = "电话号码待核实"


def mark(faq: Path, note: str = f'"{NOTE}"') -> None:
    welfare = faq / "welfare.yaml"
    text = welfare.read_text(encoding="utf-8")
    welfare.write_text(text.replace("  - id: dibao-apply\n", f"  - id: dibao-apply\n    verify: {note}\n", 1), "utf-8")


def line_of(path: Path, text: str) -> int:
    """The first line of `path` that is `text`, or else starts like it (leading spaces aside)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    exact = [n for n, line in enumerate(lines, 1) if line == text]
    return exact[0] if exact else next(n for n, line in enumerate(lines, 1) if line.strip().startswith(text.strip()))


# --- verify: 待核实 ------------------------------------------------------------------------------


def test_a_marked_entry_is_a_warning_in_faq_check_and_still_loads(mini_faq, capsys):
    mark(mini_faq)
    assert main(["faq", "check", str(mini_faq)]) == 0
    lines = capsys.readouterr().out.splitlines()
    warning = wording("welfare.yaml:3: 警告：" + messages.VERIFY_PENDING, id="dibao-apply", note=NOTE)
    assert any(warning.fullmatch(line) for line in lines), lines
    assert lines[-1] == CHECK_PASSED.format(files=2, entries=5, phrasings=16, passed=2, cases=2, warnings=1)


def test_faq_stale_lists_marked_entries_even_when_nothing_is_stale(mini_faq, capsys):
    mark(mini_faq)
    assert main(["faq", "stale", str(mini_faq)]) == 0
    out = capsys.readouterr().out
    assert NOTHING_STALE.format(days=365) in out
    assert messages.TO_VERIFY_HEADER in out
    assert (
        messages.TO_VERIFY_LINE.format(
            id="dibao-apply", question="低保怎么申请？", note=NOTE, file="welfare.yaml", line=3
        )
        in out.splitlines()
    )


def test_residents_never_read_the_note(mini_faq, make_settings):
    mark(mini_faq)
    service = Service.from_settings(make_settings(mini_faq))
    entry = service.snapshot.faq.by_id["dibao-apply"]
    assert entry.verify == NOTE
    outcome = service.answer("低保怎么申请", channel=Channel.ASK, chat_type="cli")
    assert outcome.entry_id == "dibao-apply"
    assert "待核实" not in answer_text(entry) and "待核实" not in terminal.render(outcome.reply)


def test_stats_and_review_list_marked_entries_for_staff(mini_faq, make_settings, capsys):
    mark(mini_faq)
    settings = make_settings(mini_faq)
    InteractionLog(settings.db_path).close()
    line = messages.TO_VERIFY_LINE.format(
        id="dibao-apply", question="低保怎么申请？", note=NOTE, file="welfare.yaml", line=3
    )
    assert run_stats(settings, since="7d", as_json=False) == 0
    assert line in capsys.readouterr().out.splitlines()
    assert run_stats(settings, since="7d", as_json=True) == 0
    marked = json.loads(capsys.readouterr().out)["to_verify"]
    assert marked == [
        {"entry_id": "dibao-apply", "question": "低保怎么申请？", "verify": NOTE, "file": "welfare.yaml", "line": 3}
    ]
    assert run_review(settings, since="7d", fmt="table", suggest_yaml=False, output=None) == 0
    assert line in capsys.readouterr().out.splitlines()


def test_an_empty_note_is_no_mark_and_a_list_is_an_error(mini_faq, capsys):
    original = (mini_faq / "welfare.yaml").read_text(encoding="utf-8")
    mark(mini_faq, '""')
    assert main(["faq", "check", str(mini_faq)]) == 0
    assert "待核实" not in capsys.readouterr().out
    (mini_faq / "welfare.yaml").write_text(original, encoding="utf-8")
    mark(mini_faq, "[电话, 地址]")
    assert main(["faq", "check", str(mini_faq)]) == 1
    assert f"welfare.yaml:4: {messages.VERIFY_NOT_TEXT}" in capsys.readouterr().out


def test_the_note_and_keyword_lines_survive_the_parse_cache(mini_faq, tmp_path):
    mark(mini_faq)
    fresh, _ = check_faq(mini_faq, cache_dir=tmp_path / "cache")
    cache.MEMORY.clear()
    cached, _ = check_faq(mini_faq, cache_dir=tmp_path / "cache")
    assert fresh is not None and cached is not None
    assert cached.by_id["dibao-apply"] == fresh.by_id["dibao-apply"]
    assert cached.by_id["dibao-apply"].verify == NOTE
    assert cached.by_id["bookhouse-wutong"].keyword_lines == (line_of(mini_faq / "books.yaml", "keywords:"),)


# --- keywords two entries share ---------------------------------------------------------------


@pytest.mark.parametrize(
    "keyword, kind, other, other_file, other_text",
    [
        ("共享书屋", messages.AS_KEYWORD, "bookhouse-wutong", "books.yaml", "keywords: [共享书屋]"),
        ("养老保险", messages.AS_PHRASING, "pension-insurance", "welfare.yaml", "      - 养老保险"),
    ],
)
def test_a_keyword_another_entry_has_is_a_warning_naming_both(
    mini_faq, capsys, keyword, kind, other, other_file, other_text
):
    other_line = line_of(mini_faq / other_file, other_text)
    books = mini_faq / "books.yaml"
    text = books.read_text(encoding="utf-8")
    books.write_text(
        text.replace("      - 体验馆\n", f"      - 体验馆\n    keywords:\n      - 分类馆\n      - {keyword}\n"), "utf-8"
    )
    line = line_of(books, f"      - {keyword}")
    main(["faq", "check", str(mini_faq)])
    lines = capsys.readouterr().out.splitlines()
    warning = messages.SHARED_KEYWORD.format(
        word=keyword, id="garbage-hall", other=other, kind=kind, file=other_file, line=other_line
    )
    assert f"books.yaml:{line}: 警告：{warning}" in lines, lines


def test_an_entry_repeating_its_own_phrasing_as_a_keyword_is_not_warned(mini_faq, capsys):
    books = mini_faq / "books.yaml"
    text = books.read_text(encoding="utf-8")
    books.write_text(text.replace("[共享书屋]", "[共享书屋, 梧桐书屋]"), encoding="utf-8")
    assert main(["faq", "check", str(mini_faq)]) == 0
    assert "也是条目" not in capsys.readouterr().out
