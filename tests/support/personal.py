"""Residents' personal numbers written every way Chinese input methods and habits produce them,
embedded in ordinary Chinese text, for property tests (hypothesis strategies), and a check,
independent of servicebot.privacy, that a number did not survive in some output.

A number is drawn as its canonical digits (what must never be stored or logged) and a written
form: ASCII, full-width or Chinese-numeral digits (一三九…, 幺三九…, 〇/零 for zero, 两 for
two, financial 壹贰叁…), grouped with spaces, dashes, dots or their full-width forms, with or
without +86 or an area code in brackets.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from hypothesis import assume, strategies as st

MOBILE, ID_CARD, BANK_CARD, LANDLINE, EMAIL = "[手机号]", "[身份证号]", "[银行卡号]", "[电话]", "[邮箱]"

# Several ways to write each digit; one is chosen per number (or per digit, for "mixed").
_CHINESE = ["〇零○", "一幺", "二两", "三", "四", "五", "六", "七", "八", "九"]
_FINANCIAL = ["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"]
_FULL_WIDTH = "０１２３４５６７８９"
DIGIT_STYLES = ("ascii", "full-width", "chinese", "financial", "mixed")
# Between groups: ASCII and full-width spaces, dashes and dots; tildes and underscores as some
# type them; a line break or a double space, as a web page or WeChat lets residents send them.
SEPARATORS = (" ", "-", ".", "\u3000", "－", "．", " - ", "—", "～", "~", "_", "＿", "\n", "\r\n", "  ", " \n")

# Text around the number. None of it may start or end with a digit or a Chinese numeral, or it
# would be part of the number.
LEAD_INS = (
    "",
    "我的电话是",
    "电话：",
    "手机",
    "身份证号码是",
    "卡号：",
    "请联系",
    "麻烦打",
    "邮箱 ",
    "（",
    "我叫王小明，",
)
TAILS = ("", "，谢谢", "。", "，怎么办？", " 谢谢", "）", "！")
# Ordinary text that must survive masking exactly as written.
ORDINARY = (
    "在2020年",
    "挽回经济损失280751.6元",
    "第七次",
    "有48个",
    "打12388举报",
    "于2020-01-01办理",
    "于2020年1月1日",
    "8:30-17:30上班",
    "共3人",
    "按一二三四五六七八九十排",
    "标准GB/T 19095-2019里",
    "价格1.38 3.50 1.20 4.50元",
    "热线400-123-4567问过",
    "0.5元",
    "低保怎么申请",
    "养老保险交多少",
    "书屋在哪",
)


@dataclass(frozen=True)
class Personal:
    placeholder: str
    canonical: str  # the digits (or address) that must never reach any output
    written: str  # as the resident typed it


@st.composite
def _digit_writer(draw):
    """A function writing one digit in the style drawn for this number."""
    style = draw(st.sampled_from(DIGIT_STYLES))
    picks = {d: draw(st.sampled_from(_CHINESE[d])) for d in range(10)}
    mixed = st.sampled_from(("ascii", "full-width", "chinese"))

    def write(digit: str, per_digit: str | None = None) -> str:
        kind = per_digit or style
        if not digit.isdigit():
            return digit
        d = int(digit)
        return {
            "ascii": digit,
            "full-width": _FULL_WIDTH[d],
            "chinese": picks[d],
            "financial": _FINANCIAL[d],
        }[kind]

    if style != "mixed":
        return lambda digits: "".join(write(c) for c in digits)
    kinds = draw(st.lists(mixed, min_size=20, max_size=20))
    return lambda digits: "".join(write(c, kinds[i % 20]) for i, c in enumerate(digits))


def _grouped(digits: str, sizes: list[int], seps: list[str]) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    assert at == len(digits), (sizes, digits)
    out = parts[0]
    for sep, part in zip(seps, parts[1:]):
        out += sep + part
    return out


def _random_digits(draw, n: int) -> str:
    return "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=n, max_size=n)))


def _one_separator(draw, gaps: int) -> list[str]:
    return [draw(st.sampled_from(SEPARATORS))] * gaps


@st.composite
def mobiles(draw) -> Personal:
    digits = "1" + draw(st.sampled_from("3456789")) + _random_digits(draw, 9)
    sizes = draw(st.sampled_from([[11], [3, 4, 4], [4, 4, 3], [3, 8], [1] * 11]))
    written = _grouped(draw(_digit_writer())(digits), sizes, _one_separator(draw, len(sizes) - 1))
    prefix = draw(st.sampled_from(("", "", "+86", "+86 ", "+86-", "0086 ", "(+86)", "（+86）", "86 ", "＋８６ ")))
    return Personal(MOBILE, digits, prefix + written)


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a resident ID-card number."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11]


@st.composite
def id_cards(draw) -> Personal:
    region = draw(st.sampled_from("123456789")) + _random_digits(draw, 5)
    born = draw(st.dates(dt.date(1920, 1, 1), dt.date(2020, 12, 31)))
    if draw(st.booleans()):  # today's 18 characters
        first17 = region + born.strftime("%Y%m%d") + _random_digits(draw, 3)
        digits = first17 + id_check_digit(first17)
        sizes = draw(st.sampled_from([[18], [6, 8, 4], [6, 4, 4, 4], [3, 3, 4, 4, 4], [6, 12]]))
    else:  # the old 15 digits (two-digit year)
        digits = region + born.strftime("%y%m%d") + _random_digits(draw, 3)
        sizes = draw(st.sampled_from([[15], [6, 6, 3], [6, 9]]))
    # An ID-card number is taken across any separators, even mixed ones.
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(sizes) - 1, max_size=len(sizes) - 1))
    if len(digits) == 15:
        seps = seps[:1] * len(seps)  # the old number has less structure: one kind of separator
    x = draw(st.sampled_from("XxＸｘ"))
    written = _grouped(draw(_digit_writer())(digits).replace("X", x), sizes, seps)
    return Personal(ID_CARD, digits, written)


def looks_like_id_card(digits: str) -> bool:
    if len(digits) != 18 or digits[6:8] not in ("19", "20"):
        return False
    try:
        dt.date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return digits[10:12] <= "12" and digits[10:12] != "00" and "01" <= digits[12:14] <= "31"
    return True


@st.composite
def bank_cards(draw) -> Personal:
    start = draw(st.sampled_from(["62", "4", "5", "9", "35", "37", "60"] + [str(n) for n in (2221, 2500, 2720)]))
    length = draw(st.integers(16, 19))
    digits = start + _random_digits(draw, length - len(start))
    assume(not looks_like_id_card(digits))  # an 18-digit card shaped like an ID card is masked as one
    first = draw(st.sampled_from([length, 4, 6]))
    sizes = [first] + [4] * ((length - first) // 4) + ([(length - first) % 4] if (length - first) % 4 else [])
    written = _grouped(draw(_digit_writer())(digits), sizes, _one_separator(draw, len(sizes) - 1))
    return Personal(BANK_CARD, digits, written)


@st.composite
def landlines(draw) -> Personal:
    area = draw(st.sampled_from(["010", "021", "025", "0550", "0551", "0755", "0571"]))
    local = draw(st.sampled_from("2345678")) + _random_digits(draw, draw(st.sampled_from([6, 7])))
    write = draw(_digit_writer())
    sep = draw(st.sampled_from(("", *SEPARATORS)))
    split = [3, 4] if len(local) == 7 else [4, 4]
    local_written = write(local) if not draw(st.booleans()) else _grouped(write(local), split, [sep])
    form = draw(st.sampled_from(["plain", "brackets", "full-width brackets", "country"]))
    if form == "plain":
        written = write(area) + sep + local_written
    elif form == "brackets":
        written = "(" + write(area) + ")" + draw(st.sampled_from(["", " "])) + local_written
    elif form == "full-width brackets":
        written = "（" + write(area) + "）" + local_written
    else:
        written = "+86 " + write(area[1:]) + sep + local_written
    return Personal(LANDLINE, area[1:] + local, written)


_DOMAINS = ("qq.com", "163.com", "126.com", "gmail.com", "foxmail.com", "chuzhou.gov.cn", "sina.com.cn")


@st.composite
def emails(draw) -> Personal:
    local = draw(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,14}[a-z0-9]", fullmatch=True))
    domain = draw(st.sampled_from(_DOMAINS))
    address = f"{local}@{domain}"
    at = draw(st.sampled_from(["@", "＠"]))
    written = local + at + domain.replace(".", draw(st.sampled_from([".", "。", "．"])))  # as IMEs type dots
    if draw(st.booleans()):
        written = written.upper()
    if draw(st.booleans()):
        written = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in written)
    return Personal(EMAIL, address, written)


NUMBERS = st.one_of(mobiles(), id_cards(), bank_cards(), landlines())
PERSONAL = st.one_of(NUMBERS, emails())


@dataclass(frozen=True)
class Embedded:
    text: str  # what the resident sent
    masked: str  # what it must become
    personal: tuple[Personal, ...]


@st.composite
def embedded(draw, personal=PERSONAL, max_items: int = 2) -> Embedded:
    """Ordinary text with one or more personal items, and the expected masked text."""
    ordinary = st.lists(st.sampled_from(ORDINARY), max_size=2).map("".join)
    items = draw(st.lists(personal, min_size=1, max_size=max_items))
    text = masked = draw(ordinary)
    for item in items:
        lead_in = draw(st.sampled_from(LEAD_INS))
        tail = draw(st.sampled_from(TAILS[1:]))  # a tail between items keeps them apart
        after = draw(ordinary)
        text += lead_in + item.written + tail + after
        masked += lead_in + item.placeholder + tail + after
    return Embedded(text, masked, tuple(items))


# --- checking outputs ---------------------------------------------------------------------------

_NUMERALS = str.maketrans(
    {
        c: str(d)
        for d, chars in enumerate(
            ["〇零○◯洞", "一壹幺", "二贰貳两兩", "三叁參", "四肆", "五伍", "六陆陸", "七柒", "八捌", "九玖"]
        )
        for c in chars
    }
)
_NOT_COUNTED = re.compile(r"[\s\-.·。－—–()（）+~_]")


def canonical(text: str) -> str:
    """Folded for comparison: digits in any script as ASCII, upper case, no separators."""
    text = unicodedata.normalize("NFKC", text).translate(_NUMERALS).upper()
    return _NOT_COUNTED.sub("", text)


def leaked(items: tuple[Personal, ...] | list[Personal], output: str) -> list[str]:
    """The items whose number or address can still be read in the output."""
    seen = canonical(output)
    return [item.canonical for item in items if canonical(item.canonical) in seen]
