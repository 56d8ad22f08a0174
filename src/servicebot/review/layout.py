"""Where things are in the staff's FAQ files, and YAML written the way they write it.

The review's snippets are pasted by hand, so they must follow the staff's own indentation
and name the line to paste after; and a resident's wording must read back from YAML as the
very same text, written bare whenever YAML allows (as staff write it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_PLAIN_RE = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@`\s][^\x00-\x1f\x7f\x85\u2028\u2029\ufeff]*")
_RESOLVER = yaml.resolver.Resolver()


def _plain_is_safe(text: str) -> bool:
    """Written bare, `text` reads back as this very string (the common case, decided fast)."""
    return (
        _PLAIN_RE.fullmatch(text) is not None
        and ": " not in text
        and " #" not in text
        and text[-1] not in ": "
        and text.isprintable()
        and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"
    )


def yaml_scalar(text: str) -> str:
    """A one-line YAML scalar: plain when safe, quoted when YAML would misread it."""
    if _plain_is_safe(text):
        return text
    dumped = yaml.safe_dump(text, allow_unicode=True, width=math.inf, default_style='"')
    return dumped.rstrip("\n")


@dataclass(frozen=True)
class Spot:
    indent: int  # column of the "-" of the list's items
    after_line: int  # 1-based line of the list's last item
    last_text: str


def _last_line(node: yaml.Node) -> int:
    """1-based last line of a composed node's content."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value:
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    end = node.end_mark
    return end.line + (1 if end.column > 0 else 0)


def _block_list_spot(node: yaml.Node | None, lines: list[str]) -> Spot | None:
    if not isinstance(node, yaml.SequenceNode) or node.flow_style or not node.value:
        return None
    first = node.value[0].start_mark
    dash = lines[first.line].rfind("-", 0, first.column)
    after = _last_line(node)
    return Spot(dash, after, lines[after - 1].strip()) if dash >= 0 else None


def _mapping_get(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


class FaqLayout:
    """Where things are in the staff's files, so snippets match their indentation and lines."""

    def __init__(self, faq_dir: Path | None):
        self.faq_dir = faq_dir
        self._files: dict[str, tuple[yaml.Node | None, list[str]]] = {}

    def _file(self, name: str) -> tuple[yaml.Node | None, list[str]]:
        if name not in self._files:
            try:
                text = (self.faq_dir / name).read_text(encoding="utf-8-sig") if self.faq_dir else ""
                self._files[name] = (yaml.compose(text, Loader=yaml.SafeLoader), text.splitlines())
            except (OSError, yaml.YAMLError):
                self._files[name] = (None, [])
        return self._files[name]

    def entries(self, file: str, key: str = "entries") -> Spot | None:
        """The end of the file's list of items (a topic file's entries, referrals.yaml's referrals)."""
        root, lines = self._file(file)
        return _block_list_spot(_mapping_get(root, key), lines) if root else None

    def alternates(self, file: str, entry_id: str) -> Spot | None:
        root, lines = self._file(file)
        items = _mapping_get(root, "entries") if root else None
        for item in getattr(items, "value", None) or ():
            node = _mapping_get(item, "id")
            if isinstance(node, yaml.ScalarNode) and node.value == entry_id:
                return _block_list_spot(_mapping_get(item, "alternates"), lines)
        return None

    def key_indent(self, file: str, key: str = "entries") -> int | None:
        root, _ = self._file(file)
        items = _mapping_get(root, key) if root else None
        first = (getattr(items, "value", None) or [None])[0]
        return first.start_mark.column if isinstance(first, yaml.MappingNode) else None
