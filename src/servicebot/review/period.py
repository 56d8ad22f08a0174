"""The span of time a report covers, read from `--since` and shown in China time (UTC+8)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from servicebot.errors import ConfigError
from servicebot.storage import CHINA_TZ

_SPAN_RE = re.compile(r"^\s*(\d+)\s*([dh])\s*$", re.I)


@dataclass(frozen=True)
class Period:
    since: dt.datetime
    until: dt.datetime

    @property
    def label(self) -> str:
        return f"{clock(self.since, '%Y-%m-%d %H:%M')} 至 {clock(self.until, '%Y-%m-%d %H:%M')}（北京时间）"

    def days(self) -> list[dt.date]:
        first, last = self.since.astimezone(CHINA_TZ).date(), self.until.astimezone(CHINA_TZ).date()
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def parse_period(since: str, now: dt.datetime | None = None) -> Period:
    """`7d`, `24h` back from now, or a date (`2026-11-01`, from its start in China time)."""
    now = now or dt.datetime.now(CHINA_TZ)
    unreadable = ConfigError(f"--since {since!r} 看不懂：请写成 7d（7 天）、24h（24 小时）或 2026-11-01 这样的日期")
    span = _SPAN_RE.match(since)
    try:
        if span:
            amount, unit = int(span.group(1)), span.group(2).lower()
            start = now - dt.timedelta(**{"days" if unit == "d" else "hours": amount})
        else:
            start = dt.datetime.combine(dt.date.fromisoformat(since.strip()), dt.time(), CHINA_TZ)
            start.astimezone(dt.UTC)  # 0001-01-01 in China time is before year 1 in UTC
    except (ValueError, OverflowError):
        raise unreadable from None
    if start > now:
        raise ConfigError(f"--since {since!r} 在将来：请写今天或以前的日期")
    return Period(start, now)


def clock(moment: dt.datetime, fmt: str = "%m-%d %H:%M") -> str:
    return moment.astimezone(CHINA_TZ).strftime(fmt)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds")
