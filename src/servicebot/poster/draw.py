"""The poster drawn: one A4 page at 300 dpi with Pillow, saved as PNG or as a PDF of that page.

Why this stack (measured in the commit that added it): Pillow draws the text with a CJK font
that comes from PyPI (`noto-cjk-sans-otc`: Noto Sans CJK, SIL OFL; its Simplified Chinese
face), so nothing depends on the fonts of the machine; `segno` makes the QR code; Pillow also
writes the PDF, as the same page at 300 dpi, which prints as sharp as a notice board needs.
One drawing for both formats, so the PNG a person checks is the PDF that gets printed.

Layout, top to bottom: a blue band with the office's name and the title; the subtitle; the QR
code(s) with their captions and the address in plain text; the example questions, numbered;
how to use it; the privacy line. Sizes are in points (1/72 inch) of the printed page: body
text from 28 pt, the fine print 22 pt, so all of it reads from a metre away. The QR codes
take the height the text leaves, so long example questions never push anything off the page.
"""

from __future__ import annotations

import functools
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import noto_cjk_sans_otc
import segno
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from servicebot.answering import replies
from servicebot.errors import PosterError
from servicebot.poster.content import PosterText

DPI = 300
WIDTH, HEIGHT = 2480, 3508  # A4, 210 × 297 mm, at 300 dpi
MARGIN = 150  # px, 12.7 mm: inside every printer's unprintable edge
INNER = WIDTH - 2 * MARGIN

INK = (17, 24, 32)
MUTED = (51, 60, 72)  # the fine print: still 11:1 on white
ACCENT = (11, 92, 173)  # the web chat's blue; white on it is 6.6:1
ON_ACCENT_SOFT = (222, 235, 250)
BUBBLE = (236, 243, 251)
WHITE = (255, 255, 255)

FACE = "Noto Sans CJK SC"  # the Simplified Chinese face of the collection (glyph shapes as in the mainland)
QR_MAX, QR_MIN = 1000, 640  # px: 8.5 cm down to 5.4 cm, both fine to scan from a step away
QR_GAP = 170

FORMATS = {".png": "PNG", ".pdf": "PDF"}
BAD_SUFFIX = "海报文件名要以 .pdf 或 .png 结尾（由它决定生成哪种格式）：{name}"
BAD_IMAGE = "读不出微信公众号二维码图片 {path}：{reason}"
CANNOT_WRITE = "无法写入海报文件 {path}：{reason}"
NO_FONT = "找不到海报用的中文字体（noto-cjk-sans-otc 包）：{reason}。请按 requirements.lock 重新安装。"
TOO_MUCH_TEXT = "示例问题太长，海报放不下：请换短一些的问题（--example）。"


def pt(points: float) -> int:
    """Points of the printed page → pixels of the 300 dpi image."""
    return round(points * DPI / 72)


# --- fonts and text -----------------------------------------------------------------------


@functools.cache
def _face_index() -> int:
    path = str(noto_cjk_sans_otc.FONT_PATH)
    for index in range(16):
        try:
            family, _ = ImageFont.truetype(path, 12, index=index).getname()
        except OSError as exc:
            raise PosterError(NO_FONT.format(reason=f"{FACE} 不在 {path} 中")) from exc
        if family == FACE:
            return index
    raise PosterError(NO_FONT.format(reason=f"{FACE} 不在 {path} 中"))


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont:
    """The poster's font at `size` px (Noto Sans CJK SC Regular; headings are stroked to bold)."""
    try:
        return ImageFont.truetype(str(noto_cjk_sans_otc.FONT_PATH), size, index=_face_index())
    except OSError as exc:
        raise PosterError(NO_FONT.format(reason=exc)) from exc


@dataclass(frozen=True)
class Style:
    size: int  # px
    fill: tuple[int, int, int] = INK
    bold: bool = False
    spacing: float = 1.2  # line height / size: 1.4 in paragraphs (the MIIT guideline asks ≥ 1.3)

    @property
    def font(self) -> ImageFont.FreeTypeFont:
        return font(self.size)

    @property
    def stroke(self) -> int:
        return max(1, round(self.size * 0.028)) if self.bold else 0

    @property
    def line(self) -> int:
        return round(self.size * self.spacing)

    def width(self, text: str) -> float:
        return self.font.getlength(text) + 2 * self.stroke


