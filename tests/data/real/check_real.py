"""Validate the real-question yardstick files (issue 20) before anyone measures with them.

The yardstick in this folder is hand-collected by two collectors on separate branches
(``in-*`` and ``out-*`` / ``items-*``), so a merge can easily bring a typo'd entry id, a
duplicate question or a question filed in the wrong half. This script checks every
``*.yaml`` file that exists here against the shared format (the realq-schema note):
keys, allowed values, entry ids that exist in ``faq/*.yaml``, the fixed sha256 split rule
and duplicates across files. It collects every problem (``file:line: message``) before
failing, and never looks at how the bot answers the questions.

Usage: ``python3 tests/data/real/check_real.py [folder]`` (stdlib + PyYAML).
Exit status 0 when every file is valid, 1 otherwise.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TypeGuard

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

FILE_NAME = re.compile(r"^(in|out|items)-(tune|test)\.yaml$")
QUESTION_KEYS = ("q", "url", "by", "kinds", "answers", "subject", "goes_to")
ITEM_KEYS = ("q", "url", "by", "item", "bin", "why")
BY = {"resident", "title"}
KINDS = {"plain", "long", "colloquial", "typo", "traditional", "short", "complaint"}
BINS = {"可回收物", "有害垃圾", "厨余垃圾", "其他垃圾", "depends"}
URL = re.compile(r"^https?://\S+$")
SHORT_MAX = 6  # "short (<= 6 characters)"
LONG_MIN = 41  # "long (> 40 characters or several sentences)"


def half_of(question: str) -> str:
    """The fixed split: first hex digit of sha256(q as UTF-8), 0-7 -> tune, 8-f -> test."""
    return "tune" if hashlib.sha256(question.encode("utf-8")).hexdigest()[0] in "01234567" else "test"


def faq_entry_ids(faq_dir: Path) -> set[str]:
    """Every ``id:`` of every entry in ``faq/*.yaml`` (files without ``entries`` are skipped)."""
    ids: set[str] = set()
    for path in sorted(faq_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("entries"), list):
            ids.update(str(e["id"]) for e in data["entries"] if isinstance(e, dict) and "id" in e)
    return ids


def _item_lines(text: str) -> list[int]:
    """1-based line of each item under ``questions:``, for messages (empty when the shape is wrong)."""
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "questions" and isinstance(value, yaml.SequenceNode):
            return [node.start_mark.line + 1 for node in value.value]
    return []


def _is_text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and value.strip() != "" and value == value.strip()


def check_question(row: dict[str, Any], ids: set[str]) -> list[str]:
    """Problems with one in/out row (empty list when valid)."""
    problems: list[str] = []
    q = row.get("q")
    if not _is_text(q):
        return ["q must be non-empty text without leading/trailing spaces"]
    if row.get("by") not in BY:
        problems.append(f"by must be one of {sorted(BY)}, not {row.get('by')!r}")
    url = row.get("url")
    if not isinstance(url, str) or not URL.match(url):
        problems.append(f"url must be an http(s) address, not {url!r}")
    kinds = row.get("kinds")
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
        problems.append("kinds must be a non-empty list")
    else:
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            problems.append(f"unknown kinds {unknown}; allowed: {sorted(KINDS)}")
        if len(set(kinds)) != len(kinds):
            problems.append("kinds lists a kind twice")
        if "plain" in kinds and len(kinds) > 1:
            problems.append("plain means none of the other kinds, so it stands alone")
        if ("short" in kinds) != (len(q) <= SHORT_MAX):
            problems.append(f"short is exactly the questions of <= {SHORT_MAX} characters (this one has {len(q)})")
        if len(q) >= LONG_MIN and "long" not in kinds:
            problems.append(f"a question of {len(q)} characters must be marked long")
    answers = row.get("answers")
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        problems.append("answers must be a list of entry ids ([] when no entry answers)")
        answers = []
    else:
        missing = [a for a in answers if a not in ids]
        if missing:
            problems.append(f"answers name ids that are not in faq/*.yaml: {missing}")
        if len(set(answers)) != len(answers):
            problems.append("answers lists an id twice")
    subject = row.get("subject")
    if not isinstance(subject, str) or not 2 <= len(subject) <= 6:
        problems.append(f"subject must be 2-6 characters, not {subject!r}")
    goes_to = row.get("goes_to")
    if not isinstance(goes_to, str):
        problems.append('goes_to must be text ("" when none)')
    elif answers and goes_to:
        problems.append("goes_to is only for questions no entry answers (answers: [])")
    return problems


def check_item(row: dict[str, Any]) -> list[str]:
    """Problems with one items row (empty list when valid)."""
    problems: list[str] = []
    if not _is_text(row.get("q")):
        return ["q must be non-empty text without leading/trailing spaces"]
    if row.get("by") not in BY:
        problems.append(f"by must be one of {sorted(BY)}, not {row.get('by')!r}")
    url = row.get("url")
    if not isinstance(url, str) or not URL.match(url):
        problems.append(f"url must be an http(s) address, not {url!r}")
    if row.get("bin") not in BINS:
        problems.append(f"bin must be one of {sorted(BINS)}, not {row.get('bin')!r}")
    for key in ("item", "why"):
        if not _is_text(row.get(key)):
            problems.append(f"{key} must be non-empty text")
    return problems


def check_folder(folder: Path, ids: set[str]) -> tuple[list[str], dict[str, int]]:
    """Check every *.yaml in ``folder``; returns (problems, questions per file)."""
    problems: list[str] = []
    counts: dict[str, int] = {}
    seen: dict[str, str] = {}  # question text -> where it first appeared
    for path in sorted(folder.glob("*.yaml")):
        name = path.name
        match = FILE_NAME.match(name)
        if not match:
            problems.append(f"{name}: unexpected file name (want in|out|items-tune|test.yaml)")
            continue
        kind, half = match.groups()
        text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
            lines = _item_lines(text)
        except yaml.YAMLError as exc:
            problems.append(f"{name}: not valid YAML: {exc}")
            continue
        if not isinstance(data, dict) or set(data) != {"questions"} or not isinstance(data["questions"], list):
            problems.append(f"{name}: the file must hold exactly one key, questions: a list")
            continue
        rows = data["questions"]
        counts[name] = len(rows)
        keys = ITEM_KEYS if kind == "items" else QUESTION_KEYS
        for index, row in enumerate(rows):
            where = f"{name}:{lines[index] if index < len(lines) else '?'}"
            if not isinstance(row, dict):
                problems.append(f"{where}: each question must be a mapping")
                continue
            if set(row) != set(keys):
                extra, absent = sorted(set(row) - set(keys)), sorted(set(keys) - set(row))
                problems.append(f"{where}: keys must be {list(keys)} (extra {extra}, missing {absent})")
                continue
            found = check_item(row) if kind == "items" else check_question(row, ids)
            problems.extend(f"{where}: {p}" for p in found)
            q = row["q"]
            if not isinstance(q, str):
                continue
            if half_of(q) != half:
                problems.append(f"{where}: by the sha256 rule this question belongs in {kind}-{half_of(q)}.yaml")
            if q in seen:
                # A held-out question's text is never printed: reading it would make it a tuning one.
                shown = "" if "-test." in where or "-test." in seen[q] else f": {q}"
                problems.append(f"{where}: duplicate of {seen[q]}{shown}")
            else:
                seen[q] = where
    return problems, counts


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else HERE
    ids = faq_entry_ids(REPO / "faq")
    if not ids:
        print(f"no FAQ entries found under {REPO / 'faq'}", file=sys.stderr)
        return 1
    problems, counts = check_folder(folder, ids)
    for name, count in counts.items():
        print(f"{name}: {count} questions")
    if problems:
        print(f"{len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    total = Counter({name.split("-")[0]: 0 for name in counts})
    for name, count in counts.items():
        total[name.split("-")[0]] += count
    print("OK: " + ", ".join(f"{kind} {n}" for kind, n in sorted(total.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
