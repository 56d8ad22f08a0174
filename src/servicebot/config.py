"""Settings: the one place that reads the environment and the optional config file.

Precedence, lowest to highest: built-in defaults, the TOML file named by
``SERVICEBOT_CONFIG`` (or ``--config``), ``SERVICEBOT_*`` environment variables, command
line flags. Every value is validated here so that a bad setting stops startup with one
readable line instead of failing later inside the bot.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

from servicebot.conversation.hours import HoursError, OfficeHours, parse_hours
from servicebot.errors import ConfigError

ENV_PREFIX = "SERVICEBOT_"

# Defaults other modules also fall back on (the matcher's Thresholds(), the FAQ loader, the
# log writer), named once here so a tuning changes them everywhere.
ANSWER_THRESHOLD = 50.0
SUGGEST_THRESHOLD = 45.0
STALE_DAYS = 365
RETENTION_DAYS = 180
TICKET_DAYS = 30


_T = TypeVar("_T")


def setting(default: _T, doc: str, *, secret: bool = False) -> _T:
    """A field of `Settings` with its description, written once, beside it: the table of
    docs/configuration.md is generated from these (bench/tools/settings_doc.py). A secret is
    left out of `repr` and its value out of every error message."""
    return field(default=default, repr=not secret, metadata={"doc": doc, "secret": secret})


@dataclass(frozen=True)
class Settings:
    """Every tunable of the bot: its type, default and description (see `setting`)."""

    token: str = setting(
        "",
        "Telegram bot token from @BotFather (`123456789:AA…`). Secret: never logged or printed. Turns the "
        "Telegram channel on; with no command, `servicebot` runs the channels when a token or `web_port` is set "
        "and the terminal chat otherwise.",
        secret=True,
    )
    base_url: str = setting(
        "",
        "Bot API endpoint, e.g. `http://127.0.0.1:8081/bot` for a self-hosted Bot API server. Absolute "
        "`http`/`https` URL. Empty: Telegram's own API.",
    )
    faq_dir: Path = setting(
        Path("faq"),
        "Directory of FAQ YAML files. The `faq` commands also take it as a positional `DIR`.",
    )
    data_dir: Path = setting(
        Path("data"),
        "Directory the bot writes to: the interaction log `interactions.sqlite3`, the update journal "
        "`updates.sqlite3` (Telegram questions not yet answered; never needs a backup), the generated pseudonym "
        "key `pseudonym.key`, and `cache/`, parsed FAQ files (safe to delete; never needs a backup). Created if "
        "missing.",
    )
    admin_ids: frozenset[int] = setting(
        frozenset(),
        "Telegram user ids allowed to use `/reload` and `/stats`: comma separated in the environment (`111,222`),"
        " a list in the file (`[111, 222]`). Each staff member finds theirs by sending `/id` to the bot in a "
        "private chat.",
    )
    admin_chat_id: int | None = setting(
        None,
        "Chat that receives FAQ reload problems (`/id@<bot>` in a group shows its id); empty: each of `admin_ids`"
        " privately (none: no notifications). An integer (group ids are negative).",
    )
    staff_chat_id: int | None = setting(
        None,
        "Telegram group where staff answer hand-offs (转人工); the bot must be a member. Needs `token`. Empty: "
        "hand-off is off, and no reply promises that staff will see or answer a question. A negative group id.",
    )
    staff_hours: str = setting(
        "",
        "When staff usually answer, China time, told to residents who hand off (and that it is outside them): "
        "`mon-fri 08:30-12:00,14:30-17:30; sat 09:00-12:00` (days `mon`…`sun`, ranges, `HH:MM-HH:MM` periods). "
        "Empty: no hours are stated. Not in the FAQ's source, so never guessed.",
    )
    ticket_days: int = setting(
        TICKET_DAYS,
        "A hand-off ticket keeps the resident's chat id (to deliver staff replies) at most this many days after "
        "it was opened; closing it (已解决) deletes it sooner. Also how long a staff reply waits in the outbox of "
        "the web chat or WeChat. At least 1.",
    )
    answer_threshold: float = setting(
        ANSWER_THRESHOLD,
        "Score (0–100) at or above which the bot answers outright (it also needs the entry to be on the "
        "question's subject, a 5-point lead over the next entry, and a question fully covered by the entry may "
        "score 15 points less). Chosen with `bench/tools/tune.py` on the tuning sets.",
    )
    suggest_threshold: float = setting(
        SUGGEST_THRESHOLD,
        'Score (0–100) at or above which the bot offers "您是不是想问" choices (only entries on the question\'s '
        "subject). Must not exceed `answer_threshold`.",
    )
    webhook_url: str = setting(
        "",
        "Public HTTPS URL for Telegram's webhook mode; empty means long polling. Its path is served by the bot's "
        "web server, so webhook mode needs `web_port`.",
    )
    webhook_secret: str = setting(
        "",
        "`secret_token` Telegram must send with each webhook call; required in webhook mode (letters, digits, `_`"
        " and `-`). Secret.",
        secret=True,
    )
    web_port: int | None = setting(
        None,
        "Port of the bot's web server: the web chat page and its API, Telegram's webhook (in webhook mode) and "
        "`/healthz`. Empty: no web server.",
    )
    web_listen: str = setting(
        "127.0.0.1",
        "Address the web server binds. `0.0.0.0` for every interface (the container image sets it).",
    )
    web_origins: frozenset[str] = setting(
        frozenset(),
        "Other sites whose pages may call the web chat API from the browser (`https://host[:port]`, comma "
        "separated; a list in the file). Cross-origin calls from anywhere else get 403.",
    )
    web_frame_ancestors: str = setting(
        "'self'",
        "Pages allowed to show the chat in a frame: the CSP `frame-ancestors` sources, space separated, e.g. "
        "`'self' https://www.example.gov.cn`.",
    )
    web_address_messages: int = setting(
        120,
        "Web questions per flood window from one network address (many residents may share one address behind a "
        "carrier's NAT); each browser session also has the `flood_messages` limit.",
    )
    web_trusted_proxies: str = setting(
        "127.0.0.1",
        "Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed (comma-separated IP addresses"
        " or networks; `*` or a `/0` network, which would believe any client about its own address, is refused), "
        "so flood control sees residents' addresses, not the proxy's. `compose.env` sets `compose.yaml`'s network"
        " gateway, `172.31.250.1`. See [Behind a reverse proxy with "
        "HTTPS](web-chat.md#behind-a-reverse-proxy-with-https).",
    )
    desk_port: int | None = setting(
        None,
        "Port of the staff desk's own web server (`/desk`: sign-in, tickets, staff tools); turns hand-off on, "
        "with or without a staff group. Empty: no desk. Must differ from `web_port`. See [Staff "
        "desk](handoff.md#staff-desk-工作人员后台).",
    )
    desk_listen: str = setting(
        "127.0.0.1",
        "Address the staff desk binds: `127.0.0.1` behind the office's HTTPS proxy, or an office-network address;"
        " the container image sets `0.0.0.0`.",
    )
    wecom_webhook_url: str = setting(
        "",
        "A 企业微信 group robot's webhook (`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`): each new "
        "hand-off ticket is announced there, by number and channel only. `https` (or `http` to the loopback, for "
        "a local relay); needs `desk_port` or `staff_chat_id`. Secret.",
        secret=True,
    )
    wechat_token: str = setting(
        "",
        "The WeChat Official Account's server-mode Token (3–32 letters or digits); turns `/wechat` on, on the web"
        " server (needs `web_port`). Secret. See [WeChat Official Account](wechat.md).",
        secret=True,
    )
    wechat_app_id: str = setting(
        "",
        "The account's AppID (`wx` + 16 letters or digits); needed for safe mode.",
    )
    wechat_app_secret: str = setting(
        "",
        "The account's AppSecret (32 letters or digits), for WeChat's API (creating the menu); the bot does not "
        "use it to answer. Secret.",
        secret=True,
    )
    wechat_aes_key: str = setting(
        "",
        "EncodingAESKey (43 characters) for WeChat's safe mode; needs `wechat_token` and `wechat_app_id`. Empty: "
        "plain-text mode only. Secret.",
        secret=True,
    )
    pseudonym_secret: str = setting(
        "",
        "Key for hashing resident ids in the interaction log; empty means generate one once and keep it in "
        "`<data_dir>/pseudonym.key`. Secret.",
        secret=True,
    )
    retention_days: int = setting(
        RETENTION_DAYS,
        "Interactions older than this many days are purged (at least 1).",
    )
    stale_days: int = setting(
        STALE_DAYS,
        "An entry whose `reviewed` date is older than this is reported as stale (at least 1).",
    )
    reload_interval: float = setting(
        2.0,
        "Seconds between checks of the FAQ directory for edits; `0` disables live reload.",
    )
    flood_messages: int = setting(
        12,
        "Questions one resident may send per flood window before being throttled (at least 1).",
    )
    flood_window: float = setting(
        60.0,
        "Length of the flood window in seconds (more than 0).",
    )
    log_format: str = setting(
        "text",
        "`text` (human-readable lines) or `json` (one JSON object per line, for log collectors).",
    )
    log_level: str = setting(
        "INFO",
        "`DEBUG`, `INFO`, `WARNING` or `ERROR` (any case).",
    )

    @property
    def db_path(self) -> Path:
        """The SQLite interaction log."""
        return self.data_dir / "interactions.sqlite3"

    @property
    def journal_path(self) -> Path:
        """Telegram updates received and not yet answered (see servicebot.storage.journal)."""
        return self.data_dir / "updates.sqlite3"

    @property
    def cache_dir(self) -> Path:
        """Parsed FAQ files, so that unchanged files are not parsed again after a restart."""
        return self.data_dir / "cache"

    @property
    def webhook_mode(self) -> bool:
        return bool(self.webhook_url)

    @property
    def telegram_staff(self) -> bool:
        """Staff answer in a Telegram group: a staff group is set and Telegram runs."""
        return self.staff_chat_id is not None and bool(self.token)

    @property
    def handoff(self) -> bool:
        """Hand-off (转人工) is on: staff sit in a Telegram group, at the staff desk in a browser, or both."""
        return self.telegram_staff or self.desk_port is not None

    @property
    def wecom_webhook_key(self) -> str:
        """The secret part of the 企业微信 webhook URL (its `key`), for the log scrubber."""
        return "".join(parse_qs(urlparse(self.wecom_webhook_url).query).get("key", []))

    @property
    def office_hours(self) -> OfficeHours:
        return parse_hours(self.staff_hours)  # validated when the settings were loaded


FIELD_NAMES = tuple(f.name for f in fields(Settings))

# Settings that no longer exist, and what replaced them: using one stops startup with a hint.
RENAMED = {
    "webhook_port": "web_port (SERVICEBOT_WEB_PORT): the webhook is now served by the bot's web server",
    "webhook_listen": (
        "web_listen (SERVICEBOT_WEB_LISTEN, default 127.0.0.1): the webhook is now served by the bot's web server"
    ),
}


def _renamed(name: str) -> ConfigError:
    return ConfigError(f"{name} was replaced by {RENAMED[name]}")


def _convert(name: str, raw: Any, kind: str) -> Any:
    """Convert one raw value (from env, file or flag) to the field's type."""
    try:
        if kind == "path":
            return Path(str(raw))
        if kind == "int":
            return int(str(raw).strip())
        if kind == "float":
            return float(str(raw).strip())
        if kind == "optint":
            text = str(raw).strip()
            return int(text) if text else None
        if kind == "strings":
            items = raw if isinstance(raw, (list, tuple, set, frozenset)) else str(raw).split(",")
            return frozenset(str(x).strip().rstrip("/") for x in items if str(x).strip())
        if kind == "ids":
            if isinstance(raw, (list, tuple, set, frozenset)):
                return frozenset(int(x) for x in raw)
            return frozenset(int(x) for x in str(raw).replace(" ", "").split(",") if x)
        return str(raw).strip()
    except ValueError:
        raise ConfigError(
            f"invalid {name}: {_shown(name, raw)!s} is not {_KIND_WORDS.get(kind, 'a valid ' + kind)}"
        ) from None


