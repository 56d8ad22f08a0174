"""What residents need, by subject: a question's subject (`review.subjects`), and a fortnight of
realistic traffic on the shipped FAQ through the real service, a real SQLite log and real
tickets, reviewed as staff would review it — groups, ranking, trend, what the bot did, the
drafts pasted back and checked, the YAML-only file, and the chart in a real browser."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from servicebot.answering.service import Service
from servicebot.answering.text import Normalizer
from servicebot.cli import main
from servicebot.config import load_settings
from servicebot.errors import ConfigError
from servicebot.faq import PLACEHOLDER, REFERRALS_FILE, Referral, Referrals, checks, question_key
from servicebot.records import Channel, Interaction, Status, Via
from servicebot.review.clustering import read_subjects
from servicebot.review.period import parse_period
from servicebot.review.render import STEP_KEPT, STEP_REFERRAL, STEP_REFERRAL_FILE, STEP_REFERRAL_KNOWN, next_steps
from servicebot.review.report import Action, build_review, faq_knowledge, related_words
from servicebot.review.subjects import Fold, Knowledge, lexicon_folds, referral_folds, subject_of
from servicebot.storage import InteractionLog, LogReader
from servicebot.storage.ticket_store import TicketStore
from servicebot.tools.report_commands import REVIEW_NEXT_YAML, REVIEW_WRITTEN_YAML, YAML_ONLY, run_review

from conftest import PINNED_FAQ
from support import review_traffic as traffic
from support.browser import screenshot
from support.wording import wording

# --- a question's subject --------------------------------------------------------------------


def matter(matter_id: str, subjects: tuple[str, ...]) -> Referral:
    """A matter of referrals.yaml: only its id and subject words matter to the review."""
    return Referral(matter_id, subjects[0], subjects, "负责的部门", "怎么联系")


@pytest.fixture(scope="module")
def plain():
    """Knowledge of everyday Chinese only, with two synonym groups as staff write them."""
    return Knowledge.build(Normalizer([["医保", "医疗保险"], ["低保", "最低生活保障"]]))


def names(questions, knowledge) -> list[str]:
    return [subject_of(q, knowledge).name for q in questions]


def test_rewordings_of_one_subject_share_it(plain):
    assert names(["公积金怎么提取", "辞职了公积金怎么办", "单位不给交公积金"], plain) == ["公积金"] * 3
    assert names(["医保卡丢了怎么补办", "今年城乡居民医保交多少钱", "小孩的医保在哪交"], plain)[1:] == ["医保"] * 2


def test_different_subjects_stay_apart(plain):
    asked = ["住房公积金贷款要什么条件", "医保报销比例是多少", "低保审批要多长时间", "小区停水了什么时候来水"]
    assert names(asked, plain) == ["公积金", "医保", "低保", "停水"]


def test_synonyms_fold_through_the_normalizer(plain):
    assert names(["医疗保险断交了有影响吗", "最低生活保障怎么申请"], plain) == ["医保", "低保"]


def test_a_story_is_about_the_clause_that_asks(plain):
    assert names(["我老伴住院花了好多钱，家里也没有收入，想问问低保够不够条件"], plain) == ["低保"]


def test_the_verb_is_not_the_subject(plain):
    # 补办, 提取, 断交 say what to do; the noun says what about
    assert names(["养老保险断交了怎么补", "身份证丢了去哪补办"], plain) == ["养老保险", "身份证"]


def test_a_question_naming_nothing_has_no_subject(plain):
    assert not subject_of("怎么办理", plain) and not subject_of("你好", plain)
    assert subject_of("需要带什么材料", plain).name == ""  # 材料 is an aspect of a subject, not one


def test_a_matter_of_referrals_folds_its_words_into_one_subject():
    referrals = Referrals((matter("hukou", ("户口", "落户", "迁户口")), matter("fund", ("公积金",))))
    knowledge = Knowledge.build(Normalizer(), folds=referral_folds(referrals))
    born, moved = subject_of("新生儿怎么落户", knowledge), subject_of("迁户口要什么材料", knowledge)
    assert (born.name, born.word, born.source, born.referral) == ("户口", "落户", "referral", "hukou")
    assert (moved.name, moved.referral) == ("户口", "hukou")
    # A subject staff wrote down outweighs a word they did not (新生儿 is rarer than 户口).
    assert subject_of("新生儿怎么上户口", Knowledge.build(Normalizer())).name == "新生儿"
    assert subject_of("新生儿怎么上户口", knowledge).name == "户口"


def test_a_lexicon_folds_a_related_word_when_it_is_similar_enough():
    lexicon = {"医疗保险": [("医保", 0.92), ("养老保险", 0.55)], "看病": [("医保", 0.4)]}
    knowledge = Knowledge.build(Normalizer(), folds=lexicon_folds(lexicon))
    found = subject_of("医疗保险怎么交", knowledge)
    assert (found.name, found.word, found.source) == ("医保", "医疗保险", "lexicon")
    unfolded = subject_of("看病能报多少", knowledge)  # 0.4: related, not the same subject
    assert (unfolded.name, unfolded.source) == ("看病", "")


def test_folds_chain_and_the_more_similar_source_wins():
    referrals = Referrals((matter("medical", ("医保", "医保卡")),))
    folds = [*lexicon_folds({"医疗保险": [("医保卡", 0.9)]}), Fold("医疗保险", "养老保险", 0.7, "guess")]
    knowledge = Knowledge.build(Normalizer(), folds=[*folds, *referral_folds(referrals)])
    found = subject_of("医疗保险报销比例", knowledge)  # 医疗保险 → 医保卡 (0.9, not 0.7) → 医保
    assert (found.name, found.referral) == ("医保", "medical")


def test_longer_forms_of_a_subject_asked_in_the_same_period_join_it(plain):
    subjects = read_subjects(["医保卡丢了怎么补办", "医保报销比例是多少", "低保户每个月能领多少钱"], plain)
    assert subjects.name("医保卡丢了怎么补办") == "医保"  # 医保 was asked about too
    assert subjects.name("低保户每个月能领多少钱") == "低保户"  # 低保 was not: nothing to join


# --- a fortnight of traffic on the shipped FAQ ------------------------------------------------


def _fortnight(root: Path, *, referrals: bool):
    """The shipped FAQ (a copy of the pinned one), and the traffic of `review_traffic` in a real
    log, with three questions handed to staff (one reply from staff, not marked 加入问答) and one
    referral; the review of its last week as JSON, with drafts."""
    shutil.copytree(PINNED_FAQ, root / "faq")
    if not referrals:
        (root / "faq" / REFERRALS_FILE).unlink()
        # a regression question that only a referral keeps from the FAQ's entries goes with the file
        tests_yaml = root / "faq" / "tests.yaml"
        kept = tests_yaml.read_text(encoding="utf-8").replace(
            "- question: 电动车电池在哪里换\n  expect: unanswered\n", ""
        )
        tests_yaml.write_text(kept, encoding="utf-8")
    settings = load_settings(env={}, overrides={"faq_dir": root / "faq", "data_dir": root / "data"})
    now = dt.datetime.now(dt.UTC)
    log = InteractionLog(settings.db_path)
    sink = traffic.AtTime(log, now)
    service = Service.from_settings(settings, sink, secret="fortnight")
    week = [q for questions in traffic.WEEK_SUBJECTS.values() for q in questions]
    asked = traffic.ask_all(service, sink, [*week, *traffic.BEFORE])
    traffic.referral(service, log, now)
    assert log.flush(10)
    log.close()
    store = TicketStore(settings.db_path)
    who = {text: resident for text, resident, _ in week}
    tickets = {
        text: traffic.hand_off(store, service, asked[text][0], text, who[text], now - dt.timedelta(days=1))
        for text in traffic.HANDED_OFF
    }
    store.add_staff_reply(
        tickets["辞职了公积金怎么办"], source="-1:9", text=traffic.STAFF_REPLY, staff_name="张三", ref="ab" * 6, at=now
    )
    store.close()
    # What the tests count on: every question of the traffic reaches the review but one that
    # was answered and then handed off (低保审批要多长时间).
    assert traffic.outcomes_reach_review({t: o for t, o in asked.items() if t in who}, traffic.HANDED_OFF)
    assert asked["低保审批要多长时间"][0].status == Status.ANSWERED
    out = root / "review.json"
    assert run_review(settings, since="7d", fmt="json", suggest_yaml=True, output=out) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    return settings, asked, doc


@pytest.fixture(scope="module")
def fortnight(tmp_path_factory):
    """Without referrals.yaml: the FAQ's own knowledge (its entries, synonyms and tests.yaml)
    decides the groups and what each needs; the one referral in the log is from the file's days."""
    return _fortnight(tmp_path_factory.mktemp("fortnight"), referrals=False)


