"""The commands around hand-off tickets, on a real SQLite file: `servicebot tickets` in each
format, `servicebot health` about the staff group, and `servicebot review --suggest-yaml`
drafting a FAQ entry from a staff reply marked 加入问答 — pasted back and checked."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import yaml

from servicebot.answering.service import Service
from servicebot.cli import main
from servicebot.faq import PLACEHOLDER, checks
from servicebot.records import Channel, Status
from servicebot.storage import InteractionLog
from servicebot.storage.ticket_store import TicketStore
from servicebot.storage.tickets import BotSaid
from servicebot.tools.health import desk_problems
from servicebot.tools.report_commands import NO_OPEN_TICKETS, TICKET_HEADERS, run_review

NOW = dt.datetime.now(dt.UTC)
CLINIC = "社区卫生服务中心几点开门"
CLINIC_ANSWER = "社区卫生服务中心周一至周五 8:00-17:00 开门。\n周六上午也开。"


@pytest.fixture
def settings(mini_faq, make_settings):
    return make_settings(mini_faq, token="1:a", staff_chat_id=-1001)


def open_ticket(store: TicketStore, question: str, *, ref: str | None = None, resident: str = "a" * 16, **kw):
    return store.open_ticket(
        channel=kw.get("channel", Channel.TELEGRAM),
        resident=resident,
        address="4242",
        ref=ref,
        question=question,
        bot_said=BotSaid(Status.UNANSWERED),
        at=kw.get("at", NOW),
    )


def answer(store: TicketStore, number: int, text: str, name: str, message: int, *, faq: bool = False) -> None:
    ticket = store.ticket(number)
    assert ticket is not None
    pending, _ = store.add_staff_reply(
        ticket.id, source=f"-1001:{message}", text=text, staff_name=name, ref=f"{message:012x}", at=NOW
    )
    assert pending is not None
    store.reply_delivered(pending.id, "sent", NOW)
    if faq:
        assert store.mark_faq(ticket.id) == name


@pytest.fixture
def tickets(settings):
    store = TicketStore(settings.db_path)
    first = open_ticket(store, "燃气费在哪里交", at=NOW - dt.timedelta(days=2))
    store.posted(first.number, -1001, 10)
    answer(store, first.number, "请到燃气公司营业厅，电话 0550-1234567", "张三", 11)
    store.resolve(first.id, "张三", NOW)
    second = open_ticket(store, "犬只登记在哪里办", at=NOW - dt.timedelta(hours=3))
    store.posted(second.number, -1001, 20)
    answer(store, second.number, "到派出所办理", "李四", 21)
    third = open_ticket(store, "=HYPERLINK(1)", channel=Channel.WEB, at=NOW - dt.timedelta(minutes=5))
    store.close()
    return first, second, third


def test_tickets_lists_age_status_and_who_answered(settings, tickets, capsys):
    assert main(["tickets", "--data-dir", str(settings.data_dir)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == TICKET_HEADERS[:3]
    assert [line.split()[0] for line in lines[2:]] == ["#3", "#2", "#1"]  # newest first
    assert "已回复（李四）" in out and "已结束（张三）" in out and "等待回复（还没送到工作人员群）" in out
    assert "3 小时前" in out and "网页聊天" in out

    assert main(["tickets", "--open", "--data-dir", str(settings.data_dir)]) == 0
    assert "#1" not in capsys.readouterr().out


def test_tickets_as_json_and_csv(settings, tickets, capsys):
    assert main(["tickets", "--format", "json", "--data-dir", str(settings.data_dir)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [t["number"] for t in doc] == [3, 2, 1]
    assert doc[1] | {"age_seconds": 0} == doc[1] | {
        "status": "answered",
        "answered_by": "李四",
        "replies": 1,
        "posted": True,
        "channel": "telegram",
        "question": "犬只登记在哪里办",
        "age_seconds": 0,
    }
    assert doc[2]["closed_by"] == "张三" and doc[2]["opened_at"].endswith("+08:00")
    assert "4242" not in json.dumps(doc)  # the resident's address is never listed

    assert main(["tickets", "--format", "csv", "--open", "--data-dir", str(settings.data_dir)]) == 0
    raw = capsys.readouterr().out
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))
    assert rows[0][: len(TICKET_HEADERS)] == TICKET_HEADERS and len(rows) == 3
    assert rows[1][-3] == "'=HYPERLINK(1)"  # a question never becomes a spreadsheet formula


def test_tickets_without_a_database_says_where_it_looked(settings, capsys):
    assert main(["tickets", "--data-dir", str(settings.data_dir)]) == 1
    assert str(settings.db_path) in capsys.readouterr().err


def test_tickets_with_none_open(settings, capsys):
    store = TicketStore(settings.db_path)
    assert store.listing() == []  # creates the database
    store.close()
    assert main(["tickets", "--open", "--data-dir", str(settings.data_dir)]) == 0
    assert capsys.readouterr().out.strip() == NO_OPEN_TICKETS


def test_health_reports_a_staff_group_the_bot_cannot_post_to(settings, make_settings, mini_faq):
    assert desk_problems(settings) == []
    store = TicketStore(settings.db_path)
    ticket = open_ticket(store, "问题")
    store.post_failed(ticket.number, "Forbidden: bot was kicked from the supergroup chat")
    store.close()
    [problem] = desk_problems(settings)
    assert "1 hand-off ticket(s)" in problem and "kicked" in problem and "-1001" in problem
    no_token = make_settings(mini_faq, staff_chat_id=-1001)
    assert any("SERVICEBOT_TOKEN" in p for p in desk_problems(no_token))


def test_review_drafts_a_new_entry_from_a_staff_reply_marked_for_the_faq(settings, tmp_path):
    log = InteractionLog(settings.db_path)
    service = Service.from_settings(settings, log, secret="review-secret")
    clinic = service.answer(CLINIC, channel=Channel.TELEGRAM, resident=1)
    pets = service.answer("犬只登记在哪里办", channel=Channel.TELEGRAM, resident=2)
    dibao = service.answer("低保怎么办理", channel=Channel.TELEGRAM, resident=3)
    assert (clinic.status, pets.status, dibao.status) == (Status.UNANSWERED, Status.UNANSWERED, Status.ANSWERED)
    assert log.flush(10)
    log.close()
    store = TicketStore(settings.db_path)
    first = open_ticket(store, CLINIC, ref=clinic.ref)
    answer(store, first.number, "不知道", "王五", 30)
    answer(store, first.number, CLINIC_ANSWER, "张三", 31, faq=True)
    second = open_ticket(store, "犬只登记在哪里办", ref=pets.ref)
    answer(store, second.number, "到派出所办理，电话 0550-7654321", "李四", 32, faq=True)
    third = open_ticket(store, "低保怎么办理", ref=dibao.ref)  # asked for a person after an answer
    answer(store, third.number, "带户口簿到社区申请。", "李四", 33, faq=True)
    unmarked = open_ticket(store, "燃气费在哪里交")
    answer(store, unmarked.number, "营业厅", "张三", 34)
    store.close()

    out = tmp_path / "review.json"
    assert run_review(settings, since="7d", fmt="json", suggest_yaml=True, output=out) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    by_first = {c["examples"][0]: c for c in doc["clusters"]}
    clinic_cluster = by_first[CLINIC]
    assert clinic_cluster["staff_answer"] == {"ticket": first.number, "staff_name": "张三", "answer": CLINIC_ANSWER}
    suggestion = clinic_cluster["suggestion"]
    assert suggestion["action"] == "new-entry" and f"#{first.number}" in suggestion["where"]
    assert f"# 回答来自人工咨询 #{first.number}（张三的答复）" in suggestion["yaml"]
    [entry] = yaml.safe_load(suggestion["yaml"])
    assert entry["answer"] == CLINIC_ANSWER and entry["question"] == CLINIC
    # The ticket after an answer is a group of its own; the unmarked one is not used.
    assert by_first["低保怎么办理"]["staff_answer"]["answer"] == "带户口簿到社区申请。"
    assert "燃气费在哪里交" not in by_first or by_first["燃气费在哪里交"]["staff_answer"] is None

    # A number the log masked stays a placeholder the check refuses until staff fill it in.
    pets_entry = yaml.safe_load(by_first["犬只登记在哪里办"]["suggestion"]["yaml"])[0]
    assert pets_entry["answer"] == f"到派出所办理，电话 [电话：{PLACEHOLDER}]"

    # Pasted, the clinic entry passes the check as a draft, which answers nobody yet ...
    path = settings.faq_dir / suggestion["file"]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[suggestion["after_line"] : suggestion["after_line"]] = [suggestion["yaml"]]
    path.write_text("".join(lines), encoding="utf-8")
    report = checks.check_directory(settings.faq_dir, settings)
    assert report.faq is not None and report.index is not None, report.problems
    assert report.errors == [] and [d.id for d in report.faq.drafts] == [entry["id"]]
    assert report.index.match(CLINIC).status == Status.UNANSWERED
    # ... until staff have checked it: renamed, and its draft line deleted, it answers with the staff's words.
    text = path.read_text(encoding="utf-8").replace(entry["id"], "clinic-hours")
    path.write_text(
        "".join(line for line in text.splitlines(keepends=True) if "draft: true" not in line), encoding="utf-8"
    )
    report = checks.check_directory(settings.faq_dir, settings)
    assert report.faq is not None and report.index is not None, report.problems
    assert report.errors == [] and report.faq.drafts == ()
    match = report.index.match(CLINIC)
    assert (match.status, match.entry_id) == (Status.ANSWERED, "clinic-hours")
    assert report.faq.by_id["clinic-hours"].answer == CLINIC_ANSWER


def test_run_refuses_a_staff_group_without_a_telegram_token(mini_faq, monkeypatch, capsys):
    monkeypatch.setenv("SERVICEBOT_STAFF_CHAT_ID", "-1001")
    monkeypatch.setenv("SERVICEBOT_WEB_PORT", "8080")
    assert main(["run", "--faq", str(mini_faq)]) == 2
    assert "SERVICEBOT_TOKEN" in capsys.readouterr().err
