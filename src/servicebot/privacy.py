"""Keeps residents' personal data out of everything the bot stores or logs.

Phone numbers, ID-card numbers, bank-card numbers and e-mail addresses are masked before a
question goes anywhere, and Telegram user ids are replaced by a keyed hash (HMAC) that cannot
be reversed without the secret, yet still lets the review count distinct residents.

Residents type numbers the way their input method gives them: full-width (１３９…), in
groups (139 1234 5678, 341122-1990-0101-123X) or in Chinese numerals (一三九…, 幺三九…). So
masking first folds every character to a canonical one — any decimal digit or Chinese digit
numeral to an ASCII digit, full-width forms to ASCII, every kind of dash, dot and space to
one of ``-``, ``.``, `` `` — character for character, so that a match in the folded text is
the same span in the original, which keeps its other characters exactly as typed.

Precision matters as much as recall: reviewers must still read 2020年, 280751.6元, 第七次,
48个, 2020-01-01 or the 12388 hotline. Only these shapes are masked:

- an 18-digit ID-card number (region, birth date, sequence, check digit or X) or the old
  15-digit one, across any separators;
- a 16–19 digit bank-card number, contiguous or in groups of four;
- an 11-digit mobile number (1[3-9]…), optionally after +86/0086, across one kind of
  separator (139 1234 5678, 139-1234-5678, 1 3 9 1 2 3 4 5 6 7 8);
- a landline with its area code (0550-1234567, (0550)1234567, +86 550 1234567);
- an e-mail address;
- any other run of 11 or more digits.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

EMAIL = "[邮箱]"
ID_CARD = "[身份证号]"
BANK_CARD = "[银行卡号]"
MOBILE = "[手机号]"
LANDLINE = "[电话]"
NUMBER = "[数字]"
PLACEHOLDERS = (EMAIL, ID_CARD, BANK_CARD, MOBILE, LANDLINE, NUMBER)
# What mask_personal leaves behind: a question holding one is one resident's own case.
MASKED_RE = re.compile("|".join(map(re.escape, PLACEHOLDERS)))

# --- folding -------------------------------------------------------------------------------

# Digits as Chinese residents write or dictate them: lower-case and financial numerals, 〇 and
# ○ for zero, 幺 (yāo) for one and 洞 for zero as phone numbers are read aloud, 两 for two.
CHINESE_DIGITS = {
    "0": "〇零○◯洞",
    "1": "一壹幺",
    "2": "二贰貳两兩",
    "3": "三叁叄參",
    "4": "四肆",
    "5": "五伍",
    "6": "六陆陸",
    "7": "七柒",
    "8": "八捌",
    "9": "九玖",
}
# Tildes (~ ～ 〜 ∼) and underscores (_ ＿) are typed between groups as dashes are.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63~\uff5e\u301c\u223c_\uff3f"
_DOTS = "\u00b7\u2022\u30fb\uff65"  # · • ・ ･ (． folds by NFKC)
# Line breaks too: a resident may put each group of a number on a line of its own.
_SPACES = "\t\n\r\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"


@functools.cache
def _fold_table() -> dict[int, str]:
    """Character → its canonical single character (built once, ~30 ms)."""
    table: dict[int, str] = {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        value = unicodedata.decimal(char, None)
        if value is not None:
            table[code] = str(value)
            continue
        folded = unicodedata.normalize("NFKC", char)
        if len(folded) == 1 and folded != char and folded.isascii():
            table[code] = folded
    for code in range(0x1D7CE, 0x1D800):  # mathematical digits 𝟎–𝟿
        table[code] = str(unicodedata.decimal(chr(code)))
    for digit, numerals in CHINESE_DIGITS.items():
        table.update((ord(n), digit) for n in numerals)
    table.update((ord(c), "-") for c in _DASHES)
    table.update((ord(c), ".") for c in _DOTS)
    table.update((ord(c), " ") for c in _SPACES)
    table[ord("×")] = "X"  # typed for the X check digit of an ID-card number
    return table


def fold(text: str) -> str:
    """The text with one canonical character per character (same length, same positions)."""
    return text.translate(_fold_table())


# --- shapes --------------------------------------------------------------------------------

# One separator: a dash or dot with spaces around it, or spaces alone. A few spaces count as
# one (a double space, a line break after a space): bounded, so a match costs linear time.
_SEP = r"(?: {0,3}[-.] {0,3}| {1,3})"
_S = f"(?:{_SEP})?"
_SEP_RE = re.compile(_SEP)


def _spaced(*parts: str) -> str:
    """Regex parts, each one digit, with an optional separator between any two."""
    return _S.join(parts)


def _alt(*options: tuple[str, ...]) -> str:
    return "(?:" + "|".join(_spaced(*option) for option in options) + ")"


_D = "[0-9]"
_MONTH = _alt(("0", "[1-9]"), ("1", "[0-2]"))
_DAY = _alt(("0", "[1-9]"), ("[12]", _D), ("3", "[01]"))
_REGION = _spaced("[1-9]", *[_D] * 5)
_ID18 = _spaced(_REGION, _alt(("1", "9"), ("2", "0")), _D, _D, _MONTH, _DAY, _D, _D, _D, "[0-9Xx]")
_ID15 = _spaced(_REGION, _D, _D, _MONTH, _DAY, _D, _D, _D)
_MOBILE = _spaced("1", "[3-9]", *[_D] * 9)
_COUNTRY = rf"(?:(?:\+|00)86{_S}|\(\s?(?:\+|00)?86\s?\)\s?|86{_SEP})"
# Grouped by four, a card number starts as cards do (3-6, 9; Mastercard's 2221-2720), so that a
# list of years (2018 2019 2020 2021) is not taken for one; and it must not stop short of a
# further group or an X, which would make it the first digits of an ID-card number.
_BANK_GROUPED = (
    rf"(?<![0-9])(?:[3-69][0-9]{{3}}|2[2-7][0-9]{{2}})[0-9]{{0,2}}(?:{_SEP}[0-9]{{4}}){{2,3}}(?:{_SEP}[0-9]{{1,4}})?"
    rf"(?![0-9Xx])(?!{_SEP}[0-9])"
)
_AREA = rf"(?:\(\s?0[1-9][0-9]{{1,2}}\s?\)\s?|0[1-9][0-9]{{1,2}}{_S}|{_COUNTRY}[1-9][0-9]{{1,2}}{_S})"
_LOCAL = rf"[0-9]{{3,4}}{_S}[0-9]{{4}}"
# Input methods type the domain's dots as 。 too. The top-level domain must not run on into
# another address: in a@qq.com。b@qq.com the 。 ends the first one. Lengths are bounded as in
# RFC 5321 so that a long run of letters costs linear time.
_EMAIL = (
    r"(?<![A-Za-z0-9])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"[A-Za-z0-9-]{1,63}(?:[.。][A-Za-z0-9-]{1,63}){0,8}[.。][A-Za-z]{2,63}(?![A-Za-z0-9_%+@-])"
)


def _numeric(pattern: str) -> re.Pattern[str]:
    """A number shape that must not start or end inside a longer run of digits."""
    return re.compile(rf"(?<![0-9])(?:{pattern})(?![0-9])")


def _digit_count(span: str) -> int:
    return sum(c.isdigit() for c in span)


def _one_kind_of_separator(span: str) -> bool:
    """139 1234 5678 yes; 1.38 3.50 1.20 4.50 (prices, not a phone number) no."""
    return len({sep.strip() or " " for sep in _SEP_RE.findall(span)}) <= 1


def _bank_card(span: str) -> bool:
    digits = _digit_count(span)
    return 16 <= digits <= 19 and _one_kind_of_separator(span) and not (digits == 18 and _ID18_RE.fullmatch(span))


def _mobile(span: str) -> bool:
    return _one_kind_of_separator(span[-_mobile_body_length(span) :])


def _mobile_body_length(span: str) -> int:
    """Length of the part after the country code: the 11 digits and what separates them."""
    digits = 0
    for i in range(len(span) - 1, -1, -1):
        digits += span[i].isdigit()
        if digits == 11:
            return len(span) - i
    return len(span)


class Shape(NamedTuple):
    placeholder: str
    pattern: re.Pattern[str]
    accept: Callable[[str], bool] = lambda span: True


_ID18_RE = re.compile(_ID18)

# Most specific first: a grouped card number may start like an ID-card number (which is then
# not a card number, see _bank_card), an ID-card number holds the 16 digits of a card number,
# a card number holds runs a phone shape would take. Whatever one shape masks, later ones
# never see.
SHAPES = (
    Shape(EMAIL, re.compile(_EMAIL)),
    Shape(BANK_CARD, re.compile(_BANK_GROUPED), _bank_card),
    Shape(ID_CARD, _numeric(_ID18)),
    Shape(BANK_CARD, _numeric(r"[0-9]{16,19}")),
    Shape(ID_CARD, _numeric(_ID15), _one_kind_of_separator),
    Shape(MOBILE, _numeric(f"{_COUNTRY}?{_MOBILE}"), _mobile),
    Shape(LANDLINE, _numeric(_AREA + _LOCAL)),
    Shape(NUMBER, _numeric(r"[0-9]{11,}")),
)
_MASKED = "\x00"  # stands in the folded text for a masked character: no shape matches it
_WORTH_A_LOOK = re.compile(r"[0-9@]")


def personal_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, placeholder) of every personal number or address in the text, in order."""
    folded = fold(text)
    if not _WORTH_A_LOOK.search(folded):
        return []
    spans: list[tuple[int, int, str]] = []
    for shape in SHAPES:
        found = _find(shape, folded)
        for start, end in found:
            spans.append((start, end, shape.placeholder))
        if found:
            folded = _blank(folded, found)
    return sorted(spans)


