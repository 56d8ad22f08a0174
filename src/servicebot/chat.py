"""The same conversation as the Telegram bot, in a terminal: buttons become numbered
choices the user picks by typing the number. Works interactively and with piped input
(one question per line), so anyone can try the bot without Telegram."""

from __future__ import annotations

import secrets
from typing import IO

from servicebot import replies
from servicebot.replies import Button, Reply
from servicebot.service import Service

CHANNEL = "chat"


def render(reply: Reply) -> str:
    """A reply as terminal text; buttons (except feedback) numbered from 1."""
    lines = [reply.plain]
    for n, button in enumerate(choices(reply), 1):
        suffix = f"  {button.value}" if button.kind == replies.URL else ""
        lines.append(f"  [{n}] {button.label}{suffix}")
    feedback = [b for b in reply.buttons if b.kind == replies.FEEDBACK]
    if feedback:
        lines.append("  （输入 + 或 - 评价这个回答）")
    return "\n".join(lines)


def choices(reply: Reply) -> list[Button]:
    return [b for b in reply.buttons if b.kind != replies.FEEDBACK]


class ChatSession:
    """One terminal conversation; `handle(line)` returns what the bot says back.

    The session counts as one resident in the log and in `stats`.
    """

    def __init__(self, service: Service):
        self.service = service
        self.last: Reply | None = None  # the latest reply with numbered choices on screen
        self.last_ref: str | None = None
        self.last_via = "topic"
        self.who = {"channel": CHANNEL, "chat_type": "terminal", "resident": f"terminal-{secrets.token_hex(8)}"}

    def handle(self, line: str) -> str | None:
        text = line.strip()
        if not text:
            return None
        if text in ("+", "-") and self.last_ref:
            # Rating the last answer leaves the choices shown under it usable.
            self.service.feedback(self.last_ref, text == "+")
            return render(Reply(replies.FEEDBACK_THANKS[text]))
        self.last = self._reply(text)
        return render(self.last)

    def _reply(self, text: str) -> Reply:
        faq = self.service.snapshot.faq
        if text in ("/start",):
            return self._shown(replies.greeting_reply(faq), "topic")
        if text == "/help":
            return Reply(replies.HELP_TEXT)
        if text == "/topics":
            return self._shown(replies.topics_reply(faq), "topic")
        if text == "/privacy":
            return Reply(replies.PRIVACY_TEXT.format(days=self.service.settings.retention_days))
        options = choices(self.last) if self.last is not None else []
        if text.isdigit() and len(text) <= 2 and options:
            if 1 <= int(text) <= len(options):
                return self._press(options[int(text) - 1])
            pick = " 1 " if len(options) == 1 else f" 1 到 {len(options)} 之间的数字"
            return Reply(f"请输入{pick}来选择，或者直接打字提问。")
        outcome = self.service.answer(text, **self.who)
        self.last_ref = outcome.ref
        return self._shown(outcome.reply, replies.buttons_via(outcome.status))

    def _shown(self, reply: Reply, via: str) -> Reply:
        self.last_via = via
        return reply

    def _press(self, button: Button) -> Reply:
        faq = self.service.snapshot.faq
        if button.kind == replies.ENTRY:
            outcome = self.service.answer_entry(button.value, via=self.last_via, origin_ref=self.last_ref, **self.who)
            if outcome is None:
                return Reply(replies.STALE_BUTTON_TEXT)
            self.last_ref = outcome.ref
            return self._shown(outcome.reply, "related")
        if button.kind == replies.TOPIC:
            topic = next((t for t in faq.topics if t.name == button.value), None)
            return self._shown(replies.topic_reply(topic, faq) if topic else Reply(replies.STALE_BUTTON_TEXT), "topic")
        if button.kind == replies.TOPICS:
            return self._shown(replies.topics_reply(faq), "topic")
        if button.kind == replies.NONE_OF_THESE:
            return self._shown(self.service.none_of_these(self.last_ref, **self.who), "topic")
        return Reply(f"请在浏览器中打开：{button.value}")


def run_chat(service: Service, stdin: IO[str], stdout: IO[str], interactive: bool) -> int:
    session = ChatSession(service)
    if interactive:
        stdout.write(
            render(replies.greeting_reply(service.snapshot.faq)) + "\n（输入问题回车；输入数字选择；Ctrl-D 退出）\n"
        )
    while True:
        if interactive:
            stdout.write("\n您：")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        if line.strip() in ("/quit", "/exit"):
            break
        out = session.handle(line)
        if out:
            stdout.write(("机器人：" if interactive else "") + out + "\n")
            if not interactive:
                stdout.write("\n")
            stdout.flush()
    return 0
