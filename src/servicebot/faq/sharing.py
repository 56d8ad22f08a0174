"""Keywords two entries share: a quiet way for one edit to change other answers.

A keyword pulls every question that contains it towards its entry. Written on a second
entry (or equal to another entry's phrasing), it splits those questions between the two,
and an answer that worked yesterday may go to the new entry today without any check
failing. Valid YAML, so it is a warning: it names both entries and where each is written.
Only exact repeats (after folding width, case and punctuation) are reported: a keyword
inside a longer one (骨头 / 大骨头) is how staff tell two entries apart.
"""

from __future__ import annotations

from collections.abc import Iterable

from servicebot.errors import Problem, Severity
from servicebot.faq import messages
from servicebot.faq.model import Entry, question_key


def shared_keyword_warnings(entries: Iterable[Entry]) -> list[Problem]:
    """One warning per keyword that another entry also has as a keyword or as a phrasing."""
    entries = list(entries)
    owners: dict[str, tuple[Entry, int, str]] = {}  # folded text → first entry, line, what it is there
    for entry in entries:
        for k, text in enumerate(entry.phrasings):
            owners.setdefault(question_key(text), (entry, entry.phrasing_line(k), messages.AS_PHRASING))
    problems = []
    for entry in entries:
        for k, word in enumerate(entry.keywords):
            key = question_key(word)
            line = entry.keyword_lines[k] if k < len(entry.keyword_lines) else entry.line
            other = owners.get(key)
            if other is None:
                owners[key] = (entry, line, messages.AS_KEYWORD)
                continue
            first, first_line, kind = other
            if first.id == entry.id:
                continue
            message = messages.SHARED_KEYWORD.format(
                word=word, id=entry.id, other=first.id, kind=kind, file=first.file, line=first_line
            )
            problems.append(Problem(entry.file, line, message, Severity.WARNING))
    return problems
