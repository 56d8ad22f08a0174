"""Write the settings reference of `docs/configuration.md` from `servicebot.config.Settings`.

Each setting's description is written once, beside its field (`config.setting(default, doc)`);
this script renders the table — name (also the TOML key), environment variable, command-line
flag (read from `servicebot.cli`'s parser), default, description — between the two marker
comments of the page. `tests/test_settings_doc.py` fails when the committed table differs from
what the code gives. After adding or changing a setting, run from the project folder:

    python -m bench.tools.settings_doc           # rewrite the table in docs/configuration.md
    python -m bench.tools.settings_doc --check   # exit 1, saying so, if the page is out of date
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from servicebot.cli import build_parser
from servicebot.config import ENV_PREFIX, Settings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
COMMAND = "python -m bench.tools.settings_doc"
BEGIN = f"<!-- settings table: generated from servicebot.config.Settings by `{COMMAND}`; do not edit by hand -->"
END = "<!-- end of the generated settings table -->"
HEADER = "| setting (TOML key) | environment variable | flag | default | meaning |\n|---|---|---|---|---|"


def flags() -> dict[str, str]:
    """Each option's flag by its destination: `--faq` for every command, `run --web-port` for one."""
    parser = build_parser()
    found = {action.dest: action.option_strings[0] for action in parser._actions if action.option_strings}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                for option in sub._actions:
                    if option.option_strings and option.dest not in found:
                        found[option.dest] = f"{command} {option.option_strings[0]}"
    return found


def shown(value: Any) -> str:
    """A default as the table shows it: `value`, or "empty" / "none" when there is none."""
    if value is None or value == "":
        return "empty"
    if isinstance(value, frozenset):
        return "none" if not value else "`" + ",".join(sorted(map(str, value))) + "`"
    return f"`{value}`"


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def table() -> str:
    """The Markdown table of every setting, then the config file's own variable."""
    options = flags()
    rows = [HEADER]
    for f in dataclasses.fields(Settings):
        doc = f.metadata.get("doc")
        if not doc:
            raise SystemExit(f"Settings.{f.name} has no description: declare it with config.setting(default, doc)")
        flag = f"`{options[f.name]}`" if f.name in options else "—"
        rows.append(f"| `{f.name}` | `{ENV_PREFIX}{f.name.upper()}` | {flag} | {shown(f.default)} | {cell(doc)} |")
    rows.append(f"| — | `{ENV_PREFIX}CONFIG` | `{options['config_file']}` | none | Path of the TOML config file. |")
    return "\n".join(rows)


def between_markers(page: str) -> tuple[int, int]:
    """Where the generated table starts and ends in `page`'s text."""
    if page.count(BEGIN) != 1 or page.count(END) != 1 or page.index(BEGIN) > page.index(END):
        raise SystemExit(f"{PAGE.name} must hold the two marker comments once each, in order:\n{BEGIN}\n{END}")
    return page.index(BEGIN) + len(BEGIN), page.index(END)


def committed(page: str) -> str:
    """The table between the markers of `page`'s text."""
    start, end = between_markers(page)
    return page[start:end].strip("\n")


def with_table(page: str, rendered: str) -> str:
    """`page`'s text with `rendered` between its markers."""
    start, end = between_markers(page)
    return f"{page[:start]}\n{rendered}\n{page[end:]}"


def main(argv: list[str] | None = None, page_path: Path = PAGE) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the page is up to date")
    args = parser.parse_args(argv)
    page = page_path.read_text(encoding="utf-8")
    rendered = table()
    if committed(page) == rendered:
        return 0
    if args.check:
        print(f"{page_path.name}: the settings table differs from Settings; run: {COMMAND}", file=sys.stderr)
        return 1
    page_path.write_text(with_table(page, rendered), encoding="utf-8")
    print(f"{page_path}: settings table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
