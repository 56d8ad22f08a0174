"""Issue 21's targets, through the service: where to go (referrals), which bin (items), and
off-topic questions never answered with an FAQ entry. The shipped FAQ with the fixture item
list (tests/fixtures/garbage-items.yaml); the questions are tests/data/where-to-go-dev.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from servicebot.answering import replies
from servicebot.answering.bins import BinIndex
from servicebot.answering.referrals import ReferralIndex
from servicebot.answering.service import ITEM_ID, REFERRAL_ID, Service
from servicebot.answering.text import Normalizer
from servicebot.faq import load_faq
from servicebot.records import Channel, Status

from conftest import FIXTURES, PINNED_FAQ
from support.fakes import Recorded

DEV = yaml.safe_load((Path(__file__).parent / "data" / "where-to-go-dev.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def faq_dir(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("where") / "faq"
    shutil.copytree(PINNED_FAQ, target)
    shutil.copy(FIXTURES / "garbage-items.yaml", target / "garbage-items.yaml")
    return target


@pytest.fixture(scope="module")
def service(faq_dir, tmp_path_factory) -> Service:
    from servicebot.config import load_settings

    data = tmp_path_factory.mktemp("data")
    return Service.from_settings(load_settings(env={}, overrides={"faq_dir": faq_dir, "data_dir": data}))


# --- the pure lookups ----------------------------------------------------------------------


def referral_id(index: ReferralIndex, question: str) -> str | None:
    """The id of the matter `index` finds for a question."""
    found = index.find(index.normalize(question))
    return found.referral.id if found else None


def item_named(bins: BinIndex, question: str) -> str | None:
    """The name of the listed item `bins` finds for a question."""
    asked = bins.ask(question)
    return asked.found.name if asked and asked.found else None


def test_a_referral_is_found_by_its_first_subject_word_and_the_longest_there():
    faq = load_faq(PINNED_FAQ)
    index = ReferralIndex(faq.referrals, Normalizer(faq.synonyms))
    assert referral_id(index, "办护照要带户口本吗") == "exit-entry"
    assert referral_id(index, "违章建筑谁管") == "illegal-building"
    assert referral_id(index, "違章怎麼處理") == "traffic-violation"
    assert index.find(index.normalize("今天天气怎么样")) is None
    assert not ReferralIndex(None, Normalizer())


def test_an_item_is_found_by_name_alias_width_script_and_harmless_words_only():
    bins = BinIndex(load_faq_with_items().garbage)
    assert item_named(bins, "矿泉水平是什么垃圾") == "塑料瓶"  # a typo listed as an alias
    assert item_named(bins, "飲料瓶屬於什麼垃圾") == "塑料瓶"
    assert item_named(bins, "５号电池扔哪个桶") == "电池"
    assert item_named(bins, "坏掉的电风扇是什么垃圾") == "电风扇"
    big = bins.ask("大骨头是什么垃圾")
    assert big is not None and big.found is not None
    assert big.found.name == "大骨头" and big.found.category == "其他垃圾"  # never read as 骨头
    dirty = bins.ask("脏的纸箱是什么垃圾")
    assert dirty is not None
    assert dirty.found is None and dirty.name == "脏的纸箱"  # 脏 may change the bin: not guessed
    assert bins.ask("装修垃圾") is None and bins.ask("低保怎么处理") is None  # weak wording, unlisted
    assert bins.ask("垃圾怎么分类") is None and bins.ask("这个是什么垃圾") is None
    assert BinIndex(None).ask("塑料瓶是什么垃圾") is None


def test_an_item_is_found_in_a_title_that_asks_twice_or_names_it_apart():
    bins = BinIndex(load_faq_with_items().garbage)
    assert item_named(bins, "鸡蛋壳是什么垃圾?鸡蛋壳是干垃圾吗?") == "鸡蛋壳"  # asks twice
    assert item_named(bins, "烟头是什么垃圾 烟头是干垃圾还是湿垃圾") == "烟头"
    assert item_named(bins, "垃圾分类:易拉罐,是什么垃圾?") == "易拉罐"  # the item in its own clause
    assert item_named(bins, "果皮属于什么类型的垃圾呢") == "果皮"
    assert item_named(bins, "电池算不算其他垃圾?") == "电池"
    assert item_named(bins, "塑料袋是可回收还是不可回收") == "塑料袋"
    assert item_named(bins, "易拉罐怎么回收") == "易拉罐"
    # Only the last clause asks: an earlier one may state a bin in passing.
    assert bins.ask("我知道电池是有害垃圾，想问一下低保怎么申请") is None
    assert item_named(bins, "电池是有害垃圾，那塑料袋是什么垃圾") == "塑料袋"
    assert item_named(bins, "塑料袋是其他垃圾吧，易拉罐是什么垃圾") == "易拉罐"
    # A clause alone never makes an item "unlisted": in a long question it may be a remark.
    remark = bins.ask("家里清出来一堆旧东西和几个空瓶子，不知道该扔哪个桶，这些该怎么办")
    assert remark is None


def load_faq_with_items():
    faq = load_faq(FIXTURES / "mini")
    guide = yaml_guide()
    from dataclasses import replace

    return replace(faq, garbage=guide)


def yaml_guide():
    from servicebot.faq.fields import Collector
    from servicebot.faq.garbage_file import garbage_file

    data = yaml.safe_load((FIXTURES / "garbage-items.yaml").read_text(encoding="utf-8"))
    return garbage_file(data, Collector())


# --- the targets, through the service --------------------------------------------------------


def test_everyday_questions_about_other_bodies_name_where_to_go(service):
    outcomes = [(service.answer(q, channel=Channel.ASK), expected) for q, expected in DEV["referrals"]]
    right = sum(o.referral is not None and o.referral.id == expected for o, expected in outcomes)
    assert right / len(outcomes) >= 0.9
    answered = [o.entry_id for o, _ in outcomes if o.status == Status.ANSWERED]
    assert answered == []  # none answered as if the office handled it


def test_a_story_that_names_its_matter_early_and_asks_in_general_terms_is_referred(service):
    # The asking part (我们业主该找谁) names no matter; nothing else answers the story.
    outcome = service.answer("家里的天然气一直没开通，打了好几次电话，我们业主该找谁", channel=Channel.ASK)
    assert outcome.status == Status.REFERRAL and outcome.referral is not None and outcome.referral.id == "gas"


def test_questions_the_faq_answers_keep_their_entry(service):
    for question, entry_id in DEV["faq"]:
        outcome = service.answer(question, channel=Channel.ASK)
        assert (outcome.status, outcome.entry_id) == (Status.ANSWERED, entry_id), question
    for entry in service.snapshot.faq.entries:
        for phrasing in entry.phrasings:
            assert service.answer(phrasing, channel=Channel.ASK).status != Status.REFERRAL, phrasing


def test_off_topic_questions_are_never_answered_with_an_entry(service):
    statuses = [service.answer(q, channel=Channel.ASK).status for q in DEV["offtopic"]]
    assert Status.ANSWERED not in statuses and Status.ITEM not in statuses


def test_everyday_items_are_never_sorted_into_a_wrong_bin(service):
    wrong = []
    for question, expected in DEV["items"]:
        outcome = service.answer(question, channel=Channel.ASK)
        item = outcome.item
        if item is None and expected == "unlisted" and outcome.status == Status.ANSWERED:
            # not in the item list, but an FAQ entry about one bin names it (纸壳子 → 可回收物's entry)
            assert (outcome.entry_id or "").startswith("garbage-"), question
            continue
        if item is None:
            got = "none"
        elif item.found is None:
            got = "unlisted"
        else:
            got = item.found.category or "cases"
        if got != expected:
            wrong.append((question, expected, got))
    assert wrong == []


def test_general_garbage_questions_still_reach_the_faq(service):
    for question in DEV["general"]:
        assert service.answer(question, channel=Channel.ASK).item is None, question
    assert service.answer("垃圾分几类", channel=Channel.ASK).entry_id == "garbage-categories"


def test_a_referral_is_logged_as_its_own_kind_with_its_matter(faq_dir, make_settings):
    sink = Recorded()
    service = Service.from_settings(make_settings(faq_dir), sink)
    outcome = service.answer("公积金怎么提取", channel=Channel.WEB)
    assert (outcome.status, outcome.entry_id) == (Status.REFERRAL, REFERRAL_ID.format(id="housing-fund"))
    [logged] = sink.interactions
    assert (logged.status, logged.entry_id, logged.suggestions) == (Status.REFERRAL, "referral:housing-fund", ())
    assert outcome.reply.can_hand_off  # 转人工 offered where a desk runs
    assert "住房公积金管理中心" in outcome.reply.body and "12345" in outcome.reply.body
    assert outcome.reply.footer.startswith(replies.REFERRAL_SOURCES.split("{")[0])


def test_items_are_logged_with_their_name_and_unlisted_ones_apart(faq_dir, make_settings):
    sink = Recorded()
    service = Service.from_settings(make_settings(faq_dir), sink)
    found = service.answer("塑料瓶扔哪个桶", channel=Channel.TERMINAL)
    unlisted = service.answer("蚊香盘是什么垃圾", channel=Channel.TERMINAL)  # in neither the list nor an FAQ entry
    assert (found.status, found.entry_id) == (Status.ITEM, ITEM_ID.format(name="塑料瓶"))
    assert (unlisted.status, unlisted.entry_id) == (Status.ITEM_UNLISTED, None)
    assert [(i.status, i.normalized) for i in sink.interactions] == [
        (Status.ITEM, "塑料瓶"),
        (Status.ITEM_UNLISTED, "蚊香盘"),
    ]
    assert found.reply.title == replies.ITEM_TITLE.format(name="塑料瓶", category="可回收物")
    assert "倒空、压扁后投放" in found.reply.body
    for category in ("可回收物", "有害垃圾", "厨余垃圾", "其他垃圾"):  # rules of thumb, no guess
        assert f"• {category}：" in unlisted.reply.body
    assert unlisted.reply.can_hand_off and not found.reply.can_hand_off


def test_an_item_that_depends_lists_each_case(service):
    reply = service.answer("电池是什么垃圾", channel=Channel.ASK).reply
    assert reply.title == replies.ITEM_CASES_TITLE.format(name="电池")
    assert "• 普通一次性干电池（无汞、无镉）：其他垃圾" in reply.body
    assert "• 充电电池、纽扣电池、蓄电池：有害垃圾" in reply.body


def test_items_named_together_are_each_sorted_or_honestly_unlisted(service):
    bins = BinIndex(load_faq_with_items().garbage)
    both = bins.ask("电池和塑料袋是什么垃圾")  # neither is read as the other's qualifier
    assert both is not None and [i.name for i in both.items] == ["电池", "塑料袋"] and not both.unlisted
    some = bins.ask("易拉罐、仙人掌是什么垃圾")
    assert some is not None and [i.name for i in some.items] == ["易拉罐"] and some.unlisted == ("仙人掌",)
    reply = service.answer("易拉罐、仙人掌是什么垃圾", channel=Channel.ASK).reply
    assert replies.ITEMS_LINE.format(name="易拉罐", category="可回收物") in reply.body
    assert replies.ITEMS_UNLISTED.format(name="仙人掌") in reply.body  # never a guessed bin
    assert reply.title == replies.ITEMS_TITLE.format(names="易拉罐、仙人掌")


def test_an_item_answer_cites_the_lists_first_sources_and_counts_the_rest():
    guide = load_faq(PINNED_FAQ).garbage  # the shipped list cites many guides
    assert guide is not None and len(guide.sources) > replies.BIN_SOURCES_SHOWN
    footer = replies.item_reply(guide.items[0], guide).footer
    assert [s.title in footer for s in guide.sources] == [
        k < replies.BIN_SOURCES_SHOWN for k in range(len(guide.sources))
    ]
    assert replies.ITEM_MORE_SOURCES.format(n=len(guide.sources)) in footer


def test_a_sourced_fact_shows_its_source_and_date(service):
    reply = service.answer("低保标准一个月多少钱", channel=Channel.ASK).reply
    assert "2022年7月1日起" in reply.body and "727元" in reply.body
    assert "（2022-08-31）" in reply.footer
    assert not any("nodetpl" in b.value for b in reply.buttons)  # a reprint is named, not linked


def test_an_official_source_becomes_a_link_button(service):
    reply = service.answer("违章建筑谁管", channel=Channel.ASK).reply
    urls = [b.value for b in reply.buttons if b.kind == "url"]
    assert urls and all(".gov.cn/" in u for u in urls)


@pytest.mark.slow  # faq check with every lint on the shipped FAQ
def test_ask_explains_a_referral_and_json_names_it(faq_dir, capsys):
    from servicebot.cli import main
    from servicebot.tools.ask_commands import EXPLAIN_REFERRAL
    from servicebot.tools.faq_commands import CHECK_REFERRALS

    assert main(["ask", "--explain", "--faq", str(faq_dir), "办护照要带户口本吗"]) == 0
    referrals = load_faq(faq_dir).referrals
    assert referrals is not None
    referral = next(m for m in referrals.matters if m.id == "exit-entry")
    line = EXPLAIN_REFERRAL.format(id=referral.id, matter=referral.matter, body=referral.body, word="护照")
    assert line in capsys.readouterr().out
    assert main(["ask", "--json", "--faq", str(faq_dir), "蚊香盘是什么垃圾"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert (doc["status"], doc["item"]["name"], doc["item"]["listed"]) == ("item-unlisted", "蚊香盘", None)
    assert main(["faq", "check", str(faq_dir)]) == 0
    assert CHECK_REFERRALS.split("{")[0] in capsys.readouterr().out
