"""Reading the interaction log: the queries behind `servicebot review` and `servicebot stats`.

A reader never creates the database and never writes to it (beyond running the numbered
migrations an older file lacks); every query opens its own connection, so it can run next to
a live bot whose writer holds the file. Rows come back typed: statuses and vias as the enums of
`records`, never the bare strings SQLite holds.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from servicebot.errors import StorageError
from servicebot.records import ASKED, Status, Via
from servicebot.storage.db import connect, from_utc_text, utc_text
from servicebot.storage.migrations import migrate


@dataclass(frozen=True)
class QuestionRow:
    """A typed question as the review sees it."""

    ref: str
    at: dt.datetime
    resident: str | None
    question: str
    status: Status | None  # None: not asked of the bot (a staff answer's question, for the review)
    handed_off: bool = False  # the resident handed it to staff (转人工): a ticket names it


REVIEWED = (Status.UNANSWERED, Status.SUGGEST, Status.REFERRAL)  # the outcomes the review lists


@dataclass(frozen=True)
class RatedRow:
    """One 👍/👎 with the answer it rates and the question that led to that answer."""

    entry_id: str | None
    positive: bool
    question: str  # what the resident typed, or the entry's question when they tapped it
    via: Via
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class EntryCount:
    """How often an entry answered: typed questions, and taps on its button."""

    entry_id: str
    answered: int
    tapped: int


@dataclass(frozen=True, slots=True)
class ItemCount:
    """An item the garbage list lacked: how often it was asked, by how many residents."""

    name: str
    asked: int
    residents: int


@dataclass(frozen=True, slots=True)
class FollowupRow:
    """A suggestion tapped, or "none of these" pressed, after the interaction `origin_ref`."""

    origin_ref: str
    via: Via  # SUGGESTION or NONE
    entry_id: str | None  # the suggestion tapped


@dataclass(frozen=True)
class DayCounts:
    day: dt.date  # China day
    total: int  # typed questions
    answered: int
    suggest: int
    unanswered: int
    taps: int
    helpful: int
    unhelpful: int
    referral: int = 0  # told which other body handles it
    item: int = 0  # an everyday item's bin
    item_unlisted: int = 0  # an item the list lacks


# What the stats count in the interactions table, for a day (`daily`) or a period (`totals`):
# typed questions (small talk such as 你好 and 谢谢 is not one), each outcome, button taps.
_ASKED_IN = f"via IN ({', '.join('?' * len(ASKED))})"
# Referrals and items are counted apart from the FAQ's answers.
_COUNTED = (Status.ANSWERED, Status.SUGGEST, Status.UNANSWERED, Status.REFERRAL, Status.ITEM, Status.ITEM_UNLISTED)
_OUTCOMES = ", ".join(
    [f"count(*) FILTER (WHERE {_ASKED_IN} AND status != ?)"]
    + [f"count(*) FILTER (WHERE {_ASKED_IN} AND status = ?)"] * len(_COUNTED)
    + ["count(*) FILTER (WHERE status = ?)"]
)
_OUTCOME_ARGS = (
    *(*ASKED, Status.SMALL_TALK),
    *(arg for status in _COUNTED for arg in (*ASKED, status)),
    Status.TAP,
)
# The names of those counts, in that order.
_OUTCOME_NAMES = ("total", "answered", "suggest", "unanswered", "referral", "item", "item_unlisted", "taps")


def _range(since: dt.datetime, until: dt.datetime | None) -> tuple[str, str]:
    return utc_text(since), utc_text(until) if until else "9999"


class LogReader:
    """Queries for `review` and `stats`. Opens a connection per query, never creates the file."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        if not self.path.is_file():
            raise StorageError(f"找不到互动记录数据库 {self.path}（请检查 --data-dir 或 SERVICEBOT_DATA_DIR）")
        try:
            conn = connect(self.path, create=False)
        except sqlite3.Error as exc:
            raise StorageError(f"打不开互动记录数据库 {self.path}：{exc}") from exc
        try:
            migrate(conn)
            yield conn
        except sqlite3.Error as exc:
            raise StorageError(f"读取互动记录数据库 {self.path} 失败：{exc}") from exc
        finally:
            conn.close()

    def question_rows(
        self,
        since: dt.datetime,
        until: dt.datetime | None = None,
        statuses: tuple[Status, ...] = REVIEWED,
    ) -> list[QuestionRow]:
        """Asked (typed or spoken), non-empty questions with one of `statuses`, or handed to staff, oldest first."""
        marks = ",".join("?" * len(statuses))
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT i.ref, i.at, i.resident, i.question, i.status,"
                " EXISTS (SELECT 1 FROM tickets t WHERE t.ref = i.ref) AS handed FROM interactions i"
                f" WHERE i.at >= ? AND i.at < ? AND i.via IN ({', '.join('?' * len(ASKED))}) AND i.question != ''"
                f" AND (i.status IN ({marks}) OR handed) ORDER BY i.at",
                (*_range(since, until), *ASKED, *statuses),
            ).fetchall()
        return [
            QuestionRow(ref, from_utc_text(at), resident, question, Status(status), bool(handed))
            for ref, at, resident, question, status, handed in rows
        ]

    def followups(self, since: dt.datetime, until: dt.datetime | None = None) -> list[FollowupRow]:
        """Each suggestion tapped or "none of these" pressed."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT origin_ref, via, entry_id FROM interactions WHERE at >= ? AND at < ?"
                " AND origin_ref IS NOT NULL AND via IN (?, ?)",
                (*_range(since, until), Via.SUGGESTION, Via.NONE),
            ).fetchall()
        return [FollowupRow(origin, Via(via), entry_id) for origin, via, entry_id in rows]

    def rated(self, since: dt.datetime, until: dt.datetime | None = None) -> list[RatedRow]:
        """Every 👍/👎 given in the period, with the question behind the rated answer."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT i.entry_id, f.positive, i.question, i.via, o.question, f.at FROM feedback f"
                " JOIN interactions i ON i.ref = f.ref LEFT JOIN interactions o ON o.ref = i.origin_ref"
                " WHERE f.at >= ? AND f.at < ? ORDER BY f.at",
                _range(since, until),
            ).fetchall()
        return [
            RatedRow(
                entry_id,
                bool(positive),
                origin if via not in ASKED and origin else question,
                Via(via),
                from_utc_text(at),
            )
            for entry_id, positive, question, via, origin, at in rows
        ]

    def daily(self, since: dt.datetime, until: dt.datetime | None = None) -> list[DayCounts]:
        """Counts per China day that has any activity, oldest first."""
        bounds = _range(since, until)
        with self._reading() as conn:
            asked = conn.execute(
                f"SELECT date(at, '+8 hours') AS day, {_OUTCOMES} FROM interactions"
                " WHERE at >= ? AND at < ? GROUP BY day",
                (*_OUTCOME_ARGS, *bounds),
            ).fetchall()
            votes = conn.execute(
                "SELECT date(at, '+8 hours') AS day, sum(positive), sum(NOT positive) FROM feedback"
                " WHERE at >= ? AND at < ? GROUP BY day",
                bounds,
            ).fetchall()
        days: dict[str, dict[str, int]] = {day: dict(zip(_OUTCOME_NAMES, counts)) for day, *counts in asked}
        for day, up, down in votes:
            days.setdefault(day, dict.fromkeys(_OUTCOME_NAMES, 0)).update(helpful=up, unhelpful=down)
        return [
            DayCounts(dt.date.fromisoformat(day), **{"helpful": 0, "unhelpful": 0, **counts})
            for day, counts in sorted(days.items())
        ]

    def totals(self, since: dt.datetime, until: dt.datetime | None = None) -> dict[str, int]:
        """Questions by outcome, taps, rejections and distinct residents over the period."""
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_OUTCOMES}, count(*) FILTER (WHERE via = ?), count(DISTINCT resident)"
                " FROM interactions WHERE at >= ? AND at < ?",
                (*_OUTCOME_ARGS, Via.NONE, *_range(since, until)),
            ).fetchone()
        keys = ("questions", *_OUTCOME_NAMES[1:], "none_of_these", "residents")
        return dict(zip(keys, row))

    def unlisted_items(self, since: dt.datetime, until: dt.datetime | None = None) -> list[ItemCount]:
        """The items the garbage list lacked, most asked first. The item's name is kept in the
        `normalized` column of those interactions."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT normalized, count(*), count(DISTINCT resident) FROM interactions"
                " WHERE at >= ? AND at < ? AND status = ? AND normalized != ''"
                " GROUP BY normalized ORDER BY count(*) DESC, normalized",
                (*_range(since, until), Status.ITEM_UNLISTED),
            ).fetchall()
        return [ItemCount(*row) for row in rows]

    def entry_counts(self, since: dt.datetime, until: dt.datetime | None = None, limit: int = 10) -> list[EntryCount]:
        """The entries that answered most, most used first."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT entry_id, sum(status = ?), sum(status = ?) FROM interactions"
                " WHERE at >= ? AND at < ? AND entry_id IS NOT NULL AND status IN (?, ?) GROUP BY entry_id"
                " ORDER BY count(*) DESC, entry_id LIMIT ?",
                (Status.ANSWERED, Status.TAP, *_range(since, until), Status.ANSWERED, Status.TAP, limit),
            ).fetchall()
        return [EntryCount(*row) for row in rows]
