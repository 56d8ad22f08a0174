"""Build `src/servicebot/data/words.sqlite3`: how rare each word is in everyday Chinese and
its part of speech, as jieba 0.42.1 (MIT licence) ships them, and each character's pinyin, as
pypinyin (MIT licence) ships it, in tables that need no loading.

The matcher weighs a word by jieba's IDF table (`jieba/analyse/idf.txt`, 277,000 words) and
asks its part of speech from jieba's dictionary (`jieba/dict.txt`, 349,000 words, the tags
`jieba.posseg` reads). Read as shipped, the two take about a second and ~100 MB per process;
this script keeps them in a read-only SQLite table instead (one indexed look-up per word):

    words(word TEXT PRIMARY KEY, idf REAL, tag TEXT) WITHOUT ROWID
      idf: the word's value in idf.txt, NULL when the table lacks the word
      tag: its tag in dict.txt, NULL when the dictionary lacks the word
    readings(char TEXT PRIMARY KEY, pinyin TEXT) WITHOUT ROWID
      pinyin: the character's first reading in pypinyin's table, with its tone ("zhōng")

Importing pypinyin's table costs half a second (the package loads its phrase dictionary
too); the matcher needs only the characters of its FAQ and questions, one look-up each.
The words themselves are cut by rjieba, which embeds the same dictionary
(`tests/test_words.py` checks that both cut alike and that this file matches jieba's and
pypinyin's tables).
Run it again only to rebuild the file, from the test environment (which has jieba):

    python -m bench.tools.build_words
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import jieba

OUT = Path(__file__).resolve().parents[2] / "src" / "servicebot" / "data" / "words.sqlite3"


def idf_table() -> dict[str, float]:
    """idf.txt as `words` read it before this table: "word value" per line."""
    text = (Path(jieba.__file__).parent / "analyse" / "idf.txt").read_text(encoding="utf-8")
    table: dict[str, float] = {}
    for line in text.splitlines():
        word, _, value = line.partition(" ")
        if value:
            table[word] = float(value)
    return table


def tag_table() -> dict[str, str]:
    """The part-of-speech tags jieba.posseg reads from dict.txt."""
    import jieba.posseg

    return dict(jieba.posseg.dt.word_tag_tab)


def rows() -> list[tuple[str, float | None, str | None]]:
    idf, tags = idf_table(), tag_table()
    return [(word, idf.get(word), tags.get(word)) for word in sorted(idf.keys() | tags.keys())]


def readings() -> list[tuple[str, str]]:
    """pypinyin's table: character → its readings, the most common first ("zhōng,zhòng")."""
    from pypinyin.pinyin_dict import pinyin_dict

    return sorted((chr(code), value.split(",")[0]) for code, value in pinyin_dict.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.unlink(missing_ok=True)
    db = sqlite3.connect(args.out)
    db.execute("CREATE TABLE words(word TEXT PRIMARY KEY, idf REAL, tag TEXT) WITHOUT ROWID")
    db.executemany("INSERT INTO words VALUES (?, ?, ?)", rows())
    db.execute("CREATE TABLE readings(char TEXT PRIMARY KEY, pinyin TEXT) WITHOUT ROWID")
    db.executemany("INSERT INTO readings VALUES (?, ?)", readings())
    db.commit()
    db.execute("VACUUM")
    db.close()
    db = sqlite3.connect(args.out)
    count, chars = (db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("words", "readings"))
    print(f"{args.out}: {count} words, {chars} characters, {args.out.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
