"""The deployment examples say what the code does: servicebot.env.example's values are the
ones in force (config.py's defaults, as the image and compose.env set them), compose.yaml
lets servicebot.env win, and docs/configuration.md's table and TOML example agree with
config.py. A default changed in code without the example (thresholds 60/40 once) fails here."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from servicebot.config import Settings, load_settings

from conftest import REPO

ENV_EXAMPLE = REPO / "servicebot.env.example"
SETTING_LINE = re.compile(r"^# (SERVICEBOT_[A-Z_]+)=(.*)$")
EXAMPLE_LINE = re.compile(r"^#\s+e\.g\. (SERVICEBOT_[A-Z_]+)=(.*)$")


def field_of(variable: str) -> str:
    return variable.removeprefix("SERVICEBOT_").lower()


def image_env() -> dict[str, str]:
    """What the Dockerfile's ENV instructions set (SERVICEBOT_* only)."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(re.findall(r"(SERVICEBOT_[A-Z_]+)=(\S*)", line))
    return found


def compose_service() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))["services"]["bot"]


def env_file(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def in_the_container() -> dict[str, str]:
    """The environment `docker compose up` gives the bot before servicebot.env: image, then compose.env."""
    env = image_env()
    for name in compose_service()["env_file"][:-1]:
        env.update(env_file(REPO / name))
    return env


def setting_lines() -> list[tuple[str, str]]:
    return [(m[1], m[2]) for m in map(SETTING_LINE.match, ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()) if m]


@pytest.mark.parametrize("variable, shown", setting_lines(), ids=lambda v: v if v.startswith("SERV") else "")
def test_each_commented_setting_shows_the_value_in_force(variable, shown):
    """Uncommenting a line unchanged changes nothing (60/40 shown while 50/45 applied, or a
    WEB_LISTEN=127.0.0.1 that would cut the container off its published port)."""
    base = in_the_container()
    if variable == "SERVICEBOT_CONFIG":
        assert shown == ""
        return
    before = getattr(load_settings(env=base), field_of(variable))
    after = getattr(load_settings(env={**base, variable: shown}), field_of(variable))
    assert after == before, f"{variable}={shown} in the example, but {before!r} is in force"


def test_every_setting_is_in_the_example_once_and_its_examples_are_valid():
    names = [v for v, _ in setting_lines()]
    expected = {f"SERVICEBOT_{f.name.upper()}" for f in dataclasses.fields(Settings)} | {"SERVICEBOT_CONFIG"}
    assert sorted(names) == sorted(expected)
    examples = [m.groups() for m in map(EXAMPLE_LINE.match, ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()) if m]
    assert len(examples) >= 8
    for variable, value in examples:
        if variable != "SERVICEBOT_CONFIG":
            load_settings(env={**in_the_container(), variable: value})  # raises on an invalid example


def test_compose_lets_servicebot_env_win():
    service = compose_service()
    assert service["env_file"][-1] == "servicebot.env"  # later env files override earlier ones
    assert not [k for k in service.get("environment", {}) or {} if str(k).startswith("SERVICEBOT_")]
    for name in service["env_file"][:-1]:
        for variable in env_file(REPO / name):
            assert field_of(variable) in {f.name for f in dataclasses.fields(Settings)}, variable
    assert (REPO / ".gitignore").read_text(encoding="utf-8").count("servicebot.env") >= 1


def test_the_image_sets_only_known_settings_and_serves_the_mounted_faq():
    env = image_env()
    load_settings(env=env)
    assert env["SERVICEBOT_FAQ_DIR"] == "/app/faq" and "/app/faq" in " ".join(compose_service()["volumes"])
    assert re.search(r"^WORKDIR /app$", (REPO / "Dockerfile").read_text(encoding="utf-8"), re.MULTILINE)


def readme() -> str:
    """The settings reference: docs/configuration.md (once a section of the README)."""
    return (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_the_readme_configuration_table_gives_config_py_defaults():
    rows = re.findall(r"^\| `(\w+)` \| `(SERVICEBOT_\w+)` \| [^|]* \| ([^|]*) \|", readme(), re.MULTILINE)
    assert len(rows) == len(dataclasses.fields(Settings))
    defaults = Settings()
    for name, variable, cell in rows:
        default = getattr(defaults, name)
        value = re.match(r"`([^`]*)`", cell.strip())
        if value:
            assert getattr(load_settings(env={variable: value.group(1)}), name) == default, (name, cell)
        else:
            assert cell.strip().split()[0] in ("empty", "none") and not default, (name, cell)


def test_the_readme_toml_example_loads_and_shows_the_defaults_it_says_it_shows(tmp_path):
    section = readme()[readme().index("## Config file") :]
    block = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    path = tmp_path / "servicebot.toml"
    path.write_text(block.group(1), encoding="utf-8")
    load_settings(env={}, config_file=path)
    defaults_part = block.group(1).split(DEFAULTS_HEADING, 1)[1].split("\n\n", 1)[0]
    shown = dict(re.findall(r"^# (\w+) = (.+)$", defaults_part, re.MULTILINE))
    assert {"answer_threshold", "suggest_threshold"} <= shown.keys()
    for key, value in shown.items():
        path.write_text(f"{key} = {value}\n", encoding="utf-8")
        assert getattr(load_settings(env={}, config_file=path), key) == getattr(Settings(), key), key


DEFAULTS_HEADING = "# commented out: the built-in defaults"


def test_the_readme_finds_ids_with_the_bot_not_with_get_updates():
    """getUpdates is refused while a webhook is set: the recipes for admin ids and groups use /id."""
    section = (REPO / "docs" / "handoff.md").read_text(encoding="utf-8")
    assert "/id@" in section and "/getUpdates" not in section
    table = readme()[readme().index("| `admin_ids` |") :].split("\n", 2)
    assert "`/id`" in table[0] and "/id@" in table[1]  # admin_ids, then admin_chat_id
