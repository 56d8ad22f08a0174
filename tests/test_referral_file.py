"""faq/referrals.yaml and faq/garbage-items.yaml: loaded, checked with file:line, part of the FAQ."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from servicebot.answering.service import Service
from servicebot.faq import BIN_CATEGORIES, PLACEHOLDER, REFERRALS_FILE, check_faq, load_faq, messages
from servicebot.records import Channel, Status

from conftest import FIXTURES, PINNED_FAQ

REFERRALS = """\
sources:
  gov:
    url: https://www.gov.cn/hotline.html
    title: 热线通知
    date: 2021-01-06
    facts: ["12345"]
general:
  text: 不清楚找谁，可以拨打12345。
  sources: [gov]
referrals:
  - id: hukou
    matter: 户口
    subjects: [户口, 落户]
    body: 公安派出所
    how: 到派出所户籍窗口办理。
"""


@pytest.fixture
def faq_dir(mini_faq: Path) -> Path:
    (mini_faq / REFERRALS_FILE).write_text(REFERRALS, encoding="utf-8")
    return mini_faq


def problems_of(directory: Path) -> set[tuple[str, int, str]]:
    return {(p.file, p.line, p.message) for p in check_faq(directory)[1] if p.is_error}


def test_a_valid_referrals_file_is_part_of_the_faq(faq_dir):
    faq = load_faq(faq_dir)
    assert faq.referrals is not None
    [matter] = faq.referrals.matters
    assert (matter.id, matter.subjects, matter.body, matter.line) == ("hukou", ("户口", "落户"), "公安派出所", 11)
    assert faq.referrals.general == "不清楚找谁，可以拨打12345。"
    assert [s.url for s in faq.referrals.general_sources] == ["https://www.gov.cn/hotline.html"]
    assert REFERRALS_FILE not in faq.files  # not a topic file


def test_unknown_keys_missing_keys_and_unsourced_numbers_are_located(faq_dir):
    text = REFERRALS.replace("    how: 到派出所户籍窗口办理。\n", "    how: 拨打0550-1234567。\n    phone: 110\n")
    text += "  - id: passport\n    matter: 护照\n    subjects: [护照, 户口]\n"
    (faq_dir / REFERRALS_FILE).write_text(text, encoding="utf-8")
    found = problems_of(faq_dir)
    assert (
        REFERRALS_FILE,
        15,
        messages.UNSOURCED_FACT.format(what="事项 hukou 的 how", fact="0550-1234567"),
    ) in found
    assert any(line == 16 and "phone" in message for _, line, message in found)
    for key, meaning in (("body", "负责的部门"), ("how", "怎么联系、怎么办")):
        assert (
            REFERRALS_FILE,
            17,
            messages.REFERRAL_MISSING_KEY.format(id="passport", key=key, meaning=meaning),
        ) in found


def test_subject_words_are_unique_and_at_least_two_characters(faq_dir):
    text = REFERRALS + "  - id: other\n    matter: 别的\n    subjects: [落户, 电]\n    body: 某部门\n    how: 去问。\n"
    (faq_dir / REFERRALS_FILE).write_text(text, encoding="utf-8")
    found = problems_of(faq_dir)
    assert (REFERRALS_FILE, 16, messages.SHORT_SUBJECT.format(id="other", word="电")) in found
    assert (
        REFERRALS_FILE,
        16,
        messages.SHARED_SUBJECT.format(word="落户", id="other", other="hukou", line=11),
    ) in found


def test_a_cited_source_must_exist(faq_dir):
    (faq_dir / REFERRALS_FILE).write_text(REFERRALS.replace("sources: [gov]", "sources: [nope]"), encoding="utf-8")
    where = "general"
    assert (REFERRALS_FILE, 9, messages.UNKNOWN_SOURCE_ID.format(where=where, source="nope")) in problems_of(faq_dir)


def test_a_broken_referrals_file_keeps_the_served_faq(faq_dir, make_settings):
    service = Service.from_settings(make_settings(faq_dir))
    (faq_dir / REFERRALS_FILE).write_text(REFERRALS.replace("  - id: hukou", "  - id hukou"), encoding="utf-8")
    swapped, problems = service.reload()
    assert not swapped and any(p.file == REFERRALS_FILE for p in problems)
    assert service.snapshot.faq.referrals is not None


DRAFT = f"""\
  - id: todo-cai-piao
    draft: true
    matter: 彩票
    subjects:
      - 彩票
    body: {PLACEHOLDER}：负责办理的部门
    how: {PLACEHOLDER}：居民怎么联系
