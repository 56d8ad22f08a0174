"""The conversation in a terminal: buttons become numbered choices the user picks by typing
the number, and + or - rates the last answer. Works interactively and with piped input (one
question per line), so anyone can try the bot without Telegram or a browser."""

from __future__ import annotations

import asyncio
import secrets
from typing import IO

from servicebot.answering import replies
from servicebot.answering.replies import Reply
from servicebot.answering.service import Service
from servicebot.conversation.chat import Conversation
from servicebot.conversation.events import Ask, Command, Event, Resident, Said, Text
from servicebot.conversation.memory import ChoiceMemory
from servicebot.records import ButtonKind, Channel


def render(reply: Reply) -> str:
    """A reply as terminal text; buttons (except feedback) numbered from 1."""
    lines = [reply.plain]
    for n, button in enumerate(reply.numbered, 1):
        suffix = f"  {button.value}" if button.kind == ButtonKind.URL else ""
        lines.append(f"  [{n}] {button.label}{suffix}")
    if reply.rated:
        lines.append(f"  {replies.TERMINAL_FEEDBACK_HINT}")
    return "\n".join(lines)


def render_said(said: Said) -> str | None:
    if said.reply is None:
        return said.ack or None
    text = render(said.reply)
    return f"{said.notice}\n\n{text}" if said.notice else text


class ChatSession:
    """One terminal conversation; `handle(line)` returns what the bot says back.

    The session counts as one resident in the log and in `stats`.
    """

    def __init__(self, service: Service):
        # No `settle`: the terminal answers at once and its record follows, as it always has.
        memory = ChoiceMemory(ttl=float("inf"), size=1)
        self.conversation = Conversation(service, memory=memory, settle=False)
        self.resident = Resident(Channel.TERMINAL, f"terminal-{secrets.token_hex(8)}", chat_type="terminal")

    def greet(self) -> str:
        """The welcome; its topics can be picked by number."""
        return render_said(self._said(Ask(Command.START))) or ""

    def handle(self, line: str) -> str | None:
        if not line.strip():
            return None
        return render_said(self._said(Text(line)))

    def _said(self, event: Event) -> Said:
        return asyncio.run(self.conversation.handle(self.resident, event))


def run_chat(service: Service, stdin: IO[str], stdout: IO[str], interactive: bool) -> int:
    session = ChatSession(service)
    if interactive:
        stdout.write(f"{session.greet()}\n{replies.TERMINAL_HOW_TO}\n")
    while True:
        if interactive:
            stdout.write(f"\n{replies.TERMINAL_YOU}")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        if line.strip() in ("/quit", "/exit"):
            break
        out = session.handle(line)
        if out:
            stdout.write((replies.TERMINAL_BOT if interactive else "") + out + "\n")
            if not interactive:
                stdout.write("\n")
            stdout.flush()
    return 0
