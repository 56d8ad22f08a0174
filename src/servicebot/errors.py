"""The project's exceptions, in one place, so the CLI can map each to an exit code; and the
located `Problem` a FAQ error carries."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class ServicebotError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(ServicebotError):
    """A setting is missing or invalid; startup stops with a one-line message (exit 2)."""


class PosterError(ConfigError):
    """A poster cannot be made from what staff gave (no https URL, an unknown example entry, an
    image that cannot be read, a file that cannot be written): one Chinese line, exit 2."""


class Severity(StrEnum):
    """How much a FAQ problem matters."""

    ERROR = "error"  # the FAQ is refused (not loaded, not swapped in)
    WARNING = "warning"  # only reported


class Reach(IntEnum):
    """How much of the FAQ a problem stands for; it decides the order staff read problems in."""

    FILE = 0  # the whole file could not be read: what else is wrong may follow from it, so it comes first
    AFTER_FILE = 1  # one line for the problems elsewhere that follow from an unread file, right after it
    LINE = 2  # one place in one file
    AFTER_LINE = 3  # one line for the problems elsewhere that follow from an entry left out, after its errors


@functools.total_ordering
@dataclass(frozen=True)
class Problem:
    """One thing wrong in a FAQ directory, located by file and line for staff.

    Problems sort the way staff should read them: a file that could not be read at all first
    (with what follows from it), then everything else by file and line.
    """

    file: str
    line: int
    message: str
    severity: Severity = Severity.ERROR
    reach: Reach = Reach.LINE

    def _order(self) -> tuple:
        return (self.reach >= Reach.LINE, self.file, self.line, self.reach, self.message, self.severity)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Problem):
            return NotImplemented
        return self._order() < other._order()

    @property
    def is_error(self) -> bool:
        """True when this problem alone makes the FAQ be refused."""
        return self.severity == Severity.ERROR

    def __str__(self) -> str:
        prefix = "" if self.is_error else "警告："
        return f"{self.file}:{self.line}: {prefix}{self.message}"


class FaqError(ServicebotError):
    """The FAQ files have problems; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class StorageError(ServicebotError):
    """The interaction log could not be read or written."""


class WechatError(ServicebotError):
    """A WeChat request we refuse. The message names the reason only (no OpenID, no content), so it is safe to log."""


class SignatureError(WechatError):
    """The request is not from WeChat: bad or missing signature, or a timestamp outside the window (answer 403)."""


class ReplayError(SignatureError):
    """A signed request posted again with another body, or more often than WeChat retries (answer 403)."""


class MalformedMessageError(WechatError):
    """The body is not a WeChat message we can read: not XML, a DOCTYPE, missing fields, too big (answer 400)."""


class DecryptError(WechatError):
    """A safe-mode body that does not decrypt to a message for our AppID (answer 400)."""


class StaffRoomError(ServicebotError):
    """The staff group could not be reached (the bot was removed, the network is down); the
    desk keeps what it could not post and tries again."""


class StaffAccountError(ServicebotError):
    """A staff desk account cannot be created or changed as asked (a taken or malformed name, a
    password too short, an unknown account); the message says which, in Chinese, for staff."""