_NO_LINE_START = set("，。、；：？！）》」』”’…%")
_NO_LINE_END = set("（《「『“‘")
# A number stays with the character after it (180天, 2020年), a Latin word or address is whole.
_TOKEN = re.compile(r"\d+(?:\.\d+)?[^\x00-\x7f，。、；：？！]?(?![A-Za-z0-9])|[A-Za-z0-9@#%&+=_./:?-]+|.", re.DOTALL)


def wrap(text: str, style: Style, width: float) -> list[str]:
    """`text` in lines no wider than `width`: Chinese breaks between any two characters, a Latin
    word or number stays whole unless it alone is too wide (a long address is cut anywhere), and
    no line starts with a closing mark or ends with an opening one."""
    tokens = [
        piece
        for token in _TOKEN.findall(text)
        for piece in (token if len(token) > 1 and style.width(token) > width else [token])
    ]
    lines: list[str] = []
    line = ""
    for token in tokens:
        if not line or style.width(line + token) <= width:
            line += token
        elif len(line) > 1 and (token[0] in _NO_LINE_START or line[-1] in _NO_LINE_END):
            lines.append(line[:-1])  # one character goes down with it
            line = line[-1] + token
        else:
            lines.append(line)
            line = token
    if line:
        lines.append(line)
    return lines


# --- pieces -----------------------------------------------------------------------------


