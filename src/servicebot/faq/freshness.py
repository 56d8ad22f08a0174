"""When an entry is due for re-checking: its `reviewed` date is more than `stale_days` old.

One rule, two readers: the validation warns about each stale entry (and about a review
date in the future, which would never come due), and `servicebot faq stale` lists them by
topic for the staff who re-check them. `faq stale` also lists every fact taken from a page
beyond the office's report (a 低保 standard, a hotline): such facts change, and only staff
visiting the page again can tell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from servicebot.errors import Problem, Severity
from servicebot.faq import messages
from servicebot.faq.model import Entry, Faq, Source


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
    today = today or dt.date.today()
    groups = []
    for topic in faq.topics:
        aged = [(faq.by_id[i], age_days(faq.by_id[i], today)) for i in topic.entry_ids]
        stale = sorted((pair for pair in aged if pair[1] > stale_days), key=lambda p: (-p[1], p[0].id))
        if stale:
            groups.append((topic.name, stale))
    return groups


def sourced_facts(faq: Faq) -> list[tuple[str, str, Source]]:
    """(where, what, source) for each source of a fact: FAQ entries, then referrals.yaml,
    oldest page first within each, so staff re-check the likeliest outdated first."""
    rows = [(f"{e.file}:{e.line}", e.id, s) for e in faq.entries for s in e.sources]
    rows.sort(key=lambda row: row[2].date)
    if faq.referrals:
        shared: dict[Source, list[str]] = {}
        for matter in faq.referrals.matters:
            for source in matter.sources:
                shared.setdefault(source, []).append(matter.id)
        for source in faq.referrals.general_sources:
            shared.setdefault(source, []).insert(0, "general")
        file = "referrals.yaml"
        rows += sorted(((file, "、".join(ids), s) for s, ids in shared.items()), key=lambda row: row[2].date)
    return rows
