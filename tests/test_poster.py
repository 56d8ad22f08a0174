"""`servicebot poster`: the command as staff type it, the files it writes, and the QR codes in
them read back by a real decoder (zxing-cpp) — from the PNG, and from the PDF's page as a PDF
viewer renders it (pdfium) — so the code on the wall opens the address that was given."""

from __future__ import annotations

import dataclasses

import pytest
import segno
import zxingcpp
from PIL import Image

from servicebot.cli import main
from servicebot.errors import PosterError
from servicebot.faq import load_faq
from servicebot.poster import content, draw
from servicebot.poster.content import DEFAULT_EXAMPLES, pick_examples, poster_text

from conftest import PINNED_FAQ

URL = "https://bot.example.gov.cn/wenda/"
WECHAT_URL = "http://weixin.qq.com/r/mp/AbCdEfGhIjKlMnOpQrSt"  # what an account's code says
SHIPPED = load_faq(PINNED_FAQ)


def poster(tmp_path, *args: str) -> list[str]:
    return ["poster", "--faq", str(PINNED_FAQ), "--data-dir", str(tmp_path / "data"), *args]


def decoded(image: Image.Image) -> set[str]:
    return {code.text for code in zxingcpp.read_barcodes(image) if code.format == zxingcpp.BarcodeFormat.QRCode}


def wechat_code(path):
    """A stand-in for the picture staff download from the 公众平台: a plain QR code image."""
    segno.make_qr(WECHAT_URL, error="h").save(path, scale=10, border=3)
    return path


# --- the files -------------------------------------------------------------------------------


def test_the_png_is_an_a4_page_whose_qr_code_opens_the_url(tmp_path, capsys):
    out = tmp_path / "poster.png"
    assert main(poster(tmp_path, "--url", URL, "-o", str(out))) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [
        f"海报已生成：{out}（A4，PNG，300 dpi）",
        f"二维码地址：{URL}",
    ]
    examples = [SHIPPED.by_id[i].question for i in DEFAULT_EXAMPLES]
    assert printed[2:] == [f"示例问题：{q}" for q in examples]  # from the FAQ, not invented
    with Image.open(out) as image:
        assert image.size == (2480, 3508)  # 210 × 297 mm at 300 dpi
        assert [round(d) for d in image.info["dpi"]] == [300, 300]
        assert decoded(image) == {URL}


def test_the_pdf_is_one_a4_page_whose_rendered_qr_code_opens_the_url(tmp_path, capsys):
    pdfium = pytest.importorskip("pypdfium2")
    out = tmp_path / "poster.PDF"
    assert main(poster(tmp_path, "--url", URL, "-o", str(out))) == 0
    assert "（A4，PDF，300 dpi）" in capsys.readouterr().out
    document = pdfium.PdfDocument(out)
    try:
        assert len(document) == 1
        page = document[0]
        width, height = page.get_size()  # points
        assert abs(width - 595.3) < 1 and abs(height - 841.9) < 1
        assert decoded(page.render(scale=150 / 72).to_pil()) == {URL}  # as a viewer shows it, at 150 dpi
    finally:
        document.close()


def test_with_the_wechat_accounts_code_both_codes_are_on_the_page(tmp_path, capsys):
    out = tmp_path / "poster.png"
    code = wechat_code(tmp_path / "qrcode_430.png")
    assert main(poster(tmp_path, "--url", URL, "--wechat-qr", str(code), "-o", str(out))) == 0
    assert f"微信公众号二维码：{code}" in capsys.readouterr().out
    with Image.open(out) as image:
        assert decoded(image) == {URL, WECHAT_URL}


def test_chosen_examples_are_the_faqs_questions_in_the_order_given(tmp_path, capsys):
    out = tmp_path / "poster.png"
    args = poster(tmp_path, "--url", URL, "-o", str(out), "--example", "office-contact", "--example", "dibao-apply")
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:] == [f"示例问题：{SHIPPED.by_id['office-contact'].question}", "示例问题：低保怎么申请？"]


def test_the_longest_questions_of_the_faq_and_a_long_address_still_fit_and_scan(tmp_path, capsys):
    longest = sorted(SHIPPED.entries, key=lambda e: -len(e.question))[:3]
    long_url = "https://www.example.gov.cn/fenghuang/service/wenda/index.html?from=notice-board"
    out = tmp_path / "poster.png"
    examples = [arg for e in longest for arg in ("--example", e.id)]
    args = poster(tmp_path, "--url", long_url, "--wechat-qr", str(wechat_code(tmp_path / "wx.png")), *examples)
    assert main([*args, "-o", str(out)]) == 0
    with Image.open(out) as image:
        assert decoded(image) == {long_url, WECHAT_URL}


