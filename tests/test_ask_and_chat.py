"""`servicebot ask`, `servicebot eval` and the terminal chat, driven through the real CLI."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from servicebot.answering import replies
from servicebot.answering.service import Service
from servicebot.answering.smalltalk import Intent
from servicebot.channels.terminal import ChatSession, run_chat
from servicebot.cli import main
from servicebot.conversation.memory import choice_hint
from servicebot.records import Channel, Status

from support.fakes import Recorded
from support.wording import wording

ASK_KEYS = {"question", "status", "entry_id", "score", "answer", "links", "suggestions", "referral", "item", "reply"}


def test_ask_prints_the_reply_a_resident_would_see(mini_faq, capsys):
    assert main(["ask", "--faq", str(mini_faq), "養老保險怎麼辦理"]) == 0
    out = capsys.readouterr().out
    assert "城乡居民养老保险怎么参保？" in out
    assert "请到社区咨询参保办法。" in out
    assert "国家政务服务平台  https://gjzwfw.www.gov.cn" in out


def test_ask_json_has_exactly_the_documented_keys(mini_faq, capsys):
    assert main(["ask", "--json", "--faq", str(mini_faq), "养老保险怎么交"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == ASK_KEYS
    assert doc["status"] == "answered" and doc["entry_id"] == "pension-insurance"
    assert doc["links"] == [{"title": "国家政务服务平台", "url": "https://gjzwfw.www.gov.cn"}]
    assert 0 <= doc["score"] <= 100 and doc["suggestions"] == []


def test_ask_reads_one_question_per_line_from_stdin(mini_faq, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("低保\n\n今天天气怎么样\n梧桐书屋\n"))
    assert main(["ask", "--json", "--faq", str(mini_faq)]) == 0
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["question"], d["status"], d["entry_id"]) for d in docs] == [
        ("低保", "answered", "dibao-apply"),
        ("今天天气怎么样", "unanswered", None),
        ("梧桐书屋", "answered", "bookhouse-wutong"),
    ]
    assert all(set(d) == ASK_KEYS and d["answer"] is None for d in docs if d["status"] != "answered")


def test_ask_explain_shows_steps_and_candidates(mini_faq, capsys):
    assert main(["ask", "--explain", "--faq", str(mini_faq), "請問圖書室？"]) == 0
    out = capsys.readouterr().out
    for step in ("width", "simplified", "fillers", "punctuation", "synonyms"):
        assert step in out
    assert "bookhouse-wutong" in out and "answered" in out


def test_ask_with_a_broken_faq_exits_1_with_located_problems(mini_faq, capsys):
    (mini_faq / "books.yaml").write_text("topic: x\nentries: [\n", encoding="utf-8")
    assert main(["ask", "--faq", str(mini_faq), "低保"]) == 1
    assert "books.yaml:" in capsys.readouterr().err


def test_eval_reports_both_matchers_side_by_side(mini_faq, tmp_path, capsys):
    labelled = tmp_path / "set.yaml"
    labelled.write_text(
        "地保咋申请: dibao-apply\n梧桐書屋在哪: bookhouse-wutong\n今天天气怎么样: null\n", encoding="utf-8"
    )
    assert main(["eval", "--faq", str(mini_faq), str(labelled)]) == 0
    out = capsys.readouterr().out
    assert "servicebot (naive rapidfuzz WRatio" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[3:]}
    assert rows["in"][1:3] == ["2", "100.0%"] and rows["out"][1] == "1" and rows["all"][1] == "3"
    assert rows["out"][2] == "0.0%"  # the off-topic question was not answered


def said(session: ChatSession, line: str) -> str:
    """What the terminal chat prints for a line with words in it (only a blank line gets nothing)."""
    out = session.handle(line)
    assert out is not None, line
    return out


def test_chat_numbers_buttons_and_follows_a_pick(make_settings, mini_faq):
    service = Service.from_settings(make_settings(mini_faq))
    session = ChatSession(service)
    menu = said(session, "/topics")
    assert "[1] 共享书屋" in menu and "[2] 民生保障" in menu
    listing = said(session, "2")
    assert "[1] 低保怎么申请？" in listing
    answer = said(session, "1")
    assert "低保申请请到户籍所在社区居委会咨询。" in answer
    assert "[1] ❓ 为什么我家的低保被取消了？" in answer
    assert "不符合条件的低保对象会被清退。" in said(session, "1")


def test_chat_works_with_piped_input(make_settings, mini_faq):
    service = Service.from_settings(make_settings(mini_faq))
    out = io.StringIO()
    run_chat(service, io.StringIO("低保\n+\n今天天气怎么样\n"), out, interactive=False)
    text = out.getvalue()
    assert "低保申请请到户籍所在社区居委会咨询。" in text
    assert replies.FEEDBACK_THANKS["+"] in text
    assert wording(replies.UNANSWERED_TEXT).search(text)


def test_chat_choices_survive_feedback_and_a_wrong_number_is_not_a_question(make_settings, mini_faq):
    log = Recorded()
    session = ChatSession(Service.from_settings(make_settings(mini_faq), sink=log, secret="k"))
    assert "[1] ❓ 为什么我家的低保被取消了？" in said(session, "低保")
    assert replies.FEEDBACK_THANKS["+"] in said(session, "+")
    assert "不符合条件的低保对象会被清退。" in said(session, "1")
    assert log.feedback_given == [(log.interactions[0].ref, True)]
    session.handle("/topics")
    assert session.handle("7") == choice_hint(2)
    assert [i.question for i in log.interactions] == ["低保", "为什么我家的低保被取消了？"]


def test_chat_logs_how_each_tap_was_reached_and_one_resident_per_session(make_settings, mini_faq):
    log = Recorded()
    service = Service.from_settings(make_settings(mini_faq), sink=log, secret="k")
    session = ChatSession(service)
    session.handle("低保")
    session.handle("1")  # a related question under the answer
    session.handle("/topics")
    session.handle("2")
    session.handle("1")  # a question from the topic list
    taps = [i.via for i in log.interactions if i.status == "tap"]
    assert taps == ["related", "topic"]
    residents = {i.resident for i in log.interactions}
    assert len(residents) == 1 and None not in residents
    other = ChatSession(service)
    other.handle("低保")
    assert log.interactions[-1].resident not in residents


def test_greetings_and_thanks_get_a_welcome_not_an_apology(make_settings, mini_faq):
    service = Service.from_settings(make_settings(mini_faq))
    faq = service.snapshot.faq
    greeting = service.answer("你好", channel=Channel.ASK)
    assert (greeting.status, greeting.reply) == (Status.SMALL_TALK, replies.greeting_reply(faq))
    assert "共享书屋" in [b.label for b in greeting.reply.buttons]
    thanks = service.answer("谢谢！", channel=Channel.ASK)
    assert (thanks.status, thanks.reply.body) == (Status.SMALL_TALK, replies.SMALL_TALK_TEXT[Intent.THANKS])
    assert service.answer("🙏🙏", channel=Channel.ASK).reply == replies.nothing_asked_reply(faq)
    assert service.answer("今天天气怎么样", channel=Channel.ASK).reply == replies.unanswered_reply(faq.contact)


@pytest.mark.parametrize("text", ["你是谁", "你是机器人吗？", "转人工", "垃圾机器人", "再见"])
def test_small_talk_gets_its_own_reply_and_is_logged_as_small_talk(make_settings, mini_faq, text):
    from servicebot.storage import InteractionLog

    settings = make_settings(mini_faq)
    log = InteractionLog(settings.db_path, retention_days=30)
    service = Service.from_settings(settings, log, secret="s")
    outcome = service.answer(text, channel=Channel.ASK)
    assert outcome.status == Status.SMALL_TALK and outcome.entry_id is None
    assert not any(b.kind == "entry" for b in outcome.reply.buttons)  # no FAQ entry by accident
    assert log.flush(10)
    totals = log.totals(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    log.close()
    assert totals["questions"] == 0  # small talk is not counted as a question in the stats


def test_ask_with_an_empty_question_says_what_to_type(mini_faq, capsys):
    assert main(["ask", "--faq", str(mini_faq), "  "]) == 2
    assert "servicebot ask" in capsys.readouterr().err
