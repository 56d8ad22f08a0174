"""Pin the FAQ the accuracy tests measure: copy faq/*.yaml to tests/fixtures/faq-pinned/.

Staff edit faq/ whenever the office's answers change, and `servicebot faq check` is what
tells them whether an edit is good. The developers' tests must pass whatever valid FAQ
staff keep: a new entry has no labelled questions yet, a new keyword moves a measured
answer, a renamed topic is missing from the example menu in docs/wechat.md. So every test that
measures the shipped FAQ (accuracy floors, the matcher on real entries, the web page, the
live-reload cuts) reads this pinned copy, and a developer refreshes it on purpose: after
tuning the matcher or the FAQ, or when staff's latest edits should be measured.

    python tests/pin_faq.py           # faq/*.yaml → tests/fixtures/faq-pinned/ (then run the tests)
    python tests/pin_faq.py --check   # list the differences; exit 1 if there are any

The test run prints the same list at its end (never a failure): it tells a developer that
the figures measure a FAQ that is no longer the one staff keep.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIVE = REPO / "faq"
PINNED = REPO / "tests" / "fixtures" / "faq-pinned"


def _yaml_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.yaml"))} if directory.is_dir() else {}


def differences(live: Path = LIVE, pinned: Path = PINNED) -> list[str]:
    """One line per file that differs: `welfare.yaml (edited)`, `referrals.yaml (only in faq/)`."""
    now, then = _yaml_files(live), _yaml_files(pinned)
    lines = []
    for name in sorted(now.keys() | then.keys()):
        if name not in then:
            lines.append(f"{name} (only in faq/)")
        elif name not in now:
            lines.append(f"{name} (only in the pinned copy)")
        elif now[name] != then[name]:
            lines.append(f"{name} (edited)")
    return lines


def pin(live: Path = LIVE, pinned: Path = PINNED) -> list[str]:
    """Make the pinned copy equal to faq/'s YAML files; returns what changed."""
    changed = differences(live, pinned)
    pinned.mkdir(parents=True, exist_ok=True)
    for old in pinned.glob("*.yaml"):
        old.unlink()
    for path in sorted(live.glob("*.yaml")):
        shutil.copy2(path, pinned / path.name)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list the differences (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        found = differences()
        print("\n".join(found) if found else "the pinned copy is faq/ as it is now")
        return 1 if found else 0
    changed = pin()
    print(f"pinned {PINNED.relative_to(REPO)}: " + (", ".join(changed) if changed else "already up to date"))
    if changed:
        print("now run the tests that measure it (python -m pytest -q tests/test_labelled.py tests/test_matching.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
