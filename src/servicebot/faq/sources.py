"""Facts beyond the office's report, and the official pages they come from.

The FAQ's facts come from the office's 2020 work report. Residents also need facts the report
does not have — a hotline, this year's 低保 standard and the date it took effect — and such a
fact may go in only with its source: an official page's URL, title and date, kept next to the
fact (`sources:`). This module reads those `sources:` lists and holds the rule that tells a
fact needing one:

    a phone or hotline number, an amount of money or a calendar date written in an answer (or
    a referral) needs a source that lists it verbatim under `facts:`, unless the entry's own
    `source` line names it (the report's date, a standard's number) or it is one of the
    report's own figures (`REPORT_FACTS`).

The report itself is a newspaper page whose licence is unknown, so its text is not copied into
the repository: its few figures of those three kinds are listed here instead (figures are
facts, not text), for the rule to recognise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from servicebot.faq import messages
from servicebot.faq.fields import URL_RE, Collector, date_value, text_list, text_value
from servicebot.faq.freshness import office_today
from servicebot.faq.model import Source
from servicebot.faq.yaml_lines import item_lines, line_of, mapping_line

SOURCE_KEYS = ("url", "title", "date", "facts")
PLAIN_SOURCE_KEYS = ("url", "title", "date")  # garbage-items.yaml's schema: no facts

# The report's own figures that the rule below would otherwise ask a source for
# (/work/shared/seeds: 滁州日报 2020-12-08 第A12版《促社会和谐 谋民生福祉》).
REPORT_FACTS = frozenset({"280751.6元", "2020年12月8日", "2020-12-08"})

# A phone or hotline number: three or more digits (a 0550- area code allowed) that are not a
# count (300多名, 48个), an amount or a year.
_PHONE_RE = re.compile(
    r"(?<![\d.])(?:0\d{2,3}-)?\d{3,}(?![\d.])"
    r"(?!\s*(?:[个名多余人户家万千百亿元岁天年月日号次件项座所条位只台套间张辆吨斤米批版%％]|平方|公里))"
)
_YEAR_RE = re.compile(r"^(?:19|20)\d\d$")
_MONEY_RE = re.compile(r"\d+(?:\.\d+)?(?:万|千|百)?元")
_DATE_RE = re.compile(
    r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})[日号])?"
    r"|(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})"
    r"|(?<![\d年])(?P<m3>\d{1,2})月(?P<d3>\d{1,2})[日号]"
)


def _date_key(m: re.Match) -> str:
    """2022年7月1日, 2022-07-01 → the same key."""
    y = m["y"] or m["y2"] or ""
    month = m["m"] or m["m2"] or m["m3"]
    day = m["d"] or m["d2"] or m["d3"] or ""
    return f"{y}-{int(month)}" + (f"-{int(day)}" if day else "")


def facts_in(text: str) -> dict[str, str]:
    """Every fact of the three kinds in a text: its key → how the text writes it."""
    found: dict[str, str] = {}
    taken: list[tuple[int, int]] = []
    for m in _DATE_RE.finditer(text):
        found.setdefault(_date_key(m), m.group())
        taken.append(m.span())
    for m in _MONEY_RE.finditer(text):
        found.setdefault(m.group(), m.group())
        taken.append(m.span())
    for m in _PHONE_RE.finditer(text):
        inside = any(start <= m.start() < end for start, end in taken)
        if not inside and not _YEAR_RE.match(m.group()):
            found.setdefault(m.group(), m.group())
    return found


def fact_keys(texts: Iterable[str]) -> set[str]:
    """The keys of what texts state: their facts, and each text itself (a listed 皖事通)."""
    keys: set[str] = set()
    for text in texts:
        keys |= set(facts_in(text)) or {text}
    return keys


_REPORT_KEYS = frozenset(fact_keys(REPORT_FACTS))


def unsourced_facts(text: str, sources: Iterable[Source], cited: str = "") -> list[str]:
    """The facts of `text` that neither the report, the `cited` source line nor a source lists."""
    listed = fact_keys(fact for source in sources for fact in source.facts) | set(facts_in(cited)) | _REPORT_KEYS
    return [written for key, written in facts_in(text).items() if key not in listed]


def facts_missing_from(text: str, sources: Iterable[Source]) -> list[str]:
    """Listed facts the text does not state (the text was edited, the list was not)."""
    stated = set(facts_in(text))
    missing = []
    for fact in (fact for source in sources for fact in source.facts):
        keys = set(facts_in(fact))
        if (keys and not keys <= stated) or (not keys and fact not in text):
            missing.append(fact)
    return missing


def check_facts(
    text: str,
    sources: tuple[Source, ...],
    what: str,
    file: str,
    line: int,
    out: Collector,
    *,
    cited: str = "",
    shared: bool = False,
) -> None:
    """Each unsourced fact of `text` is an error; each listed fact it lacks, a warning (not for
    `shared` sources, cited by several texts that each state some of their facts)."""
    for fact in unsourced_facts(text, sources, cited):
        out.error(file, line, messages.UNSOURCED_FACT.format(what=what, fact=fact))
    for fact in () if shared else facts_missing_from(text, sources):
        out.warning(file, line, messages.FACT_NOT_IN_TEXT.format(fact=fact, what=what))


# --- reading sources -------------------------------------------------------------------------


def source_value(raw: Any, file: str, line: int, out: Collector, *, with_facts: bool = True) -> Source | None:
    """One source (url, title, date, and with `with_facts` its facts), or None with its problems."""
    if not isinstance(raw, dict):
        out.error(file, line, messages.SOURCE_NOT_A_MAPPING)
        return None
    line = mapping_line(raw) or line
    allowed = SOURCE_KEYS if with_facts else PLAIN_SOURCE_KEYS
    for key in raw:
        if key not in allowed:
            out.error(
                file,
                line_of(raw, key, line),
                messages.SOURCE_UNKNOWN_KEY.format(key=key, allowed="、".join(allowed)),
            )
    url, title = text_value(raw.get("url")), text_value(raw.get("title"))
    if url is None or not URL_RE.match(url):
        out.error(file, line_of(raw, "url", line), messages.SOURCE_BAD_URL.format(url=raw.get("url")))
    if title is None:
        out.error(file, line, messages.SOURCE_NO_TITLE)
    date = None
    if "date" not in raw:
        out.error(file, line, messages.SOURCE_NO_DATE)
    else:
        date = date_value(raw["date"], file, line_of(raw, "date", line), out, name="date")
        if date is not None and date > office_today():  # China's day, as staff date a page
            out.error(file, line_of(raw, "date", line), messages.SOURCE_IN_FUTURE.format(date=date))
            date = None
    facts = text_list(raw.get("facts"), "facts", file, line_of(raw, "facts", line), out) if with_facts else ()
    if url is None or not URL_RE.match(url) or title is None or date is None:
        return None
    return Source(url, title, date, facts)


def sources_list(value: Any, file: str, line: int, out: Collector, *, with_facts: bool = True) -> tuple[Source, ...]:
    """A `sources:` list written in place (an FAQ entry's, garbage-items.yaml's)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        out.error(file, line, messages.SOURCES_NOT_A_LIST)
        return ()
    found = (source_value(raw, file, at, out, with_facts=with_facts) for raw, at in zip(value, item_lines(value, line)))
    return tuple(source for source in found if source is not None)


