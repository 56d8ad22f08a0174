"""Masking residents' personal data: every way a number is typed is masked, ordinary numbers
survive, and nothing personal reaches the database, the `normalized` column, a log line, a
review report or an export — checked through the real service, a real SQLite file, the real
logging setup and the real review command writing its four formats."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import itertools
import json
import logging
import secrets
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from servicebot.answering.service import Service
from servicebot.answering.text import Normalizer
from servicebot.logs import setup_logging
from servicebot.privacy import MASKED_RE, PLACEHOLDERS, fold, mask_personal, personal_spans
from servicebot.records import Channel, Interaction, Status
from servicebot.review.render import RENDERERS
from servicebot.storage import InteractionLog, utc_text
from servicebot.storage.migrations import MIGRATIONS
from servicebot.tools.report_commands import run_review

from support.personal import ORDINARY, Embedded, embedded, id_check_digit, leaked

REPO = Path(__file__).resolve().parents[1]
WAIT = 10.0


# --- what is masked, and what is not -----------------------------------------------------------

FORMS = [
    # full-width digits, as Chinese input methods type them
    ("电话１３９１２３４５６７８谢谢", "电话[手机号]谢谢"),
    ("身份证３４１１２２１９９００１０１１２３Ｘ", "身份证[身份证号]"),
    # ID-card numbers with spaces or dashes
    ("身份证341122 19900101 123X", "身份证[身份证号]"),
    ("身份证341122-1990-0101-123X。", "身份证[身份证号]。"),
    ("老身份证341122 900101 123", "老身份证[身份证号]"),
    # phone numbers in Chinese numerals, with 幺 for one and 〇/零 for zero
    ("一三九一二三四五六七八", "[手机号]"),
    ("我手机幺三九幺二三四五六七八", "我手机[手机号]"),
    ("电话一三〇 零一二三 四五六七", "电话[手机号]"),
    ("+86 139 1234 5678", "[手机号]"),
    ("（+86）139-1234-5678", "[手机号]"),
    ("1 3 9 1 2 3 4 5 6 7 8", "[手机号]"),
    ("139.1234.5678", "[手机号]"),
    # landlines with their area code
    ("办事处0550-1234567，或者(0550)1234567", "办事处[电话]，或者[电话]"),
    ("零五五零 一二三四五六七", "[电话]"),
    ("+86 550 123 4567", "[电话]"),
    # bank cards and e-mail addresses
    ("卡号6222 0212 3456 7890 123", "卡号[银行卡号]"),
    ("卡号6222-0212-3456-7890", "卡号[银行卡号]"),
    ("卡号6222020212345678901", "卡号[银行卡号]"),
    ("卡号六二二二 〇二一二 三四五六 七八九〇", "卡号[银行卡号]"),
    ("邮箱abc.def@qq.com谢谢", "邮箱[邮箱]谢谢"),
    ("邮箱ＡＢＣ＠ｑｑ．ｃｏｍ", "邮箱[邮箱]"),
    ("邮箱abc@qq。com。", "邮箱[邮箱]。"),
    # any other long run of digits
    ("户号123456789012345678901234", "户号[数字]"),
    # tildes and underscores between groups, as dashes
    ("电话139～1234～5678", "电话[手机号]"),
    ("电话139~1234~5678", "电话[手机号]"),
    ("身份证341122_19900101_123X", "身份证[身份证号]"),
    ("座机0550～1234567", "座机[电话]"),
    ("卡号6222＿0212＿3456＿7890", "卡号[银行卡号]"),
    # a line break or a double space between groups, as the web chat and WeChat carry them
    ("我的手机\n139\n1234\n5678\n谢谢", "我的手机\n[手机号]\n谢谢"),
    ("139\r\n1234\r\n5678", "[手机号]"),
    ("手机 139  1234  5678", "手机 [手机号]"),
    ("身份证 341122\n19900101\n123X", "身份证 [身份证号]"),
    ("卡号6222  0212  3456  7890  123", "卡号[银行卡号]"),
]


@pytest.mark.parametrize(("text", "masked"), FORMS, ids=[masked for _, masked in FORMS])
def test_every_way_of_typing_a_number_is_masked(text, masked):
    assert mask_personal(text) == masked


ORDINARY_TEXT = [
    "2020年办事处挽回经济损失280751.6元",
    "第七次人口普查",
    "小区有48个单元",
    "可以打12388举报",
    "2020-01-01到2020.12.31",
    "1990年1月1日出生",
    "上班时间8:30-12:00 14:30-17:30",
    "价格1.38 3.50 1.20 4.50元",
    "2018 2019 2020 2021这四年",
    "二〇二〇年，一二三四五六七八九十",
    "国家标准GB/T 19095-2019",
    "服务热线400-123-4567",
    "12345政务服务热线",
    "第1次、第2次",
    "邮箱在哪里@一下管理员",
    "上班时间8:30~12:00，14:30～17:30",
    "2020~2021年",
    "2018  2019  2020  2021这四年",
    "2019年\n2020年\n2021年",
    "第1次\n第2次\n第3次",
    "file_2020_01.pdf",
]


@pytest.mark.parametrize("text", ORDINARY_TEXT)
def test_ordinary_numbers_survive(text):
    assert mask_personal(text) == text


def test_the_faq_and_the_eval_questions_survive_masking_line_by_line():
    """The office's own texts are full of years, amounts, dates and hotlines, and the evaluation
    sets hold hundreds of residents' questions: nothing in them is personal. A cited page's
    address (`url:`) is left out: a long article number in it reads like a 15-digit ID number,
    and it is a citation for staff, never text a reply or the log carries through masking."""
    pinned = REPO / "tests" / "fixtures" / "faq-pinned"  # what staff add to faq/ later is theirs to word
    files = sorted([*pinned.glob("*.yaml"), *(REPO / "tests" / "data").glob("*.yaml")])
    files += sorted((REPO / "bench" / "data").glob("*.yaml"))
    assert len(files) >= 10
    changed = [
        f"{path.name}:{n}: {line}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if mask_personal(line) != line and not line.lstrip(" -").startswith("url:")
    ]
    assert changed == []


def test_placeholders_are_readable_and_recognised():
    assert PLACEHOLDERS == ("[邮箱]", "[身份证号]", "[银行卡号]", "[手机号]", "[电话]", "[数字]")
    masked = mask_personal("手机13912345678 身份证34112219900101123X 卡6222021234567890 邮箱a@qq.com 座机0550-1234567")
    assert masked == "手机[手机号] 身份证[身份证号] 卡[银行卡号] 邮箱[邮箱] 座机[电话]"
    assert len(MASKED_RE.findall(masked)) == 5


def test_check_digit_helper_matches_a_published_example():
    # GB 11643-1999's worked example: 11010519491231002X
    assert id_check_digit("11010519491231002") == "X"


# --- properties of the masking ------------------------------------------------------------------


@hypothesis_settings(max_examples=400, deadline=None)
@given(embedded())
def test_any_number_in_any_form_embedded_in_chinese_text_is_masked_and_nothing_else(case: Embedded):
    assert mask_personal(case.text) == case.masked
    assert leaked(case.personal, mask_personal(case.text)) == []


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ORDINARY), max_size=6).map("".join))
def test_ordinary_text_in_any_combination_survives(text):
    assert mask_personal(text) == text


@given(st.text())
def test_folding_keeps_every_position(text):
    assert len(fold(text)) == len(text)


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), embedded().map(lambda case: case.text)))
def test_masking_twice_changes_nothing_more(text):
    once = mask_personal(text)
    assert mask_personal(once) == once
    spans = personal_spans(text)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # never overlapping


# --- nothing personal reaches any output ----------------------------------------------------------


@contextlib.contextmanager
def logging_into(stream: io.StringIO, **kwargs):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    setup_logging("text", "DEBUG", stream, **kwargs)
    try:
        yield
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def everything_stored(db: Path) -> str:
    """Every text value in every table, and the raw bytes of the database and its WAL."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        values = [str(v) for t in tables for row in conn.execute(f"SELECT * FROM {t}") for v in row]
    finally:
        conn.close()
    files = [db, db.with_name(db.name + "-wal")]
    raw = b"".join(p.read_bytes() for p in files if p.exists())
    return "\n".join(values) + "\n" + raw.decode("utf-8", "replace")