def _find(shape: Shape, folded: str) -> list[tuple[int, int]]:
    found, pos = [], 0
    while match := shape.pattern.search(folded, pos):
        if shape.accept(match.group()):
            found.append(match.span())
            pos = match.end()
        else:  # another match may still start inside a rejected one
            pos = match.start() + 1
    return found


def _blank(folded: str, spans: list[tuple[int, int]]) -> str:
    parts, last = [], 0
    for start, end in spans:
        parts += [folded[last:start], _MASKED * (end - start)]
        last = end
    parts.append(folded[last:])
    return "".join(parts)


def mask_personal(text: str) -> str:
    """The text with phone, ID-card and bank-card numbers and e-mail addresses replaced by
    readable placeholders ([手机号], [身份证号], [银行卡号], [电话], [邮箱], [数字])."""
    spans = personal_spans(text)
    if not spans:
        return text
    parts, last = [], 0
    for start, end, placeholder in spans:
        parts += [text[last:start], placeholder]
        last = end
    parts.append(text[last:])
    return "".join(parts)


# --- residents -----------------------------------------------------------------------------


def pseudonym(secret: str, raw_id: int | str) -> str:
    """A stable, non-reversible key for one resident."""
    digest = hmac.new(secret.encode(), str(raw_id).encode(), hashlib.sha256).hexdigest()
    return digest[:16]


# Secrets in use that were not configured (a generated pseudonym key): logs.Redactor reads this
# list, so they are kept out of log lines like the configured ones.
_NEVER_LOGGED: list[str] = []


def never_logged() -> tuple[str, ...]:
    """Secrets learnt while running that no log line may contain."""
    return tuple(_NEVER_LOGGED)


def load_or_create_secret(configured: str, data_dir: Path) -> str:
    """The configured pseudonym secret, or one generated once and kept in the data dir; either
    way it is never logged."""
    if configured:
        value = configured
    else:
        path = data_dir / "pseudonym.key"
        try:
            value = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            data_dir.mkdir(parents=True, exist_ok=True)
            value = secrets.token_hex(32)
            path.touch(mode=0o600)
            path.write_text(value, encoding="ascii")
    if value not in _NEVER_LOGGED:
        _NEVER_LOGGED.append(value)
    return value
