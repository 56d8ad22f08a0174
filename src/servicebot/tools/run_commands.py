"""`servicebot run / health`: serving residents on every configured channel, and checking that
this installation can (`health` is the container's HEALTHCHECK).

`cli.py` imports this module only to run one of these commands (see `cli.command`); each
imports what it runs in its own body.

    SERVICEBOT_TOKEN=... servicebot run
    servicebot run --web-port 8080
    servicebot health
"""

from __future__ import annotations

import argparse
import sys

from servicebot.config import Settings
from servicebot.errors import ConfigError
from servicebot.tools.output import echo

NOTHING_TO_RUN = (
    "servicebot: no channel is configured: set a Telegram token or a web port.\n"
    "  Telegram: set SERVICEBOT_TOKEN (from @BotFather), in the environment or a config file\n"
    '  (SERVICEBOT_CONFIG=/path/to/servicebot.toml with token = "...").\n'
    "  Web chat: set SERVICEBOT_WEB_PORT (or run --web-port 8080).\n"
    "  To try the bot without either, run `servicebot chat`."
)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.token and settings.web_port is None:
        print(NOTHING_TO_RUN, file=sys.stderr)
        return 2
    if settings.webhook_url and not settings.token:
        raise ConfigError("webhook mode (SERVICEBOT_WEBHOOK_URL) needs SERVICEBOT_TOKEN")
    if settings.webhook_url and not settings.webhook_secret:
        raise ConfigError("webhook mode needs SERVICEBOT_WEBHOOK_SECRET (letters, digits, _ and -)")
    if settings.webhook_url and settings.web_port is None:
        raise ConfigError("webhook mode is served by the bot's web server: set SERVICEBOT_WEB_PORT")
    if settings.staff_chat_id is not None and not settings.token:
        raise ConfigError(
            "hand-off to staff (SERVICEBOT_STAFF_CHAT_ID) needs SERVICEBOT_TOKEN: staff answer on Telegram"
        )
    from servicebot.channels.server import run as run_channels

    return run_channels(settings)


def health(args: argparse.Namespace, settings: Settings) -> int:
    from servicebot.tools.health import Verdict, health_report

    findings = health_report(settings)
    for finding in findings:
        if finding.verdict == Verdict.PROBLEM:
            print(finding, file=sys.stderr)
        else:
            echo(str(finding))
    problems = sum(f.verdict == Verdict.PROBLEM for f in findings)
    if problems:
        print(f"unhealthy: {problems} problem(s) above; fix them and run `servicebot health` again", file=sys.stderr)
    return 1 if problems else 0


COMMANDS = {"run": run, "health": health}