_KINDS = {
    "faq_dir": "path",
    "data_dir": "path",
    "admin_ids": "ids",
    "admin_chat_id": "optint",
    "staff_chat_id": "optint",
    "ticket_days": "int",
    "answer_threshold": "float",
    "suggest_threshold": "float",
    "web_port": "optint",
    "desk_port": "optint",
    "web_origins": "strings",
    "web_address_messages": "int",
    "retention_days": "int",
    "stale_days": "int",
    "reload_interval": "float",
    "flood_messages": "int",
    "flood_window": "float",
}
_KIND_WORDS = {
    "ids": "a comma-separated list of numeric Telegram ids",
    "optint": "a whole number",
    "int": "a whole number",
    "float": "a number",
}
_SECRETS = frozenset(f.name for f in fields(Settings) if f.metadata["secret"])
# WeChat's own rules for what its 公众平台 accepts (开发 → 基本配置).
_WECHAT_TOKEN_RE = re.compile(r"[A-Za-z0-9]{3,32}")
_WECHAT_APP_ID_RE = re.compile(r"wx[A-Za-z0-9]{16}")
_WECHAT_APP_SECRET_RE = re.compile(r"[A-Za-z0-9]{32}")
_WECHAT_AES_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}")


def _shown(name: str, raw: Any) -> str:
    return "<hidden>" if name in _SECRETS else repr(raw)


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        wanted = " or ".join(schemes)
        raise ConfigError(f"invalid {name}: {value!r} is not an absolute {wanted} URL")


