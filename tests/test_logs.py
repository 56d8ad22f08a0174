"""Log output: readable text or one JSON object per line, and never a token, secret, user id,
name, question text, phone number or ID-card number, however it reaches the log (message,
arguments, traceback, a library's payload) and at every level — down to the real bot, run
at DEBUG against the fake Bot API server."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import json
import logging
from typing import TypedDict
from urllib.parse import quote

import pytest

from servicebot import cli
from servicebot.answering.service import Service
from servicebot.channels import Core
from servicebot.channels.server import build_channels, serve
from servicebot.logs import setup_logging
from servicebot.privacy import load_or_create_secret

from support.botapi import FakeBotApi
from support.webserver import free_port

pytestmark = pytest.mark.anyio

TOKEN = "123456789:AAH-abcdefghijklmnopqrstuvwxyz012345"
PHONE = "13812345678"
ID_CARD = "34112219800101123X"
SECRETS = (TOKEN, PHONE, ID_CARD, "AAH-abcdefghijklmnopqrstuvwxyz012345")
LIBRARIES = ("telegram", "httpx", "httpcore", "tornado", "tornado.access", "uvicorn", "uvicorn.access", "starlette")


@pytest.fixture
def logs():
    """setup_logging into a buffer; returns a function (fmt, level, **secrets) -> the buffer.
    Restores the root handlers and every logger's level."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in (*LIBRARIES, *logging.root.manager.loggerDict)}
    stream = io.StringIO()

    def setup(fmt: str = "text", level: str = "INFO", **kwargs) -> io.StringIO:
        setup_logging(fmt, level, stream=stream, **kwargs)
        return stream

    yield setup
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)


def _raise(exc: BaseException, cause: BaseException | None = None) -> None:
    raise exc from cause


def log_in_message(log: logging.Logger) -> None:
    log.info(f"token {TOKEN} phone {PHONE} id {ID_CARD}")


def log_in_args(log: logging.Logger) -> None:
    log.info("token %s phone %s id %s", TOKEN, PHONE, ID_CARD)


def log_in_mapping_args(log: logging.Logger) -> None:
    log.warning("settings %(token)s %(phone)s %(id)s", {"token": TOKEN, "phone": PHONE, "id": ID_CARD})


def log_in_repr(log: logging.Logger) -> None:
    log.info("request %r", {"url": f"/bot{TOKEN}/getMe", "note": f"我的电话{PHONE}，身份证{ID_CARD}"})


def log_in_bot_api_url(log: logging.Logger) -> None:
    # How the token really travels: inside every Bot API URL (httpx and PTB errors quote it).
    log.error("POST https://api.telegram.org/bot%s/sendMessage failed; resident %s %s", TOKEN, PHONE, ID_CARD)


def log_in_traceback(log: logging.Logger) -> None:
    try:
        _raise(RuntimeError(f"token={TOKEN} phone={PHONE} id={ID_CARD}"))
    except RuntimeError:
        log.exception("handler failed")


def log_in_chained_traceback(log: logging.Logger) -> None:
    try:
        try:
            _raise(KeyError(f"https://api.telegram.org/bot{TOKEN}/getMe"))
        except KeyError as inner:
            _raise(ValueError(f"居民 {PHONE} 身份证 {ID_CARD}"), inner)
    except ValueError as exc:
        log.error("update failed", exc_info=exc)


WAYS = [
    log_in_message,
    log_in_args,
    log_in_mapping_args,
    log_in_repr,
    log_in_bot_api_url,
    log_in_traceback,
    log_in_chained_traceback,
]


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("way", WAYS, ids=lambda w: w.__name__)
@pytest.mark.parametrize("logger_name", ["servicebot.channels.tg", "telegram.ext.Application"])
def test_personal_data_and_token_never_reach_the_output(logs, fmt, way, logger_name):
    stream = logs(fmt)
    way(logging.getLogger(logger_name))
    output = stream.getvalue()
    assert output.strip(), "nothing was logged"
    for secret in SECRETS:
        assert secret not in output
    assert "<token>" in output or "[手机号]" in output  # redacted, not dropped


@pytest.mark.parametrize("way", WAYS, ids=lambda w: w.__name__)
def test_redaction_keeps_placeholders_for_each_kind(logs, way):
    stream = logs("json")
    way(logging.getLogger("servicebot"))
    docs = [json.loads(line) for line in stream.getvalue().splitlines()]
    text = " ".join(doc["message"] + doc.get("exception", "") for doc in docs)
    assert "<token>" in text
    assert "[手机号]" in text and "[身份证号]" in text


