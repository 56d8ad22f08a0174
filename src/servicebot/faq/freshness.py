"""When an entry is due for re-checking: its `reviewed` date is more than `stale_days` old.

One rule, two readers: the validation warns about each stale entry (and about a review
date in the future, which would never come due), and `servicebot faq stale` lists them by
topic for the staff who re-check them. "Today" is the office's day, in China time, whatever
the machine's clock says (a container runs on UTC: from 00:00 to 08:00 China time its date
is yesterday's, and a date staff wrote this morning would be "in the future"); the review's
drafts are dated with the same `office_today`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from servicebot.errors import Problem, Severity
from servicebot.faq import messages
from servicebot.faq.model import Entry, Faq
from servicebot.hours import CHINA


def office_today(now: dt.datetime | None = None) -> dt.date:
    """The date in China time, the calendar staff write `reviewed` dates in."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(CHINA).date()


def age_days(entry: Entry, today: dt.date) -> int:
    """Days since the entry was last reviewed (negative when the date is in the future)."""
    return (today - entry.reviewed).days


def stale_warnings(entries: Iterable[Entry], today: dt.date, stale_days: int) -> list[Problem]:
    problems = []
    for entry in entries:
        age = age_days(entry, today)
        if age < 0:
            problems.append(
                Problem(
                    entry.file,
                    entry.line,
                    messages.REVIEWED_IN_FUTURE.format(id=entry.id, reviewed=entry.reviewed),
                    Severity.WARNING,
                )
            )
        elif age > stale_days:
            problems.append(
                Problem(
                    entry.file,
                    entry.line,
                    messages.STALE.format(id=entry.id, age=age, reviewed=entry.reviewed),
                    Severity.WARNING,
                )
            )
    return problems


def stale_entries(
    faq: Faq, stale_days: int, *, today: dt.date | None = None
) -> list[tuple[str, list[tuple[Entry, int]]]]:
    """Entries not reviewed for more than `stale_days`, by topic (menu order), oldest first."""
    today = today or office_today()
    groups = []
    for topic in faq.topics:
        aged = [(faq.by_id[i], age_days(faq.by_id[i], today)) for i in topic.entry_ids]
        stale = sorted((pair for pair in aged if pair[1] > stale_days), key=lambda p: (-p[1], p[0].id))
        if stale:
            groups.append((topic.name, stale))
    return groups