def qr_image(url: str, size: int) -> Image.Image:
    """The QR code of `url` with its quiet zone (4 modules), at most `size` px, modules whole pixels."""
    code = segno.make_qr(url, error="m", boost_error=True)
    rows = [[0 if dark else 255 for dark in row] for row in code.matrix_iter(border=4)]
    modules = len(rows)
    small = Image.new("L", (modules, modules))
    small.putdata([value for row in rows for value in row])
    scale = max(1, size // modules)
    return small.resize((modules * scale, modules * scale), Image.Resampling.NEAREST).convert("RGB")


def load_image(path: Path) -> Image.Image:
    """The WeChat account's QR code as staff downloaded it (any format Pillow reads), on white."""
    try:
        with Image.open(path) as opened:
            opened.load()
            image = opened.convert("RGBA")
    except FileNotFoundError:
        raise PosterError(BAD_IMAGE.format(path=path, reason="文件不存在")) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        reason = "不是图片文件，或者文件已损坏" if isinstance(exc, UnidentifiedImageError) else str(exc)
        raise PosterError(BAD_IMAGE.format(path=path, reason=reason)) from None
    if min(image.size) < 21:
        raise PosterError(BAD_IMAGE.format(path=path, reason=f"图片太小（{image.width}×{image.height}），不会是二维码"))
    background = Image.new("RGBA", image.size, (*WHITE, 255))
    return Image.alpha_composite(background, image).convert("RGB")


def fit(image: Image.Image, size: int) -> Image.Image:
    """`image` scaled to fit a `size` px square: whole-pixel blocks when enlarged (a QR code stays
    crisp), smooth when reduced."""
    scale = size / max(image.size)
    target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    method = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
    return image.resize(target, method)


# --- the page -----------------------------------------------------------------------------

BAND = Style(pt(52), WHITE, bold=True)
BAND_OFFICE = Style(pt(52), ON_ACCENT_SOFT, bold=True)
SUBTITLE = Style(pt(40), INK, bold=True)
CAPTION = Style(pt(30), INK, bold=True)
CAPTION_HINT = Style(pt(25), MUTED)
ADDRESS = Style(pt(20), MUTED)
HEADING = Style(pt(30), ACCENT, bold=True)
EXAMPLE_SIZES = (28, 26, 24, 22)  # pt: the largest at which every example question fits on one line
NUMBER = Style(pt(17), WHITE, bold=True)
HOW = Style(pt(26), INK, bold=True, spacing=1.3)
FINE = Style(pt(18), MUTED, spacing=1.4)

BAND_HEIGHT = pt(94)
BUBBLE_PAD = (pt(8), pt(5))  # px left of the number badge / above and below the text
BADGE = pt(22)  # diameter
GAP_S, GAP_M, GAP_L = pt(5), pt(10), pt(16)


class Page:
    """A white A4 page and a cursor `y` moving down it."""

    def __init__(self) -> None:
        self.image = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
        self.draw = ImageDraw.Draw(self.image)
        self.y = 0

    def text(self, line: str, style: Style, *, x: float | None = None, anchor: str = "mm") -> None:
        """One line in its line box at the cursor (centred on the page unless `x` is given), then down."""
        middle = self.y + style.line / 2
        self.draw.text(
            (WIDTH / 2 if x is None else x, middle),
            line,
            font=style.font,
            fill=style.fill,
            anchor=anchor,
            stroke_width=style.stroke,
            stroke_fill=style.fill,
        )
        self.y += style.line

    def paragraph(self, text: str, style: Style, width: float = INNER, *, left: bool = False) -> None:
        for line in wrap(text, style, width):
            if left:
                self.text(line, style, x=MARGIN, anchor="lm")
            else:
                self.text(line, style)


def _paragraph_height(text: str, style: Style, width: float = INNER) -> int:
    return len(wrap(text, style, width)) * style.line


EXAMPLE_WIDTH = INNER - 2 * BUBBLE_PAD[0] - BADGE - GAP_M


def example_style(questions: tuple[str, ...]) -> Style:
    """The example questions' size: the largest of EXAMPLE_SIZES at which each fits on one line
    (the FAQ's longest, 21 characters, do at 22 pt); the smallest, wrapped, for longer ones."""
    for points in EXAMPLE_SIZES:
        style = Style(pt(points), INK, spacing=1.3)
        if all(len(wrap(question, style, EXAMPLE_WIDTH)) == 1 for question in questions):
            return style
    return style


def _example_lines(text: PosterText, style: Style) -> list[list[str]]:
    return [wrap(question, style, EXAMPLE_WIDTH) for question in text.examples]


def _band(page: Page, text: PosterText) -> None:
    """The blue band: the office's name and the title on one line, in two tones."""
    page.draw.rectangle((0, 0, WIDTH, BAND_HEIGHT), fill=ACCENT)
    gap = BAND.size * 0.6
    left = (WIDTH - BAND_OFFICE.width(text.office) - gap - BAND.width(text.title)) / 2
    page.y = (BAND_HEIGHT - BAND.line) // 2
    page.text(text.office, BAND_OFFICE, x=left, anchor="lm")
    page.y -= BAND.line
    page.text(text.title, BAND, x=left + BAND_OFFICE.width(text.office) + gap, anchor="lm")
    page.y = BAND_HEIGHT


def _codes(page: Page, text: PosterText, size: int, wechat: Image.Image | None) -> None:
    """The web chat's QR code (and the WeChat account's beside it), captioned, then the address."""
    ours = qr_image(text.url, size)
    top = page.y
    if wechat is None:
        page.image.paste(ours, (round((WIDTH - ours.width) / 2), top + round((size - ours.height) / 2)))
        page.y = top + size + GAP_S
        page.text(replies.POSTER_WEB_CAPTION, CAPTION)
    else:
        theirs = fit(wechat, round(size * 0.92))  # their image has its own white margin; ours has the quiet zone
        centres = (WIDTH / 2 - (size + QR_GAP) / 2, WIDTH / 2 + (size + QR_GAP) / 2)
        for image, centre in zip((ours, theirs), centres):
            page.image.paste(image, (round(centre - image.width / 2), top + round((size - image.height) / 2)))
        for centre, label, hint in zip(
            centres,
            (replies.POSTER_WEB_LABEL, replies.POSTER_WECHAT_LABEL),
            (replies.POSTER_WEB_HINT, replies.POSTER_WECHAT_HINT),
        ):
            page.y = top + size + GAP_S
            page.text(label, CAPTION, x=centre)
            page.text(hint, CAPTION_HINT, x=centre)
    page.paragraph(replies.POSTER_ADDRESS.format(url=text.url), ADDRESS)


def _examples(page: Page, lines: list[list[str]], style: Style) -> None:
    page.text(replies.POSTER_EXAMPLES_HEADING, HEADING, x=MARGIN, anchor="lm")
    page.y += GAP_S
    for number, question in enumerate(lines, 1):
        height = len(question) * style.line + 2 * BUBBLE_PAD[1]
        box = (MARGIN, page.y, WIDTH - MARGIN, page.y + height)
        page.draw.rounded_rectangle(box, radius=pt(12), fill=BUBBLE, outline=ACCENT, width=pt(1.2))
        cx, cy = MARGIN + BUBBLE_PAD[0] + BADGE / 2, page.y + BUBBLE_PAD[1] + style.line / 2
        page.draw.ellipse((cx - BADGE / 2, cy - BADGE / 2, cx + BADGE / 2, cy + BADGE / 2), fill=ACCENT)
        left, top, right, bottom = NUMBER.font.getbbox(str(number), anchor="mm", stroke_width=NUMBER.stroke)
        page.draw.text(
            (cx - (left + right) / 2, cy - (top + bottom) / 2),  # the digit's ink centred, not its line box
            str(number),
            font=NUMBER.font,
            fill=WHITE,
            anchor="mm",
            stroke_width=NUMBER.stroke,
            stroke_fill=WHITE,
        )
        page.y += BUBBLE_PAD[1]
        for line in question:
            page.text(line, style, x=cx + BADGE / 2 + GAP_M, anchor="lm")
        page.y += BUBBLE_PAD[1] + GAP_M


def draw_poster(text: PosterText, wechat: Image.Image | None = None) -> Image.Image:
    """The whole page. The QR codes get the height the words leave, between QR_MIN and QR_MAX."""
    style = example_style(text.examples)
    lines = _example_lines(text, style)
    captions = CAPTION.line + (CAPTION_HINT.line if wechat is not None else 0)
    fine = _paragraph_height(text.contact, FINE) + _paragraph_height(text.privacy, FINE)
    words = (
        BAND_HEIGHT + GAP_L + SUBTITLE.line + GAP_M
        + GAP_S + captions + _paragraph_height(replies.POSTER_ADDRESS.format(url=text.url), ADDRESS) + GAP_L
        + HEADING.line + GAP_S
        + sum(len(q) * style.line + 2 * BUBBLE_PAD[1] + GAP_M for q in lines)
        + GAP_S + _paragraph_height(text.how, HOW) + GAP_L
        + fine + MARGIN
    )  # fmt: skip
    width_cap = (INNER - QR_GAP) // 2 if wechat is not None else QR_MAX
    size = min(QR_MAX, width_cap, HEIGHT - words)
    if size < QR_MIN:
        raise PosterError(TOO_MUCH_TEXT)
    page = Page()
    _band(page, text)
    page.y += GAP_L
    page.text(text.subtitle, SUBTITLE)
    page.y += GAP_M
    _codes(page, text, size, wechat)
    page.y += GAP_L
    _examples(page, lines, style)
    page.y += GAP_S
    page.paragraph(text.how, HOW)
    page.y = HEIGHT - MARGIN - fine  # the fine print at the foot
    page.draw.line((MARGIN, page.y - GAP_M, WIDTH - MARGIN, page.y - GAP_M), fill=ACCENT, width=pt(1))
    page.paragraph(text.contact, FINE, left=True)
    page.paragraph(text.privacy, FINE, left=True)
    return page.image


# --- files --------------------------------------------------------------------------------


def file_format(path: Path) -> str:
    """PNG or PDF, by the file's extension; PosterError for anything else."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise PosterError(BAD_SUFFIX.format(name=path.name))
    return kind


def encode(image: Image.Image, kind: str, title: str) -> bytes:
    """The page as a PNG, or as a one-page PDF of A4 at 300 dpi (JPEG inside, quality 95 with
    full-resolution colour, so text edges and QR modules stay clean)."""
    out = io.BytesIO()
    if kind == "PDF":
        image.save(out, "PDF", resolution=DPI, quality=95, subsampling=0, title=title, creator="servicebot poster")
    else:
        image.save(out, "PNG", dpi=(DPI, DPI))
    return out.getvalue()


def write(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all (a half-written poster is never left behind)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    except OSError as exc:
        raise PosterError(CANNOT_WRITE.format(path=path, reason=exc.strerror or exc)) from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise PosterError(CANNOT_WRITE.format(path=path, reason=exc.strerror or exc)) from None
