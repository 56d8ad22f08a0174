"""`servicebot staff …`: the staff desk's accounts, managed on the server, never from the desk.

    servicebot staff add 张三              # asks for the password twice
    echo "$PASSWORD" | servicebot staff add 李四 --admin   # a script: the first line of stdin
    servicebot staff password 张三         # a new password; signed-in sessions end
    servicebot staff disable 张三          # no more sign-ins; signed-in sessions end now
    servicebot staff enable 张三
    servicebot staff list

Accounts live in the interaction log's database (`data_dir`), so run these where the bot's
data is (in the container: `docker compose exec bot servicebot staff add 张三`). A password is
never echoed, printed or logged.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TextIO

from servicebot.config import Settings
from servicebot.errors import StaffAccountError
from servicebot.review.tables import table
from servicebot.staffdesk.accounts import Accounts
from servicebot.storage import CHINA_TZ

ADDED = "已创建账号“{name}”{admin}。工作人员用它在工作人员后台（/desk/）登录。"
ADMIN_NOTE = "（管理员：也可以在“问答状态”页重新载入问答）"
PASSWORD_SET = "已修改“{name}”的密码；用旧密码登录的会话都已退出。"
DISABLED = "已停用“{name}”：不能再登录，{sessions} 个已登录的会话已结束。"
ENABLED = "已启用“{name}”：可以重新登录了。"
NO_ACCOUNTS = "还没有账号。用 servicebot staff add 名字 创建。"
ASK = "“{name}”的新密码（至少 8 个字符，输入时不显示）："
ASK_AGAIN = "再输入一次："
MISMATCH = "两次输入的密码不一样，没有修改。"
EMPTY = "没有读到密码：请在标准输入的第一行给出密码。"
HEADERS = ["账号", "管理员", "状态", "创建时间", "改密码时间", "已登录"]

Command = Callable[[argparse.Namespace, Settings], int]


def read_password(name: str, stdin: TextIO | None = None, ask: Callable[[str], str] = getpass.getpass) -> str:
    """Asked twice at a terminal; otherwise the first line of stdin (for scripts)."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = ask(ASK.format(name=name))
        if ask(ASK_AGAIN) != first:
            raise StaffAccountError(MISMATCH)
        return first
    line = stdin.readline().rstrip("\r\n")
    if not line:
        raise StaffAccountError(EMPTY)
    return line


def _accounts(settings: Settings, *, create: bool = False) -> Accounts:
    """Only `add` creates the database: a mistyped --data-dir elsewhere is an error, not a new file."""
    return Accounts(settings.db_path, create=create)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def add(args: argparse.Namespace, settings: Settings) -> int:
    accounts = _accounts(settings, create=True)
    try:
        accounts.add(args.name, read_password(args.name), admin=args.admin)
    finally:
        accounts.close()
    _out(ADDED.format(name=args.name, admin=ADMIN_NOTE if args.admin else ""))
    return 0


def password(args: argparse.Namespace, settings: Settings) -> int:
    accounts = _accounts(settings)
    try:
        accounts.set_password(args.name, read_password(args.name))
    finally:
        accounts.close()
    _out(PASSWORD_SET.format(name=args.name))
    return 0


def disable(args: argparse.Namespace, settings: Settings) -> int:
    accounts = _accounts(settings)
    try:
        ended = accounts.disable(args.name)
    finally:
        accounts.close()
    _out(DISABLED.format(name=args.name, sessions=ended))
    return 0


def enable(args: argparse.Namespace, settings: Settings) -> int:
    accounts = _accounts(settings)
    try:
        accounts.enable(args.name)
    finally:
        accounts.close()
    _out(ENABLED.format(name=args.name))
    return 0


def listing(args: argparse.Namespace, settings: Settings) -> int:
    accounts = _accounts(settings)
    try:
        rows = accounts.listing()
    finally:
        accounts.close()
    if not rows:
        _out(NO_ACCOUNTS)
        return 0
    cells = [
        [
            a.name,
            "是" if a.admin else "",
            "已停用" if a.disabled_at else "可以登录",
            a.created_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
            a.password_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
            str(a.sessions),
        ]
        for a in rows
    ]
    _out("\n".join(table(HEADERS, cells, [20, 6, 8, 16, 16, 6], [False] * 5 + [True])))
    return 0


COMMANDS: dict[str, Command] = {
    "add": add,
    "password": password,
    "disable": disable,
    "enable": enable,
    "list": listing,
}

__all__ = ["COMMANDS", "read_password"]
