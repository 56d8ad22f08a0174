"""Check the "out" collector's real-question files: out-tune/out-test.yaml and items-tune/items-test.yaml.

The real-question yardstick (issues 20 and 21) is only worth something if every entry keeps the shared
format, the tune/test split is the fixed sha256 rule (decided before anyone looks at results, never by
hand) and no question is counted twice. This script checks exactly that, with the standard library and
PyYAML only, so it runs without the project's venv:

    python3 tests/data/real/check_real_out.py [directory]

It prints one "file:line: problem" per fault and exits 1, or prints the counts and exits 0.
The other collector's in-*.yaml files, when present in the same directory, are read only to catch a
question collected twice.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

OUT_KEYS = ("q", "url", "by", "kinds", "answers", "subject", "goes_to")
ITEM_KEYS = ("q", "url", "by", "item", "bin", "why")
BY = {"resident", "title"}
KINDS = {"plain", "long", "colloquial", "typo", "traditional", "short", "complaint"}
BINS = {"可回收物", "有害垃圾", "厨余垃圾", "其他垃圾", "depends"}
URL = re.compile(r"^https?://\S+$")
# The issues ask for at least this many questions of each kind (tune and test together).
MINIMUM = {"out": 230, "items": 150}


def half_of(question: str) -> str:
    """The fixed split rule: first hex digit of sha256(q) 0-7 -> tune, 8-f -> test."""
    return "tune" if hashlib.sha256(question.encode("utf-8")).hexdigest()[0] in "01234567" else "test"


def entries(path: Path, problems: list[str]) -> Iterator[tuple[int, object]]:
    """Yield (line, entry) for each item of the file's `questions` list, reporting a malformed file."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("#"):
        problems.append(f"{path}:1: the file must start with a comment block saying how it was collected")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append(f"{path}: not valid YAML: {exc}")
        return
    if not isinstance(data, dict) or set(data) != {"questions"} or not isinstance(data["questions"], list):
        problems.append(f"{path}:1: the top level must be a mapping with only a `questions` list")
        return
    assert isinstance(node, yaml.MappingNode)
    sequence = next(value for key, value in node.value if key.value == "questions")
    for item_node, entry in zip(sequence.value, data["questions"]):
        yield item_node.start_mark.line + 1, entry


def check_common(where: str, entry: dict, keys: tuple[str, ...], problems: list[str]) -> str | None:
    """Keys, question text, url and `by`; returns the question when it is usable."""
    if tuple(entry) != keys:
        problems.append(f"{where}: keys must be exactly {', '.join(keys)} in that order, found {', '.join(entry)}")
    question = entry.get("q")
    if not isinstance(question, str) or not question.strip():
        problems.append(f"{where}: q must be a non-empty string")
        question = None
    elif question != question.strip():
        problems.append(f"{where}: q has leading or trailing whitespace")
    url = entry.get("url")
    if not isinstance(url, str) or not URL.match(url):
        problems.append(f"{where}: url must be an http(s) address, found {url!r}")
    if entry.get("by") not in BY:
        problems.append(f"{where}: by must be one of {sorted(BY)}, found {entry.get('by')!r}")
    return question


def check_out(where: str, entry: dict, question: str | None, problems: list[str]) -> None:
    kinds = entry.get("kinds")
    if not isinstance(kinds, list) or not kinds or not set(kinds) <= KINDS or len(set(kinds)) != len(kinds):
        problems.append(f"{where}: kinds must be a non-empty list of distinct values from {sorted(KINDS)}")
    elif question is not None:
        length = len(question.strip('“”"'))
        if ("short" in kinds) != (length <= 6):
            problems.append(f"{where}: kinds has `short` exactly when q has at most 6 characters ({length})")
        if length > 40 and "long" not in kinds:
            problems.append(f"{where}: q has {length} characters, so kinds must include `long`")
        if "plain" in kinds and len(kinds) > 1:
            problems.append(f"{where}: `plain` cannot be combined with other kinds")
    if entry.get("answers") != []:
        problems.append(f"{where}: answers must be [] (these are questions the FAQ does not answer)")
    subject = entry.get("subject")
    if not isinstance(subject, str) or not 2 <= len(subject) <= 6:
        problems.append(f"{where}: subject must be 2-6 characters, found {subject!r}")
    if not isinstance(entry.get("goes_to"), str):
        problems.append(f'{where}: goes_to must be a string ("" when no body handles it)')


def check_item(where: str, entry: dict, problems: list[str]) -> None:
    item = entry.get("item")
    if not isinstance(item, str) or not item.strip():
        problems.append(f"{where}: item must be a non-empty string")
    if entry.get("bin") not in BINS:
        problems.append(f"{where}: bin must be one of {sorted(BINS)}, found {entry.get('bin')!r}")
    why = entry.get("why")
    if not isinstance(why, str) or not why.strip() or "\n" in why:
        problems.append(f"{where}: why must be one non-empty line")


def check(directory: Path) -> tuple[list[str], dict[str, int]]:
    problems: list[str] = []
    counts: dict[str, int] = {}
    seen: dict[str, str] = {}
    for kind in ("out", "items"):
        for half in ("tune", "test"):
            path = directory / f"{kind}-{half}.yaml"
            if not path.exists():
                problems.append(f"{path}: missing")
                continue
            counts[f"{kind}-{half}"] = 0
            for line, entry in entries(path, problems):
                where = f"{path}:{line}"
                counts[f"{kind}-{half}"] += 1
                if not isinstance(entry, dict):
                    problems.append(f"{where}: each question must be a mapping")
                    continue
                question = check_common(where, entry, OUT_KEYS if kind == "out" else ITEM_KEYS, problems)
                if kind == "out":
                    check_out(where, entry, question, problems)
                else:
                    check_item(where, entry, problems)
                if question is None:
                    continue
                if half_of(question) != half:
                    problems.append(f"{where}: the sha256 rule puts this question in {kind}-{half_of(question)}.yaml")
                if question in seen:
                    problems.append(f"{where}: duplicate question, also at {seen[question]}")
                seen[question] = where
        total = counts.get(f"{kind}-tune", 0) + counts.get(f"{kind}-test", 0)
        if total < MINIMUM[kind]:
            problems.append(f"{directory}: {kind} files hold {total} questions, the issues ask for {MINIMUM[kind]}")
    for other in sorted(directory.glob("in-*.yaml")):
        data = yaml.safe_load(other.read_text(encoding="utf-8")) or {}
        for entry in data.get("questions") or []:
            question = entry.get("q") if isinstance(entry, dict) else None
            if isinstance(question, str) and question in seen:
                problems.append(f"{seen[question]}: question also collected in {other.name}")
    return problems, counts


def main(argv: list[str]) -> int:
    directory = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    problems, counts = check(directory)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(", ".join(f"{name}: {n}" for name, n in counts.items()) + " - all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