def exports(settings, tmp_path: Path) -> dict[str, str]:
    """`servicebot review` written to a file in each format, decoded the way a reader sees it."""
    out = {}
    for fmt in RENDERERS:
        path = tmp_path / f"review.{fmt}"
        assert run_review(settings, since="1d", fmt=fmt, suggest_yaml=True, output=path) == 0
        text = path.read_text(encoding="utf-8-sig")
        if fmt == "json":
            text = json.dumps(json.loads(text), ensure_ascii=False)
        if fmt == "html":
            text = html.unescape(text)
        out[fmt] = text
    return out


@pytest.mark.slow  # 40 examples, each through 5 full services
@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.lists(embedded(max_items=2), min_size=1, max_size=3))
def test_no_number_reaches_the_database_logs_or_reports(make_settings, mini_faq, tmp_path, cases):
    """Residents' questions through the real service into a real SQLite file, a careless caller
    recording raw text straight into the log, and both logged as careless code would."""
    settings = make_settings(mini_faq)
    stream = io.StringIO()
    log = InteractionLog(settings.db_path, retention_days=settings.retention_days)
    service = Service.from_settings(settings, log, secret="privacy-secret")
    items = [item for case in cases for item in case.personal]
    with logging_into(stream):
        for n, case in enumerate(cases):
            question = case.text + "，公积金怎么查"  # a question the FAQ cannot answer: it goes to the review
            outcome = service.answer(question, channel=Channel.TELEGRAM, resident=100000 + n)
            assert outcome.match is not None
            assert leaked(items, outcome.match.normalized) == []
            log.record(  # a caller that forgot to mask
                Interaction(
                    ref=secrets.token_hex(6),
                    at=dt.datetime.now(dt.UTC),
                    channel=Channel.TERMINAL,
                    chat_type="private",
                    resident=None,
                    question=case.text,
                    normalized=case.text,
                    status=Status.UNANSWERED,
                    entry_id=None,
                    score=0.0,
                )
            )
            logging.getLogger("servicebot.test").warning("resident asked %r", case.text)
            logging.getLogger("telegram.ext.Application").error("update failed: %s", {"note": case.text})
            logging.getLogger("telegram.ext.Application").debug("update %s", case.text)
        assert log.flush(WAIT)
    log.close()

    outputs = {"database": everything_stored(settings.db_path), "log": stream.getvalue()}
    outputs |= exports(settings, tmp_path)
    for where, text in outputs.items():
        assert leaked(items, text) == [], where
    assert MASKED_RE.search(outputs["database"]) and MASKED_RE.search(outputs["csv"])  # masked, not dropped
    assert "resident asked" in outputs["log"] and "update failed" in outputs["log"]


