"""The review's snippets tried on the FAQ before staff see them (`review.trial`): a phrasing that
would fail `faq check` once pasted is left out, and a draft that would answer what tests.yaml
keeps unanswered says so."""

from __future__ import annotations

import datetime as dt

import pytest

from servicebot.config import load_settings
from servicebot.faq import checks
from servicebot.review.drafting import Kind, Plan
from servicebot.review.trial import verify

from conftest import FIXTURES

TODAY = dt.date(2026, 12, 7)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("trial")
    settings = load_settings(env={}, overrides={"faq_dir": FIXTURES / "mini", "data_dir": root})
    return checks.build_snapshot(settings)[1]


def test_phrasings_that_pass_are_kept(index):
    plan = Plan(Kind.ALTERNATES, "pension-insurance", "welfare.yaml", ("养老保险一年交多少钱", "养老保险每年交多少钱"))
    assert verify(index, [plan], TODAY) == [plan]


def test_a_phrasing_that_would_take_a_regression_question_is_left_out(index):
    # tests.yaml: 今天天气怎么样 must stay unanswered; 地保怎么申请 must reach dibao-apply
    plan = Plan(Kind.ALTERNATES, "pension-insurance", "welfare.yaml", ("养老保险怎么续", "今天天气怎么样呀"))
    [kept] = verify(index, [plan], TODAY)
    assert kept is not None and kept.phrasings == ("养老保险怎么续",)


def test_a_phrasing_that_would_reach_another_entry_is_left_out(index):
    # 低保被停了 is dibao-removal's: added to dibao-apply (as 低保被停了吗) both would tie on it
    plan = Plan(Kind.ALTERNATES, "dibao-apply", "welfare.yaml", ("低保申请要什么材料", "低保被停了吗"))
    [kept] = verify(index, [plan], TODAY)
    assert kept is not None and kept.phrasings == ("低保申请要什么材料",)


def test_a_plan_with_nothing_left_is_dropped(index):
    plan = Plan(Kind.ALTERNATES, "pension-insurance", "welfare.yaml", ("今天天气怎么样呀",))
    assert verify(index, [plan], TODAY) == [None]


def test_a_draft_answering_what_tests_yaml_keeps_unanswered_names_it(index):
    draft = Plan(Kind.NEW_ENTRY, "todo-tian-qi", "welfare.yaml", ("明天天气怎么样", "今天天气好不好"), "天气")
    [kept] = verify(index, [draft], TODAY)
    assert kept is not None and kept.phrasings == draft.phrasings  # a draft answers no one as pasted
    assert [c.question for c in kept.conflicts] == ["今天天气怎么样"]
