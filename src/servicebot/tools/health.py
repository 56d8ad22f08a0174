"""Is this installation able to serve? For `servicebot health` and the container HEALTHCHECK.

Each check answers one question an operator would otherwise find out from a silent bot:
would the bot accept the FAQ on disk (the same full check `/reload` and live reload use, so
a FAQ the bot would refuse is unhealthy), can it write its data directory, does the
interaction log open (and was it deleted while the bot ran), does Telegram accept the token
and reach the staff and admin groups, did the update journal give up any resident's message
(dead letters), does the hand-off desk reach its residents, and — when the web server and the staff desk are
configured — do they answer their health URLs. Every check says what it found, passed or
not, and a problem says what to do next: one line each, in English, for operators' logs (and
`docker inspect`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from servicebot.config import Settings
from servicebot.errors import FaqError, StorageError
from servicebot.faq import checks
from servicebot.storage import connect
from servicebot.storage.db import UTC, replaced_at
from servicebot.storage.journal import DEAD_KEEP, dead_letter_count
from servicebot.storage.migrations import MIGRATIONS, schema_version
from servicebot.storage.ticket_store import TicketStore

PROBE_PREFIX = ".health-probe-"
REPLACED_REPORTED = dt.timedelta(days=7)  # how long a log deleted while the bot ran is reported
TELEGRAM_API = "https://api.telegram.org/bot"  # python-telegram-bot's default base_url
TELEGRAM_TIMEOUT = 5.0  # seconds per Bot API call: the HEALTHCHECK allows 30 s for everything
FIX_FAQ = "run `servicebot faq check` (in the container: docker compose exec bot servicebot faq check), fix the first"
RECREATE = "docker compose up -d --force-recreate bot"


class Verdict(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"  # not configured here, so not checked
    PROBLEM = "unhealthy"


@dataclass(frozen=True)
class Finding:
    """What one check found, in one line: what passed, what was not checked, or what is
    wrong and what to do about it."""

    verdict: Verdict
    text: str

    def __str__(self) -> str:
        return f"{self.verdict}: {self.text}"


def ok(text: str) -> Finding:
    return Finding(Verdict.OK, text)


def skipped(text: str) -> Finding:
    return Finding(Verdict.SKIPPED, text)


def health_report(settings: Settings) -> list[Finding]:
    """Every check, in the order the bot depends on them."""
    return [
        faq_finding(settings),
        _finding(data_dir_problems(settings.data_dir), f"data directory {settings.data_dir} is writable"),
        database_finding(settings.db_path),
        *telegram_findings(settings),
        journal_finding(settings),
        _finding(desk_problems(settings), "hand-off: no ticket or staff reply is waiting to be retried", settings),
        web_finding(settings),
        staff_desk_finding(settings),
    ]


def check_health(settings: Settings) -> list[str]:
    """Every problem found, one line each; empty when healthy."""
    return [f.text for f in health_report(settings) if f.verdict == Verdict.PROBLEM]


def _finding(problems: list[str], passed: str, settings: Settings | None = None) -> Finding:
    if problems:
        return Finding(Verdict.PROBLEM, "; ".join(problems))
    if settings is not None and settings.staff_chat_id is None and settings.desk_port is None:
        return skipped(
            "hand-off: no staff group (SERVICEBOT_STAFF_CHAT_ID) and no staff desk (SERVICEBOT_DESK_PORT), "
            "so no hand-off to staff"
        )
    return ok(passed)


def faq_finding(settings: Settings) -> Finding:
    """The FAQ the bot would serve must pass validation, self-consistency and regression."""
    try:
        faq, _ = checks.build_snapshot(settings)
    except FaqError as exc:
        count = len(exc.problems)
        first = f"; first: {exc.problems[0]}" if exc.problems else ""
        return Finding(
            Verdict.PROBLEM,
            f"FAQ in {settings.faq_dir} would be refused ({count} problem(s){first}); {FIX_FAQ}. "
            "Until then a running bot keeps answering from the last FAQ it accepted",
        )
    except OSError as exc:
        return Finding(Verdict.PROBLEM, f"FAQ in {settings.faq_dir} cannot be read: {_reason(exc)}")
    warnings = f"; {len(faq.warnings)} warning(s), listed by `servicebot faq check`" if faq.warnings else ""
    return ok(
        f"FAQ in {settings.faq_dir}: {len(faq.files)} files, {len(faq.entries)} entries, "
        f"passes the full check the bot applies on reload{warnings}"
    )


def data_dir_problems(data_dir: Path) -> list[str]:
    """The data directory exists (created if missing) and a file can be written and removed."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=PROBE_PREFIX) as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())  # a full disk shows up here, not at the first write
    except OSError as exc:
        return [
            f"data directory {data_dir} is not writable: {_reason(exc)}; free some space, or give the bot's user "
            f"the directory (in the image uid 10001: chown 10001:10001 on the host directory or volume)"
        ]
    return []