def test_json_format_writes_one_parseable_object_per_record(logs):
    stream = logs("json", "DEBUG")
    log = logging.getLogger("servicebot.test")
    log.debug("第一行\n第二行")
    log.warning("reload refused: %d problems", 3)
    try:
        _raise(OSError("disk full"))
    except OSError:
        log.exception("cannot write")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    docs = [json.loads(line) for line in lines]
    assert [d["level"] for d in docs] == ["DEBUG", "WARNING", "ERROR"]
    assert {d["logger"] for d in docs} == {"servicebot.test"}
    assert docs[0]["message"] == "第一行\n第二行"
    assert docs[1]["message"] == "reload refused: 3 problems"
    assert "Traceback" in docs[2]["exception"] and "OSError: disk full" in docs[2]["exception"]
    assert "exception" not in docs[0]
    for doc in docs:
        assert dt.datetime.strptime(doc["time"], "%Y-%m-%dT%H:%M:%S%z").tzinfo is not None


def test_text_format_is_one_readable_line_per_record(logs):
    stream = logs("text")
    logging.getLogger("servicebot.staff").info("FAQ reloaded: %d entries", 42)
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("INFO servicebot.staff: FAQ reloaded: 42 entries")
    dt.datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")


def test_level_filters_lower_records(logs):
    stream = logs("text", "WARNING")
    log = logging.getLogger("servicebot")
    log.info("hidden")
    log.warning("shown")
    assert "hidden" not in stream.getvalue() and "shown" in stream.getvalue()


def test_request_logs_of_http_library_are_quiet_even_at_debug(logs):
    # httpx logs every request URL at INFO, and Bot API URLs carry the token.
    stream = logs("text", "DEBUG")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
    logging.getLogger("httpcore.connection").debug("connect_tcp.started")
    logging.getLogger("httpx").warning("retrying")
    assert stream.getvalue().splitlines()[-1].endswith("WARNING httpx: retrying")
    assert "getUpdates" not in stream.getvalue() and "connect_tcp" not in stream.getvalue()


def test_cli_log_format_flag_switches_to_json(logs, mini_faq, tmp_path, capsys):
    logs()  # only for the restore on teardown
    assert cli.main(["health", "--log-format", "json", "--faq", str(mini_faq), "--data-dir", str(tmp_path / "d")]) == 0
    handler = logging.getLogger().handlers[0]
    record = logging.LogRecord("servicebot", logging.INFO, __file__, 1, "x %s", (PHONE,), None)
    assert json.loads(handler.format(record))["logger"] == "servicebot"
    assert handler.filter(record) and PHONE not in handler.format(record)


# --- libraries, payloads and secrets ---------------------------------------------------------


def test_library_debug_is_dropped_and_own_debug_kept(logs):
    stream = logs("text", "DEBUG")
    logging.getLogger("servicebot.staff").debug("own detail")
    logging.getLogger("telegram.Bot").debug("Call to Bot API endpoint `getUpdates` finished with return value `[]`")
    logging.getLogger("some.new.library").debug("request body: ...")  # a library nobody listed
    logging.getLogger("telegram.ext.Application").info("Application started")
    logging.getLogger("tornado.access").info("200 POST /hook (203.0.113.9) 1.20ms")
    logging.getLogger("uvicorn.access").info('198.51.100.7:5000 - "POST /chat HTTP/1.1" 200')
    lines = stream.getvalue().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "DEBUG servicebot.staff: own detail",
        "INFO telegram.ext.Application: Application started",
    ]


UPDATE = {
    "update_id": 7,
    "message": {
        "message_id": 3,
        "date": 1700000000,
        "chat": {"id": 8123456789, "type": "private", "first_name": "王小明", "username": "wang_xm"},
        "from": {
            "id": 8123456789,
            "is_bot": False,
            "first_name": "王小明",
            "last_name": "测试姓",
            "username": "wang_xm",
        },
        "text": "我家小狗走丢了，电话13912345678",
    },
}
IDENTITY = ("8123456789", "王小明", "测试姓", "wang_xm", "我家小狗走丢了", "13912345678")


def _ptb_repr() -> str:
    from telegram import Update

    return repr(Update.de_json(UPDATE, None))


QUOTED_PAYLOADS = {
    "dict repr": lambda: repr(UPDATE),
    "json": lambda: json.dumps(UPDATE, ensure_ascii=False),
    "json ascii": lambda: json.dumps(UPDATE),
    "cut-off json": lambda: json.dumps(UPDATE, ensure_ascii=False)[:-40],
    "ptb objects": _ptb_repr,
}