def _validate(s: Settings) -> Settings:
    if s.base_url:
        _check_url("base_url", s.base_url, ("http", "https"))
    if s.webhook_url:
        _check_url("webhook_url", s.webhook_url, ("https", "http"))
    for name in ("answer_threshold", "suggest_threshold"):
        value = getattr(s, name)
        if not 0 <= value <= 100:
            raise ConfigError(f"invalid {name}: {value} is outside 0-100")
    if s.suggest_threshold > s.answer_threshold:
        raise ConfigError("invalid suggest_threshold: it must not exceed answer_threshold")
    if s.web_port is not None and not 1 <= s.web_port <= 65535:
        raise ConfigError(f"invalid web_port: {s.web_port} is not a TCP port (1-65535)")
    for origin in s.web_origins:
        parsed = urlparse(origin)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path or parsed.query:
            raise ConfigError(f"invalid web_origins: {origin!r} is not an origin like https://www.example.gov.cn")
    _validate_proxies(s.web_trusted_proxies)
    if not s.web_frame_ancestors.strip() or any(c in s.web_frame_ancestors for c in ';,\r\n"<>'):
        raise ConfigError(
            f"invalid web_frame_ancestors: {s.web_frame_ancestors!r} "
            "(space-separated sources, e.g. 'self' https://www.example.gov.cn)"
        )
    if s.staff_chat_id is not None and s.staff_chat_id >= 0:
        raise ConfigError(
            f"invalid staff_chat_id: {s.staff_chat_id} is not a group (group ids are negative, e.g. -1001234567890)"
        )
    try:
        parse_hours(s.staff_hours)
    except HoursError as exc:
        raise ConfigError(f"invalid staff_hours: {exc}") from None
    for name in ("retention_days", "stale_days", "flood_messages", "web_address_messages", "ticket_days"):
        if getattr(s, name) < 1:
            raise ConfigError(f"invalid {name}: must be at least 1")
    if s.reload_interval < 0:
        raise ConfigError(f"invalid reload_interval: {s.reload_interval} is negative (0 turns watching off)")
    if s.flood_window <= 0:
        raise ConfigError(f"invalid flood_window: {s.flood_window} must be more than 0 seconds")
    if s.log_format not in ("text", "json"):
        raise ConfigError(f"invalid log_format: {s.log_format!r} (use text or json)")
    if s.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"invalid log_level: {s.log_level!r} (use DEBUG, INFO, WARNING or ERROR)")
    _validate_wechat(s)
    _validate_desk(s)
    if s.token and (":" not in s.token or any(c.isspace() for c in s.token)):
        raise ConfigError("invalid token: a Telegram token looks like 123456:ABC-DEF (value hidden)")
    return s


