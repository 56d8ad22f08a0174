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
from typing import Any
from urllib.parse import parse_qs, urlparse

from servicebot.errors import ConfigError
from servicebot.hours import HoursError, OfficeHours, parse_hours

ENV_PREFIX = "SERVICEBOT_"

# Defaults other modules also fall back on (the matcher's Thresholds(), the FAQ loader, the
# log writer), named once here so a tuning changes them everywhere.
ANSWER_THRESHOLD = 50.0
SUGGEST_THRESHOLD = 45.0
STALE_DAYS = 365
RETENTION_DAYS = 180
TICKET_DAYS = 30


@dataclass(frozen=True)
class Settings:
    """Every tunable of the bot. Field docs double as the README's reference table."""

    token: str = field(default="", repr=False)
    """Telegram bot token from @BotFather. Secret: never logged or printed."""
    base_url: str = ""
    """Bot API endpoint, e.g. http://127.0.0.1:8081/bot for a self-hosted server."""
    faq_dir: Path = Path("faq")
    """Directory of FAQ YAML files."""
    data_dir: Path = Path("data")
    """Directory the bot writes to (interaction log, update journal, pseudonym secret, FAQ parse cache)."""
    admin_ids: frozenset[int] = frozenset()
    """Telegram user ids allowed to use /reload and /stats (comma separated)."""
    admin_chat_id: int | None = None
    """Chat that receives FAQ reload problems; empty to skip notifications."""
    staff_chat_id: int | None = None
    """Telegram group where staff answer residents' hand-offs (转人工); empty: hand-off is off."""
    staff_hours: str = ""
    """When staff usually answer, China time, e.g. "mon-fri 08:30-12:00,14:30-17:30"; empty: not stated."""
    ticket_days: int = TICKET_DAYS
    """A hand-off ticket keeps the resident's chat id at most this many days (less if closed sooner)."""
    answer_threshold: float = ANSWER_THRESHOLD
    """Score (0-100) at or above which the bot answers outright."""
    suggest_threshold: float = SUGGEST_THRESHOLD
    """Score (0-100) at or above which the bot offers "did you mean" choices."""
    webhook_url: str = ""
    """Public HTTPS URL for webhook mode (served by the web server: needs web_port); empty: long polling."""
    webhook_secret: str = field(default="", repr=False)
    """secret_token Telegram must send with each webhook call (required in webhook mode)."""
    web_port: int | None = None
    """Port of the bot's web server (web chat, Telegram webhook, /healthz); empty: no web server."""
    web_listen: str = "127.0.0.1"
    """Address the web server binds; 0.0.0.0 for every interface (in a container)."""
    web_origins: frozenset[str] = frozenset()
    """Other sites (https://host[:port]) whose pages may call the web chat API; none by default."""
    web_frame_ancestors: str = "'self'"
    """Pages allowed to embed the web chat in a frame (CSP frame-ancestors sources)."""
    web_address_messages: int = 120
    """Questions per flood window from one network address (many residents can share one)."""
    web_trusted_proxies: str = "127.0.0.1"
    """Reverse proxies whose X-Forwarded-For/-Proto headers are believed (comma-separated addresses or networks)."""
    desk_port: int | None = None
    """Port of the staff desk's own web server (/desk: sign-in, tickets, staff tools); empty: no staff desk."""
    desk_listen: str = "127.0.0.1"
    """Address the staff desk binds: an office-network address, or 127.0.0.1 behind the office's HTTPS proxy."""
    wecom_webhook_url: str = field(default="", repr=False)
    """企业微信 group robot webhook: each new hand-off ticket is announced there (number and channel only)."""
    wechat_token: str = field(default="", repr=False)
    """WeChat Official Account server-mode Token (3-32 letters or digits); turns /wechat on (needs web_port)."""
    wechat_app_id: str = ""
    """The Official Account's AppID (wx + 16 letters or digits); needed for safe mode."""
    wechat_app_secret: str = field(default="", repr=False)
    """The Official Account's AppSecret (32 letters or digits), for WeChat's API (creating the menu)."""
    wechat_aes_key: str = field(default="", repr=False)
    """EncodingAESKey (43 characters) for safe mode (安全模式); empty: plain-text mode only."""
    pseudonym_secret: str = field(default="", repr=False)
    """Key for hashing resident ids; empty means generate one in the data directory."""
    retention_days: int = RETENTION_DAYS
    """Interactions older than this many days are purged."""
    stale_days: int = STALE_DAYS
    """An entry whose `reviewed` date is older than this is reported as stale."""
    reload_interval: float = 2.0
    """Seconds between checks of the FAQ directory for edits; 0 disables watching."""
    flood_messages: int = 12
    """Questions one resident may send per flood window before being throttled."""
    flood_window: float = 60.0
    """Length of the flood window in seconds."""
    log_format: str = "text"
    """Log line format: text or json."""
    log_level: str = "INFO"
    """Minimum log level: DEBUG, INFO, WARNING or ERROR."""

    @property
    def db_path(self) -> Path:
        """The SQLite interaction log."""
        return self.data_dir / "interactions.sqlite3"

    @property
    def journal_path(self) -> Path:
        """Telegram updates received and not yet answered (see servicebot.journal)."""
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
_SECRETS = {
    "token",
    "webhook_secret",
    "pseudonym_secret",
    "wechat_token",
    "wechat_app_secret",
    "wechat_aes_key",
    "wecom_webhook_url",
}
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
