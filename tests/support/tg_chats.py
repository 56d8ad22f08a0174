"""The Telegram side of the fake Bot API (botapi.py): the chats and messages it holds, and the
updates residents, staff and channels make in them — text, commands, button presses, stickers,
photos, voice notes, locations, edits and channel posts — each handed to ``inject``, which
queues it for the bot.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from .tg_entities import detect_entities, utf16_len

DEFAULT_USER_ID = 100001
DEFAULT_GROUP_ID = -1001000000001
DEFAULT_CHANNEL_ID = -1001000000002


class Chats:
    """The chats and messages of a fake Telegram, as the bot ``bot_user`` sees them, and the
    helpers that make updates in them (:class:`~support.botapi.FakeBotApi` serves them)."""

    def __init__(self, bot_user: dict[str, Any]) -> None:
        self.bot_user = bot_user
        self._msg_counters: dict[Any, int] = {}
        self._messages: dict[tuple[Any, int], dict] = {}
        self._chats: dict[Any, dict] = {}
        self._callback_ids = itertools.count(4395000000000000001)
        self._open_callbacks: set[str] = set()
        self._file_seq = itertools.count(1)

    @property
    def username(self) -> str:
        return self.bot_user["username"]

    @property
    def bot_id(self) -> int:
        return self.bot_user["id"]

    def inject(self, update: dict) -> dict:
        """Queue an update for the bot; the server's part."""
        raise NotImplementedError

    # ---------------------------------------------------------------- chats / messages store

    def _user(
        self, user_id: int, first_name: str, last_name: str | None, username: str | None, language_code: str | None
    ) -> dict:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat_for(self, chat_id: Any) -> dict:
        chat = self._chats.get(chat_id)
        if chat is not None:
            return chat
        if isinstance(chat_id, str):
            chat = {
                "id": DEFAULT_CHANNEL_ID,
                "title": chat_id.lstrip("@"),
                "type": "channel",
                "username": chat_id.lstrip("@"),
            }
        elif isinstance(chat_id, int) and chat_id < 0:
            chat = {"id": chat_id, "title": "Test group", "type": "supergroup"}
        else:
            chat = {"id": chat_id, "type": "private", "first_name": "User"}
        self._chats[chat_id] = chat
        return chat

    def _next_message_id(self, chat_id: Any) -> int:
        n = self._msg_counters.get(chat_id, 0) + 1
        self._msg_counters[chat_id] = n
        return n

    def messages(self, chat_id: Any) -> list[dict]:
        """Current (not deleted) messages of a chat, both directions, in id order."""
        return [m for (c, _i), m in sorted(self._messages.items(), key=lambda kv: kv[0][1]) if c == chat_id]

    def _store(self, message: dict) -> dict:
        self._messages[(message["chat"]["id"], message["message_id"])] = message
        return message

    def _find_message(self, chat_id: Any, message_id: Any) -> dict | None:
        return self._messages.get((chat_id, message_id))

    def _last_bot_message(self, chat_id: Any) -> dict | None:
        for msg in reversed(self.messages(chat_id)):
            if msg.get("from", {}).get("id") == self.bot_id:
                return msg
        return None

    def _bot_message(
        self, chat_id: Any, text: str, *, message_id: int | None = None, reply_markup: dict | None = None
    ) -> dict:
        if message_id is None:
            message_id = self._next_message_id(chat_id)
        else:
            self._msg_counters[chat_id] = max(self._msg_counters.get(chat_id, 0), message_id)
        msg: dict[str, Any] = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": self._chat_for(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        if reply_markup and "inline_keyboard" in reply_markup:
            msg["reply_markup"] = reply_markup
        return self._store(msg)

    # ---------------------------------------------------------------- update injection

    def _incoming_message(
        self,
        *,
        user_id: int,
        chat_id: Any,
        chat_type: str,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
        title: str | None,
        reply_to_bot: bool,
        reply_to_message_id: int | None,
        **content: Any,
    ) -> dict:
        if chat_type == "private":
            chat_id = user_id if chat_id is None else chat_id
            if chat_id != user_id:
                raise ValueError("a private chat's id equals the user's id")
            chat = {"id": chat_id, "type": "private", "first_name": first_name}
            if last_name:
                chat["last_name"] = last_name
            if username:
                chat["username"] = username
        elif chat_type in ("group", "supergroup"):
            chat_id = DEFAULT_GROUP_ID if chat_id is None else chat_id
            chat = {"id": chat_id, "title": title or "凤凰社区居民群", "type": chat_type}
            if chat_type == "supergroup":
                chat["is_forum"] = False
        else:
            raise ValueError(f"unsupported chat_type {chat_type!r} (use channel_post)")
        self._chats[chat_id] = chat
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": self._user(user_id, first_name, last_name, username, language_code),
            "chat": chat,
            "date": int(time.time()),
        }
        reply_to = None
        if reply_to_message_id is not None:
            reply_to = self._find_message(chat_id, reply_to_message_id)
            if reply_to is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id}")
        elif reply_to_bot:
            reply_to = self._last_bot_message(chat_id) or self._bot_message(chat_id, "……")
        if reply_to is not None:
            msg["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
        msg.update({k: v for k, v in content.items() if v is not None})
        return self._store(msg)

    def user_message(
        self,
        text: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "测试用户",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        title: str | None = None,
        reply_to_bot: bool = False,
        reply_to_message_id: int | None = None,
        entities: list[dict] | None = None,
    ) -> dict:
        """Inject a text message from a user.

        ``chat_id`` defaults to ``user_id`` (private) or :data:`DEFAULT_GROUP_ID` (groups).
        ``entities=None`` auto-detects bot_command/mention/url/email/hashtag entities like
        Telegram's servers do; pass ``[]`` for none.  ``reply_to_bot`` makes it a reply to the
        bot's latest message in that chat.  Returns the update dict.
        """
        if entities is None:
            entities = detect_entities(text)
        msg = self._incoming_message(
            user_id=user_id,
            chat_id=chat_id,
            chat_type=chat_type,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            title=title,
            reply_to_bot=reply_to_bot,
            reply_to_message_id=reply_to_message_id,
            text=text,
            entities=entities or None,
        )
        return self.inject({"message": msg})

    def group_message(
        self,
        text: str,
        mention: bool = False,
        *,
        chat_id: int = DEFAULT_GROUP_ID,
        chat_type: str = "supergroup",
        **kwargs: Any,
    ) -> dict:
        """Inject a group message; ``mention=True`` prefixes ``@<bot username>`` (unless the
        text already contains it) with a proper ``mention`` entity (UTF-16 offsets)."""
        handle = f"@{self.username}"
        if mention and handle.lower() not in text.lower():
            text = f"{handle} {text}"
        entities = kwargs.pop("entities", None)
        if entities is None:
            entities = detect_entities(text)
        if mention and not any(e["type"] == "mention" for e in entities):
            pos = text.lower().index(handle.lower())
            entities.append({"offset": utf16_len(text[:pos]), "length": utf16_len(handle), "type": "mention"})
            entities.sort(key=lambda e: e["offset"])
        return self.user_message(text, chat_id=chat_id, chat_type=chat_type, entities=entities, **kwargs)

    def command(self, cmd: str, args: str = "", *, at_bot: bool = False, **kwargs: Any) -> dict:
        """Inject ``/cmd[@bot] args`` with a ``bot_command`` entity (private chat by default;
        pass ``chat_type="supergroup"`` etc. for groups)."""
        text = "/" + cmd.lstrip("/") + (f"@{self.username}" if at_bot else "")
        command_len = utf16_len(text)
        if args:
            text += " " + args
        entities = [{"offset": 0, "length": command_len, "type": "bot_command"}]
        entities += [e for e in detect_entities(text) if e["offset"] >= command_len]
        return self.user_message(text, entities=entities, **kwargs)

    def callback_query(
        self,
        data: str,
        *,
        message_id: int | None = None,
        chat_id: int = DEFAULT_USER_ID,
        user_id: int = DEFAULT_USER_ID,
        first_name: str = "测试用户",
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> dict:
        """Inject a press on an inline button.

        The attached message is the stored bot message ``message_id`` (default: the bot's
        latest message in ``chat_id``); if unknown, a bot message with that id is fabricated
        (and stored, so editing it works).  The query id is accepted once by
        ``answerCallbackQuery``.
        """
        msg = self._last_bot_message(chat_id) if message_id is None else self._find_message(chat_id, message_id)
        if msg is None:
            msg = self._bot_message(
                chat_id,
                "请选择：",
                message_id=message_id,
                reply_markup={"inline_keyboard": [[{"text": "选项", "callback_data": data}]]},
            )
        query_id = str(next(self._callback_ids))
        self._open_callbacks.add(query_id)
        return self.inject(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id, first_name, None, username, language_code),
                    "message": msg,
                    "chat_instance": str(-7000000000000000000 - abs(hash(chat_id)) % 10**9),
                    "data": data,
                }
            }
        )

    def _new_file(self, prefix: str, size: int) -> dict:
        """The ids and size of a file a resident sent (the bot never downloads one)."""
        n = next(self._file_seq)
        return {
            "file_id": f"{prefix}ACAgUAAxkBAAIB{n:06d}FakeFileId",
            "file_unique_id": f"AQAD{n:06d}",
            "file_size": size,
        }

    def sticker(self, emoji: str = "👍", *, set_name: str = "HotCherry", **kwargs: Any) -> dict:
        """Inject a sticker message (``kwargs`` as for :meth:`user_message` minus ``text``)."""
        f = self._new_file("CAAC", 24_000)
        sticker = {
            "file_id": f["file_id"],
            "file_unique_id": f["file_unique_id"],
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": set_name,
            "file_size": f["file_size"],
        }
        return self._media_update(kwargs, sticker=sticker)

    def photo(self, caption: str | None = None, **kwargs: Any) -> dict:
        """Inject a photo (three sizes, like Telegram) with an optional caption."""
        sizes = []
        for w, h, size in ((90, 67, 1_200), (320, 240, 14_000), (1280, 960, 120_000)):
            f = self._new_file("AgAC", size)
            sizes.append(
                {
                    "file_id": f["file_id"],
                    "file_unique_id": f["file_unique_id"],
                    "file_size": size,
                    "width": w,
                    "height": h,
                }
            )
        extra: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            extra["caption"] = caption
            extra["caption_entities"] = detect_entities(caption) or None
        return self._media_update(kwargs, **extra)

    def voice(self, duration: int = 3, **kwargs: Any) -> dict:
        """Inject a voice note (OGG/Opus metadata)."""
        f = self._new_file("AwAC", 6_000 * duration)
        voice = {
            "file_id": f["file_id"],
            "file_unique_id": f["file_unique_id"],
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": f["file_size"],
        }
        return self._media_update(kwargs, voice=voice)

    def location(self, latitude: float = 22.5431, longitude: float = 114.0579, **kwargs: Any) -> dict:
        return self._media_update(kwargs, location={"latitude": latitude, "longitude": longitude})

    def _media_update(self, kwargs: dict, **content: Any) -> dict:
        opts: dict[str, Any] = {
            "user_id": DEFAULT_USER_ID,
            "chat_id": None,
            "chat_type": "private",
            "first_name": "测试用户",
            "last_name": None,
            "username": None,
            "language_code": "zh-hans",
            "title": None,
            "reply_to_bot": False,
            "reply_to_message_id": None,
        }
        unknown = set(kwargs) - set(opts)
        if unknown:
            raise TypeError(f"unexpected arguments {sorted(unknown)}")
        opts.update(kwargs)
        msg = self._incoming_message(**opts, **content)
        return self.inject({"message": msg})

    def edited_message(
        self,
        text: str,
        *,
        message_id: int | None = None,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
        entities: list[dict] | None = None,
    ) -> dict:
        """Inject an ``edited_message`` for the user's message ``message_id`` (default: that
        user's latest message in the chat; ``chat_id`` defaults to ``user_id``)."""
        chat_id = user_id if chat_id is None else chat_id
        if message_id is None:
            mine = [m for m in self.messages(chat_id) if m.get("from", {}).get("id") == user_id]
            if not mine:
                raise ValueError(f"user {user_id} has no message in chat {chat_id} to edit")
            original = mine[-1]
        else:
            found = self._find_message(chat_id, message_id)
            if found is None:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            original = found
        msg = {k: v for k, v in original.items() if k not in ("text", "entities")}
        msg["text"] = text
        ents = detect_entities(text) if entities is None else entities
        if ents:
            msg["entities"] = ents
        msg["edit_date"] = max(int(time.time()), original["date"] + 1)
        self._store(msg)
        return self.inject({"edited_message": msg})

    def channel_post(
        self,
        text: str,
        *,
        chat_id: int = DEFAULT_CHANNEL_ID,
        title: str = "凤凰办事处通知",
        username: str | None = None,
    ) -> dict:
        chat: dict[str, Any] = {"id": chat_id, "title": title, "type": "channel"}
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "sender_chat": chat,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        ents = detect_entities(text)
        if ents:
            msg["entities"] = ents
        self._store(msg)
        return self.inject({"channel_post": msg})