@pytest.mark.parametrize("payload", QUOTED_PAYLOADS.values(), ids=QUOTED_PAYLOADS.keys())
def test_payloads_quoted_in_library_errors_lose_their_identity_fields(logs, payload):
    # How PTB reports an update it cannot parse: CRITICAL, with the whole received data.
    stream = logs("json", "WARNING")
    logging.getLogger("telegram.ext.Updater").critical("Error while parsing updates! Received data was %r", payload())
    output = stream.getvalue()
    assert "Received data was" in output
    decoded = json.loads(output)["message"].encode().decode("unicode_escape", "ignore")  # \\uXXXX too
    for value in IDENTITY:
        assert value not in output and value not in decoded, value
    assert "<hidden>" in output


OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
WECHAT = {
    "xml": f"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
    "</FromUserName><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[我家小狗走丢了]]></Content></xml>",
    "callback url": f"POST /wechat?signature=abc&timestamp=1&nonce=2&openid={OPENID}&encrypt_type=aes",
    "json": json.dumps({"touser": "x", "openid": OPENID, "session_id": "web-5f1e2d3c4b5a", "text": "我家小狗走丢了"}),
}


@pytest.mark.parametrize("payload", WECHAT.values(), ids=WECHAT.keys())
def test_wechat_openids_web_sessions_and_texts_are_hidden(logs, payload):
    stream = logs()
    logging.getLogger("uvicorn.error").warning("bad request: %s", payload)
    output = stream.getvalue()
    assert "bad request" in output and "<hidden>" in output
    for value in (OPENID, "web-5f1e2d3c4b5a", "我家小狗走丢了", r"\u6211"):
        assert value not in output, value


def test_entry_ids_and_counts_are_not_taken_for_identities(logs):
    stream = logs()
    logging.getLogger("servicebot.staff").info("entry id=dibao-apply, chat_id missing, 3 problems, text = mask(q)")
    assert stream.getvalue().rstrip().endswith("entry id=dibao-apply, chat_id missing, 3 problems, text = mask(q)")


ODD_TOKENS = ["42:Zz", "7:x", "abc:DEF-ghi", "123456789:AAH-abcdefghijklmnopqrstuvwxyz012345", "99:k" + "é" * 3]


@pytest.mark.parametrize("token", ODD_TOKENS)
def test_the_configured_token_is_redacted_literally_whatever_its_shape(logs, token):
    stream = logs("text", "DEBUG", token=token)
    key = token.partition(":")[2]
    log = logging.getLogger("servicebot.channels.tg")
    log.error("POST http://127.0.0.1:8081/bot%s/getMe failed", token)
    log.error("quoted: /bot%s/getMe", quote(token, safe=""))
    log.warning("token=%s key=%s", token, key)
    output = stream.getvalue()
    assert token not in output and quote(token, safe="") not in output and f"key={key}\n" not in output
    assert output.count("<token>") == 4


def test_webhook_and_pseudonym_secrets_are_redacted_and_short_ones_only_where_they_stand_alone(logs):
    stream = logs("text", "INFO", secrets=("s3cret-token_A", "ab1", "f" * 64))
    log = logging.getLogger("servicebot")
    log.warning("header X-Telegram-Bot-Api-Secret-Token: s3cret-token_A")
    log.warning("hook https://example.org/hook/s3cret-token_A?x=1 key %s", "f" * 64)
    log.warning("short secret ab1 alone, but not inside tab1e or ab12")
    output = stream.getvalue()
    assert "s3cret-token_A" not in output and "f" * 64 not in output and " ab1 " not in output
    assert output.count("<secret>") == 4 and "tab1e or ab12" in output


def test_a_generated_pseudonym_key_is_never_logged(logs, tmp_path):
    stream = logs()
    key = load_or_create_secret("", tmp_path / "data")
    assert key == load_or_create_secret("", tmp_path / "data")  # kept, not generated again
    logging.getLogger("servicebot").warning("oops %s", key)
    assert key not in stream.getvalue() and "<secret>" in stream.getvalue()


# --- the real bot at DEBUG ----------------------------------------------------------------------


class Person(TypedDict):
    """Who writes to the bot (`FakeBotApi.user_message` keywords)."""

    user_id: int
    first_name: str
    last_name: str
    username: str


