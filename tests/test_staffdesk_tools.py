"""The staff tools as desk pages, each against the command it stands for: the review (the
same groups and drafts as `servicebot review --suggest-yaml`), the stats, `faq check` and
`faq stale` with file:line, and applying an edit live reload held back (admins only)."""

from __future__ import annotations

import html
import json
import time

import pytest

from servicebot import cli
from servicebot.faq.checks import ENTRIES, HELD_BACK
from servicebot.review.render import summary_line
from servicebot.staffdesk import tools

from support.deskclient import DeskClient, signed_in, text_of
from support.wording import wording

pytestmark = pytest.mark.slow

MISSED = ["小区门口的路灯坏了找谁修", "路灯坏了找谁修", "小区路灯坏了找谁", "护照在哪里办", "电动车充电桩哪里有"]


def ask_all(resident, desk_server) -> None:
    for n, question in enumerate(MISSED):
        resident.post("/api/ask", json={"session": f"{n:032x}", "text": question})
    assert desk_server.core.log.flush()


def until_page(client: DeskClient, path: str, ready, what: str, timeout: float = 90.0) -> str:
    """GET a page until `ready(text)`: a check still running, a listener not yet heard."""
    deadline = time.monotonic() + timeout
    while True:
        text = text_of(client.get(path).text)
        if ready(text):
            return text
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.2)


def test_the_review_page_has_the_groups_and_drafts_of_the_command(desk_server, staff, resident, desk_settings, capsys):
    ask_all(resident, desk_server)
    signed_in(staff)
    page = staff.get("/desk/tools/review?since=7d")
    assert page.status_code == 200
    argv = ["review", "--since", "7d", "--format", "json", "--suggest-yaml"]
    assert cli.main([*argv, "--data-dir", str(desk_settings.data_dir), "--faq", str(desk_settings.faq_dir)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["clusters"], "the questions above were not all answered"
    raw, shown = html.unescape(page.text), text_of(page.text)
    assert f"按主题分组（共 {len(doc['clusters'])} 组" in shown
    for cluster in doc["clusters"]:
        assert all(example in shown for example in cluster["examples"])
        if cluster["suggestion"]:
            assert cluster["suggestion"]["yaml"] in raw  # the draft, as it would be pasted
    assert summary_line(doc["totals"]) in shown
    assert "看不懂" in text_of(staff.get("/desk/tools/review?since=yesterday").text)


def test_the_stats_page_counts_as_servicebot_stats(desk_server, staff, resident, desk_settings, capsys):
    ask_all(resident, desk_server)
    signed_in(staff)
    shown = text_of(staff.get("/desk/tools/stats?since=30d").text)
    assert cli.main(["stats", "--since", "30d", "--json", "--data-dir", str(desk_settings.data_dir)]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert totals["questions"] == len(MISSED) and summary_line(totals) in shown


def test_the_faq_page_lists_the_problems_of_faq_check_with_file_and_line(desk_server, staff, desk_settings, capsys):
    books = desk_settings.faq_dir / "books.yaml"
    books.write_text(books.read_text(encoding="utf-8").replace("reviewed: 2026-11-01", "reviewd: 2026-11-01", 1))
    welfare = desk_settings.faq_dir / "welfare.yaml"
    welfare.write_text(welfare.read_text(encoding="utf-8").replace("2026-11-01", "2020-01-01", 1))
    assert cli.main(["faq", "check", str(desk_settings.faq_dir)]) == 1
    problems = [line for line in capsys.readouterr().out.splitlines() if ".yaml:" in line]
    assert problems
    signed_in(staff)
    shown = until_page(staff, "/desk/tools/faq", lambda t: tools.CHECKING not in t, "the check")
    assert tools.CHECKING_AGAIN not in shown
    for line in problems:
        located, _, message = line.partition(": ")
        assert f"{located} {message.removeprefix('警告：')}" in shown
    assert wording(tools.CHECK_FAILED).search(shown)
    # faq stale is a lint of the same check; the entry is refused with the broken file, so
    # the dated one in welfare.yaml is listed only once the FAQ validates
    books.write_text(books.read_text(encoding="utf-8").replace("reviewd:", "reviewed:"))
    shown = until_page(staff, "/desk/tools/faq", lambda t: tools.CHECKING_AGAIN not in t, "the check again")
    assert "welfare.yaml:3 dibao-apply 低保怎么申请？（上次核对 2020-01-01" in shown


def test_a_held_back_edit_is_applied_from_the_desk_by_an_admin_only(desk_server, staff, desk_settings):
    before = set(desk_server.core.service.snapshot.faq.by_id)
    (desk_settings.faq_dir / "books.yaml").unlink()  # two of five entries at once: looks half-saved
    swapped, problems = desk_server.core.watcher.check_now()
    assert not swapped and wording(HELD_BACK, count=2, what=ENTRIES, total=5).search(problems[0].message)

    colleague = DeskClient(str(staff.http.base_url), address="10.0.0.3")
    page = signed_in(colleague, "李四")
    shown = until_page(colleague, "/desk/tools/faq", lambda t: tools.LAST_REFUSED in t, "the held-back edit")
    assert "bookhouse-wutong" in shown and tools.APPLY_ADMIN_ONLY in shown and tools.APPLY_BUTTON not in shown
    refused = colleague.form("/desk/tools/reload", page)
    assert refused.status_code == 403 and set(desk_server.core.service.snapshot.faq.by_id) == before
    colleague.close()

    signed_in(staff)
    faq_page = staff.get("/desk/tools/faq")
    assert tools.APPLY_BUTTON in text_of(faq_page.text)
    applied = text_of(staff.form("/desk/tools/reload", faq_page).text)
    assert wording(tools.RELOADED, entries=3).search(applied)
    assert set(desk_server.core.service.snapshot.faq.by_id) == before - {"bookhouse-wutong", "garbage-hall"}
