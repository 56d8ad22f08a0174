"""`servicebot poster`: a printable A4 poster for the notice board, so residents who never get
a link find the bot (most find it on a wall in the community, or through WeChat).

- `content`: what the poster says (the checked https address, example questions from the FAQ,
  the privacy line); pure;
- `draw`: the page drawn with Pillow, a CJK font from PyPI and a `segno` QR code; PNG or PDF.

This module holds only the command, whose docstring is its `--help`; it imports the drawing
stack when it runs, so `servicebot --help` stays fast.
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

from servicebot.config import Settings

DONE = "海报已生成：{path}（A4，{kind}，300 dpi）"
DONE_URL = "二维码地址：{url}"
DONE_WECHAT = "微信公众号二维码：{path}"
DONE_EXAMPLE = "示例问题：{question}"


def poster_command(args: argparse.Namespace, settings: Settings) -> int:
    """Make a printable A4 poster for the notice board (Chinese, readable from a metre away).

    It shows the office's name, a QR code that opens the web chat at --url (an https address),
    the WeChat account's QR code beside it when you give its image (--wechat-qr: the picture
    downloaded from the 公众平台, 设置与开发 → 公众号设置 → 二维码), three example questions from
    the FAQ (--faq; choose them with --example ENTRY_ID, else three common ones), and the
    privacy line. The file's extension chooses the format: .pdf to print, .png to look at.
    Exit 0 when written; 2 (with a message saying why) for a missing or non-https --url, an
    unknown --example, an image that cannot be read, or a file name not ending in .pdf/.png.

    examples:
      servicebot poster --url https://bot.example.gov.cn/ -o poster.pdf
      servicebot poster --url https://bot.example.gov.cn/ --wechat-qr qrcode.jpg -o poster.png
      servicebot poster --url https://bot.example.gov.cn/ --example dibao-apply -o poster.pdf
    """
    from servicebot.faq import load_faq
    from servicebot.poster import draw
    from servicebot.poster.content import check_url, poster_text

    output: Path = args.output
    url = check_url(args.url)
    kind = draw.file_format(output)
    text = poster_text(url, load_faq(settings.faq_dir), settings.retention_days, args.example or ())
    wechat = draw.load_image(args.wechat_qr) if args.wechat_qr is not None else None
    image = draw.draw_poster(text, wechat)
    draw.write(output, draw.encode(image, kind, f"{text.office}{text.title}"))
    lines = [DONE.format(path=output, kind=kind), DONE_URL.format(url=text.url)]
    if args.wechat_qr is not None:
        lines.append(DONE_WECHAT.format(path=args.wechat_qr))
    lines += [DONE_EXAMPLE.format(question=q) for q in text.examples]
    print("\n".join(lines))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="the web chat's public https address, which the QR code opens")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="poster.pdf or poster.png")
    parser.add_argument(
        "--wechat-qr", type=Path, metavar="IMAGE", help="the WeChat account's QR code image, shown beside ours"
    )
    parser.add_argument(
        "--example",
        action="append",
        metavar="ENTRY_ID",
        help="an FAQ entry whose question the poster shows as an example (up to 3; repeat the option)",
    )


HELP = inspect.cleandoc(poster_command.__doc__ or "")

__all__ = ["HELP", "add_arguments", "poster_command"]
