"""Settings from the command line's point of view: every kind of bad setting stops startup with
exit code 2 and one line naming the setting (never the token), and a setting given in
several places takes the flag over the environment over the config file over the default."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from servicebot import cli
from servicebot.config import Settings, load_settings
from servicebot.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAH-abcdefghijklmnopqrstuvwxyz012345"
SECRETS = {
    "SERVICEBOT_TOKEN": TOKEN,
    "SERVICEBOT_WEBHOOK_SECRET": "webhook-secret-value-7f3a",
    "SERVICEBOT_PSEUDONYM_SECRET": "pseudonym-secret-value-9c1e",
}


@pytest.fixture
def run_cli(mini_faq, tmp_path, monkeypatch, capsys):
    """Run `servicebot ARGS...` with the secrets set, a valid FAQ and data dir; (code, stderr).

    Without a settings problem the command given would succeed, so exit code 2 can only come
    from the settings.
    """

    def run(
        *argv: str, env: dict[str, str] | None = None, toml: str | None = None, secrets: bool = True
    ) -> tuple[int, str]:
        for key, value in {**(SECRETS if secrets else {}), **(env or {})}.items():
            monkeypatch.setenv(key, value)
        if toml is not None:
            path = tmp_path / "servicebot.toml"
            path.write_text(toml, encoding="utf-8")
            monkeypatch.setenv("SERVICEBOT_CONFIG", str(path))
        # `faq stale` reads every setting and needs no network (`health` asks Telegram about the token)
        command, *rest = argv or ("faq", "stale")
        args = [command, *rest]
        if command in ("health", "faq"):
            args += ["--faq", str(mini_faq), "--data-dir", str(tmp_path / "data")]
        code = cli.main(args)
        return code, capsys.readouterr().err

    return run


def assert_one_line_naming(err: str, *names: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("servicebot: "), err
    for name in names:
        assert name in lines[0], err
    for secret in SECRETS.values():
        assert secret not in err
    assert "Traceback" not in err


def test_the_valid_baseline_succeeds(run_cli):
    # Guards the tests below: with nothing wrong, the same invocation exits 0.
    assert run_cli() == (0, "")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        # URLs
        ({"SERVICEBOT_BASE_URL": "127.0.0.1:8081/bot"}, ["base_url"]),
        ({"SERVICEBOT_BASE_URL": "ftp://127.0.0.1/bot"}, ["base_url"]),
        ({"SERVICEBOT_WEBHOOK_URL": "bot.example.org/hook"}, ["webhook_url"]),
        # numbers that are not numbers
        ({"SERVICEBOT_WEB_PORT": "eighty"}, ["web_port", "eighty"]),
        ({"SERVICEBOT_ANSWER_THRESHOLD": "high"}, ["answer_threshold"]),
        ({"SERVICEBOT_RETENTION_DAYS": "1.5"}, ["retention_days"]),
        ({"SERVICEBOT_FLOOD_WINDOW": "1min"}, ["flood_window"]),
        ({"SERVICEBOT_ADMIN_IDS": "12345,bob"}, ["admin_ids", "comma-separated list of numeric Telegram ids"]),
        ({"SERVICEBOT_ADMIN_CHAT_ID": "@staffchat"}, ["admin_chat_id"]),
        # numbers out of range
        ({"SERVICEBOT_WEB_PORT": "70000"}, ["web_port"]),
        ({"SERVICEBOT_ANSWER_THRESHOLD": "150"}, ["answer_threshold"]),
        ({"SERVICEBOT_SUGGEST_THRESHOLD": "70", "SERVICEBOT_ANSWER_THRESHOLD": "60"}, ["suggest_threshold"]),
        ({"SERVICEBOT_STALE_DAYS": "0"}, ["stale_days"]),
        ({"SERVICEBOT_FLOOD_MESSAGES": "0"}, ["flood_messages"]),
        ({"SERVICEBOT_RELOAD_INTERVAL": "-1"}, ["reload_interval", "0 turns watching off"]),
        ({"SERVICEBOT_FLOOD_WINDOW": "0"}, ["flood_window", "more than 0"]),
        # choices
        ({"SERVICEBOT_LOG_FORMAT": "xml"}, ["log_format"]),
        ({"SERVICEBOT_LOG_LEVEL": "LOUD"}, ["log_level", "DEBUG, INFO, WARNING or ERROR"]),
        # a misspelt variable is an error, not silently ignored
        ({"SERVICEBOT_TOKNE": "x"}, ["SERVICEBOT_TOKNE"]),
        ({"SERVICEBOT_FAQDIR": "/srv/faq"}, ["SERVICEBOT_FAQDIR"]),
        # the config file named by the environment
        ({"SERVICEBOT_CONFIG": "/nonexistent/servicebot.toml"}, ["config file", "/nonexistent/servicebot.toml"]),
    ],
    ids=lambda v: ",".join(v) if isinstance(v, list) else None,
)
def test_invalid_environment_setting_exits_2_with_one_line(run_cli, env, names):
    code, err = run_cli(env=env)
    assert code == 2
    assert_one_line_naming(err, *names)


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ('tokn = "123456789:AAH-abcdefghijklmnopqrstuvwxyz012345"\n', ["unknown option", "tokn"]),
        ('faq_dir = "faq"\nlog_colour = "red"\n', ["unknown option", "log_colour"]),
        ('web_port = "eighty"\n', ["web_port"]),
        ("answer_threshold = 101\n", ["answer_threshold"]),
        ('base_url = "localhost:8081"\n', ["base_url"]),
        ('token = "123456789:AAH-abcdefghijklmnopqrstuvwxyz012345"\nfaq_dir = \n', ["not valid TOML"]),
    ],
    ids=["unknown-option", "unknown-option-2", "non-numeric", "out-of-range", "bad-url", "bad-toml"],
)
def test_invalid_config_file_exits_2_with_one_line(run_cli, toml, names):
    code, err = run_cli(toml=toml)
    assert code == 2
    assert_one_line_naming(err, *names)


def test_a_config_file_that_is_not_utf8_or_is_a_directory_exits_2(run_cli, tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe" + "faq_dir = 'faq'".encode("utf-16-le"))
    code, err = run_cli(env={"SERVICEBOT_CONFIG": str(binary)})
    assert code == 2
    assert_one_line_naming(err, "not valid TOML", str(binary))
    code, err = run_cli(env={"SERVICEBOT_CONFIG": str(tmp_path)})
    assert code == 2
    assert_one_line_naming(err, "cannot be read", str(tmp_path))


@pytest.mark.parametrize(
    "bad_token",
    [
        "123456789 AAH-abcdefghijklmnopqrstuvwxyz012345",  # a space where the colon belongs
        "AAH-abcdefghijklmnopqrstuvwxyz012345",  # the bot id part forgotten
        "123456789:AAH-abcdefghij klmnopqrstuvwxyz012345",  # pasted with a space inside
    ],
)
def test_malformed_token_is_rejected_without_showing_it(run_cli, bad_token):
    code, err = run_cli(env={"SERVICEBOT_TOKEN": bad_token})
    assert code == 2
    assert_one_line_naming(err, "token")
    assert bad_token not in err
    assert "AAH-abcdefghij" not in err


def test_malformed_token_in_config_file_is_not_shown(run_cli):
    code, err = run_cli(toml='token = "123456789-AAH-abcdefghijklmnopqrstuvwxyz012345"\n', secrets=False)
    assert code == 2
    assert_one_line_naming(err, "token")
    assert "abcdefghijklmnop" not in err


def test_invalid_flag_value_exits_2_with_one_line(run_cli):
    code, err = run_cli("run", "--base-url", "ftp://127.0.0.1:8081/bot")
    assert code == 2
    assert_one_line_naming(err, "base_url")


def test_config_file_flag_pointing_nowhere_exits_2(run_cli, tmp_path):
    code, err = run_cli("health", "--config", str(tmp_path / "missing.toml"))
    assert code == 2
    assert_one_line_naming(err, "config file", "missing.toml")


def test_webhook_mode_without_secret_exits_2_with_one_line(run_cli, monkeypatch):
    monkeypatch.delenv("SERVICEBOT_WEBHOOK_SECRET", raising=False)
    code, err = run_cli(
        "run",
        "--webhook-url",
        "https://bot.example.org/hook",
        env={"SERVICEBOT_TOKEN": TOKEN, "SERVICEBOT_PSEUDONYM_SECRET": "p"},
        secrets=False,
    )
    assert code == 2
    assert_one_line_naming(err, "SERVICEBOT_WEBHOOK_SECRET")


def test_telegram_mode_without_token_exits_2_and_says_how_to_set_it(run_cli):
    code, err = run_cli("run", secrets=False)
    assert code == 2
    first = err.strip().splitlines()[0]
    assert first.startswith("servicebot: ") and "token" in first
    assert "SERVICEBOT_TOKEN" in err
    assert "Traceback" not in err


def test_argparse_rejects_non_numeric_flag_with_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--web-port", "eighty"])
    assert exc.value.code == 2
    assert "--web-port" in capsys.readouterr().err


def test_argparse_rejects_unknown_log_format_flag_with_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["health", "--log-format", "xml"])
    assert exc.value.code == 2
    assert "--log-format" in capsys.readouterr().err


# --- precedence ------------------------------------------------------------------------------


def settings_for(*argv: str) -> Settings:
    """The Settings a command line resolves to, through the real parser."""
    return cli.settings_from_args(cli.build_parser().parse_args(list(argv)))


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply_when_nothing_is_set(monkeypatch):
    monkeypatch.delenv("SERVICEBOT_DATA_DIR")  # set by conftest so tests never write into the checkout
    assert settings_for("health") == Settings()


def test_file_overrides_defaults(tmp_path):
    cfg = write_toml(tmp_path / "c.toml", 'log_format = "json"\nretention_days = 30\nadmin_ids = [1, 2]\n')
    s = settings_for("health", "--config", str(cfg))
    assert (s.log_format, s.retention_days, s.admin_ids) == ("json", 30, frozenset({1, 2}))
    assert s.answer_threshold == Settings().answer_threshold


def test_environment_overrides_file(tmp_path, monkeypatch):
    cfg = write_toml(tmp_path / "c.toml", f'token = "{TOKEN}"\nretention_days = 30\nlog_level = "DEBUG"\n')
    monkeypatch.setenv("SERVICEBOT_CONFIG", str(cfg))
    monkeypatch.setenv("SERVICEBOT_RETENTION_DAYS", "90")
    monkeypatch.setenv("SERVICEBOT_TOKEN", "987654321:BBB-abcdefghijklmnopqrstuvwxyz")
    s = settings_for("health")
    assert s.retention_days == 90
    assert s.token == "987654321:BBB-abcdefghijklmnopqrstuvwxyz"
    assert s.log_level == "DEBUG"  # set only in the file


def test_flag_overrides_environment_and_file(tmp_path, monkeypatch):
    cfg = write_toml(tmp_path / "c.toml", 'log_format = "json"\nfaq_dir = "/from/file"\n')
    monkeypatch.setenv("SERVICEBOT_CONFIG", str(cfg))
    monkeypatch.setenv("SERVICEBOT_LOG_FORMAT", "text")
    monkeypatch.setenv("SERVICEBOT_FAQ_DIR", "/from/env")
    s = settings_for("health", "--log-format", "json", "--faq", "/from/flag")
    assert (s.log_format, s.faq_dir) == ("json", Path("/from/flag"))
    assert settings_for("health").faq_dir == Path("/from/env")


def test_config_flag_overrides_config_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("SERVICEBOT_CONFIG", str(write_toml(tmp_path / "env.toml", "stale_days = 10\n")))
    flag_file = write_toml(tmp_path / "flag.toml", "stale_days = 20\n")
    assert settings_for("health", "--config", str(flag_file)).stale_days == 20
    assert settings_for("health").stale_days == 10


def test_empty_environment_variable_keeps_the_file_value(tmp_path, monkeypatch):
    monkeypatch.setenv("SERVICEBOT_CONFIG", str(write_toml(tmp_path / "c.toml", "flood_messages = 5\n")))
    monkeypatch.setenv("SERVICEBOT_FLOOD_MESSAGES", "")
    assert settings_for("health").flood_messages == 5


def test_precedence_end_to_end_through_health(mini_faq, tmp_path, monkeypatch, capsys):
    """The data dir the command really uses: flag over env over file (each wrong one is unusable)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    cfg = write_toml(tmp_path / "c.toml", f'data_dir = "{blocker / "from-file"}"\nfaq_dir = "{mini_faq}"\n')
    monkeypatch.setenv("SERVICEBOT_CONFIG", str(cfg))
    monkeypatch.delenv("SERVICEBOT_DATA_DIR")  # conftest's; the file's data dir must apply

    assert cli.main(["health"]) == 1
    assert "from-file" in capsys.readouterr().err

    monkeypatch.setenv("SERVICEBOT_DATA_DIR", str(blocker / "from-env"))
    assert cli.main(["health"]) == 1
    err = capsys.readouterr().err
    assert "from-env" in err and "from-file" not in err

    assert cli.main(["health", "--data-dir", str(tmp_path / "from-flag")]) == 0
    assert (tmp_path / "from-flag").is_dir()


