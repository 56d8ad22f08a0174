"""Reading the interaction log: the queries behind `servicebot review` and `servicebot stats`.

A reader never creates the database and never writes to it (beyond running the numbered
migrations an older file lacks); every query opens its own connection, so it can run next to
a live bot whose writer holds the file.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from servicebot.errors import StorageError
from servicebot.migrations import migrate
from servicebot.records import Status, Via
from servicebot.storage.db import connect, from_utc_text, utc_text


@dataclass(frozen=True)
class QuestionRow:
    """A typed question as the review sees it."""

    ref: str
    at: dt.datetime
    resident: str | None
    question: str
    status: str
    handed_off: bool = False  # the resident handed it to staff (转人工): a ticket names it


# The outcome a resident sent elsewhere gets (branch `referrals` adds it to `Status` as
# Status.REFERRAL): the review counts it as soon as the log holds it.
REFERRAL = "referral"
REVIEWED = (Status.UNANSWERED, Status.SUGGEST, REFERRAL)  # the outcomes the review lists


@dataclass(frozen=True)
class RatedRow:
    """One 👍/👎 with the answer it rates and the question that led to that answer."""

    entry_id: str | None
    positive: bool
    question: str  # what the resident typed, or the entry's question when they tapped it
    via: str
    at: dt.datetime


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


# What the stats count in the interactions table, for a day (`daily`) or a period (`totals`):
# typed questions (small talk such as 你好 and 谢谢 is not one), each outcome, button taps.
_OUTCOMES = ", ".join(
    ["count(*) FILTER (WHERE via = ? AND status != ?)"]
    + ["count(*) FILTER (WHERE via = ? AND status = ?)"] * 3
    + ["count(*) FILTER (WHERE status = ?)"]
)
_OUTCOME_ARGS = (
    *(Via.QUESTION, Status.SMALL_TALK),
    *(Via.QUESTION, Status.ANSWERED),
    *(Via.QUESTION, Status.SUGGEST),
    *(Via.QUESTION, Status.UNANSWERED),
    Status.TAP,
)


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
        statuses: tuple[str, ...] = REVIEWED,
    ) -> list[QuestionRow]:
        """Typed, non-empty questions with one of `statuses`, or handed to staff, oldest first."""
        marks = ",".join("?" * len(statuses))
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT i.ref, i.at, i.resident, i.question, i.status,"
                " EXISTS (SELECT 1 FROM tickets t WHERE t.ref = i.ref) AS handed FROM interactions i"
                f" WHERE i.at >= ? AND i.at < ? AND i.via = ? AND i.question != ''"
                f" AND (i.status IN ({marks}) OR handed) ORDER BY i.at",
                (*_range(since, until), Via.QUESTION, *statuses),
            ).fetchall()
        return [
            QuestionRow(ref, from_utc_text(at), resident, question, status, bool(handed))
            for ref, at, resident, question, status, handed in rows
        ]

    def followups(self, since: dt.datetime, until: dt.datetime | None = None) -> list[tuple[str, str, str | None]]:
        """(origin_ref, via, entry_id) for each suggestion tapped or "none of these" pressed."""
        with self._reading() as conn:
            return conn.execute(
                "SELECT origin_ref, via, entry_id FROM interactions WHERE at >= ? AND at < ?"
                " AND origin_ref IS NOT NULL AND via IN (?, ?)",
                (*_range(since, until), Via.SUGGESTION, Via.NONE),
            ).fetchall()

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
                entry_id, bool(positive), origin if via != Via.QUESTION and origin else question, via, from_utc_text(at)
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
        days: dict[str, list[int]] = {day: [*counts, 0, 0] for day, *counts in asked}
        for day, up, down in votes:
            days.setdefault(day, [0] * 7)[5:7] = [up, down]
        return [DayCounts(dt.date.fromisoformat(day), *counts) for day, counts in sorted(days.items())]

    def totals(self, since: dt.datetime, until: dt.datetime | None = None) -> dict[str, int]:
        """Questions by outcome, taps, rejections and distinct residents over the period."""
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_OUTCOMES}, count(*) FILTER (WHERE via = ?), count(DISTINCT resident)"
                " FROM interactions WHERE at >= ? AND at < ?",
                (*_OUTCOME_ARGS, Via.NONE, *_range(since, until)),
            ).fetchone()
        keys = ("questions", "answered", "suggest", "unanswered", "taps", "none_of_these", "residents")
        return dict(zip(keys, row))

    def entry_counts(
        self, since: dt.datetime, until: dt.datetime | None = None, limit: int = 10
    ) -> list[tuple[str, int, int]]:
        """(entry_id, answered typed questions, button taps), most used first."""
        with self._reading() as conn:
            return conn.execute(
                "SELECT entry_id, sum(status = ?), sum(status = ?) FROM interactions"
                " WHERE at >= ? AND at < ? AND entry_id IS NOT NULL GROUP BY entry_id"
                " ORDER BY count(*) DESC, entry_id LIMIT ?",
                (Status.ANSWERED, Status.TAP, *_range(since, until), limit),
            ).fetchall()
