"""Is this installation able to serve? For `servicebot health` and the container HEALTHCHECK.

Each check answers one question an operator would otherwise find out from a silent bot:
would the bot accept the FAQ on disk (the same full check `/reload` and live reload use, so
a FAQ the bot would refuse is unhealthy), can it write its data directory, does the
interaction log open (and was it deleted while the bot ran), did the update journal give up
any resident's message (dead letters), does the hand-off desk reach its staff group and its
residents, and — when the web server is configured — does it answer /healthz.
Problems are one line each, in English, for operators' logs.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from servicebot import checks
from servicebot.config import Settings
from servicebot.errors import FaqError, StorageError
from servicebot.journal import DEAD_KEEP, dead_letter_count
from servicebot.migrations import MIGRATIONS, schema_version
from servicebot.storage import connect
from servicebot.storage.db import UTC, replaced_at
from servicebot.storage.tickets import TicketStore

PROBE_PREFIX = ".health-probe-"
REPLACED_REPORTED = dt.timedelta(days=7)  # how long a log deleted while the bot ran is reported


def check_health(settings: Settings) -> list[str]:
    """Every problem found, one line each; empty when healthy."""
    return [
        *faq_problems(settings),
        *data_dir_problems(settings.data_dir),
        *database_problems(settings.db_path),
        *journal_problems(settings.journal_path),
        *desk_problems(settings),
        *web_problems(settings),
    ]


def faq_problems(settings: Settings) -> list[str]:
    """The FAQ the bot would serve must pass validation, self-consistency and regression."""
    try:
        checks.build_snapshot(settings)
    except FaqError as exc:
        count = len(exc.problems)
        first = f"; first: {exc.problems[0]}" if exc.problems else ""
        return [
            f"FAQ in {settings.faq_dir} would be refused ({count} problem(s){first}); "
            "run `servicebot faq check` for all of them"
        ]
    except OSError as exc:
        return [f"FAQ in {settings.faq_dir} cannot be read: {_reason(exc)}"]
    return []


def data_dir_problems(data_dir: Path) -> list[str]:
    """The data directory exists (created if missing) and a file can be written and removed."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=PROBE_PREFIX) as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())  # a full disk shows up here, not at the first write
    except OSError as exc:
        return [f"data directory {data_dir} is not writable: {_reason(exc)}"]
    return []


def database_problems(db_path: Path) -> list[str]:
    """An existing interaction log must open and have a schema this program understands.

    A missing log is fine: the bot creates it on first use.
    """
    if not db_path.exists():
        return []
    try:
        conn = connect(db_path, create=False)
    except sqlite3.Error as exc:
        return [f"interaction log {db_path} does not open: {exc}"]
    try:
        version = schema_version(conn)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        replaced = replaced_at(conn)
    except sqlite3.Error as exc:
        return [f"interaction log {db_path} cannot be read: {exc}"]
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
            " in it; if that was not meant, restore the latest backup (README, 'Back up and restore')."
            f" Reported for {REPLACED_REPORTED.days} days"
        ]
    return []


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


def desk_problems(settings: Settings) -> list[str]:
    """Hand-off: a staff group without Telegram; tickets the bot could not post to the staff
    group (removed from it, or it is unreachable); staff replies waiting to be delivered."""
    problems = []
    if settings.staff_chat_id is not None and not settings.token:
        problems.append("staff_chat_id is set but SERVICEBOT_TOKEN is not: hand-off to staff is off")
    if settings.staff_chat_id is None or not settings.db_path.exists():
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


def web_problems(settings: Settings) -> list[str]:
    """With `web_port` set, the running bot's web server answers GET /healthz with 200.

    Probed on the loopback address when the server binds every interface (0.0.0.0, ::)."""
    if settings.web_port is None:
        return []
    host = settings.web_listen
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    url = f"http://{'[' + host + ']' if ':' in host else host}:{settings.web_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=WEB_PROBE_TIMEOUT) as response:  # our own server
            if response.status == 200:
                return []
            return [f"web server at {url} answered {response.status}"]
    except urllib.error.HTTPError as exc:
        return [f"web server at {url} answered {exc.code} (still starting, or the FAQ is empty)"]
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return [f"web server at {url} does not answer: {reason}"]


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