def database_finding(db_path: Path) -> Finding:
    problems = database_problems(db_path)
    if problems:
        return Finding(Verdict.PROBLEM, "; ".join(problems))
    if not db_path.exists():
        return ok(f"interaction log {db_path}: not created yet (the bot creates it with the first question)")
    return ok(f"interaction log {db_path} opens")


def database_problems(db_path: Path) -> list[str]:
    """An existing interaction log must open and have a schema this program understands.

    A missing log is fine: the bot creates it on first use.
    """
    if not db_path.exists():
        return []
    restore = "restore the last backup (docs/operations.md: Back up and restore the interaction log)"
    try:
        conn = connect(db_path, create=False)
    except sqlite3.Error as exc:
        return [f"interaction log {db_path} does not open: {exc}; {restore}"]
    try:
        version = schema_version(conn)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        replaced = replaced_at(conn)
    except sqlite3.Error as exc:
        return [f"interaction log {db_path} cannot be read: {exc}; {restore}"]
    finally:
        conn.close()
    if version > len(MIGRATIONS):
        return [
            f"interaction log {db_path} has schema version {version}, newer than this program "
            f"({len(MIGRATIONS)}); upgrade servicebot"
        ]
    if replaced is not None and dt.datetime.now(UTC) - replaced < REPLACED_REPORTED:
        return [
            f"interaction log {db_path} was deleted or replaced while the bot ran (at {replaced:%Y-%m-%d %H:%M} UTC):"
            " hand-off tickets, messages waiting for web and WeChat residents and the history from before are not"
            " in it; if that was not meant, restore the latest backup (docs/operations.md: Back up and restore the"
            f" interaction log). Reported for {REPLACED_REPORTED.days} days"
        ]
    return []


# --- Telegram -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    result: Any = None
    status: int = 200  # 0: no answer at all
    description: str = ""


