"""Read-only data files shipped with the package, as SQLite tables that need no loading:
each look-up is one indexed read, so a process pays only for the words it meets.

- `lexicon.sqlite3`: word knowledge beyond the FAQ (`answering/lexicon.py`; built by
  `bench/tools/build_lexicon.py`);
- `words.sqlite3`: jieba's IDF table and part-of-speech tags (`answering/words.py`) and each character's
  pinyin (`answering/text.py`'s sound keys); built by `bench/tools/build_words.py`.
"""

from __future__ import annotations

import sqlite3
import threading
from importlib import resources
from typing import Any


class Table:
    """One of the package's SQLite files, opened on first use (read-only, immutable), shared by
    every thread of the process: one query at a time."""

    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            path = resources.files(__name__).joinpath(self.name)
            self._db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        return self._db

    def one(self, sql: str, *args: Any) -> Any:
        """The first row of a query, or None."""
        with self._lock:
            return self._connection().execute(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> list[Any]:
        with self._lock:
            return self._connection().execute(sql, args).fetchall()


LEXICON = Table("lexicon.sqlite3")
WORDS = Table("words.sqlite3")

__all__ = ["LEXICON", "WORDS", "Table"]
