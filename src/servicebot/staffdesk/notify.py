"""Notices without Telegram: "新的人工咨询 #N" pushed to a 企业微信 (WeCom) group robot.

Staff who answer at the staff desk in a browser are not watching it all day; their office
already lives in 企业微信. With `wecom_webhook_url` set (the group robot's webhook, 群机器人 →
添加机器人 → 复制 Webhook 地址), each new hand-off ticket is announced there as one text line.

What the notice carries, decided for privacy: the ticket's number and the resident's channel
(网页聊天 / 微信公众号 / Telegram 私聊), nothing else — no question (free text may hold a name
or an address the masking cannot recognise), no resident key, no time beyond the message's
own. The question is read at the desk, behind its sign-in.

Best effort, off the event loop's critical path: `ticket_opened` only queues; a background
task posts one notice at a time (WeCom allows a robot 20 messages a minute), retries a failed
post a few times with backoff, and gives up with a warning. The URL holds the robot's key:
it is a secret, never logged (the log scrubber knows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from servicebot.conversation.ticket_view import channel_text
from servicebot.storage.tickets import TicketRow

log = logging.getLogger(__name__)

NEW_TICKET = "🙋 新的人工咨询 #{number}（来自：{channel}），请到工作人员后台查看并回复。"
MIN_INTERVAL = 3.0  # seconds between two posts: WeCom allows 20 a minute per robot
RETRIES = (5.0, 30.0, 120.0)  # seconds before each further try
TIMEOUT = 10.0  # seconds per post
QUEUED = 100  # notices waiting at most; the oldest go first
STOP_GRACE = 2.0  # seconds queued notices get when stopping

Post = Callable[[str, dict[str, Any]], None]


class NoticeError(Exception):
    """A post the robot did not accept; the message names the reason, never the URL."""


def post_json(url: str, doc: dict[str, Any]) -> None:
    """POST `doc` to the robot; NoticeError unless it answers errcode 0."""
    request = urllib.request.Request(
        url,
        data=json.dumps(doc, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # the configured robot only
            answer = json.loads(response.read(64 * 1024) or b"{}")
    except urllib.error.HTTPError as exc:
        raise NoticeError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise NoticeError(str(getattr(exc, "reason", exc))) from None
    except ValueError:
        raise NoticeError("the answer is not JSON") from None
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        errcode = answer.get("errcode") if isinstance(answer, dict) else None
        raise NoticeError(f"errcode {errcode}")


class WecomRobot:
    """The robot of one process, one of the desk's `TicketNotices` (`Desk.notices`)."""

    def __init__(
        self,
        url: str,
        *,
        post: Post = post_json,
        min_interval: float = MIN_INTERVAL,
        retries: tuple[float, ...] = RETRIES,
    ):
        self.url = url
        self.post = post
        self.min_interval = min_interval
        self.retries = retries
        self.sent = 0
        self.failed = 0
        self._queue: asyncio.Queue[tuple[int, str]] | None = None
        self._task: asyncio.Task[None] | None = None

    def ticket_opened(self, ticket: TicketRow) -> None:
        """Queue the notice of a new ticket (called on the event loop, never blocks)."""
        if self._queue is None:
            return
        if self._queue.full():
            dropped, _ = self._queue.get_nowait()
            log.warning("wecom: too many notices waiting; the one for ticket #%d is dropped", dropped)
        text = NEW_TICKET.format(number=ticket.number, channel=channel_text(ticket.channel))
        self._queue.put_nowait((ticket.number, text))

    async def start(self) -> None:
        self._queue = asyncio.Queue(QUEUED)
        self._task = asyncio.create_task(self._run(), name="wecom notices")
        log.info("wecom: new hand-off tickets are announced to the group robot")

    async def stop(self) -> None:
        """Post what is queued (at most STOP_GRACE seconds), then stop."""
        if self._task is None or self._queue is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), STOP_GRACE)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            number, text = await self._queue.get()
            try:
                await self._deliver(number, text)
            finally:
                self._queue.task_done()
            await asyncio.sleep(self.min_interval)

    async def _deliver(self, number: int, text: str) -> None:
        doc = {"msgtype": "text", "text": {"content": text}}
        for attempt, wait in enumerate((0.0, *self.retries)):
            if wait:
                await asyncio.sleep(wait)
            try:
                await asyncio.to_thread(self.post, self.url, doc)
            except NoticeError as exc:
                log.warning("wecom: the notice of ticket #%d was not accepted (try %d): %s", number, attempt + 1, exc)
                continue
            self.sent += 1
            return
        self.failed += 1
        log.warning("wecom: gave up announcing ticket #%d; it is on the staff desk all the same", number)


__all__ = ["NEW_TICKET", "NoticeError", "WecomRobot", "post_json"]
