"""When an entry is due for re-checking: its `reviewed` date is more than `stale_days` old,
or staff marked it 待核实 (`verify: 电话号码待核实`).

One rule, several readers: the validation warns about each stale or marked entry (and about
a review date in the future, which would never come due), and `servicebot faq stale`,
`stats` and `review` list them for the staff who re-check them. The note is for staff
only: no reply to residents reads it. `faq stale` also lists every fact taken from a page
beyond the office's report (a 低保 standard, a hotline): such facts change, and only staff
visiting the page again can tell.

"Today" is the office's day, in China time, whatever the machine's clock says (a container
runs on UTC: from 00:00 to 08:00 China time its date is yesterday's, and a date staff wrote
this morning would be "in the future"); the review's drafts are dated with the same
`office_today`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from servicebot.conversation.hours import CHINA
from servicebot.errors import Problem, Severity
from servicebot.faq import messages
from servicebot.faq.model import Entry, Faq, Source


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


def verify_warnings(entries: Iterable[Entry]) -> list[Problem]:
    """A reminder for each entry staff marked 待核实."""
    return [
        Problem(e.file, e.line, messages.VERIFY_PENDING.format(id=e.id, note=e.verify), Severity.WARNING)
        for e in entries
        if e.verify
    ]


def to_verify(faq: Faq) -> list[Entry]:
    """Entries marked 待核实, in menu order."""
    return [faq.by_id[i] for topic in faq.topics for i in topic.entry_ids if faq.by_id[i].verify]


def verify_lines(faq: Faq | None) -> list[str]:
    """The 待核实 list as staff read it under a report; empty when nothing is marked."""
    marked = to_verify(faq) if faq is not None else []
    if not marked:
        return []
    lines = [messages.TO_VERIFY_HEADER]
    lines += [
        messages.TO_VERIFY_LINE.format(id=e.id, question=e.question, note=e.verify, file=e.file, line=e.line)
        for e in marked
    ]
    lines.append(messages.TO_VERIFY_SUMMARY.format(count=len(marked)))
    return lines