@pytest.fixture(scope="module")
def fortnight_referred(tmp_path_factory):
    """The same traffic on the FAQ as shipped, referrals.yaml included: the bot itself tells the
    residents asking about 公积金, 医保 and 停水 which body handles them."""
    return _fortnight(tmp_path_factory.mktemp("fortnight-referred"), referrals=True)


def group(doc: dict, subject: str) -> dict:
    [found] = [c for c in doc["clusters"] if c["subject"] == subject]
    return found


def reached_review(asked: dict, questions) -> list[tuple[str, str]]:
    """(text, resident) of the questions the review lists: not answered outright, or handed off."""
    return [
        (text, resident)
        for text, resident, _ in questions
        if asked[text][0].status != Status.ANSWERED or text in traffic.HANDED_OFF
    ]


def test_each_subject_asked_in_different_wordings_is_one_group_ranked_by_residents(fortnight):
    settings, asked, doc = fortnight
    index = checks.build_snapshot(settings)[1]
    for subject, questions in traffic.WEEK_SUBJECTS.items():
        listed = reached_review(asked, questions) + ([traffic.REFERRED[:2]] if subject == "公积金" else [])
        found = group(doc, subject)
        assert (found["residents"], found["count"]) == (len({r for _, r in listed}), len(listed)), subject
        # every wording is there once, however often it was asked, whatever its punctuation
        assert {index.normalize(w) for w in found["wordings"]} == {index.normalize(t) for t, _ in listed}
    # biggest first, by residents; the four subjects take the first four ranks
    ranked = [(c["subject"], c["residents"]) for c in doc["clusters"][:4]]
    assert ranked == [("公积金", 6), ("低保", 5), ("医保", 4), ("停水", 2)]
    assert [c["rank"] for c in doc["clusters"]] == list(range(1, len(doc["clusters"]) + 1))


