"""Log output: readable text or one JSON object per line, and never a token, phone number or
ID-card number, however it reaches the log (message, arguments, traceback, library logger)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest

from servicebot import cli
from servicebot.logs import setup_logging

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
@pytest.mark.parametrize("logger_name", ["servicebot.bot", "telegram.ext.Application"])
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
