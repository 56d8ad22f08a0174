"""review/items.py and the counts of referrals and items in `stats` and `review`, through a real
interaction log: referrals and item answers are counted apart from the FAQ's answers, and the
items the garbage list lacks are listed for staff, with a stub `faq check` refuses until filled."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from servicebot.answering.service import Service
from servicebot.faq import PLACEHOLDER, REFERRALS_FILE
from servicebot.records import Channel, Status
from servicebot.review import items
from servicebot.review.stats import NEXT_ITEMS, NEXT_NOTHING
from servicebot.storage import InteractionLog
from servicebot.tools.report_commands import run_review, run_stats

from conftest import FIXTURES, PINNED_FAQ

WAIT = 10.0


@pytest.fixture
def settings(mini_faq, make_settings):
    shutil.copy(PINNED_FAQ / REFERRALS_FILE, mini_faq / REFERRALS_FILE)
    shutil.copy(FIXTURES / "garbage-items.yaml", mini_faq / "garbage-items.yaml")
    settings = make_settings(mini_faq)
    log = InteractionLog(settings.db_path, retention_days=settings.retention_days)
    service = Service.from_settings(settings, log, secret="items-secret")
    asked = [
        ("护照怎么办", 1, Status.REFERRAL),
        ("公积金怎么提取", 2, Status.REFERRAL),
        ("塑料瓶是什么垃圾", 3, Status.ITEM),
        ("榴莲壳是什么垃圾", 4, Status.ITEM_UNLISTED),
        ("榴莲壳扔哪个桶", 5, Status.ITEM_UNLISTED),
        ("猫砂是什么垃圾", 4, Status.ITEM_UNLISTED),
        ("低保", 6, Status.ANSWERED),
    ]
    for question, resident, status in asked:
        assert service.answer(question, channel=Channel.WEB, resident=resident).status == status, question
    assert log.flush(WAIT)
    log.close()
    return settings


def test_stats_count_referrals_and_items_apart(settings, capsys):
    assert run_stats(settings, since="7d", as_json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    totals = doc["totals"]
    assert (totals["questions"], totals["answered"], totals["unanswered"]) == (7, 1, 0)
    assert (totals["referral"], totals["item"], totals["item_unlisted"]) == (2, 1, 3)
    assert doc["rates"]["referral"] == round(2 / 7, 4)
    assert [e["entry_id"] for e in doc["top_entries"]] == ["dibao-apply"]  # referrals are not entries
    assert sum(d["referral"] for d in doc["daily"]) == 2
    assert run_stats(settings, since="7d", as_json=False) == 0
    said = capsys.readouterr().out
    assert NEXT_ITEMS.format(unlisted=3) in said and NEXT_NOTHING not in said  # the list lacks items


def test_review_lists_the_items_the_list_lacks_with_a_stub_to_fill(settings, tmp_path):
    out = tmp_path / "review.json"
    assert run_review(settings, since="7d", fmt="json", suggest_yaml=True, output=out) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["unlisted_items"] == [
        {"name": "榴莲壳", "count": 2, "residents": 2, "listed_now": False},
        {"name": "猫砂", "count": 1, "residents": 1, "listed_now": False},
    ]
    # items are not "questions the bot missed"; referrals are, and need nothing when each was referred
    assert [(c["subject"], c["referral"], c["action"]) for c in doc["clusters"]] == [
        ("公积金", "housing-fund", "referred"),
        ("护照", "exit-entry", "referred"),
    ]
    assert all(c["suggestion"] is None for c in doc["clusters"])
    table = tmp_path / "review.txt"
    assert run_review(settings, since="7d", fmt="table", suggest_yaml=True, output=table) == 0
    text = table.read_text(encoding="utf-8")
    assert items.HEADING in text and items.ROW.format(name="榴莲壳", count=2, residents=2, now="") in text
    stub = items.yaml_item("猫砂")
    assert stub in text and PLACEHOLDER in stub
    parsed = yaml.safe_load(stub)
    assert parsed == [{"name": "猫砂", "category": PLACEHOLDER}]


def test_an_item_added_since_is_marked(settings, tmp_path):
    path = settings.faq_dir / "garbage-items.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  - name: 猫砂\n    category: 其他垃圾\n", encoding="utf-8")
    out = tmp_path / "review.json"
    assert run_review(settings, since="7d", fmt="json", suggest_yaml=False, output=out) == 0
    listed = {i["name"]: i["listed_now"] for i in json.loads(out.read_text(encoding="utf-8"))["unlisted_items"]}
    assert listed == {"榴莲壳": False, "猫砂": True}


def test_the_next_step_names_the_missing_items_and_a_yaml_file_holds_them_commented(settings, tmp_path, capsys):
    """`-o drafts.yaml` is pasted as it comes, and an item whose bin is 待填写 fails `faq check`:
    there the items are comments, for staff to choose a bin and uncomment."""
    out = tmp_path / "review.json"
    assert run_review(settings, since="7d", fmt="json", suggest_yaml=False, output=out) == 0
    step = items.STEP.format(count=2, names="榴莲壳、猫砂")
    assert json.loads(out.read_text(encoding="utf-8"))["next_steps"][-1].endswith(step)
    assert step in capsys.readouterr().out  # what `review -o` says to do next
    drafts = tmp_path / "drafts.yaml"
    assert run_review(settings, since="7d", fmt="table", suggest_yaml=True, output=drafts) == 0
    text = drafts.read_text(encoding="utf-8")
    assert [d for d in yaml.safe_load_all(text) if d is not None] == []  # nothing live to paste
    commented = text[text.index(items.YAML_COMMENTED) :].splitlines()[1:]
    uncommented = "\n".join(line.removeprefix("# ") for line in commented)
    assert yaml.safe_load(uncommented) == [
        {"name": name, "category": PLACEHOLDER} for name in ("榴莲壳", "猫砂")
    ]  # staff choose the bin
