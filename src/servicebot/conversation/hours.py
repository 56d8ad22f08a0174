"""Office hours: when staff usually answer a hand-off (转人工), so residents are told honestly.

The office's hours are not in the FAQ's source, so they are a setting (`staff_hours`), never
a guess: ``mon-fri 08:30-12:00,14:30-17:30; sat 09:00-12:00`` — groups separated by ``;``,
each a day or day range (``mon``…``sun``, ``mon-fri``, ``mon,wed,fri``) and one or more
``HH:MM-HH:MM`` periods. Times are China time (UTC+8), where the office is. Empty: no
hours are stated, and residents are not told any.

Pure: parsing (with one clear error for a bad setting), whether staff are in at a moment,
when they next are, and the hours in Chinese.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass

CHINA = dt.timezone(dt.timedelta(hours=8), "UTC+8")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
EXAMPLE = "mon-fri 08:30-12:00,14:30-17:30; sat 09:00-12:00"

_PERIOD_RE = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


class HoursError(ValueError):
    """A `staff_hours` value that cannot be read; the message says what is wrong."""


@dataclass(frozen=True)
class Period:
    start: dt.time
    end: dt.time

    def __str__(self) -> str:
        end = "24:00" if self.end == dt.time.max else _clock(self.end)
        return f"{_clock(self.start)}-{end}"


@dataclass(frozen=True)
class OfficeHours:
    """Per weekday (0 = Monday), the periods staff are in, in China time."""

    days: tuple[tuple[Period, ...], ...] = ((),) * 7

    @property
    def stated(self) -> bool:
        return any(self.days)

    def is_open(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(CHINA)
        return any(p.start <= local.time() < p.end for p in self.days[local.weekday()])

    def next_open(self, moment: dt.datetime) -> dt.datetime | None:
        """The next moment staff come in, after `moment` (None when no hours are stated)."""
        local = moment.astimezone(CHINA)
        for ahead in range(8):
            day = local.date() + dt.timedelta(days=ahead)
            for period in self.days[day.weekday()]:
                start = dt.datetime.combine(day, period.start, CHINA)
                if start > local:
                    return start
        return None

    def describe(self) -> str:
        """The hours as residents read them: 周一至周五 8:30-12:00、14:30-17:30；周六 9:00-12:00."""
        groups: list[tuple[list[int], tuple[Period, ...]]] = []
        for weekday, periods in enumerate(self.days):
            if not periods:
                continue
            if groups and groups[-1][1] == periods and groups[-1][0][-1] == weekday - 1:
                groups[-1][0].append(weekday)
            else:
                groups.append(([weekday], periods))
        parts = []
        for weekdays, periods in groups:
            first, last = DAY_NAMES[weekdays[0]], DAY_NAMES[weekdays[-1]]
            span = first if len(weekdays) == 1 else f"{first}{'、' if len(weekdays) == 2 else '至'}{last}"
            parts.append(f"{span} {'、'.join(str(p) for p in periods)}")
        return "；".join(parts)


def when(moment: dt.datetime, now: dt.datetime) -> str:
    """A coming moment as residents say it: 今天 14:30, 明天 8:30, 周一 8:30."""
    local, today = moment.astimezone(CHINA), now.astimezone(CHINA).date()
    days = (local.date() - today).days
    day = "今天" if days == 0 else "明天" if days == 1 else DAY_NAMES[local.weekday()]
    return f"{day} {_clock(local.time())}"


def _clock(time: dt.time) -> str:
    return f"{time.hour}:{time.minute:02d}"


def parse_hours(text: str) -> OfficeHours:
    """`staff_hours` → OfficeHours; HoursError naming the part that is wrong."""
    days: list[list[Period]] = [[] for _ in DAYS]
    for group in filter(None, (g.strip() for g in text.strip().lower().split(";"))):
        day_text, _, period_text = group.partition(" ")
        periods = [_period(p.strip()) for p in period_text.replace(" ", "").split(",") if p.strip()]
        if not periods:
            raise HoursError(f"{group!r} names no hours (like {EXAMPLE!r})")
        for weekday in _days(day_text):
            days[weekday].extend(periods)
    for weekday, periods in enumerate(days):
        periods.sort(key=lambda p: p.start)
        for before, after in itertools.pairwise(periods):
            if after.start < before.end:
                raise HoursError(f"{DAYS[weekday]} has overlapping hours {before} and {after}")
    return OfficeHours(tuple(tuple(p) for p in days))


def _days(text: str) -> list[int]:
    found: list[int] = []
    for part in text.split(","):
        first, dash, last = part.partition("-")
        if first not in DAYS or (dash and last not in DAYS):
            raise HoursError(f"{text!r} is not a day or range of days (mon, tue, ... sun; e.g. mon-fri)")
        start, end = DAYS.index(first), DAYS.index(last if dash else first)
        if end < start:
            raise HoursError(f"{part!r} runs backwards (write mon-fri, not fri-mon)")
        found.extend(range(start, end + 1))
    return found


def _period(text: str) -> Period:
    match = _PERIOD_RE.fullmatch(text)
    if match is None:
        raise HoursError(f"{text!r} is not a period like 08:30-12:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise HoursError(f"{text!r} is not a time of day")
    start = dt.time(h1, m1)
    end = dt.time.max if h2 == 24 else dt.time(h2, m2)
    if end <= start:
        raise HoursError(f"{text!r} ends before it starts")
    return Period(start, end)


__all__ = ["CHINA", "EXAMPLE", "HoursError", "OfficeHours", "Period", "parse_hours", "when"]
