"""A fortnight of residents' questions for the review tests, written through the real service
into a real interaction log, at the times they were asked.

The wordings are written for these tests (the real questions in tests/data/real are a
held-out yardstick): each subject is asked by several residents in different words, the way
residents ask — with and without question words, about different aspects of the subject,
with a story around it. `WEEK` is the period the review covers (the last 7 days), `BEFORE`
the week before it (for the trend). Each question is (text, resident, days ago).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from servicebot.answering.service import Service
from servicebot.records import Channel, Interaction, Status, TicketId
from servicebot.storage import InteractionLog
from servicebot.storage.ticket_store import TicketStore
from servicebot.storage.tickets import BotSaid

# The subjects residents asked about this week, each in several wordings.
HOUSING_FUND = [  # 公积金: 5 residents
    ("公积金怎么取出来", "r1", 1.2),
    ("辞职了公积金怎么办", "r2", 2.5),
    ("单位不给交公积金找谁", "r3", 3.1),
    ("住房公积金贷款要什么条件", "r4", 4.0),
    ("离职以后公积金能全部提出来吗", "r5", 5.3),
    ("公积金怎么取出来？", "r1", 0.4),  # the same resident again, with a question mark
]
MEDICAL_INSURANCE = [  # 医保: 4 residents
    ("医保卡丢了怎么补办", "r6", 1.0),
    ("今年医保交多少钱", "r7", 2.2),
    ("小孩的医保在哪交", "r8", 3.6),
    ("在外地住院医保能报销吗", "r2", 6.0),
]
DIBAO = [  # 低保: 5 residents; the first is answered, and the resident still asks for a person. The
    # others ask what the 低保 entry does not cover, beside another matter: the bot offers choices.
    ("低保审批要多长时间", "r9", 0.8),
    ("低保户孩子上大学有补助吗", "r10", 2.9),
    ("低保户的孩子能考公务员吗", "r11", 4.4),
    ("低保户孩子读职高免学费吗", "r15", 3.3),
    ("低保户孩子考研有补助吗", "r16", 5.5),
]
WATER_CUT = [  # 停水: 2 residents
    ("小区停水了什么时候来水", "r12", 1.5),
    ("怎么又停水了", "r13", 1.6),
]
WEEK_SUBJECTS = {"公积金": HOUSING_FUND, "医保": MEDICAL_INSURANCE, "低保": DIBAO, "停水": WATER_CUT}
# The week before: 公积金 came up once, 医保 and 低保 more often than now, 停水 not at all.
BEFORE = [
    ("公积金能取吗", "r20", 9.0),
    ("医保怎么交", "r21", 8.5),
    ("医保卡在哪里办", "r22", 10.0),
    ("医保可以在网上交吗", "r23", 11.0),
    ("医保报销比例是多少", "r24", 12.0),
    ("医保断交了有影响吗", "r25", 13.0),
    ("低保户孩子上高中有补助吗", "r26", 8.2),
    ("低保户的孩子能当兵吗", "r27", 9.5),
    ("低保户的孩子能考军校吗", "r28", 12.5),
    ("低保户孩子上中专有补助吗", "r29", 13.5),
]
HANDED_OFF = ("辞职了公积金怎么办", "单位不给交公积金找谁", "低保审批要多长时间")  # then 转人工
STAFF_REPLY = "公积金由市住房公积金管理中心办理，可以带身份证到滁州市政务服务中心的公积金窗口咨询。"
REFERRED = ("公积金封存了怎么办", "r14", 0.6)  # logged as Status.REFERRAL


class AtTime:
    """An interaction sink that records into the real log as if the question came `days_ago`."""

    def __init__(self, log: InteractionLog, now: dt.datetime):
        self.log, self.now, self.days_ago = log, now, 0.0

    def record(self, interaction: Interaction) -> None:
        self.log.record(dataclasses.replace(interaction, at=self.now - dt.timedelta(days=self.days_ago)))

    def feedback(self, ref: str, positive: bool) -> None:
        self.log.feedback(ref, positive)


def ask_all(service: Service, sink: AtTime, questions: Iterable[tuple[str, str, float]]) -> dict[str, list]:
    """Each question through `service.answer`, logged at its time: text → its outcomes."""
    asked: dict[str, list] = {}
    for text, resident, days_ago in questions:
        sink.days_ago = days_ago
        asked.setdefault(text, []).append(service.answer(text, channel=Channel.TELEGRAM, resident=resident))
    return asked


def hand_off(store: TicketStore, service: Service, outcome, question: str, resident: str, at: dt.datetime) -> TicketId:
    """The resident pressed 转人工 under `outcome`: a ticket naming the question."""
    ticket = store.open_ticket(
        channel=Channel.TELEGRAM,
        resident=service.resident_key(resident) or "",
        address="4242",
        ref=outcome.ref,
        question=question,
        bot_said=BotSaid(outcome.status),
        at=at,
    )
    return ticket.id


def referral(service: Service, log: InteractionLog, now: dt.datetime) -> Interaction:
    """An interaction as the service logs a referral (Status.REFERRAL)."""
    text, resident, days_ago = REFERRED
    interaction = Interaction(
        "refe" + "0" * 8,
        now - dt.timedelta(days=days_ago),
        Channel.TELEGRAM,
        "private",
        service.resident_key(resident),
        text,
        text,
        Status.REFERRAL,
        None,
        0.0,
    )
    log.record(interaction)
    return interaction


def outcomes_reach_review(asked: dict[str, list], handed: Iterable[str] = ()) -> bool:
    """Every question the tests count on reached the review: not answered outright (or handed off)."""
    return all(o.status != Status.ANSWERED or text in handed for text, outs in asked.items() for o in outs)