def _validate_proxies(value: str) -> None:
    """Each trusted proxy an IP address or network; never everyone (`*`, a /0 network): a client
    believed about its own address picks its own flood-control key."""
    for item in (part.strip() for part in value.split(",") if part.strip()):
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            if item == "*":
                raise ConfigError(
                    "invalid web_trusted_proxies: * would believe any client about its own address; "
                    "list the reverse proxy's address or network (e.g. 127.0.0.1, or 172.31.250.1 in compose.yaml)"
                ) from None
            raise ConfigError(
                f"invalid web_trusted_proxies: {item!r} is not an IP address or network (comma separated)"
            ) from None
        if network.prefixlen == 0:
            raise ConfigError(f"invalid web_trusted_proxies: {item!r} would believe any client about its own address")


def _validate_wechat(s: Settings) -> None:
    """The WeChat settings: each in the shape WeChat gives it, and the ones a setting needs."""
    if s.wechat_token and not _WECHAT_TOKEN_RE.fullmatch(s.wechat_token):
        raise ConfigError("invalid wechat_token: WeChat's Token is 3-32 letters or digits (value hidden)")
    if s.wechat_app_id and not _WECHAT_APP_ID_RE.fullmatch(s.wechat_app_id):
        raise ConfigError(f"invalid wechat_app_id: {s.wechat_app_id!r} is not an AppID like wx0123456789abcdef")
    if s.wechat_app_secret and not _WECHAT_APP_SECRET_RE.fullmatch(s.wechat_app_secret):
        raise ConfigError("invalid wechat_app_secret: WeChat's AppSecret is 32 letters or digits (value hidden)")
    if s.wechat_aes_key and not _WECHAT_AES_KEY_RE.fullmatch(s.wechat_aes_key):
        raise ConfigError("invalid wechat_aes_key: the EncodingAESKey is 43 letters, digits, + or / (value hidden)")
    if s.wechat_aes_key and not s.wechat_token:
        raise ConfigError("wechat_aes_key needs wechat_token (SERVICEBOT_WECHAT_TOKEN)")
    if s.wechat_aes_key and not s.wechat_app_id:
        raise ConfigError("safe mode (wechat_aes_key) needs wechat_app_id: replies are encrypted for the AppID")
    if s.wechat_token and s.web_port is None:
        raise ConfigError("wechat_token: the /wechat endpoint is served by the bot's web server: set web_port")


