"""The channel-neutral conversation, driven directly: what each kind of input gets back, the
`via` bookkeeping, flood control, the numbered-choice memory (terminal, WeChat), text
cleaning at the edge, and the delivery registry for late messages."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, strategies as st

from servicebot.answering import replies
from servicebot.answering.replies import Button, Reply
from servicebot.answering.service import Service
from servicebot.conversation.buttons import encode_button
from servicebot.conversation.chat import Conversation, clean_text
from servicebot.conversation.delivery import Delivery
from servicebot.conversation.events import Ask, Command, NonText, Pick, Press, Refusal, Resident, Said, Text
from servicebot.conversation.memory import ChoiceMemory, choice_hint
from servicebot.conversation.throttle import FloodGate
from servicebot.logs import LogThrottle
from servicebot.records import ButtonKind, Channel, Status, Via

from support.fakes import Clock, Recorded, converse

pytestmark = pytest.mark.anyio

WEB = Resident(Channel.WEB, "a" * 32)
OTHER = Resident(Channel.WEB, "b" * 32)


@pytest.fixture
def log():
    return Recorded()


@pytest.fixture
def service(make_settings, mini_faq, log):
    return Service.from_settings(make_settings(mini_faq), sink=log, secret="k")


def shown(said: Said) -> Reply:
    """The message `said` shows (the test expects one)."""
    assert said.reply is not None, said
    return said.reply


def data_of(said: Said, label_part: str) -> str | None:
    button = next(b for b in shown(said).buttons if label_part in b.label)
    return said.button_data(button)


# --- inputs -------------------------------------------------------------------------------------


def test_commands_typed_or_named_give_the_same_reply(service):
    conversation = Conversation(service)
    for command in Command:
        assert converse(conversation, WEB, Ask(command)) == converse(conversation, WEB, Text(f"/{command}"))
    assert shown(converse(conversation, WEB, Text("/nosuch"))).body == replies.HELP_TEXT
    assert "180 天" in shown(converse(conversation, WEB, Ask(Command.PRIVACY))).body
    assert converse(conversation, WEB, Text("   ")) == conversation.greeting()
    assert shown(converse(conversation, WEB, NonText())).body == replies.NON_TEXT_TEXT


def test_a_question_is_answered_and_logged_with_the_channel(service, log):
    said = converse(Conversation(service), Resident(Channel.TELEGRAM, 42, chat=-100, chat_type="group"), Text("低保"))
    assert said.status == Status.ANSWERED and said.via == Via.RELATED and said.ref
    [row] = log.interactions
    assert (row.channel, row.chat_type, row.ref) == (Channel.TELEGRAM, "group", said.ref)
    assert row.resident == service.resident_key(42)  # Telegram keys stay as they were in the log


def test_a_spoken_question_is_answered_as_if_typed_and_logged_as_voice(service, log):
    conversation = Conversation(service)
    typed = converse(conversation, WEB, Text("低保怎么申请"))
    spoken = converse(conversation, OTHER, Text("低保怎么申请", via=Via.VOICE))
    assert (spoken.reply, spoken.status, spoken.via) == (typed.reply, typed.status, typed.via)
    assert [(row.via, row.question, row.entry_id) for row in log.interactions] == [
        (Via.QUESTION, "低保怎么申请", "dibao-apply"),
        (Via.VOICE, "低保怎么申请", "dibao-apply"),
    ]


def test_a_long_question_is_cut_with_a_notice(service, log):
    said = converse(Conversation(service), WEB, Text("低保怎么申请" + "啊" * 2000))
    assert said.notice == replies.TOO_LONG_TEXT
    assert len(log.interactions[0].question) == 500


def test_presses_follow_the_via_of_the_reply_they_were_under(service, log):
    conversation = Conversation(service)
    answer = converse(conversation, WEB, Text("低保"))
    related = converse(conversation, WEB, Press(data_of(answer, "为什么我家的低保被取消了")))
    assert related.status == Status.TAP and related.via == Via.RELATED
    offer = converse(conversation, WEB, Text("低保和养老保险"))  # two subjects: the resident picks
    assert offer.via == Via.SUGGESTION
    picked = converse(conversation, WEB, Press(data_of(offer, "低保")))
    none = converse(conversation, WEB, Press(data_of(offer, "都不是")))
    assert none.status == Status.UNANSWERED and "答不上来" in shown(none).body
    menu = converse(conversation, WEB, Press("m"))
    listing = converse(conversation, WEB, Press(data_of(menu, "民生保障")))
    from_topic = converse(conversation, WEB, Press(data_of(listing, "低保怎么申请")))
    rows = log.interactions
    assert [(r.status, r.via, r.origin_ref) for r in rows] == [
        (Status.ANSWERED, Via.QUESTION, None),
        (Status.TAP, Via.RELATED, answer.ref),
        (Status.SUGGEST, Via.QUESTION, None),
        (Status.TAP, Via.SUGGESTION, offer.ref),
        (Status.UNANSWERED, Via.NONE, offer.ref),
        (Status.TAP, Via.TOPIC, None),
    ]
    assert picked.ref == rows[3].ref and from_topic.ref == rows[5].ref


def test_feedback_is_acknowledged_without_a_new_message(service, log):
    conversation = Conversation(service)
    answer = converse(conversation, WEB, Text("低保"))
    said = converse(conversation, WEB, Press(data_of(answer, "👎")))
    assert (said.reply, said.ack) == (None, replies.FEEDBACK_THANKS["-"])
    assert log.feedback_given == [(answer.ref, False)]


@pytest.mark.parametrize("data", [None, "", "garbage", "t:AAAAAAAAAA", "e:s:AAAAAAAAAA:ab", "f:+:", "x" * 100])
def test_stale_or_forged_presses_are_refused_politely(service, data):
    said = converse(Conversation(service), WEB, Press(data))
    assert (said.reply, said.ack, said.refused) == (None, replies.STALE_BUTTON_TEXT, Refusal.STALE)


def test_a_pick_is_answered_as_a_topic_menu_tap_without_button_data(service, log):
    conversation = Conversation(service)
    said = converse(conversation, WEB, Pick(ButtonKind.ENTRY, "dibao-apply"))
    assert said.status == Status.TAP and shown(said).title == "低保怎么申请？"
    assert (log.interactions[-1].via, log.interactions[-1].origin_ref) == (Via.TOPIC, None)
    assert shown(converse(conversation, WEB, Pick(ButtonKind.TOPIC, "民生保障"))).body.startswith("「民生保障」")


@pytest.mark.parametrize("pick", [Pick(ButtonKind.ENTRY, "gone"), Pick(ButtonKind.TOPIC, "没有这个主题")])
def test_a_pick_of_something_gone_is_stale_like_an_old_button(service, pick):
    assert converse(Conversation(service), WEB, pick).refused == Refusal.STALE


def test_a_pick_names_an_entry_or_a_topic_only():
    with pytest.raises(ValueError):
        Pick(ButtonKind.FEEDBACK, "+")


def test_what_is_said_carries_each_buttons_data():
    reply = Reply(
        "答",
        rows=(
            (Button("🔗 网站", ButtonKind.URL, "https://example.org"),),
            (Button("❓ 低保怎么申请", ButtonKind.ENTRY, "dibao-apply"),),
            (Button("👍", ButtonKind.FEEDBACK, "+"),),
        ),
    )
    link, entry, vote = reply.buttons
    said = Said(reply, ref="ab12", via=Via.RELATED)
    assert said.button_data(link) is None
    assert said.button_data(entry) == encode_button(entry, "ab12", Via.RELATED)
    assert said.button_data(vote) == "f:+:ab12"
    assert Said(reply).button_data(vote) is None  # nothing recorded to rate


def test_handle_is_the_one_way_in():
    """No second entry point that could answer without the hand-off (or flood control)."""
    public = {name for name in vars(Conversation) if not name.startswith("_")}
    assert public == {"handle", "key", "greeting"}


# --- flood control ------------------------------------------------------------------------------


def test_flood_gate_warns_once_then_drops_per_resident(service):
    conversation = Conversation(service, gate=FloodGate(2, 60, Clock()))
    refusals = [converse(conversation, WEB, Text("低保")).refused for _ in range(4)]
    assert refusals == [None, None, Refusal.SLOW_DOWN, Refusal.DROPPED]
    assert converse(conversation, WEB, Text("低保")).ack == ""
    assert converse(conversation, OTHER, Text("低保")).refused is None
    # The same raw id on another channel is another resident.
    assert converse(conversation, Resident(Channel.TELEGRAM, WEB.id), Text("低保")).refused is None


# --- numbered choices ---------------------------------------------------------------------------


def test_numbers_pick_choices_and_plus_rates_the_last_answer(service, log):
    conversation = Conversation(service, memory=ChoiceMemory())
    converse(conversation, WEB, Text("低保"))
    assert converse(conversation, WEB, Text("+")).ack == replies.FEEDBACK_THANKS["+"]
    follow = converse(conversation, WEB, Text("1"))  # the choices survived the rating
    assert shown(follow).title == "为什么我家的低保被取消了？"
    converse(conversation, WEB, Ask(Command.TOPICS))
    assert converse(conversation, WEB, Text("9")).ack == choice_hint(2)
    listing = converse(conversation, WEB, Text("2"))  # still the same choices
    assert shown(listing).body.startswith("「民生保障」")
    converse(conversation, WEB, Text("1"))
    assert [r.via for r in log.interactions if r.status == Status.TAP] == [Via.RELATED, Via.TOPIC]
    assert log.feedback_given == [(log.interactions[0].ref, True)]


def test_without_choices_on_screen_a_number_is_a_question(service, log):
    conversation = Conversation(service, memory=ChoiceMemory())
    converse(conversation, WEB, Ask(Command.HELP))
    converse(conversation, WEB, Text("12"))
    assert [r.question for r in log.interactions] == ["12"]


def test_memory_forgets_after_its_ttl_and_keeps_residents_apart(service):
    clock = Clock()
    memory = ChoiceMemory(ttl=600, size=2, clock=clock)
    conversation = Conversation(service, memory=memory)
    converse(conversation, WEB, Ask(Command.TOPICS))
    converse(conversation, OTHER, Text("低保"))
    assert shown(converse(conversation, WEB, Text("2"))).body.startswith("「民生保障」")
    assert shown(converse(conversation, OTHER, Text("1"))).title == "为什么我家的低保被取消了？"
    clock.now += 601
    assert converse(conversation, WEB, Text("2")).status is not None  # asked as a question
    for n in range(5):
        converse(conversation, Resident(Channel.WECHAT, f"openid-{n}"), Ask(Command.TOPICS))
    assert len(memory) == 2


# --- the edge -----------------------------------------------------------------------------------


@given(st.text())
def test_clean_text_leaves_nothing_the_core_cannot_encode(text):
    cleaned = clean_text(text)
    cleaned.encode("utf-8")  # no lone surrogates
    assert not any(ord(c) < 32 and c not in "\n\t" for c in cleaned)


def test_clean_text_keeps_ordinary_text():
    assert clean_text("低保\r\n怎么申请？😀") == "低保\n怎么申请？😀"
    assert clean_text("\ud800低保\x00") == "\ufffd低保 "


DIRECTION_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
FORMAT_CONTROLS = DIRECTION_CONTROLS + "\u00ad\u180e\u2060\u2061\u2062\u2063\u2064\u206a\u206f\ufff9\ufffb"


@given(st.text(alphabet=st.one_of(st.characters(), st.sampled_from(FORMAT_CONTROLS))))
def test_clean_text_removes_every_direction_and_format_control(text):
    assert not set(clean_text(text)) & set(FORMAT_CONTROLS)


def test_a_right_to_left_override_is_removed_and_the_text_kept_in_order():
    assert clean_text("低保\u202e怎么申请\u202c？") == "低保怎么申请？"
    assert clean_text("电话\u2066139\u20691234\u200f5678") == "电话13912345678"
    family = "👨\u200d👩\u200d👧"  # a zero-width joiner holds an emoji sequence together: kept
    assert clean_text(family) == family


def test_a_question_with_a_direction_control_is_stored_without_it(make_settings, mini_faq):
    recorded = Recorded()
    service = Service.from_settings(make_settings(mini_faq), recorded, secret="s")
    said = converse(Conversation(service), WEB, Text("\u202e低保怎么申请\u2066"))
    assert said.status == Status.ANSWERED
    [interaction] = recorded.interactions
    assert interaction.question == "低保怎么申请"


# --- late messages ------------------------------------------------------------------------------


class Inbox:
    def __init__(self):
        self.got = []

    async def deliver(self, resident, said):
        self.got.append((resident, said))
        return True


async def test_delivery_routes_by_channel_and_says_when_it_cannot(caplog):
    delivery = Delivery()
    inbox = Inbox()
    delivery.register(Channel.WEB, inbox)
    said = Said(Reply("工作人员回复：好的。"))
    assert await delivery.deliver(WEB, said)
    assert inbox.got == [(WEB, said)]
    with caplog.at_level(logging.WARNING):
        assert not (await delivery.deliver(Resident(Channel.WECHAT, "o1"), said))
    assert "wechat" in caplog.text and "o1" not in caplog.text


# --- log throttle -------------------------------------------------------------------------------


def test_log_throttle_logs_once_per_interval_and_counts_the_rest(caplog):
    clock = Clock()
    throttle = LogThrottle(logging.getLogger("servicebot.test"), interval=60, clock=clock)
    with caplog.at_level(logging.WARNING):
        assert [throttle.warning("bad", "refused %s", "x") for _ in range(5)] == [True, False, False, False, False]
        assert throttle.warning("other", "refused other")
        clock.now += 61
        assert throttle.warning("bad", "refused %s", "y")
    assert [r.getMessage() for r in caplog.records] == [
        "refused x",
        "refused other",
        "refused y (4 more like this in the last 60 s not logged)",
    ]


def test_button_data_is_short_whatever_the_entry(service):
    for entry in service.snapshot.faq.entries:
        for via in (Via.SUGGESTION, Via.RELATED, Via.TOPIC):
            assert len(encode_button(Button("x", ButtonKind.ENTRY, entry.id), "0" * 12, via).encode()) <= 27