"""


def test_a_draft_matter_is_checked_kept_apart_and_says_what_is_left(faq_dir, make_settings):
    (faq_dir / REFERRALS_FILE).write_text(REFERRALS + DRAFT, encoding="utf-8")
    faq, problems = check_faq(faq_dir)
    assert faq is not None and faq.referrals is not None
    assert [m.id for m in faq.referrals.matters] == ["hukou"] and [d.id for d in faq.referrals.drafts] == [
        "todo-cai-piao"
    ]
    steps = [
        messages.DRAFT_TODO_ID.format(id="todo-cai-piao"),
        messages.DRAFT_TODO_WRITE.format(fields="body（负责的部门）、how（怎么联系、怎么办）", placeholder=PLACEHOLDER),
        messages.REFERRAL_TODO_PUBLISH,
    ]
    left = messages.REFERRAL_DRAFT_LEFT.format(
        id="todo-cai-piao", steps="；".join(f"{n}. {step}" for n, step in enumerate(steps, 1))
    )
    assert [(p.file, p.line, p.message) for p in problems if not p.is_error and "todo-cai-piao" in p.message] == [
        (REFERRALS_FILE, 16, left)
    ]
    service = Service.from_settings(make_settings(faq_dir))
    assert (
        service.answer("彩票中奖了去哪兑奖", channel=Channel.WEB, resident=1).status != Status.REFERRAL
    )  # never referred to
    # Written, renamed and its draft line deleted, it refers residents.
    done = DRAFT.replace(f"{PLACEHOLDER}：负责办理的部门", "体育彩票管理中心").replace(
        f"{PLACEHOLDER}：居民怎么联系", "到彩票销售网点咨询。"
    )
    (faq_dir / REFERRALS_FILE).write_text(REFERRALS + done.replace("todo-cai-piao", "lottery"), encoding="utf-8")
    assert (REFERRALS_FILE, 16, messages.REFERRAL_DRAFT_READY.format(id="lottery")) in {
        (p.file, p.line, p.message) for p in check_faq(faq_dir)[1]
    }
    (faq_dir / REFERRALS_FILE).write_text(
        REFERRALS + done.replace("todo-cai-piao", "lottery").replace("    draft: true\n", ""), encoding="utf-8"
    )
    assert service.reload()[0]
    assert service.answer("彩票中奖了去哪兑奖", channel=Channel.WEB, resident=1).status == Status.REFERRAL


def test_a_placeholder_in_a_live_matter_a_wrong_draft_mark_and_a_draft_sharing_a_word_are_errors(faq_dir):
    live = DRAFT.replace("    draft: true\n", "")
    wrong = DRAFT.replace("draft: true", "draft: 是").replace("彩票", "福利彩票").replace("cai-piao", "fu-li")
    shared = DRAFT.replace("todo-cai-piao", "todo-hu-kou").replace("彩票", "落户")
    (faq_dir / REFERRALS_FILE).write_text(REFERRALS + live + wrong + shared, encoding="utf-8")
    found = problems_of(faq_dir)
    assert (
        REFERRALS_FILE,
        16,
        messages.REFERRAL_PLACEHOLDER_LEFT.format(id="todo-cai-piao", placeholder=PLACEHOLDER),
    ) in found
    assert (REFERRALS_FILE, 23, messages.BAD_REFERRAL_DRAFT) in found
    word = messages.SHARED_SUBJECT.format(word="落户", id="todo-hu-kou", other="hukou", line=11)
    assert (REFERRALS_FILE, 29, word) in found  # publishing it would break the file


def test_the_shipped_referrals_file_names_at_least_40_matters():
    faq = load_faq(PINNED_FAQ)
    assert faq.referrals is not None and len(faq.referrals.matters) >= 40
    assert "12345" in faq.referrals.general


# --- garbage-items.yaml ------------------------------------------------------------------


@pytest.fixture
def garbage_dir(mini_faq: Path) -> Path:
    shutil.copy(FIXTURES / "garbage-items.yaml", mini_faq / "garbage-items.yaml")
    return mini_faq


def test_the_item_list_loads_with_its_four_categories(garbage_dir):
    guide = load_faq(garbage_dir).garbage
    assert guide is not None
    assert tuple(c.name for c in guide.categories) == BIN_CATEGORIES
    battery = next(i for i in guide.items if i.name == "电池")
    assert battery.category is None and [c.category for c in battery.cases] == ["其他垃圾", "有害垃圾"]
    assert guide.sources[0].title.startswith("生活垃圾分类标志")


def _edit(directory: Path, old: str, new: str) -> None:
    path = directory / "garbage-items.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line(directory: Path, text: str) -> int:
    lines = (directory / "garbage-items.yaml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "    category: 可回收物\n    tip: 倒空",
            "    category: 可回收垃圾\n    tip: 倒空",
            "category: 可回收垃圾",
            messages.BAD_CATEGORY.format(name="塑料瓶", value="可回收垃圾"),
        ),
        (
            "  - name: 易拉罐\n    category: 可回收物\n",
            "  - name: 易拉罐\n    category: 可回收物\n    color: 蓝\n",
            "color: 蓝",
            messages.UNKNOWN_KEY.format(where="物品", key="color", allowed="name、aliases、category、cases、tip"),
        ),
        (
            "  - name: 垃圾袋\n    category: 其他垃圾\n",
            "  - name: 垃圾袋\n",
            "name: 垃圾袋",
            messages.ITEM_CATEGORY_OR_CASES.format(name="垃圾袋"),
        ),
        (
            "  - name: 烟头\n",
            "  - name: ＰＥ烟头\n    category: 其他垃圾\n  - name: pe烟头\n    category: 其他垃圾\n  - name: 烟头\n",
            "name: pe烟头",
            messages.DUPLICATE_ITEM_NAME.format(text="pe烟头", name="pe烟头", line=0, other="ＰＥ烟头"),
        ),
    ],
)
def test_item_mistakes_are_reported_with_their_line(garbage_dir, old, new, needle, message):
    _edit(garbage_dir, old, new)
    if "DUP" in message or "重复" in message:
        message = message.replace("第 0 行", f"第 {_line(garbage_dir, 'name: ＰＥ烟头')} 行")
    assert ("garbage-items.yaml", _line(garbage_dir, needle), message) in problems_of(garbage_dir)


def test_cases_need_two_and_categories_need_all_four(garbage_dir):
    _edit(garbage_dir, "      - when: 充电电池、纽扣电池、蓄电池\n        category: 有害垃圾\n", "")
    _edit(garbage_dir, "  有害垃圾:\n", "  危险垃圾:\n")
    found = problems_of(garbage_dir)
    assert (
        "garbage-items.yaml",
        _line(garbage_dir, "普通一次性干电池"),
        messages.CASES_TOO_FEW.format(name="电池"),
    ) in found
    assert (
        "garbage-items.yaml",
        _line(garbage_dir, "危险垃圾") + 1,
        messages.UNKNOWN_CATEGORY_KEY.format(key="危险垃圾"),
    ) in found
    assert (
        "garbage-items.yaml",
        _line(garbage_dir, "categories:") + 1,
        messages.MISSING_CATEGORY.format(name="有害垃圾"),
    ) in found
