"""`wording`: tests name the constant that owns a message instead of repeating its words."""

from __future__ import annotations

import re
import string


def wording(template: str, **known: object) -> re.Pattern[str]:
    """A pattern for the messages a `str.format` template makes, with `known` fields filled in.

    Tests name the constant that owns a message instead of repeating its words, so staff
    wording can change without breaking them; unknown fields match anything and are
    captured by name (`wording(T, id="a").search(out)["other"]`).
    """
    parts, seen = [], set()
    for literal, field, _spec, conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field in known:
            value = known[field]
            parts.append(re.escape(repr(value) if conversion == "r" else format(value)))
        elif field in seen:
            parts.append(f"(?P={field})")
        else:
            seen.add(field)
            parts.append(f"(?P<{field}>.+?)")
    return re.compile("".join(parts))
