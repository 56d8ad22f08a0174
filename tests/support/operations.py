"""The backup and restore commands of docs/operations.md, run as written there (with the
container's paths replaced by a test's)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def readme_backup_commands() -> tuple[str, str]:
    """The Python that the online backup and the restore of docs/operations.md run, as written there."""
    text = OPERATIONS.read_text(encoding="utf-8")
    section = text[text.index("## Back up and restore") :]
    backup, restore = re.findall(r"python -c '(.*?)'", section, re.S)[:2]
    return backup, restore


def run_readme_command(code: str, paths: dict[str, Path]) -> None:
    """Run a command of docs/operations.md with its container paths (`/data/…`) replaced by `paths`."""
    for container_path, path in paths.items():
        assert container_path in code, container_path
        code = code.replace(container_path, str(path))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
