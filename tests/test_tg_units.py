"""Unit tests of the bot's pure pieces: message splitting and HTML rendering, callback data,
group addressing, the flood gate, staff texts, error descriptions, and the update processor
and retrying rate limiter (driven with plain coroutines, no network)."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from telegram import Message, Update
from telegram.error import BadRequest, NetworkError, TimedOut

from servicebot.answering.replies import Button, Reply
from servicebot.answering.service import Snapshot, load_snapshot
from servicebot.channels.splitter import group_lines, utf16_len
from servicebot.channels.tg_ingest import ChatOrderedProcessor
from servicebot.channels.tg_net import RetryingRateLimiter, Timings
from servicebot.channels.tg_render import (
    NO_QUESTIONS_TEXT,
    NOT_RELOADED_TEXT,
    RELOADED_TEXT,
    describe_error,
    is_addressed,
    keyboard,
    reload_text,
    render_html,
    split_text,
    stats_text,
    strip_mention,
)
from servicebot.conversation.buttons import MAX_BUTTON_DATA as MAX_CALLBACK_DATA, Tap, decode_button, encode_button
from servicebot.conversation.events import Said
from servicebot.conversation.throttle import ALLOW, DROP, WARN, FloodGate
from servicebot.errors import Problem
from servicebot.records import ButtonKind, Via

from support.fakes import Clock

pytestmark = pytest.mark.anyio

BOT = "fenghuang_test_bot"
BOT_ID = 7000000001
LINES = st.text(alphabet=st.sampled_from("低保申请a b😀\n<&>"), max_size=300)


# --- splitting and rendering -------------------------------------------------------------------


@given(LINES, st.integers(min_value=2, max_value=40))
def test_split_text_respects_the_limit_and_keeps_every_line(text, limit):
    chunks = split_text(text, limit)
    assert all(0 < utf16_len(c) <= limit and c.strip() for c in chunks)
    blank = re.compile(r"\s")
    assert blank.sub("", "".join(chunks)) == blank.sub("", text)  # nothing but blank space dropped


def test_split_text_breaks_at_line_boundaries():
    text = "\n".join(["甲" * 10, "乙" * 10, "丙" * 10])
    assert split_text(text, 21) == ["甲" * 10 + "\n" + "乙" * 10, "丙" * 10]
    assert split_text(text, 4096) == [text]


def test_split_text_cuts_an_overlong_line_without_splitting_an_emoji():
    assert split_text("😀" * 5, 3) == ["😀"] * 5
    assert split_text("a" * 7, 3) == ["aaa", "aaa", "a"]


def test_group_lines_packs_greedily():
    assert group_lines([3, 3, 3], 7) == [range(0, 2), range(2, 3)]
    assert group_lines([], 10) == []


def test_render_html_escapes_and_styles_each_part():
    reply = Reply(body="a < b & c", title="标题 <b>", footer="来源")
    assert render_html(reply) == ["<b>标题 &lt;b&gt;</b>\n\na &lt; b &amp; c\n\n<i>来源</i>"]
    assert render_html(reply, notice="注意")[0].startswith("<i>注意</i>\n\n<b>")


@given(
    st.lists(st.text(alphabet=st.sampled_from("问答<&😀 "), min_size=1, max_size=30), min_size=1, max_size=30),
    st.integers(min_value=40, max_value=120),
)
def test_render_html_parts_fit_and_keep_tags_balanced(body_lines, limit):
    reply = Reply(body="\n".join(body_lines), title="标题" * 5, footer="资料来源")
    parts = render_html(reply, limit=limit)
    for part in parts:
        visible = re.sub(r"</?[bi]>", "", part).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        assert utf16_len(visible) <= limit
        for line in part.split("\n"):
            opened = re.findall(r"<([bi])>", line)
            assert opened == re.findall(r"</([bi])>", line)  # every tag closes on its own line


# --- callback data -----------------------------------------------------------------------------


def decoded(data: str, snapshot: Snapshot) -> Tap:
    """The press `data` stands for in `snapshot` (the test expects a valid one)."""
    tap = decode_button(data, snapshot)
    assert tap is not None, data
    return tap


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    from servicebot.config import load_settings

    faq = tmp_path_factory.mktemp("faq") / "mini"
    shutil.copytree(Path(__file__).parent / "fixtures" / "mini", faq)
    return load_snapshot(load_settings(env={}, overrides={"faq_dir": faq}))


@given(st.text(min_size=1, max_size=300), st.sampled_from(["suggestion", "related", "topic"]))
def test_callback_data_fits_64_bytes_whatever_the_id(value, via):
    for kind in (ButtonKind.ENTRY, ButtonKind.TOPIC, ButtonKind.FEEDBACK, ButtonKind.NONE_OF_THESE, ButtonKind.TOPICS):
        data = encode_button(Button("x", kind, value), "0123456789ab", via)
        assert len(data.encode()) <= MAX_CALLBACK_DATA


def test_every_entry_and_topic_button_decodes_in_the_current_snapshot(snapshot):
    for entry in snapshot.faq.entries:
        for via in (Via.SUGGESTION, Via.RELATED, Via.TOPIC):
            tap = decoded(encode_button(Button("x", ButtonKind.ENTRY, entry.id), "ab12", via), snapshot)
            assert (tap.kind, tap.value, tap.ref, tap.via) == (ButtonKind.ENTRY, entry.id, "ab12", via)
    for topic in snapshot.faq.topics:
        assert (
            decoded(encode_button(Button("x", ButtonKind.TOPIC, topic.name), "", Via.TOPIC), snapshot).value
            == topic.name
        )
    assert decoded("f:-:ab12", snapshot).value == "-"
    assert decoded("n:", snapshot).ref is None
    assert decoded("m", snapshot).kind == ButtonKind.TOPICS


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "m:",
        "x",
        "e:s:AAAAAAAAAA:ab",
        "e:q:{h}:ab",
        "e:s:{h}:NOTHEX",
        "e:s:{h}",
        "t:{h}:extra",
        "f:+:",
        "f:?:ab",
        "n:xyz",
        "e:s:{h}:" + "a" * 60,
        "\x00\xff",
        "t:" + "好" * 30,
    ],
)
def test_forged_or_malformed_callback_data_decodes_to_none(snapshot, data):
    entry_hash = encode_button(Button("x", ButtonKind.ENTRY, snapshot.faq.entries[0].id), "", Via.TOPIC).split(":")[2]
    assert decode_button(data.replace("{h}", entry_hash) if data else data, snapshot) is None


@given(st.text(max_size=80))
@hsettings(max_examples=300)
def test_decoding_arbitrary_text_never_raises(snapshot, data):
    decode_button(data, snapshot)


def test_buttons_of_a_removed_topic_are_stale_after_reload(snapshot, tmp_path):
    from servicebot.config import load_settings

    faq = tmp_path / "faq"
    shutil.copytree(Path(__file__).parent / "fixtures" / "mini", faq)
    (faq / "books.yaml").unlink()
    newer = load_snapshot(load_settings(env={}, overrides={"faq_dir": faq}))
    gone = next(t for t in snapshot.faq.topics if t.name == "共享书屋")
    data = encode_button(Button("x", ButtonKind.TOPIC, gone.name), "", Via.TOPIC)
    assert decode_button(data, snapshot) is not None
    assert decode_button(data, newer) is None


def test_keyboard_renders_urls_and_hides_feedback_without_a_reference():
    reply = Reply(
        "答",
        rows=(
            (Button("🔗 网站", ButtonKind.URL, "https://example.org"),),
            (Button("👍", ButtonKind.FEEDBACK, "+"), Button("👎", ButtonKind.FEEDBACK, "-")),
        ),
    )
    markup = keyboard(Said(reply, ref="ab12"))
    assert markup is not None
    rows = markup.inline_keyboard
    assert rows[0][0].url == "https://example.org"
    assert [b.callback_data for b in rows[1]] == ["f:+:ab12", "f:-:ab12"]
    without_reference = keyboard(Said(reply))
    assert without_reference is not None and len(without_reference.inline_keyboard) == 1
    assert keyboard(Said(Reply("没有按钮"))) is None


# --- groups ------------------------------------------------------------------------------------


def _message(text: str, chat_type: str = "supergroup", entities=None, reply_to_user: int | None = None) -> Message:
    chat = {"id": -100 if chat_type != "private" else 5, "type": chat_type}
    data = {
        "message_id": 7,
        "date": 0,
        "chat": chat,
        "from": {"id": 5, "is_bot": False, "first_name": "居民"},
        "text": text,
        "entities": entities or [],
    }
    if reply_to_user is not None:
        data["reply_to_message"] = {
            "message_id": 6,
            "date": 0,
            "chat": chat,
            "text": "……",
            "from": {"id": reply_to_user, "is_bot": True, "first_name": "bot"},
        }
    return Message.de_json(data, None)


def _entity(text: str, part: str, kind: str) -> dict:
    start = text.index(part)
    return {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(part)}


@pytest.mark.parametrize(
    "text, kind, part, expected",
    [
        ("低保怎么申请", None, None, False),
        (f"😀 @{BOT} 低保怎么申请", "mention", f"@{BOT}", True),
        (f"@{BOT.upper()} 低保", "mention", f"@{BOT.upper()}", True),
        ("@someone_else 低保", "mention", "@someone_else", False),
        ("/start", "bot_command", "/start", True),
        (f"/help@{BOT}", "bot_command", f"/help@{BOT}", True),
        ("/help@other_bot", "bot_command", "/help@other_bot", False),
    ],
)
def test_group_message_is_addressed_only_by_command_or_mention(text, kind, part, expected):
    entities = [_entity(text, part, kind)] if kind else []
    assert is_addressed(_message(text, entities=entities), BOT, BOT_ID) is expected


def test_replies_to_the_bot_and_private_messages_are_addressed():
    assert is_addressed(_message("那低保呢", reply_to_user=BOT_ID), BOT, BOT_ID)
    assert not is_addressed(_message("那低保呢", reply_to_user=12345), BOT, BOT_ID)
    assert is_addressed(_message("低保", chat_type="private"), BOT, BOT_ID)
    assert not is_addressed(
        _message(f"@{BOT} 低保", chat_type="channel", entities=[_entity(f"@{BOT} 低保", f"@{BOT}", "mention")]),
        BOT,
        BOT_ID,
    )


def test_strip_mention_removes_only_the_bot_handle():
    assert strip_mention(f"@{BOT.upper()}  低保怎么申请 ", BOT) == "低保怎么申请"
    assert strip_mention(f"@{BOT}2 你好", BOT) == f"@{BOT}2 你好"
    assert strip_mention(f"@{BOT}", BOT) == ""


# --- flood gate --------------------------------------------------------------------------------


def test_flooding_resident_is_warned_once_then_ignored_until_the_window_passes():
    clock = Clock()
    gate = FloodGate(3, 10.0, clock)
    assert [gate.check("a") for _ in range(6)] == [ALLOW, ALLOW, ALLOW, WARN, DROP, DROP]
    assert gate.check("b") == ALLOW  # another resident is not affected
    clock.now += 5
    assert gate.check("a") == DROP
    clock.now += 5.001
    assert [gate.check("a") for _ in range(4)] == [ALLOW, ALLOW, ALLOW, WARN]


def test_flood_gate_window_slides():
    clock = Clock()
    gate = FloodGate(2, 10.0, clock)
    assert gate.check("a") == ALLOW
    clock.now += 6
    assert gate.check("a") == ALLOW
    clock.now += 5  # the first message aged out, the second has not
    assert [gate.check("a"), gate.check("a")] == [ALLOW, WARN]


def test_flood_gate_forgets_quiet_residents():
    clock = Clock()
    gate = FloodGate(2, 10.0, clock)
    for n in range(500):
        gate.check(f"resident-{n}")
    assert len(gate) == 500
    clock.now += 25
    gate.check("late")
    assert len(gate) == 1


# --- staff texts and errors ----------------------------------------------------------------------


def test_reload_text_lists_problems_with_file_and_line(snapshot):
    problems = [Problem("welfare.yaml", n, f"问题{n}") for n in range(1, 26)]
    text = reload_text(False, problems, snapshot.faq)
    assert text.startswith(NOT_RELOADED_TEXT.format(count=25))
    assert "welfare.yaml:1: 问题1" in text and "welfare.yaml:20: 问题20" in text
    assert "welfare.yaml:21:" not in text and "还有 5 个" in text
    ok = reload_text(True, [], snapshot.faq)
    assert ok == RELOADED_TEXT.format(files=len(snapshot.faq.files), entries=len(snapshot.faq.entries))


def test_stats_text_reports_answer_rate():
    summary = {"total": 8, "answered": 6, "suggest": 1, "unanswered": 1, "helpful": 2, "unhelpful": 1}
    text = stats_text(summary)
    assert "8 个问题" in text and "75%" in text and "👍 2" in text
    assert stats_text(dict.fromkeys(summary, 0)) == NO_QUESTIONS_TEXT


def test_describe_error_withholds_messages_that_may_quote_residents():
    try:
        phone = "139" + "12345678"
        raise ValueError(f"我的手机号 {phone}")
    except ValueError as exc:
        text = describe_error(exc)
    assert text.startswith("ValueError (message withheld)") and "13912345678" not in text
    assert "test_describe_error" in text  # the stack is kept
    assert describe_error(BadRequest("Message is too long")) == "BadRequest: Message is too long"


# --- update processing and retries ----------------------------------------------------------------


def _update(update_id: int, chat_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {"message_id": update_id, "date": 0, "chat": {"id": chat_id, "type": "private"}, "text": "x"},
        },
        None,
    )


@pytest.mark.deadline(5)
async def test_updates_of_one_chat_run_in_order_while_other_chats_proceed():
    timings = Timings()
    processor = ChatOrderedProcessor(8, timings)
    release, other_chat_done = asyncio.Event(), asyncio.Event()
    order: list[int] = []

    async def work(n: int, wait: bool) -> None:
        if wait:
            await release.wait()
        order.append(n)
        if n == 3:
            other_chat_done.set()

    tasks = [
        asyncio.create_task(processor.process_update(_update(n, chat), work(n, n == 1)))
        for n, chat in ((1, 10), (2, 10), (3, 20), (4, 10))
    ]
    await other_chat_done.wait()  # chat 20 is not held up by chat 10's slow update
    assert order == [3]
    release.set()
    await asyncio.gather(*tasks)
    assert order == [3, 1, 2, 4]
    assert len(timings.total) == 4 and processor._locks == {}


@pytest.mark.deadline(5)
async def test_transport_failures_are_retried_a_bounded_number_of_times():
    limiter = RetryingRateLimiter(delays=(0, 0), overall_max_rate=0, group_max_rate=0)
    calls: list[int] = []

    def failing(errors):
        async def call():
            calls.append(1)
            if errors:
                raise errors.pop(0)
            return {"ok": True}

        return call

    assert await limiter.process_request(
        failing([NetworkError("Bad Gateway"), TimedOut()]), (), {}, "sendMessage", {}, None
    ) == {"ok": True}
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(NetworkError):
        await limiter.process_request(failing([NetworkError("x")] * 3), (), {}, "sendMessage", {}, None)
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(BadRequest):  # Telegram refused the request: retrying cannot help
        await limiter.process_request(failing([BadRequest("can't parse entities")]), (), {}, "sendMessage", {}, None)
    assert len(calls) == 1
