"""Labelled question sets: questions with the entries that answer them (none: out of scope),
read for `servicebot eval`, for `faq diff` (which questions an edit changes) and for tuning.

A set is YAML in one of three shapes. The old flat one maps question → expected entry id
(null for out of scope). The kinded one groups questions by how residents write them:

    in_scope:
      long: {"question": entry-id, ...}
    out_of_scope:
      near: ["question", ...]

The real-question one (tests/data/real/) lists questions real people wrote, verbatim, with
where they were found, every entry that answers each (none: out of scope) and its kinds:

    questions:
      - q: "低保是给老人一个人的还是全家都有"
        url: https://…
        by: resident            # or: title (a page's title)
        kinds: [colloquial]
        answers: [dibao-apply]  # [] = no entry answers it
        subject: 低保
        goes_to: ""             # out of scope: who handles it

An items set (everyday items and their bins) lists `q`, `item` and `bin` under `questions`
(`load_items`). These are the evaluation's data, kept beside the FAQ's files they label so that
`faq diff` reads them without the evaluation's baselines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import yaml

from servicebot.errors import ServicebotError
from servicebot.faq.model import Faq

IN_SCOPE, OUT_OF_SCOPE = "in_scope", "out_of_scope"
BINS = ("可回收物", "有害垃圾", "厨余垃圾", "其他垃圾")  # GB/T 19095-2019
REAL_KEYS = frozenset({"q", "url", "by", "kinds", "answers", "subject", "goes_to"})


class Item(NamedTuple):
    question: str
    expected: frozenset[str]  # the entries that answer it; empty: out of scope
    kinds: tuple[str, ...]  # ("long", "typo"); ("in",) or ("out",) in a flat set
    goes_to: str = ""  # out of scope, real sets: who handles it
    by: str = ""  # real sets: "resident" wrote it, or it is a page's "title"

    @property
    def in_scope(self) -> bool:
        return bool(self.expected)


def _fail(path: Path, message: str) -> ServicebotError:
    return ServicebotError(f"{path}: {message}")


def _kinded(path: Path, data: dict) -> list[Item]:
    items: list[Item] = []
    for scope in (IN_SCOPE, OUT_OF_SCOPE):
        groups = data.get(scope) or {}
        if not isinstance(groups, dict):
            raise _fail(path, f"{scope} must map kind → questions")
        for kind, questions in groups.items():
            if scope == IN_SCOPE:
                if not isinstance(questions, dict):
                    raise _fail(path, f"{scope}.{kind} must map question → entry id")
                items += [Item(str(q), frozenset([str(v)]), (str(kind),)) for q, v in questions.items()]
            else:
                if not isinstance(questions, list):
                    raise _fail(path, f"{scope}.{kind} must be a list of questions")
                items += [Item(str(q), frozenset(), (str(kind),)) for q in questions]
    unknown = set(data) - {IN_SCOPE, OUT_OF_SCOPE}
    if unknown:
        raise _fail(path, f"unknown top-level keys: {', '.join(sorted(map(str, unknown)))}")
    return items


def _real(path: Path, rows: Any) -> list[Item]:
    if not isinstance(rows, list):
        raise _fail(path, "questions must be a list")
    items = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not isinstance(row.get("q"), str):
            raise _fail(path, f"question {n}: needs q: text")
        unknown = set(row) - REAL_KEYS
        if unknown:
            raise _fail(path, f"question {n}: unknown keys {', '.join(sorted(map(str, unknown)))}")
        answers, kinds = row.get("answers") or [], row.get("kinds") or []
        if not isinstance(answers, list) or not isinstance(kinds, list):
            raise _fail(path, f"question {n}: answers and kinds must be lists")
        kind_names = tuple(map(str, kinds)) or (("in",) if answers else ("out",))
        items.append(
            Item(
                row["q"],
                frozenset(map(str, answers)),
                kind_names,
                str(row.get("goes_to") or ""),
                str(row.get("by", "")),
            )
        )
    return items


def load_set(path: Path, faq: Faq | None = None) -> list[Item]:
    """A labelled set in any of the three shapes; unknown entry ids are an error when `faq` is given."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ServicebotError(f"cannot read labelled set {path}: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(path, "expected a mapping of question → entry id (or null), in_scope/out_of_scope, or questions")
    if "questions" in data:
        items = _real(path, data["questions"])
    elif IN_SCOPE in data or OUT_OF_SCOPE in data:
        items = _kinded(path, data)
    else:
        items = [
            Item(str(q), frozenset() if v is None else frozenset([str(v)]), ("in",) if v is not None else ("out",))
            for q, v in data.items()
        ]
    if faq is not None:
        unknown = sorted({e for i in items for e in i.expected if e not in faq.by_id})
        if unknown:
            raise _fail(path, f"unknown entry ids: {', '.join(unknown)}")
    return items


def load_labelled(path: Path, faq: Faq | None = None) -> list[tuple[str, str | None]]:
    """question → one expected id (None = out of scope), whatever the set's shape."""
    return [(i.question, min(i.expected) if i.expected else None) for i in load_set(path, faq)]


class ItemCase(NamedTuple):
    """A question about an everyday item, with the item and the bin it belongs in."""

    question: str
    item: str
    bin: str  # one of BINS, or "depends"


def load_items(path: Path) -> list[ItemCase]:
    """An items set: questions about one everyday item and the bin the standard gives it."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    rows = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise _fail(Path(path), "questions must be a list")
    out = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("q", "item", "bin")):
            raise _fail(Path(path), f"question {n}: needs q, item and bin")
        if row["bin"] not in (*BINS, "depends"):
            raise _fail(Path(path), f"question {n}: bin must be one of {', '.join(BINS)} or depends")
        out.append(ItemCase(row["q"], row["item"], row["bin"]))
    return out


def is_items_set(path: Path) -> bool:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    rows = data.get("questions") if isinstance(data, dict) else None
    return isinstance(rows, list) and bool(rows) and isinstance(rows[0], dict) and "bin" in rows[0]


__all__ = [
    "BINS",
    "IN_SCOPE",
    "OUT_OF_SCOPE",
    "Item",
    "ItemCase",
    "is_items_set",
    "load_items",
    "load_labelled",
    "load_set",
]