def _validate_desk(s: Settings) -> None:
    """The staff desk's port, and the 企业微信 robot that announces new tickets."""
    if s.desk_port is not None and not 1 <= s.desk_port <= 65535:
        raise ConfigError(f"invalid desk_port: {s.desk_port} is not a TCP port (1-65535)")
    if s.desk_port is not None and s.desk_port == s.web_port:
        raise ConfigError(
            "invalid desk_port: the staff desk has a web server of its own; use a port other than web_port"
        )
    if s.wecom_webhook_url:
        parsed = urlparse(s.wecom_webhook_url)
        local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
        if not parsed.netloc or not (parsed.scheme == "https" or (parsed.scheme == "http" and local)):
            raise ConfigError(
                "invalid wecom_webhook_url: not an https URL like "
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=... (value hidden)"
            )
        if not s.handoff:
            raise ConfigError(
                "wecom_webhook_url announces hand-off tickets: set desk_port (the staff desk) or staff_chat_id"
            )


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    for name in sorted(set(data) & set(RENAMED)):
        raise _renamed(name)
    unknown = sorted(set(data) - set(FIELD_NAMES))
    if unknown:
        raise ConfigError(f"unknown option in {path}: {', '.join(unknown)}")
    return data


def load_settings(
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    config_file: str | Path | None = None,
) -> Settings:
    """Build validated Settings from defaults, config file, environment and flags."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    config_file = config_file or env.get(ENV_PREFIX + "CONFIG")
    if config_file:
        raw.update(_read_file(Path(config_file)))
    for name in RENAMED:
        if env.get(ENV_PREFIX + name.upper()):
            raise _renamed(name)
    unknown_env = sorted(
        key
        for key in env
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX) :].lower() not in (*FIELD_NAMES, "config")
    )
    if unknown_env:
        raise ConfigError(f"unknown setting: {', '.join(unknown_env)}")
    for name in FIELD_NAMES:
        value = env.get(ENV_PREFIX + name.upper())
        if value is not None and value != "":
            raw[name] = value
    for name, value in (overrides or {}).items():
        if name in RENAMED and value is not None:
            raise _renamed(name)
        if name not in FIELD_NAMES:
            raise ConfigError(f"unknown option: {name}")
        if value is not None:
            raw[name] = value
    values = {name: _convert(name, value, _KINDS.get(name, "str")) for name, value in raw.items()}
    if "log_level" in values:
        values["log_level"] = values["log_level"].upper()
    return _validate(Settings(**values))
