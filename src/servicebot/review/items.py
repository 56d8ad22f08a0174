"""Everyday items residents asked about that faq/garbage-items.yaml does not list, for the
staff who keep that list: each item with how often and by how many residents it was asked,
whether the list has it by now, and (with --suggest-yaml) a paste-ready item whose bin staff
must fill in — the bot never guesses one.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from servicebot.answering.bins import BinIndex
from servicebot.faq import BIN_CATEGORIES, PLACEHOLDER, Faq
from servicebot.review.layout import yaml_scalar
from servicebot.review.period import Period
from servicebot.storage import LogReader

HEADING = "垃圾分类清单里没有的物品（请补充到 faq/garbage-items.yaml）："
NONE_TEXT = "没有。"
ROW = "  {name}：{count} 次，{residents} 位居民{now}"
NOW_LISTED = "（清单里现在已经有了）"
YAML_HEADING = "可以粘贴到 garbage-items.yaml 的 items 下面（把类别改成四类之一）："
# In `review -o drafts.yaml`, commented out: an item pasted with its bin left 待填写 fails `faq check`.
YAML_COMMENTED = "# 垃圾分类清单里没有的物品：选好类别，去掉行首的“# ”，再粘贴到 garbage-items.yaml 的 items 下面"
STEP = "居民问到 {count} 种垃圾分类清单里没有的物品（{names}）：选好类别，补充到 faq/garbage-items.yaml"
STEP_NAMES = 3  # items named in the step
YAML_ITEM = (
    "  - name: {name}\n"
    "    category: {placeholder}  # 可回收物 / 有害垃圾 / 厨余垃圾 / 其他垃圾 选一个；要看情况的改写成 cases"
)


@dataclass(frozen=True)
class UnlistedItem:
    name: str  # as residents named it (normalized)
    count: int
    residents: int
    listed_now: bool  # the list has it by now (added since)


def unlisted_items(reader: LogReader, period: Period, faq: Faq) -> tuple[UnlistedItem, ...]:
    """The items residents asked about that were not listed, most asked first."""
    bins = BinIndex(faq.garbage)
    return tuple(
        UnlistedItem(row.name, row.asked, row.residents, bins.lookup(row.name) is not None)
        for row in reader.unlisted_items(period.since, period.until)
    )


def table_lines(items: tuple[UnlistedItem, ...], suggest_yaml: bool) -> list[str]:
    lines = [HEADING]
    if not items:
        return [*lines, NONE_TEXT]
    for item in items:
        lines.append(ROW.format(name=item.name, count=item.count, residents=item.residents, now=_now(item)))
    stubs = still_unlisted(items)
    if suggest_yaml and stubs:
        lines += ["", YAML_HEADING, *(yaml_item(item.name) for item in stubs)]
    return lines


def still_unlisted(items: tuple[UnlistedItem, ...]) -> list[UnlistedItem]:
    """The items the list still lacks (not added since they were asked)."""
    return [item for item in items if not item.listed_now]


def next_step(unlisted: list[UnlistedItem]) -> str:
    names = "、".join(item.name for item in unlisted[:STEP_NAMES]) + ("等" if len(unlisted) > STEP_NAMES else "")
    return STEP.format(count=len(unlisted), names=names)


def yaml_comment_lines(items: tuple[UnlistedItem, ...]) -> list[str]:
    """The items to paste, commented out, for a file of YAML only (empty when none is missing)."""
    stubs = still_unlisted(items)
    if not stubs:
        return []
    return [YAML_COMMENTED, *(f"# {line}" for item in stubs for line in yaml_item(item.name).splitlines())]


def yaml_item(name: str) -> str:
    """An item to paste: its bin left as 待填写, which `faq check` refuses until staff choose one."""
    assert PLACEHOLDER not in BIN_CATEGORIES
    return YAML_ITEM.format(name=yaml_scalar(name), placeholder=PLACEHOLDER)


def as_dicts(items: tuple[UnlistedItem, ...]) -> list[dict]:
    return [{"name": i.name, "count": i.count, "residents": i.residents, "listed_now": i.listed_now} for i in items]


def html_section(items: tuple[UnlistedItem, ...]) -> str:
    if not items:
        return f"<p>{NONE_TEXT}</p>"
    rows = "".join(
        f"<li>{html.escape(ROW.format(name=i.name, count=i.count, residents=i.residents, now=_now(i)).strip())}</li>"
        for i in items
    )
    return f"<ul>{rows}</ul>"


def _now(item: UnlistedItem) -> str:
    return NOW_LISTED if item.listed_now else ""
