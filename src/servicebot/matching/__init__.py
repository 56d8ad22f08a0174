"""The matcher: what is a resident's question about, which entry answers it (or which other
body's matter it is), and how sure are we?

- `index.py` holds one FAQ ready to answer (`Index.match`), through three steps of its own:
  `tables.py` builds what the FAQ's entries are made of, once per load (characters, words,
  postings; plain data kept on disk between runs), `reading.py` reads a question against them
  (words, typo repair, the lexicon), `scoring.py` scores the entries (word coverage, BM25 and
  closeness over characters);
- `clerk.py` decides like a counter clerk: the subject the question names, then its entry,
  choices between subjects, a referral, or an honest "no answer";
- `characters.py` is the character layer (characters, pairs, sounds);
- `model.py` holds the vocabulary the two share (`Match`, `Candidate`, `Term`, `Reason`).

Pure and synchronous: no Telegram, no I/O.
"""

from servicebot.matching.characters import features, sound_text, tokens
from servicebot.matching.index import Index
from servicebot.matching.model import (
    ANSWERED,
    MAX_SUGGESTIONS,
    REFERRAL,
    SUGGEST,
    UNANSWERED,
    Candidate,
    Known,
    Match,
    Reading,
    Reason,
    Term,
    Thresholds,
)

__all__ = [
    "ANSWERED",
    "MAX_SUGGESTIONS",
    "REFERRAL",
    "SUGGEST",
    "UNANSWERED",
    "Candidate",
    "Index",
    "Known",
    "Match",
    "Reading",
    "Reason",
    "Term",
    "Thresholds",
    "features",
    "sound_text",
    "tokens",
]
