"""faq/garbage-items.yaml → a validated `GarbageGuide`: everyday items and their bins.

The file's shape is fixed by the team's schema (its comments are Chinese, for the staff who
edit it): `sources` (url, title, date), `categories` (exactly the four of GB/T 19095-2019, each
with `means` and `put_out`) and `items`, each with a `name`, optional `aliases` and `tip`, and
exactly one of `category` or `cases` (at least two, each `when` + `category`). Names and
aliases are unique across the file once case and width are folded. As everywhere in faq/,
every problem is reported with its line and unknown keys are errors.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from servicebot.errors import Reach
from servicebot.faq import messages
from servicebot.faq.fields import Collector, check_unknown, text_list, text_value
from servicebot.faq.model import (
    BIN_CATEGORIES,
    GARBAGE_ITEMS_FILE,
    BinCase,
    BinCategory,
    GarbageGuide,
    GarbageItem,
)
from servicebot.faq.sources import sources_list
from servicebot.faq.yaml_lines import item_lines, line_of, mapping_line

FILE = GARBAGE_ITEMS_FILE
TOP_KEYS = ("sources", "categories", "items")
CATEGORY_KEYS = {"means": "这一类是什么", "put_out": "怎么投放"}
ITEM_KEYS = ("name", "aliases", "category", "cases", "tip")
CASE_KEYS = ("when", "category")


def name_key(text: str) -> str:
    """How two item names are compared: case and width folded, spaces ignored."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def garbage_file(data: Any, out: Collector) -> GarbageGuide | None:
    """The parsed file → GarbageGuide (None when its shape is wrong); problems go to `out`."""
    if not isinstance(data, dict):
        out.error(FILE, 1, messages.GARBAGE_SHAPE, Reach.FILE)
        return None
    check_unknown(data, TOP_KEYS, FILE, "garbage-items.yaml", out)
    if not data.get("sources"):
        out.error(FILE, line_of(data, "sources", 1), messages.NO_GARBAGE_SOURCES)
    sources = sources_list(data.get("sources"), FILE, line_of(data, "sources", 1), out, with_facts=False)
    categories = _categories(data.get("categories"), line_of(data, "categories", 1), out)
    raw = data.get("items")
    if not isinstance(raw, list) or not raw:
        out.error(FILE, line_of(data, "items", 1), messages.NO_ITEMS)
        return None
    items = [_item(item, at, out) for item, at in zip(raw, item_lines(raw, 1))]
    found = tuple(item for item in items if item is not None)
    _unique_names(found, out)
    if categories is None:
        return None
    return GarbageGuide(categories, found, sources)


def _categories(raw: Any, line: int, out: Collector) -> tuple[BinCategory, ...] | None:
    if not isinstance(raw, dict):
        out.error(FILE, line, messages.CATEGORIES_SHAPE)
        return None
    for key in raw:
        if key not in BIN_CATEGORIES:
            out.error(FILE, line_of(raw, key, line), messages.UNKNOWN_CATEGORY_KEY.format(key=key))
    found = []
    for name in BIN_CATEGORIES:
        if name not in raw:
            out.error(FILE, line, messages.MISSING_CATEGORY.format(name=name))
            continue
        body, at = raw[name], line_of(raw, name, line)
        if not isinstance(body, dict):
            out.error(FILE, at, messages.CATEGORIES_SHAPE)
            continue
        check_unknown(body, CATEGORY_KEYS, FILE, f"类别“{name}”", out)
        texts = {key: text_value(body.get(key)) for key in CATEGORY_KEYS}
        for key, text in texts.items():
            if text is None:
                out.error(FILE, at, messages.CATEGORY_FIELD.format(name=name, key=key, meaning=CATEGORY_KEYS[key]))
        if texts["means"] and texts["put_out"]:
            found.append(BinCategory(name, texts["means"], texts["put_out"]))
    return tuple(found) if len(found) == len(BIN_CATEGORIES) else None


def _item(raw: Any, line: int, out: Collector) -> GarbageItem | None:
    if not isinstance(raw, dict):
        out.error(FILE, line, messages.ITEM_NOT_A_MAPPING)
        return None
    line = mapping_line(raw) or line
    check_unknown(raw, ITEM_KEYS, FILE, "物品", out)
    name = text_value(raw.get("name"))
    if name is None:
        out.error(FILE, line, messages.ITEM_NO_NAME)
        return None
    aliases = text_list(raw.get("aliases"), "aliases", FILE, line_of(raw, "aliases", line), out)
    tip = text_value(raw.get("tip")) or ""
    if ("category" in raw) == ("cases" in raw):
        out.error(FILE, line, messages.ITEM_CATEGORY_OR_CASES.format(name=name))
        return None
    if "category" in raw:
        category = _category(raw["category"], name, line_of(raw, "category", line), out)
        return GarbageItem(name, aliases, category, (), tip, line) if category else None
    cases = _cases(raw["cases"], name, line_of(raw, "cases", line), out)
    return GarbageItem(name, aliases, None, cases, tip, line) if cases else None


def _category(value: Any, name: str, line: int, out: Collector) -> str | None:
    text = text_value(value)
    if text not in BIN_CATEGORIES:
        out.error(FILE, line, messages.BAD_CATEGORY.format(name=name, value=value))
        return None
    return text


def _cases(raw: Any, name: str, line: int, out: Collector) -> tuple[BinCase, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        out.error(FILE, line, messages.CASES_TOO_FEW.format(name=name))
        return ()
    cases = []
    broken = False
    for case, at in zip(raw, item_lines(raw, line)):
        if not isinstance(case, dict):
            out.error(FILE, at, messages.CASE_SHAPE.format(name=name))
            broken = True
            continue
        check_unknown(case, CASE_KEYS, FILE, f"物品“{name}”的情况", out)
        when = text_value(case.get("when"))
        if when is None or "category" not in case:
            out.error(FILE, at, messages.CASE_SHAPE.format(name=name))
            broken = True
            continue
        category = _category(case["category"], name, line_of(case, "category", at), out)
        if category is None:
            broken = True
            continue
        cases.append(BinCase(when, category))
    return () if broken else tuple(cases)


def _unique_names(items: tuple[GarbageItem, ...], out: Collector) -> None:
    owner: dict[str, GarbageItem] = {}
    for item in items:
        for text in dict.fromkeys(item.names):
            other = owner.setdefault(name_key(text), item)
            if other is not item:
                out.error(
                    FILE,
                    item.line,
                    messages.DUPLICATE_ITEM_NAME.format(text=text, name=item.name, line=other.line, other=other.name),
                )
