"""Labelled sets and their figures: the real-question shape, several right entries and kinds,
and the baselines (naive rapidfuzz, BM25), at their best cutoff and at our off-topic rate."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from servicebot.errors import ServicebotError
from servicebot.faq import labelled
from servicebot.tools import evaluate

REAL = textwrap.dedent(
    """\
    questions:
      - q: "低保"
        url: https://example.org/a
        by: resident
        kinds: [colloquial, long]
        answers: [dibao-apply, dibao-removal]
        subject: 低保
        goes_to: ""
      - q: "护照在哪办"
        url: https://example.org/b
        by: title
        kinds: [short]
        answers: []
        subject: 护照
        goes_to: 出入境
    """
)


def test_a_real_question_set_keeps_every_right_entry_kind_and_destination(tmp_path: Path, mini_index):
    path = tmp_path / "real.yaml"
    path.write_text(REAL, encoding="utf-8")
    first, second = labelled.load_set(path, mini_index.faq)
    assert first.expected == {"dibao-apply", "dibao-removal"} and first.kinds == ("colloquial", "long")
    assert first.in_scope and first.by == "resident"
    assert not second.in_scope and second.goes_to == "出入境"


def test_an_unknown_entry_or_key_is_refused_with_where(tmp_path: Path, mini_index):
    path = tmp_path / "bad.yaml"
    path.write_text(REAL.replace("dibao-removal", "no-such-entry"), encoding="utf-8")
    with pytest.raises(ServicebotError, match="no-such-entry"):
        labelled.load_set(path, mini_index.faq)
    path.write_text(REAL.replace("subject: 护照", "subjekt: 护照"), encoding="utf-8")
    with pytest.raises(ServicebotError, match="question 2: unknown keys subjekt"):
        labelled.load_set(path)


def test_any_listed_entry_is_right_and_a_question_counts_in_each_of_its_kinds(tmp_path: Path, mini_index):
    path = tmp_path / "real.yaml"
    path.write_text(REAL, encoding="utf-8")
    result = evaluate.run(mini_index, labelled.load_set(path, mini_index.faq), baselines=[])
    kinds = {k.kind: k.ours for k in result.kinds}
    assert result.total.ours.correct == 1  # 低保 → dibao-apply, one of the two right entries
    assert kinds["colloquial"].correct == kinds["long"].correct == 1
    assert result.total.ours.to_refer == 1  # the 护照 question is another body's


def test_bm25_ranks_the_entry_sharing_the_rarest_words_first(mini_index):
    bm25 = evaluate.BM25Baseline(mini_index.faq)
    assert bm25.best("梧桐书屋在哪")[0] == "bookhouse-wutong"
    assert bm25.best("低保被取消了")[0] == "dibao-removal"
    assert bm25.best("完全无关的句子")[1] < bm25.best("低保被取消了")[1]


def test_a_baseline_held_to_our_off_topic_rate_answers_no_more_off_topic_questions(mini_index):
    items = [
        labelled.Item("低保怎么申请", frozenset({"dibao-apply"}), ("in",)),
        labelled.Item("梧桐书屋在哪", frozenset({"bookhouse-wutong"}), ("in",)),
        labelled.Item("低保户能办护照吗", frozenset(), ("out",)),
        labelled.Item("今天天气怎么样", frozenset(), ("out",)),
    ]
    naive = evaluate.NaiveBaseline(mini_index.faq)
    bests = [naive.best(i.question) for i in items]
    for rate in (0.0, 50.0, 100.0):
        cutoff = naive.held_cutoff(items, bests, rate)
        figures, _ = evaluate._figures(items, evaluate.Baseline.at(bests, cutoff))
        assert figures.off_answered <= rate


def test_the_report_names_both_baselines_at_equal_risk(tmp_path: Path, mini_index):
    path = tmp_path / "real.yaml"
    path.write_text(REAL, encoding="utf-8")
    result = evaluate.run(mini_index, labelled.load_set(path, mini_index.faq))
    lines = evaluate.kind_lines(result)
    assert "naive@ours" in lines[0] and "bm25@ours" in lines[0]
    assert set(result.cutoffs) == {"naive", "bm25"}


@pytest.mark.slow  # runs bench/tools/tune.py in processes
def test_tuning_refuses_a_held_out_set():
    import subprocess
    import sys

    from conftest import REPO

    for held_out in ("tests/data/fresh-eval.yaml", "tests/data/real/in-test.yaml"):
        done = subprocess.run(
            [sys.executable, "-m", "bench.tools.tune", "tests/data/labelled.yaml", held_out],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2 and "held-out" in done.stderr, held_out
