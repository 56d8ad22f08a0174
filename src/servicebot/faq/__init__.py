"""The FAQ: staff's YAML files → validated, frozen entries.

- `model`: what a loaded FAQ is (`Faq`, `Entry`, `Topic`, …), read by every layer above;
- `yaml_lines`: YAML that remembers the line of every key and item;
- `validation`: every problem of a directory, located, in the staff's words;
- `freshness`: when an entry is due for re-checking;
- `cache`: per-file verdicts kept in memory and on disk, so unchanged files are not parsed again;
- `checks`: the checks that need the rendered replies and the matcher (`faq check`, reloads);
- `verdicts`: what checking and indexing compute, remembered on disk by content;
- `diff`: what an edit changes for residents (`faq diff`);
- `watcher`: live reload, noticing edits in faq/ and offering them to the service.

The names below are the package's public surface: the matcher, the replies and the
channels import them from `servicebot.faq`, so the modules inside can be rearranged
without touching them.
"""

from servicebot.faq.model import (
    BIN_CATEGORIES,
    GARBAGE_ITEMS_FILE,
    PLACEHOLDER,
    REFERRALS_FILE,
    RESERVED_FILES,
    SETTINGS_FILE,
    TESTS_FILE,
    BinCase,
    BinCategory,
    Entry,
    Faq,
    GarbageGuide,
    GarbageItem,
    Link,
    Referral,
    Referrals,
    RegressionCase,
    Source,
    Topic,
    question_key,
)
from servicebot.faq.validation import check_faq, faq_files, load_faq

__all__ = [
    "BIN_CATEGORIES",
    "GARBAGE_ITEMS_FILE",
    "PLACEHOLDER",
    "REFERRALS_FILE",
    "RESERVED_FILES",
    "SETTINGS_FILE",
    "TESTS_FILE",
    "BinCase",
    "BinCategory",
    "Entry",
    "Faq",
    "GarbageGuide",
    "GarbageItem",
    "Link",
    "Referral",
    "Referrals",
    "RegressionCase",
    "Source",
    "Topic",
    "check_faq",
    "faq_files",
    "load_faq",
    "question_key",
]
