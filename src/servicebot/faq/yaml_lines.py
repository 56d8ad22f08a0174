"""YAML that remembers where things were written, so staff read "books.yaml:12", not "somewhere".

A safe loader (libyaml when available) whose mappings and lists carry the line of each key
and item, which flags a key written twice in one mapping (plain YAML keeps the last one
silently), and which leaves an impossible date (2026-13-45) as text for the validation to
name. Parse failures come back as located problems in the staff's language, never raised,
marked as reaching the whole file (`Reach.FILE`): nothing in the file was read.
"""

from __future__ import annotations

from typing import Any

import yaml

from servicebot.errors import Problem, Reach
from servicebot.faq import messages


class LocDict(dict):
    """A mapping that remembers the line of each key (1-based) and its own line."""

    line: int = 0
    key_lines: dict[Any, int]


class LocList(list):
    """A sequence that remembers the line of each item and its own line."""

    line: int = 0
    item_lines: list[int]


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LOADER_KIND = _BaseLoader.__name__  # libyaml and pure-Python words its errors differently


class _LocLoader(_BaseLoader):
    """SafeLoader (libyaml when available) that keeps line numbers and flags duplicate keys."""

    duplicate_keys: list[tuple[Any, int]]


def _construct_mapping(loader: _LocLoader, node: yaml.MappingNode) -> LocDict:
    result = LocDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            key = str(key)
        if key in result:
            loader.duplicate_keys.append((key, key_node.start_mark.line + 1))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = value_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LocLoader, node: yaml.SequenceNode) -> LocList:
    result = LocList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_timestamp(loader: _LocLoader, node: yaml.ScalarNode) -> Any:
    """A date YAML recognises but cannot build (2026-13-45) stays text, for the validation to report."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_LocLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LocLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_LocLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def parse_yaml(raw: bytes, label: str) -> tuple[Any, list[Problem]]:
    """Parse one file's bytes: (data, problems). Data is None when the file cannot be parsed."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(label, line, messages.NOT_UTF8, reach=Reach.FILE)]
    loader = _LocLoader(text)
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [Problem(label, line, messages.YAML_SYNTAX.format(reason=exc.problem or exc), reach=Reach.FILE)]
    except yaml.YAMLError as exc:
        return None, [Problem(label, 1, messages.YAML_OTHER.format(reason=exc), reach=Reach.FILE)]
    finally:
        loader.dispose()
    problems = [Problem(label, line, messages.DUPLICATE_KEY.format(key=key)) for key, line in loader.duplicate_keys]
    return data, problems


def line_of(container: Any, key: Any, default: int) -> int:
    """The line `key` of a parsed mapping was written on (`default` when unknown)."""
    lines = getattr(container, "key_lines", None)
    return lines.get(key, default) if lines else default


def item_lines(value: Any, default: int) -> list[int]:
    """The line of each item of a parsed list (`default` for each when unknown)."""
    return getattr(value, "item_lines", None) or [default] * len(value)


def mapping_line(mapping: Any) -> int:
    """The line a parsed mapping starts on (1 when unknown)."""
    return getattr(mapping, "line", 1)
