"""The commands staff and operators type. Turns domain errors into exit codes:
0 success, 1 a check found problems, 2 bad settings or usage, 141 the reader of the output
stopped reading (`servicebot faq stale | head`), as for any tool that SIGPIPE stops.

Run ``servicebot COMMAND --help`` for each command's options and an example.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from servicebot import poster
from servicebot.config import Settings, load_settings
from servicebot.errors import ConfigError, FaqError, ServicebotError
from servicebot.logs import setup_logging

log = logging.getLogger("servicebot")


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (also SERVICEBOT_* environment variables)")
    s = argparse.SUPPRESS
    group.add_argument("--faq", dest="faq_dir", metavar="DIR", default=s, help="FAQ directory (default: ./faq)")
    group.add_argument(
        "--data-dir", dest="data_dir", metavar="DIR", default=s, help="where data is written (default: ./data)"
    )
    group.add_argument("--config", dest="config_file", metavar="FILE", default=s, help="TOML config file")
    group.add_argument("--log-format", choices=("text", "json"), default=s)
    group.add_argument("--log-level", default=s)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _common(common)
    parser = argparse.ArgumentParser(
        prog="servicebot",
        parents=[common],
        description="凤凰办事处问答机器人. With no command: `run` when a token or a web port is set, "
        "else the terminal chat.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help,
            description=description,
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = add(
        "run",
        "run every configured channel: Telegram, the web chat, WeChat",
        "Run the bot on every configured channel, in one process: Telegram when a token is set\n"
        "(SERVICEBOT_TOKEN), the web chat and /healthz when a web port is set (SERVICEBOT_WEB_PORT),\n"
        "WeChat's /wechat when a WeChat token is set too (SERVICEBOT_WECHAT_TOKEN).\n\n"
        "examples:\n  SERVICEBOT_TOKEN=... servicebot run\n  servicebot run --web-port 8080",
    )
    p.add_argument(
        "--base-url", dest="base_url", default=argparse.SUPPRESS, help="Bot API URL, e.g. http://127.0.0.1:8081/bot"
    )
    p.add_argument(
        "--webhook-url", dest="webhook_url", default=argparse.SUPPRESS, help="public HTTPS URL; enables webhook mode"
    )
    p.add_argument("--web-port", dest="web_port", default=argparse.SUPPRESS, type=int, help="port of the web server")
    p.add_argument(
        "--web-listen", dest="web_listen", default=argparse.SUPPRESS, help="address the web server binds (127.0.0.1)"
    )
    p.add_argument(
        "--desk-port", dest="desk_port", default=argparse.SUPPRESS, type=int, help="port of the staff desk's server"
    )
    p.add_argument(
        "--desk-listen", dest="desk_listen", default=argparse.SUPPRESS, help="address the staff desk binds (127.0.0.1)"
    )
    # Replaced by --web-port/--web-listen; kept so that using them says so (exit 2).
    p.add_argument("--webhook-listen", dest="webhook_listen", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--webhook-port", dest="webhook_port", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    add(
        "chat",
        "talk to the bot in this terminal",
        "Hold the bot's conversation in the terminal; buttons are numbered.\n\n"
        "example: echo 低保怎么申请 | servicebot chat",
    )

    p = add(
        "ask",
        "answer questions as the bot would",
        "Answer one question, or one per line from stdin.\n\n"
        'examples:\n  servicebot ask "垃圾分类体验馆在哪"\n  servicebot ask --explain 地保\n'
        "  servicebot ask --json < questions.txt",
    )
    p.add_argument("question", nargs="*", help="the question (read from stdin when omitted)")
    p.add_argument("--json", action="store_true", help="one JSON object per question")
    p.add_argument("--explain", action="store_true", help="show normalization steps and scored candidates")
    p.add_argument("--log", action="store_true", help="record the questions in the interaction log")

    p = add(
        "eval",
        "measure accuracy on a labelled set",
        "Run a labelled set (YAML: question: entry-id or null) and\n"
        "compare with the naive rapidfuzz baseline.\n\nexample: servicebot eval tests/data/labelled.yaml",
    )
    p.add_argument("file", type=Path)
    p.add_argument("--misses", action="store_true", help="list every question not handled as labelled")

    faq = add("faq", "check and inspect the FAQ files", "FAQ tools for staff.")
    fsub = faq.add_subparsers(dest="faq_command", metavar="ACTION", required=True)
    p = fsub.add_parser(
        "check",
        parents=[common],
        help="validate the FAQ (exit 1 on problems)",
        description="Validate every FAQ file, run the regression questions and the conflict lint.\n\n"
        "example: servicebot faq check faq/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", nargs="?", type=Path, help="FAQ directory (default: --faq or ./faq)")
    p = fsub.add_parser("test", parents=[common], help="run the regression questions in tests.yaml")
    p.add_argument("dir", nargs="?", type=Path)
    p = fsub.add_parser("stale", parents=[common], help="list entries whose reviewed date is too old")
    p.add_argument("dir", nargs="?", type=Path)
    p = fsub.add_parser(
        "diff",
        parents=[common],
        help="which questions an edit changes",
        description="Compare two FAQ versions (directories or git revisions) on the labelled and\n"
        "regression questions.\n\nexamples:\n  servicebot faq diff old-faq/ faq/\n  servicebot faq diff HEAD faq/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument(
        "--labelled",
        type=Path,
        action="append",
        help="labelled set(s) to compare on (default: tests/data/*.yaml if present)",
    )

    p = add(
        "review",
        "unanswered questions, grouped, for reviewers",
        "What residents needed that the bot did not answer outright, grouped by subject\n"
        '(unanswered, "did you mean", referred and handed-off questions), ranked for action,\n'
        "with the trend against the period before and what to do next.\n\n"
        "examples:\n  servicebot review --since 7d\n"
        "  servicebot review --since 2026-11-01 --format html -o review.html\n"
        "  servicebot review --suggest-yaml -o drafts.yaml   # only the YAML to paste",
    )
    p.add_argument("--since", default="7d", help="period: 7d, 24h or a date YYYY-MM-DD (default 7d)")
    p.add_argument(
        "--format",
        choices=("table", "csv", "json", "html", "yaml"),
        default="table",
        help="yaml: only the snippets to paste (also chosen by -o FILE.yaml)",
    )
    p.add_argument("--suggest-yaml", action="store_true", help="ready-to-paste YAML for each group")
    p.add_argument("--output", "-o", type=Path, help="write to a file instead of stdout")

    p = add(
        "stats",
        "questions per day, answer rate, top entries",
        "Usage statistics over a period.\n\nexample: servicebot stats --since 30d",
    )
    p.add_argument("--since", default="30d")
    p.add_argument("--json", action="store_true")

    p = add(
        "tickets",
        "hand-off tickets (转人工): age, status, who answered",
        "List the tickets residents handed to staff (newest first): when, from which channel,\n"
        "status (waiting, answered and by whom, closed, resident unreachable) and the question.\n\n"
        "examples:\n  servicebot tickets --open\n  servicebot tickets --format csv > tickets.csv",
    )
    p.add_argument("--open", action="store_true", help="only tickets not closed")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")

    p = add("poster", "a printable A4 poster with the web chat's QR code", poster.HELP)
    poster.add_arguments(p)
    staff = add(
        "staff",
        "staff desk accounts: add, password, disable, enable, list",
        "Accounts for the staff desk in a browser (SERVICEBOT_DESK_PORT). Passwords are asked at\n"
        "the terminal (twice), or read from the first line of stdin in a script; only an argon2\n"
        "hash is stored. Disabling an account or changing its password ends its sessions at once.\n\n"
        "examples:\n  servicebot staff add 张三\n  servicebot staff add 李四 --admin\n"
        "  servicebot staff disable 张三\n  servicebot staff list",
    )
    ssub = staff.add_subparsers(dest="staff_command", metavar="ACTION", required=True)
    p = ssub.add_parser("add", parents=[common], help="create an account (asks for its password)")
    p.add_argument("name", help="1-20 letters (Chinese too), digits, _ . - ; shown to colleagues")
    p.add_argument("--admin", action="store_true", help="may also apply a held-back FAQ reload at the desk")
    for action, text in (
        ("password", "set a new password (signed-in sessions end)"),
        ("disable", "no more sign-ins; signed-in sessions end now"),
        ("enable", "allow sign-ins again"),
    ):
        ssub.add_parser(action, parents=[common], help=text).add_argument("name")
    ssub.add_parser("list", parents=[common], help="every account: admin, disabled, signed-in sessions")

    add(
        "health",
        "check the FAQ loads, the data dir is writable, hand-off reaches staff",
        "Exit 0 when healthy (used by the container HEALTHCHECK).",
    )
    return parser


SETTING_ARGS = (
    "faq_dir",
    "data_dir",
    "log_format",
    "log_level",
    "base_url",
    "webhook_url",
    "webhook_listen",
    "webhook_port",
    "web_port",
    "web_listen",
    "desk_port",
    "desk_listen",
)


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {k: getattr(args, k) for k in SETTING_ARGS if hasattr(args, k)}
    if getattr(args, "dir", None) is not None:
        overrides["faq_dir"] = args.dir
    return load_settings(overrides=overrides, config_file=getattr(args, "config_file", None))


Command = Callable[[argparse.Namespace, Settings], int]


def command(name: str) -> Command:
    """The body of `servicebot NAME` ("faq check" for a subcommand). Its family's module is
    imported only now, so `--help` and setting errors stay fast, and a command loads only what
    its family uses: `ask` never imports Telegram, the review or the password hasher."""
    family, _, action = name.partition(" ")
    if family == "faq":
        from servicebot.tools import faq_commands

        return faq_commands.COMMANDS[name]
    if family in ("ask", "eval", "chat"):
        from servicebot.tools import ask_commands

        return ask_commands.COMMANDS[name]
    if family in ("review", "stats", "tickets"):
        from servicebot.tools import report_commands

        return report_commands.COMMANDS[name]
    if family == "staff":  # their bodies live with the desk
        from servicebot.staffdesk import admin

        return admin.COMMANDS[action]
    if family == "poster":  # its own package
        return poster.poster_command
    from servicebot.tools import run_commands

    return run_commands.COMMANDS[name]


OUTPUT_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for `yes | head`


def main(argv: list[str] | None = None) -> int:
    """Run one command; a reader that stops reading (`| head`) ends it quietly, whatever it printed."""
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # inside the try: a closed pipe shows here, not as noise at exit
    except BrokenPipeError:
        return _output_closed()


def _output_closed() -> int:
    """Point stdout at /dev/null, so that nothing left in its buffer fails again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (captured in tests): nothing to redirect
        pass
    return OUTPUT_CLOSED


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
    except ConfigError as exc:
        print(f"servicebot: {exc}", file=sys.stderr)
        return 2
    setup_logging(
        settings.log_format,
        settings.log_level,
        token=settings.token,
        secrets=(
            settings.webhook_secret,
            settings.pseudonym_secret,
            settings.wechat_token,
            settings.wechat_app_secret,
            settings.wechat_aes_key,
            settings.wecom_webhook_url,
            settings.wecom_webhook_key,
        ),
    )
    name = args.command or ("run" if settings.token or settings.web_port is not None else "chat")
    if name in ("faq", "staff"):
        name = f"{name} {getattr(args, name + '_command')}"
    try:
        return command(name)(args, settings)
    except ConfigError as exc:
        print(f"servicebot: {exc}", file=sys.stderr)
        return 2
    except FaqError as exc:
        print(f"FAQ 有 {len(exc.problems)} 个问题，请修改后重试：", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except ServicebotError as exc:
        print(f"servicebot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