def test_different_subjects_never_share_a_group(fortnight):
    _, _, doc = fortnight
    owner: dict[str, str] = {}
    for subject, questions in traffic.WEEK_SUBJECTS.items():
        for text, _, _ in questions:
            owner[question_key(text)] = subject
    for cluster in doc["clusters"]:
        subjects = {owner[question_key(w)] for w in cluster["wordings"] if question_key(w) in owner}
        assert len(subjects) <= 1, cluster["subject"]
    assert len({c["subject"] for c in doc["clusters"]}) == len(doc["clusters"])


def test_trend_compares_with_the_week_before(fortnight):
    _, asked, doc = fortnight
    for subject in traffic.WEEK_SUBJECTS:
        before = [q for q in traffic.BEFORE if subject in q[0]]
        listed = reached_review(asked, before)
        found = group(doc, subject)
        assert (found["before_residents"], found["before_count"]) == (len({r for _, r in listed}), len(listed))
        assert found["trend"] == found["residents"] - found["before_residents"]
    assert group(doc, "公积金")["trend"] == 5 and group(doc, "停水")["before_residents"] == 0
    assert group(doc, "医保")["trend"] < 0  # asked less than the week before


def test_what_the_bot_did_is_counted_per_group(fortnight):
    _, asked, doc = fortnight
    for subject, questions in traffic.WEEK_SUBJECTS.items():
        did = Counter(o.status for text, _, _ in questions for o in asked[text][:1] if o.status != Status.ANSWERED)
        handed = sum(text in traffic.HANDED_OFF for text, _, _ in questions)
        referred = 1 if subject == "公积金" else 0
        expected = {
            "fallback": did[Status.UNANSWERED],
            "did_you_mean": did[Status.SUGGEST],
            "referral": referred,
            "handoff": handed,
        }
        assert group(doc, subject)["bot_did"] == expected, subject
    assert group(doc, "公积金")["bot_did"]["handoff"] == 2 and group(doc, "低保")["bot_did"]["handoff"] == 1


def test_groups_are_marked_with_what_they_need(fortnight):
    _, _, doc = fortnight
    fund, medical, dibao, water = (group(doc, s) for s in ("公积金", "医保", "低保", "停水"))
    # another body's matter: the bot referred one question, and tests.yaml keeps 公积金怎么提取 unanswered
    assert fund["action"] == Action.REFERRAL and fund["kept_unanswered"] == ["公积金怎么提取"]
    # the pension entry is near 医保 questions in words only: not a place for them
    assert medical["action"] == Action.NEW_ENTRY and not medical["near"] and medical["owner"] is None
    # the FAQ has 低保 entries, none answers these: a new entry, the related entry named
    assert dibao["action"] == Action.NEW_ENTRY, dibao
    assert dibao["near"] and dibao["nearest_id"].startswith("dibao"), (dibao["near"], dibao["nearest_id"])
    assert water["action"] == Action.NEW_ENTRY and not water["near"]
    assert STEP_REFERRAL in doc["next_steps"][0] and "第 1 组“公积金”" in doc["next_steps"][0]