def test_every_setting_is_documented_with_its_variable():
    """The configuration reference lists every Settings field's environment variable."""
    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [
        f"SERVICEBOT_{f.name.upper()}"
        for f in dataclasses.fields(Settings)
        if f"SERVICEBOT_{f.name.upper()}" not in text
    ]
    assert missing == []


def test_env_example_lists_every_variable_and_sets_none():
    """servicebot.env.example: every variable, commented out, so a copy never carries a real value."""
    lines = (REPO / "servicebot.env.example").read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line.strip() and not line.lstrip().startswith("#")] == []
    listed = {
        line.lstrip("# ").split("=", 1)[0]
        for line in lines
        if "=" in line and line.lstrip("# ").startswith("SERVICEBOT_")
    }
    expected = {f"SERVICEBOT_{f.name.upper()}" for f in dataclasses.fields(Settings)} | {"SERVICEBOT_CONFIG"}
    assert listed == expected
    # The example values it shows are themselves valid settings.
    values = dict(line.lstrip("# ").split("=", 1) for line in lines if line.lstrip("# ").startswith("SERVICEBOT_"))
    shown = {k: v for k, v in values.items() if v and k != "SERVICEBOT_CONFIG"}
    load_settings(env=shown)


def test_load_settings_rejects_unknown_override():
    with pytest.raises(ConfigError, match="unknown option: colour"):
        load_settings(env={}, overrides={"colour": "red"})