def _bot_api(settings: Settings, method: str, **params: object) -> _Answer:
    """One Bot API call, as the bot makes it (same token, same base_url); never raises."""
    url = f"{settings.base_url or TELEGRAM_API}{settings.token}/{method}"
    data = urllib.parse.urlencode(params).encode() if params else None
    try:
        with urllib.request.urlopen(url, data=data, timeout=TELEGRAM_TIMEOUT) as response:
            return _Answer(json.load(response).get("result"))
    except urllib.error.HTTPError as exc:
        try:
            description = str(json.load(exc).get("description") or exc.reason)
        except (ValueError, OSError, AttributeError):
            description = str(exc.reason)
        return _Answer(None, exc.code, description.replace(settings.token, "<token>"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = str(getattr(exc, "reason", exc))
        return _Answer(None, 0, reason.replace(settings.token, "<token>"))


def telegram_findings(settings: Settings) -> list[Finding]:
    """Telegram accepts the token, and the bot is in the staff group and the admin chat it was given."""
    if not settings.token:
        return [skipped("Telegram: no token (SERVICEBOT_TOKEN), so the Telegram channel and hand-off are off")]
    host = urllib.parse.urlsplit(settings.base_url or TELEGRAM_API).netloc
    me = _bot_api(settings, "getMe")
    if me.status == 0:
        return [
            Finding(
                Verdict.PROBLEM,
                f"cannot reach the Telegram Bot API at {host} ({me.description}): the bot cannot answer on "
                "Telegram. Check this server's network, firewall or proxy (or SERVICEBOT_BASE_URL)",
            )
        ]
    if me.status != 200 or not isinstance(me.result, dict):
        return [
            Finding(
                Verdict.PROBLEM,
                f"Telegram refused the token ({me.status} {me.description}): SERVICEBOT_TOKEN is wrong or was "
                f"revoked. Copy the bot's token from @BotFather into servicebot.env, then {RECREATE}",
            )
        ]
    name = me.result.get("username", "")
    findings = [ok(f"Telegram accepts the token: the bot is @{name}")]
    groups = (
        (settings.staff_chat_id, "staff group", "SERVICEBOT_STAFF_CHAT_ID", "staff answer hand-offs there"),
        (settings.admin_chat_id, "admin chat", "SERVICEBOT_ADMIN_CHAT_ID", "FAQ reload problems are sent there"),
    )
    for chat_id, what, variable, why in groups:
        if chat_id is None:
            continue
        chat = _bot_api(settings, "getChat", chat_id=chat_id)
        if chat.status == 200 and isinstance(chat.result, dict):
            title = chat.result.get("title") or chat.result.get("first_name") or ""
            findings.append(ok(f"the bot reaches the {what} {chat_id} ({title})"))
        else:
            findings.append(
                Finding(
                    Verdict.PROBLEM,
                    f"the bot cannot reach the {what} {chat_id} ({why}); Telegram says: {chat.status} "
                    f"{chat.description}. Add @{name} to the group, or correct {variable} (send /id@{name} "
                    f"in the group to see its id), then {RECREATE}",
                )
            )
    return findings


def journal_finding(settings: Settings) -> Finding:
    """Residents' Telegram messages the update journal gave up (dead letters)."""
    journal_path = settings.journal_path
    problems = journal_problems(journal_path)
    if problems:
        return Finding(Verdict.PROBLEM, "; ".join(problems))
    if not journal_path.is_file():
        if not settings.token:
            return skipped("update journal: no Telegram token, so no journal of Telegram updates")
        return ok(f"update journal {journal_path}: none yet (Telegram creates it with the first update)")
    return ok(f"update journal {journal_path}: no Telegram update was given up unanswered")


def journal_problems(journal_path: Path) -> list[str]:
    """Residents' Telegram messages the update journal gave up (dead letters)."""
    try:
        count, latest = dead_letter_count(journal_path)
    except sqlite3.Error as exc:
        return [f"update journal {journal_path} cannot be read: {exc}"]
    if not count:
        return []
    when = dt.datetime.fromtimestamp(latest or 0, UTC)
    return [
        f"{count} Telegram update(s) were given up unanswered (latest at {when:%Y-%m-%d %H:%M} UTC): the bot stopped"
        " while processing each several times, or it waited a day; they are in the dead_letters table of"
        f" {journal_path} for {DEAD_KEEP / 86400:g} days (report them with the bot's log lines of that time)"
    ]


# --- hand-off and the web server --------------------------------------------------------------


def desk_problems(settings: Settings) -> list[str]:
    """Hand-off (a staff group, the staff desk, or both): a staff group without Telegram; tickets
    the bot could not post to the staff group (removed from it, or it is unreachable); staff
    replies waiting to be delivered."""
    problems = []
    if settings.staff_chat_id is not None and not settings.token:
        problems.append("staff_chat_id is set but SERVICEBOT_TOKEN is not: hand-off to staff is off; set the token")
    if (settings.staff_chat_id is None and settings.desk_port is None) or not settings.db_path.exists():
        return problems
    store = TicketStore(settings.db_path, create=False)
    try:
        health = store.health()
    except StorageError as exc:
        return [*problems, f"hand-off tickets cannot be read: {exc}"]
    finally:
        store.close()
    if health.unposted:
        problems.append(
            f"{health.unposted} hand-off ticket(s) could not be posted to the staff group {settings.staff_chat_id} "
            f"({health.post_error}); is the bot still a member? The bot keeps retrying"
        )
    if health.undelivered:
        problems.append(f"{health.undelivered} staff reply(ies) could not be delivered to residents yet; retrying")
    return problems


WEB_PROBE_TIMEOUT = 5.0  # seconds


def web_finding(settings: Settings) -> Finding:
    """With `web_port` set, the running bot's web server answers GET /healthz with 200.

    Probed on the loopback address when the server binds every interface (0.0.0.0, ::)."""
    if settings.web_port is None:
        return skipped("web server: no web port (SERVICEBOT_WEB_PORT), so no web chat, WeChat or webhook")
    problems = web_problems(settings)
    if problems:
        return Finding(Verdict.PROBLEM, "; ".join(problems))
    return ok(f"web server answers {_health_url(settings.web_listen, settings.web_port, '/healthz')}")


def staff_desk_finding(settings: Settings) -> Finding:
    """With `desk_port` set, the staff desk's own server answers GET /desk/healthz with 200."""
    if settings.desk_port is None:
        return skipped("staff desk: no desk port (SERVICEBOT_DESK_PORT), so no staff desk in the browser")
    problems = staff_desk_problems(settings)
    if problems:
        return Finding(Verdict.PROBLEM, "; ".join(problems))
    return ok(f"staff desk answers {_health_url(settings.desk_listen, settings.desk_port, '/desk/healthz')}")


def _health_url(host: str, port: int, path: str) -> str:
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}{path}"


def web_problems(settings: Settings) -> list[str]:
    if settings.web_port is None:
        return []
    return _probe(_health_url(settings.web_listen, settings.web_port, "/healthz"), "web server")


def staff_desk_problems(settings: Settings) -> list[str]:
    if settings.desk_port is None:
        return []
    return _probe(_health_url(settings.desk_listen, settings.desk_port, "/desk/healthz"), "staff desk")


def _probe(url: str, what: str) -> list[str]:
    running = "is `servicebot run` running? (docker compose ps; docker compose logs --tail 50 bot)"
    try:
        with urllib.request.urlopen(url, timeout=WEB_PROBE_TIMEOUT) as response:  # our own server
            if response.status == 200:
                return []
            return [f"{what} at {url} answered {response.status}; {running}"]
    except urllib.error.HTTPError as exc:
        return [f"{what} at {url} answered {exc.code} (still starting, or the FAQ is empty); {running}"]
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return [f"{what} at {url} does not answer: {reason}; {running}"]


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