def test_the_chart_counts_the_top_subjects_week_by_week(fortnight):
    _, _, doc = fortnight
    weeks = doc["weeks"]
    assert len(weeks["ends"]) == 8 and weeks["ends"][-1] == doc["period"]["until"]
    rows = {row["subject"]: row["residents"] for row in weeks["subjects"]}
    assert list(rows)[:4] == ["公积金", "低保", "医保", "停水"]
    for subject in traffic.WEEK_SUBJECTS:
        found = group(doc, subject)
        assert rows[subject][-2:] == [found["before_residents"], found["residents"]]
        assert rows[subject][:-2] == [0] * 6  # nothing older


def paste_all(faq_dir: Path, suggestions: list[dict]) -> None:
    """Paste every snippet after its line, bottom-up per file, as the instructions say."""
    for s in sorted(suggestions, key=lambda s: (s["file"], -s["after_line"])):
        path = faq_dir / s["file"]
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        lines[s["after_line"] : s["after_line"]] = [s["yaml"]]
        path.write_text("".join(lines), encoding="utf-8")


def test_every_draft_pasted_as_it_comes_passes_the_check_and_answers_no_one(fortnight, tmp_path, capsys):
    settings, asked, doc = fortnight
    suggestions = [c["suggestion"] for c in doc["clusters"] if c["suggestion"]]
    assert {s["entry_id"] for s in suggestions} >= {"todo-gong-ji-jin", "todo-yi-bao", "todo-di-bao", "todo-ting-shui"}
    fund = group(doc, "公积金")["suggestion"]
    # the finished 公积金 entry would answer what tests.yaml keeps unanswered: the draft says so
    assert fund["conflicts"] == ["公积金怎么提取"] and "tests.yaml" in fund["yaml"]
    # what staff said in the ticket is quoted for them, as a comment residents never see
    assert traffic.STAFF_REPLY in fund["yaml"] and yaml.safe_load(fund["yaml"])[0]["answer"].startswith("待填写")
    faq_dir = tmp_path / "faq"
    shutil.copytree(settings.faq_dir, faq_dir)
    paste_all(faq_dir, suggestions)
    assert main(["faq", "check", str(faq_dir)]) == 0
    out = capsys.readouterr().out
    assert "失败" not in out and "错误" not in out
    pasted = checks.check_directory(faq_dir, dataclasses.replace(settings, faq_dir=faq_dir))
    assert pasted.faq is not None and pasted.index is not None, pasted.problems
    assert pasted.errors == [] and len(pasted.faq.entries) == len(checks.build_snapshot(settings)[0].entries)
    for text in asked:
        if asked[text][0].status != Status.ANSWERED:
            assert pasted.index.match(text).status != Status.ANSWERED, text  # drafts answer no one


def test_suggest_yaml_into_a_yaml_file_writes_only_yaml(fortnight, tmp_path, capsys):
    settings, _, doc = fortnight
    out = tmp_path / "drafts.yaml"
    assert run_review(settings, since="7d", fmt="table", suggest_yaml=True, output=out) == 0
    text = out.read_text(encoding="utf-8")
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    snippets = [c["suggestion"] for c in doc["clusters"] if c["suggestion"]]
    assert len(documents) == len(snippets) and all(isinstance(d, list) for d in documents)
    assert [d for d in documents if isinstance(d[0], dict)] == [
        yaml.safe_load(s["yaml"]) for s in snippets if s["draft"]
    ]
    assert all(line.startswith(("#", " ", "---")) for line in text.splitlines() if line)  # no report in it
    said = capsys.readouterr().out
    drafts = sum(s["draft"] for s in snippets)
    assert (
        REVIEW_WRITTEN_YAML.format(path=out, snippets=len(snippets), alternates=len(snippets) - drafts, drafts=drafts)
        in said
        and REVIEW_NEXT_YAML in said
    )
    with pytest.raises(ConfigError, match=wording(YAML_ONLY, path=out, fmt="csv").pattern):
        run_review(settings, since="7d", fmt="csv", suggest_yaml=True, output=out)


