"""The suite passes whatever valid FAQ staff keep: tests measure the pinned copy
(tests/fixtures/faq-pinned, refreshed on purpose by tests/pin_faq.py), and the only test
that reads faq/ asks what staff's own check asks, that it passes `faq check`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from pin_faq import differences, pin
from servicebot.faq.checks import check_directory

from conftest import PINNED_FAQ, REPO

# Test modules allowed to name the live faq/ directory, and why.
READS_LIVE_FAQ = {
    "test_pinned_faq.py": "faq/ passes the check staff run on it",
    "pin_faq.py": "the script that pins it",
    "test_guide.py": "the staff guide, faq/README.md (its commands run on the pinned copy)",
}
LIVE_FAQ_RE = re.compile(r"""(REPO|parents\[1\]|\.\.)\s*/\s*["']faq["']""")


def test_the_faq_staff_keep_passes_their_own_check(make_settings):
    """Whatever staff keep in faq/ must pass the check `faq check` and the bot apply, with
    today's code (its errors; the advisory synonym lint is left to `faq check`): a code change
    that breaks their regression questions or their entries fails here, not in their hands."""
    report = check_directory(REPO / "faq", make_settings(REPO / "faq"))
    assert report.errors == [], "\n".join(map(str, report.errors))


def test_no_other_test_reads_the_faq_staff_edit():
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted((REPO / "tests").glob("*.py"))
        if path.name not in READS_LIVE_FAQ
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if LIVE_FAQ_RE.search(line)
    ]
    assert offenders == [], "measure conftest.PINNED_FAQ instead:\n" + "\n".join(offenders)


def test_the_pinned_copy_is_a_whole_faq():
    names = {p.name for p in PINNED_FAQ.glob("*.yaml")}
    assert {"settings.yaml", "tests.yaml"} <= names and len(names) >= 5


def test_pinning_copies_the_yaml_and_says_what_changed(tmp_path: Path):
    live, pinned = tmp_path / "faq", tmp_path / "pinned"
    shutil.copytree(PINNED_FAQ, live)
    (live / "README.md").write_text("guide", encoding="utf-8")
    assert pin(live, pinned) == sorted(f"{p.name} (only in faq/)" for p in live.glob("*.yaml"))
    assert differences(live, pinned) == []
    assert not (pinned / "README.md").exists()

    welfare = live / "welfare.yaml"
    welfare.write_text(welfare.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    (live / "housing.yaml").write_text("topic: x\n", encoding="utf-8")
    (live / "party.yaml").unlink()
    assert differences(live, pinned) == [
        "housing.yaml (only in faq/)",
        "party.yaml (only in the pinned copy)",
        "welfare.yaml (edited)",
    ]
    pin(live, pinned)
    assert differences(live, pinned) == [] and not (pinned / "party.yaml").exists()
