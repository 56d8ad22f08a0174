"""Shared fixtures: a small valid FAQ copied per test, and settings pointing at tmp dirs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from servicebot.config import Settings, load_settings

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def mini_faq(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/mini (5 entries, 2 topics, synonyms, tests.yaml)."""
    target = tmp_path / "faq"
    shutil.copytree(FIXTURES / "mini", target)
    return target


@pytest.fixture
def make_settings(tmp_path: Path):
    """Settings for a FAQ dir with data under tmp_path; keyword overrides as in load_settings."""

    def make(faq_dir: Path, **overrides) -> Settings:
        values = {"faq_dir": faq_dir, "data_dir": tmp_path / "data", **overrides}
        return load_settings(env={}, overrides=values)

    return make


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """Tests never see the developer's SERVICEBOT_* variables."""
    import os

    for key in list(os.environ):
        if key.startswith("SERVICEBOT_"):
            monkeypatch.delenv(key)
