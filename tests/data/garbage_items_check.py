"""Stand-alone check of faq/garbage-items.yaml against the schema in the team notes.

The item list is edited by staff and written before the bot's own loader for it exists, so this
script is the data author's check: it needs only the standard library and PyYAML, reports every
problem with the line it is on (in Chinese, for staff), and prints the counts the lead asks for.

    python3 tests/data/garbage_items_check.py [path/to/garbage-items.yaml]

Exit status 0 when the file passes, 1 when it does not.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import TypeGuard

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "faq" / "garbage-items.yaml"
CATEGORIES = ("可回收物", "有害垃圾", "厨余垃圾", "其他垃圾")
TOP_KEYS = {"sources", "categories", "items"}
SOURCE_KEYS = {"url", "title", "date"}
CATEGORY_KEYS = {"means", "put_out"}
ITEM_KEYS = {"name", "aliases", "category", "cases", "tip"}
CASE_KEYS = {"when", "category"}
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def fold(text: str) -> str:
    """The form in which two names count as the same: width-folded (NFKC) and lower-case."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def is_text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.strip() != ""


class Report:
    """Collects problems as (line, message) so that all of them are shown at once."""

    def __init__(self) -> None:
        self.problems: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append((line, message))


def node_lines(root: yaml.Node, report: Report) -> dict[str, list[int]]:
    """Line numbers of each source and each item, and a report of duplicate mapping keys."""
    lines: dict[str, list[int]] = {"sources": [], "items": []}

    def walk(node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        report.add(key.start_mark.line + 1, f"同一段里“{key.value}”写了两次")
                    seen.add(key.value)
                walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for child in node.value:
                walk(child)

    walk(root)
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value in lines and isinstance(value, yaml.SequenceNode):
                lines[key.value] = [child.start_mark.line + 1 for child in value.value]
    return lines


def unknown_keys(data: dict, allowed: set[str]) -> list[str]:
    return sorted(str(key) for key in data if key not in allowed)


def check_sources(sources: object, lines: list[int], report: Report) -> None:
    if not isinstance(sources, list) or not sources:
        report.add(1, "sources 必须是列表，至少写一个来源")
        return
    for index, source in enumerate(sources):
        line = lines[index] if index < len(lines) else 1
        if not isinstance(source, dict):
            report.add(line, "每个来源都要写 url、title、date")
            continue
        for key in unknown_keys(source, SOURCE_KEYS):
            report.add(line, f"来源里有不认识的字段“{key}”")
        for key in ("url", "title"):
            if not is_text(source.get(key)):
                report.add(line, f"来源缺少 {key}")
        url = source.get("url")
        if is_text(url) and not str(url).startswith(("http://", "https://")):
            report.add(line, "来源的 url 要以 http:// 或 https:// 开头")
        date = source.get("date")
        if not (isinstance(date, dt.date) or (isinstance(date, str) and DATE_RE.fullmatch(date))):
            report.add(line, "来源的 date 要写成 年-月-日，例如 2019-10-18")


def check_categories(categories: object, report: Report) -> None:
    if not isinstance(categories, dict):
        report.add(1, "categories 必须写四个分类")
        return
    if set(categories) != set(CATEGORIES):
        report.add(1, f"categories 必须正好是这四个：{'、'.join(CATEGORIES)}")
    for name, body in categories.items():
        if not isinstance(body, dict):
            report.add(1, f"分类“{name}”要写 means 和 put_out")
            continue
        for key in unknown_keys(body, CATEGORY_KEYS):
            report.add(1, f"分类“{name}”里有不认识的字段“{key}”")
        for key in sorted(CATEGORY_KEYS):
            if not is_text(body.get(key)):
                report.add(1, f"分类“{name}”缺少 {key}")


def check_item(item: object, line: int, report: Report) -> list[str]:
    """Problems of one item; returns its name and aliases for the uniqueness check."""
    if not isinstance(item, dict):
        report.add(line, "每件物品都要以“- name:”开头")
        return []
    name = item.get("name")
    label = f"“{name}”" if is_text(name) else "这件物品"
    if not is_text(name):
        report.add(line, "物品缺少 name")
    for key in unknown_keys(item, ITEM_KEYS):
        report.add(line, f"{label}有不认识的字段“{key}”")
    words = [name] if is_text(name) else []
    aliases = item.get("aliases", [])
    if not isinstance(aliases, list):
        report.add(line, f"{label}的 aliases 要写成 [别名1, 别名2]")
    else:
        for alias in aliases:
            if not is_text(alias):
                report.add(line, f"{label}的 aliases 里有空的或不是文字的别名：{alias!r}")
            else:
                words.append(alias)
    if "tip" in item and not is_text(item["tip"]):
        report.add(line, f"{label}的 tip 不能是空的")
    has_category, has_cases = "category" in item, "cases" in item
    if has_category == has_cases:
        report.add(line, f"{label}要写 category 或 cases，两者只能写一个")
    if has_category and item["category"] not in CATEGORIES:
        report.add(line, f"{label}的分类“{item['category']}”不对，只能是：{'、'.join(CATEGORIES)}")
    if has_cases:
        check_cases(item["cases"], label, line, report)
    return words


def check_cases(cases: object, label: str, line: int, report: Report) -> None:
    if not isinstance(cases, list) or len(cases) < 2:
        report.add(line, f"{label}的 cases 至少要写两种情况")
        return
    for case in cases:
        if not isinstance(case, dict):
            report.add(line, f"{label}的每种情况都要写 when 和 category")
            continue
        for key in unknown_keys(case, CASE_KEYS):
            report.add(line, f"{label}的情况里有不认识的字段“{key}”")
        if not is_text(case.get("when")):
            report.add(line, f"{label}有一种情况缺少 when")
        if case.get("category") not in CATEGORIES:
            report.add(line, f"{label}有一种情况的分类“{case.get('category')}”不对，只能是：{'、'.join(CATEGORIES)}")


def check(path: Path) -> tuple[Report, dict]:
    report = Report()
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        report.add(mark.line + 1 if mark else 1, f"格式错误，文件读不出来：{error}")
        return report, {}
    if not isinstance(data, dict) or root is None:
        report.add(1, "文件应该包含 sources、categories、items 三部分")
        return report, {}
    lines = node_lines(root, report)
    for key in unknown_keys(data, TOP_KEYS):
        report.add(1, f"文件里有不认识的部分“{key}”")
    for key in sorted(TOP_KEYS - set(data)):
        report.add(1, f"文件缺少 {key}")
    check_sources(data.get("sources"), lines["sources"], report)
    check_categories(data.get("categories"), report)
    items = data.get("items")
    if not isinstance(items, list) or not items:
        report.add(1, "items 必须是列表，至少写一件物品")
        return report, data
    first_seen: dict[str, tuple[str, int]] = {}
    for index, item in enumerate(items):
        line = lines["items"][index] if index < len(lines["items"]) else 1
        for word in check_item(item, line, report):
            folded = fold(word)
            if folded in first_seen:
                other, other_line = first_seen[folded]
                report.add(line, f"“{word}”重复了：第 {other_line} 行的“{other}”已经用过")
            else:
                first_seen[folded] = (word, line)
    return report, data


def counts(data: dict) -> list[str]:
    items = [item for item in data.get("items", []) if isinstance(item, dict)]
    by_category = Counter(item["category"] for item in items if "category" in item)
    with_cases = [item for item in items if "cases" in item]
    aliases = sum(len(item.get("aliases") or []) for item in items)
    rows = [f"物品 {len(items)} 件，别名 {aliases} 个，来源 {len(data.get('sources') or [])} 个"]
    rows += [f"  {name}：{by_category[name]} 件" for name in CATEGORIES]
    rows.append(f"  分情况（cases）：{len(with_cases)} 件")
    mentioned = Counter(case["category"] for item in with_cases for case in item["cases"] if isinstance(case, dict))
    rows.append("  分情况里出现的分类：" + "，".join(f"{name} {mentioned[name]}" for name in CATEGORIES))
    return rows


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    if not path.is_file():
        print(f"找不到文件：{path}")
        return 1
    report, data = check(path)
    for line, message in sorted(report.problems):
        print(f"{path.name}:{line}: {message}")
    if report.problems:
        print(f"检查没有通过：共 {len(report.problems)} 处问题")
        return 1
    print("\n".join(counts(data)))
    print("检查通过")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