def test_questions_too_long_for_the_page_are_refused_rather_than_cut():
    text = poster_text(URL, SHIPPED, 180)
    text = dataclasses.replace(text, examples=("“三述职两公开”“七个一、七步走”是什么？请详细说说" * 3,) * 3)
    with pytest.raises(PosterError, match="示例问题太长"):
        draw.draw_poster(text)


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_args, message",
    [
        ((), content.URL_MISSING),
        (("--url", ""), content.URL_MISSING),
        (("--url", "http://bot.example.gov.cn/"), "要以 https:// 开头"),
        (("--url", "bot.example.gov.cn"), "要以 https:// 开头"),
        (("--url", "https://"), "要以 https:// 开头"),
        (("--url", "https://bot.example.gov.cn/a b"), "要以 https:// 开头"),
        (("--url", "ftp://bot.example.gov.cn/"), "要以 https:// 开头"),
        (("--url", "https://bot.example.gov.cn/" + "x" * 600), "太长"),
    ],
)
def test_a_missing_or_non_https_url_is_refused_in_chinese_and_nothing_is_written(tmp_path, capsys, url_args, message):
    out = tmp_path / "poster.pdf"
    assert main(poster(tmp_path, *url_args, "-o", str(out))) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("servicebot: ") and message in captured.err
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--example", "no-such-entry"), "没有编号为 no-such-entry 的条目"),
        (("--example", "dibao-apply") * 4, "最多放 3 个示例问题"),
        (("--wechat-qr", "missing.png"), "文件不存在"),
    ],
)
def test_an_unknown_example_or_a_missing_image_is_refused(tmp_path, capsys, extra, message):
    out = tmp_path / "poster.png"
    assert main(poster(tmp_path, "--url", URL, "-o", str(out), *extra)) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_a_file_that_is_not_an_image_or_a_wrong_extension_is_refused(tmp_path, capsys):
    not_image = tmp_path / "qrcode.jpg"
    not_image.write_text("这不是图片", encoding="utf-8")
    assert main(poster(tmp_path, "--url", URL, "--wechat-qr", str(not_image), "-o", str(tmp_path / "poster.png"))) == 2
    assert "不是图片文件" in capsys.readouterr().err
    assert main(poster(tmp_path, "--url", URL, "-o", str(tmp_path / "poster.jpg"))) == 2
    assert "要以 .pdf 或 .png 结尾" in capsys.readouterr().err
    assert main(poster(tmp_path, "--url", URL, "-o", str(tmp_path / "no-such-dir" / "poster.png"))) == 2
    assert "无法写入海报文件" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*poster*"))  # nothing written, nothing half-written


def test_help_is_the_commands_docstring_with_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["poster", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "Make a printable A4 poster" in out
    assert "servicebot poster --url https://bot.example.gov.cn/ -o poster.pdf" in out
    assert "--wechat-qr IMAGE" in out


# --- the pieces --------------------------------------------------------------------------------


def test_examples_fill_in_from_the_topics_when_the_faq_lacks_the_defaults(mini_faq):
    faq = load_faq(mini_faq)
    picked = pick_examples(faq)
    expected = [faq.by_id[i].question for i in DEFAULT_EXAMPLES if i in faq.by_id]
    expected += [faq.by_id[t.entry_ids[0]].question for t in faq.topics]
    assert list(picked) == list(dict.fromkeys(expected))[:3]
    assert all(q in {e.question for e in faq.entries} for q in picked)


def test_the_privacy_line_says_the_configured_retention():
    text = poster_text(URL, SHIPPED, 90)
    assert "90天后自动删除" in text.privacy and text.url == URL


def test_check_url_keeps_a_good_address_as_given():
    assert content.check_url("  https://bot.example.gov.cn:8443/wenda/?from=poster ") == (
        "https://bot.example.gov.cn:8443/wenda/?from=poster"
    )
    with pytest.raises(PosterError):
        content.check_url("javascript:alert(1)")


@pytest.mark.parametrize(
    "text",
    [
        "邻里有矛盾纠纷可以找谁调解？" * 3,
        "网址：https://bot.example.gov.cn/" + "wenda/" * 20,
        "2020年“一合为贵”是什么？" * 4,
    ],
)
def test_wrapped_lines_fit_and_never_start_with_a_closing_mark(text):
    style = draw.example_style(())
    width = 900
    lines = draw.wrap(text, style, width)
    assert "".join(lines) == text
    assert all(style.width(line) <= width for line in lines)
    assert not any(line[0] in "，。、；：？！）》」』”’" for line in lines[1:])
    assert not any(line[-1] in "（《「『“‘" for line in lines[:-1])
