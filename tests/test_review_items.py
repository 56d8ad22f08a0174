"""review/items.py and the counts of referrals and items in `stats` and `review`, through a real
interaction log: referrals and item answers are counted apart from the FAQ's answers, and the
items the garbage list lacks are listed for staff, with a stub `faq check` refuses until filled."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from servicebot.commands import run_review, run_stats
from servicebot.faq import PLACEHOLDER, REFERRALS_FILE
from servicebot.records import Status
from servicebot.review import items
from servicebot.service import Service
from servicebot.storage import InteractionLog

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
        assert service.answer(question, channel="web", resident=resident).status == status, question
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


def test_review_lists_the_items_the_list_lacks_with_a_stub_to_fill(settings, tmp_path):
    out = tmp_path / "review.json"
    assert run_review(settings, since="7d", fmt="json", suggest_yaml=True, output=out) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["unlisted_items"] == [
        {"name": "榴莲壳", "count": 2, "residents": 2, "listed_now": False},
        {"name": "猫砂", "count": 1, "residents": 1, "listed_now": False},
    ]
    assert doc["clusters"] == []  # referrals and items are not "questions the bot missed"
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