def test_the_page_shows_what_residents_need_at_a_glance(fortnight, browser, tmp_path):
    settings, _, _ = fortnight
    page = tmp_path / "review.html"
    assert run_review(settings, since="7d", fmt="html", suggest_yaml=False, output=page) == 0
    browser.set_window_size(1280, 900)
    browser.get(page.as_uri())
    chart = browser.find_element("css selector", 'svg[aria-label^="最近 8 周"]')
    assert chart.is_displayed() and chart.size["width"] > 900
    labels = [t.text for t in chart.find_elements("css selector", "text[text-anchor='end']")]
    assert labels[:4] == ["公积金", "低保", "医保", "停水"]
    # each subject's latest week is a bar a reader can see, the biggest the tallest
    latest = "rect[fill-opacity='1']"
    heights = browser.execute_script(
        f'return [...arguments[0].querySelectorAll("{latest}")].map(r => r.getBoundingClientRect().height)', chart
    )
    assert heights[:4] == sorted(heights[:4], reverse=True) and min(heights[:4]) > 4
    steps = browser.find_elements("css selector", "ol.steps li")
    assert steps and steps[0].text.startswith("第 1 组“公积金”")
    screenshot(browser, "review-1280.png", full_page=True)


def test_matters_of_referrals_group_and_mark_what_the_bot_already_refers(mini_faq, make_settings):
    """build_review folds the matters of the FAQ's own referrals.yaml (nothing passed in), and
    reads spoken questions (WeChat voice) as it reads typed ones."""
    shutil.copy(PINNED_FAQ / REFERRALS_FILE, mini_faq / REFERRALS_FILE)
    settings = make_settings(mini_faq)
    log = InteractionLog(settings.db_path)
    now = dt.datetime.now(dt.UTC)
    asked = [
        ("户口迁到滁州怎么办", "a", Status.REFERRAL, Via.QUESTION),
        ("新生儿落户要带什么", "b", Status.UNANSWERED, Via.VOICE),  # 落户 is one of the matter's words
        ("护照在哪里办", "c", Status.REFERRAL, Via.QUESTION),
        ("护照过期了怎么换", "d", Status.REFERRAL, Via.VOICE),
        ("你好", "e", Status.SMALL_TALK, Via.VOICE),  # not a question the review lists
    ]
    for n, (text, who, status, via) in enumerate(asked):
        at = now - dt.timedelta(hours=n + 1)
        log.record(
            Interaction(f"ref{n:09d}", at, Channel.WECHAT, "private", who, text, text, status, None, 0.0, via=via)
        )
    assert log.flush(10)
    log.close()
    index = checks.build_snapshot(settings)[1]
    assert index.faq.referrals is not None
    report = build_review(
        LogReader(settings.db_path), index, parse_period("7d"), answer_threshold=settings.answer_threshold
    )
    by_subject = {c.subject: c for c in report.clusters}
    assert set(by_subject) == {"户口", "护照"}
    hukou, passport = by_subject["户口"], by_subject["护照"]
    assert (hukou.referral, hukou.count, hukou.referred, hukou.unanswered) == ("hukou", 2, 1, 1)
    assert (passport.referral, passport.count, passport.referred) == ("exit-entry", 2, 2)
    # one resident got no answer: the referral needs a look; the other matter was referred every time
    assert hukou.action == Action.REFERRAL and passport.action == Action.REFERRED
    assert [c.subject for c in report.clusters] == ["户口", "护照"]  # what needs doing first
    assert next_steps(report)[0].endswith(STEP_REFERRAL_KNOWN.format(matter="hukou"))


def test_with_referrals_yaml_a_matter_in_many_wordings_is_one_group_of_referrals(fortnight_referred):
    """公积金 asked six ways and referred by the bot each time: one group of the matter
    housing-fund, every question counted as a referral; 医保 and 停水, referred every time and
    never handed to staff, need nothing and come after what does, with no draft."""
    settings, asked, doc = fortnight_referred
    index = checks.build_snapshot(settings)[1]
    assert all(asked[text][0].status == Status.REFERRAL for text, _, _ in traffic.HOUSING_FUND)
    fund = group(doc, "公积金")
    listed = [text for text, _, _ in traffic.HOUSING_FUND] + [traffic.REFERRED[0]]
    assert {index.normalize(w) for w in fund["wordings"]} == {index.normalize(t) for t in listed}
    assert (fund["referral"], fund["residents"], fund["count"]) == ("housing-fund", 6, 7)
    assert fund["bot_did"] == {"fallback": 0, "did_you_mean": 0, "referral": 7, "handoff": 2}
    # two residents still asked for a person after being referred: the referral needs a look
    assert fund["action"] == Action.REFERRAL and fund["rank"] == 1
    assert STEP_REFERRAL_KNOWN.format(matter="housing-fund") in doc["next_steps"][0]
    for subject, matter_id in (("医保", "medical-insurance"), ("停水", "water")):
        found = group(doc, subject)
        assert (found["action"], found["referral"]) == (Action.REFERRED, matter_id), subject
        assert found["suggestion"] is None and found["bot_did"]["referral"] == found["count"], subject
    actions = [c["action"] for c in doc["clusters"]]
    assert actions == sorted(actions, key=lambda a: not Action(a).needs_work)


