"""The interaction log, kept in SQLite for the review, with numbered migrations.

- `db`: opening the bot's SQLite files (`connect`, the one place that does), the log's one
  connection (`Database`), and how times are stored;
- `reader`: the queries behind `review` and `stats` (`LogReader`);
- `writer`: the background writer the service records into (`InteractionLog`);
- `migrations`: the schema, as numbered migrations;
- `tickets` (the rows) and `ticket_store` (`TicketStore`, the queries), `staff`, `outbox`:
  the hand-off desk's tables;
- `journal`: Telegram's update journal, its own file, so a crash loses no question.

The names below are the log's public surface (the bot, `health` and the commands import
them from `servicebot.storage`), so the modules inside can be rearranged without touching
their importers.
"""

from servicebot.storage.db import CHINA_TZ, UTC, china_day_bounds, connect, from_utc_text, utc_text
from servicebot.storage.reader import DayCounts, EntryCount, FollowupRow, ItemCount, LogReader, QuestionRow, RatedRow
from servicebot.storage.writer import InteractionLog, LogStatus

__all__ = [
    "CHINA_TZ",
    "UTC",
    "DayCounts",
    "EntryCount",
    "FollowupRow",
    "InteractionLog",
    "ItemCount",
    "LogReader",
    "LogStatus",
    "QuestionRow",
    "RatedRow",
    "china_day_bounds",
    "connect",
    "from_utc_text",
    "utc_text",
]