RESIDENT: Person = {"user_id": 8123456789, "first_name": "王小明", "last_name": "测试姓", "username": "wang_xm_1990"}
QUESTIONS = (
    "我家住凤凰小区，电话１３９１２３４５６７８，低保怎么申请",
    "我家小狗走丢了能帮忙找吗 一三九一二三四五六七八",
)
WEBHOOK_SECRET = "hook-secret_9f8e7d"
PSEUDONYM_SECRET = "pseudonym-secret-4c5d6e"


def _buttons(call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def _converse(settings) -> None:
    """A resident starts the bot, asks two questions and taps a button; the bot answers all."""
    async with FakeBotApi() as api:
        settings = dataclasses.replace(settings, base_url=api.base_url)
        core = Core(settings, Service.from_settings(settings, secret=settings.pseudonym_secret))
        stop = asyncio.Event()
        task = asyncio.create_task(serve(core, build_channels(core), stop))
        try:
            await (api.wait_for("setWebhook") if settings.webhook_mode else api.wait_polling())
            user = RESIDENT["user_id"]
            api.command("start", **RESIDENT)
            menu = await api.wait_for_reply(user)
            for question in QUESTIONS:
                api.user_message(question, **RESIDENT)
                await api.wait_for_reply(user)
            data = _buttons(menu)[0]["callback_data"]
            query = api.callback_query(
                data, chat_id=user, user_id=user, first_name=RESIDENT["first_name"], username=RESIDENT["username"]
            )
            await api.wait_for(
                lambda c: (
                    c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query["callback_query"]["id"]
                )
            )
            api.assert_clean()
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


def _bot_settings(make_settings, mini_faq, token: str, mode: str):
    values = {"token": token, "pseudonym_secret": PSEUDONYM_SECRET, "reload_interval": 0, "log_level": "DEBUG"}
    if mode == "webhook":
        port = free_port()
        values |= {
            "webhook_url": f"http://127.0.0.1:{port}/hook/{token}",  # some put the token in the path
            "web_listen": "127.0.0.1",
            "web_port": port,
            "webhook_secret": WEBHOOK_SECRET,
        }
    return make_settings(mini_faq, **values)


def _what_must_not_appear(token: str) -> list[str]:
    return [
        str(RESIDENT["user_id"]),
        RESIDENT["first_name"],
        RESIDENT["last_name"],
        RESIDENT["username"],
        *QUESTIONS,
        "小狗走丢",
        "13912345678",
        "１３９１２３４５６７８",
        "一三九一二三四五六七八",
        token,
        quote(token, safe=""),
        WEBHOOK_SECRET,
        PSEUDONYM_SECRET,
    ]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["polling", "webhook"])
@pytest.mark.parametrize("token", ["42:Zz", "12345678:AAH-short_but-odd"])
async def test_the_real_bot_at_debug_logs_no_identity_question_or_secret(logs, make_settings, mini_faq, token, mode):
    settings = _bot_settings(make_settings, mini_faq, token, mode)
    stream = logs("text", "DEBUG", token=token, secrets=(WEBHOOK_SECRET, PSEUDONYM_SECRET))
    seen: list[logging.LogRecord] = []
    handler = logging.getLogger().handlers[0]
    handler.filters.insert(0, _Recorder(seen))  # every record that reaches the handler

    await _converse(settings)

    output = stream.getvalue()
    assert (
        "Application started" in output and "answering on: telegram" in output
    )  # the capture works, INFO gets through
    assert {r.name.partition(".")[0] for r in seen} >= {"telegram", "servicebot"}  # records from both reached it
    for value in _what_must_not_appear(token):
        assert value not in output, value


@pytest.mark.slow
async def test_without_the_protection_the_same_conversation_leaks_what_the_test_looks_for(
    make_settings, mini_faq, logs
):
    """The control: plain logging at DEBUG shows what python-telegram-bot would write, so the
    test above is looking for the right things."""
    logs()  # only for the restore on teardown
    token = "42:Zz"
    settings = _bot_settings(make_settings, mini_faq, token, "polling")
    stream = io.StringIO()
    root = logging.getLogger()
    root.handlers[:] = [logging.StreamHandler(stream)]
    root.setLevel(logging.DEBUG)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET)

    await _converse(settings)

    output = stream.getvalue()
    for value in (str(RESIDENT["user_id"]), RESIDENT["username"], RESIDENT["first_name"], token, QUESTIONS[1]):
        assert value in output, value


class _Recorder(logging.Filter):
    def __init__(self, seen: list[logging.LogRecord]):
        super().__init__()
        self.seen = seen

    def filter(self, record: logging.LogRecord) -> bool:
        self.seen.append(record)
        return True