def named_sources(value: Any, file: str, line: int, out: Collector) -> dict[str, tuple[Source | None, int]]:
    """referrals.yaml's `sources:`: id → (source, or None when broken, its line)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        out.error(file, line, messages.NAMED_SOURCES_SHAPE)
        return {}
    named: dict[str, tuple[Source | None, int]] = {}
    for key, raw in value.items():
        at = line_of(value, key, line)
        named[str(key)] = (source_value(raw, file, at, out), at)
    return named


def cited_sources(
    value: Any, named: dict[str, tuple[Source | None, int]], where: str, file: str, line: int, out: Collector
) -> tuple[tuple[Source, ...], tuple[str, ...]]:
    """A list of source ids (`sources: [gov-12345]`) → (the sources, the ids used)."""
    if value is None:
        return (), ()
    if not isinstance(value, list):
        out.error(file, line, messages.SOURCE_IDS_NOT_A_LIST.format(where=where))
        return (), ()
    sources: list[Source] = []
    ids: list[str] = []
    for raw, at in zip(value, item_lines(value, line)):
        key = text_value(raw)
        if key is None or key not in named:
            out.error(file, at, messages.UNKNOWN_SOURCE_ID.format(where=where, source=raw))
            continue
        ids.append(key)
        source = named[key][0]
        if source is not None:
            sources.append(source)
    return tuple(sources), tuple(ids)