def test_an_older_database_is_masked_again_when_opened(tmp_path):
    """Rows stored before masking knew these forms are masked by a migration."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:2]:
        migration(conn)
    conn.execute("PRAGMA user_version = 2")
    old = {
        "a1": ("电话１３９１２３４５６７８", "电话13912345678"),
        "a2": ("一三九一二三四五六七八", "一三九一二三四五六七八"),
        "a3": ("低保怎么申请", "低保怎么申请"),
    }
    for ref, (question, normalized) in old.items():
        conn.execute(
            "INSERT INTO interactions (ref, at, channel, chat_type, question, normalized, status, score, suggestions,"
            " via) VALUES (?, ?, 'telegram', 'private', ?, ?, 'unanswered', 0, '[]', 'question')",
            (ref, utc_text(dt.datetime.now(dt.UTC)), question, normalized),
        )
    conn.close()

    InteractionLog(path).close()

    conn = sqlite3.connect(path)
    rows = {r[0]: r[1:] for r in conn.execute("SELECT ref, question, normalized FROM interactions")}
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    conn.close()
    assert rows == {
        "a1": ("电话[手机号]", "电话[手机号]"),
        "a2": ("[手机号]", "[手机号]"),
        "a3": ("低保怎么申请", "低保怎么申请"),
    }


# --- what the masks mean to the matcher and the review ---------------------------------------------


@pytest.fixture
def service(make_settings, mini_faq):
    settings = make_settings(mini_faq)
    log = InteractionLog(settings.db_path, retention_days=settings.retention_days)
    yield Service.from_settings(settings, log, secret="privacy-secret")
    log.close()


def test_a_mask_does_not_change_what_the_question_is_about(service):
    plain = service.answer("低保怎么申请", channel=Channel.TERMINAL)
    for question in (
        "我的电话13912345678，低保怎么申请",
        "低保怎么申请 身份证341122199001011234",
        "邮箱a@qq.com 低保怎么申请",
    ):
        outcome = service.answer(question, channel=Channel.TERMINAL)
        assert (outcome.status, outcome.entry_id) == (Status.ANSWERED, plain.entry_id), question
        assert not MASKED_RE.search(outcome.match.normalized) and "手机号" not in outcome.match.normalized


def test_a_number_alone_is_nothing_asked_not_a_guess(service):
    for number in ("13912345678", "一三九一二三四五六七八", "6222021234567890123", "123456789012345678901"):
        outcome = service.answer(number, channel=Channel.TERMINAL)
        assert (outcome.match.normalized, outcome.entry_id, outcome.match.candidates) == ("", None, ()), number
        assert {button.kind for button in outcome.reply.buttons} == {"topic"}  # the topic menu, no guess


def test_the_review_groups_residents_who_typed_different_numbers_and_proposes_no_phrasing(
    service, make_settings, mini_faq, tmp_path
):
    asked = [
        "我的手机号13912345678，公积金怎么查",
        "我的手机号１３８１２３４５６７８，公积金怎么查",
        "我的手机号幺三七幺二三四五六七八，公积金怎么查",
    ]
    for resident, question in enumerate(asked, 1):
        assert service.answer(question, channel=Channel.TELEGRAM, resident=resident).status == Status.UNANSWERED
    assert service.sink.flush(WAIT)
    out = tmp_path / "review.json"
    assert run_review(make_settings(mini_faq), since="1d", fmt="json", suggest_yaml=True, output=out) == 0
    (cluster,) = json.loads(out.read_text(encoding="utf-8"))["clusters"]
    assert (cluster["residents"], cluster["count"]) == (3, 3)
    assert cluster["examples"] == ["我的手机号[手机号]，公积金怎么查"]
    assert cluster["suggestion"] is None  # one resident's own case: nothing to paste into the FAQ


def test_normalizer_drops_masks_only():
    normalize = Normalizer()
    assert normalize("电话[手机号]，身份证[身份证号]，卡[银行卡号]，邮箱[邮箱]") == "电话身份证卡邮箱"
    assert normalize("[办事处]地址") == "办事处地址"  # brackets around other words are ordinary text