def test_a_word_the_matcher_relates_to_the_faqs_joins_that_subject(mini_faq, make_settings):
    """build_review folds the words the matcher's lexicon relates to the FAQ's (失聪 → one of the
    disability entry's words, 截瘫 → 偏瘫) into the FAQ's word, so differently worded questions on
    one subject make one group."""
    shutil.copytree(PINNED_FAQ, mini_faq, dirs_exist_ok=True)
    (mini_faq / "books.yaml").unlink()  # the mini FAQ's own topic file, which the shipped one replaces
    settings = make_settings(mini_faq)
    index = checks.load_validated(settings)[1]
    related = related_words(index, ["我家孩子失聪了有补助吗", "截瘫病人能领什么补贴"])
    near, similarity = max(related["失聪"], key=lambda ws: ws[1])
    assert similarity >= 0.6 and near in index.keywords[index.position["disability-assistance"]]
    knowledge = faq_knowledge(index, lexicon_folds(related))
    assert subject_of("我家孩子失聪了有补助吗", knowledge).name == subject_of(f"{near}的人有补助吗", knowledge).name


LOTTERY = ["彩票中奖了去哪兑奖", "体育彩票在哪里买", "彩票站怎么开"]


def test_a_matter_referrals_yaml_lacks_gets_a_referral_draft_that_passes_the_check(mini_faq, make_settings, capsys):
    """tests.yaml keeps 彩票 questions unanswered (not the office's business) and referrals.yaml has no
    such matter: the draft is a matter for referrals.yaml, checked but never referred to, and drafted once."""
    shutil.copy(PINNED_FAQ / REFERRALS_FILE, mini_faq / REFERRALS_FILE)
    tests = mini_faq / "tests.yaml"
    tests.write_text(tests.read_text(encoding="utf-8") + "- question: 彩票怎么兑奖\n  expect: unanswered\n", "utf-8")
    settings = make_settings(mini_faq)
    log = InteractionLog(settings.db_path)
    service = Service.from_settings(settings, log, secret="lottery")
    for n, text in enumerate(LOTTERY):
        assert service.answer(text, channel=Channel.WEB, resident=n).status == Status.UNANSWERED, text
    assert log.flush(10)
    log.close()

    def review() -> dict:
        out = settings.data_dir / "review.json"
        assert run_review(settings, since="7d", fmt="json", suggest_yaml=True, output=out) == 0
        return json.loads(out.read_text(encoding="utf-8"))

    doc = review()
    lottery = group(doc, "彩票")
    assert (lottery["action"], lottery["referral"], lottery["kept_unanswered"]) == (
        Action.REFERRAL,
        None,
        ["彩票怎么兑奖"],
    )
    draft = lottery["suggestion"]
    assert (draft["action"], draft["file"], draft["draft"]) == ("referral", REFERRALS_FILE, True)
    [matter] = yaml.safe_load(draft["yaml"])
    assert (matter["draft"], matter["matter"], matter["subjects"]) == (True, "彩票", ["彩票"])
    assert matter["body"].startswith(PLACEHOLDER) and matter["how"].startswith(PLACEHOLDER)
    assert all(text in draft["yaml"] for text in lottery["wordings"])  # what residents asked, in a comment
    assert doc["next_steps"][0].endswith(STEP_REFERRAL_FILE + STEP_KEPT.format(question="彩票怎么兑奖"))
    paste_all(mini_faq, [draft])
    capsys.readouterr()
    assert main(["faq", "check", str(mini_faq)]) == 0
    assert f"事项 {draft['entry_id']} 是草稿（draft: true），机器人还不会用它转介居民" in capsys.readouterr().out
    assert Service.from_settings(settings).answer(LOTTERY[0], channel=Channel.WEB, resident=9).status != Status.REFERRAL
    assert group(review(), "彩票")["suggestion"] is None  # the draft waits for staff: not drafted again
