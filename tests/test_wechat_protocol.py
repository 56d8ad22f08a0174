"""The WeChat protocol modules, piece by piece, and the simulated WeChat server against them.

Known answers come from outside this code: signatures and ciphertexts computed here by hand
from WeChat's specification, and the sample vectors WeChat published for its message
encryption (token "123456", EncodingAESKey "kWxPEV…", as reproduced in wechatpy's tests).
The HTTP tests run the simulator against a minimal endpoint on 127.0.0.1 made only of these
modules (the product endpoint is the integration's job).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import re
import struct
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings as hsettings, strategies as st

from servicebot.answering import replies
from servicebot.answering.replies import Button, Reply
from servicebot.channels import wechat_protocol as wx
from servicebot.channels.splitter import utf8_len
from servicebot.channels.wechat_crypto import (
    TIMESTAMP_WINDOW,
    WechatCrypto,
    aes_key,
    signature,
    verify_signature,
    verify_url,
)
from servicebot.channels.wechat_messages import (
    MAX_BODY_BYTES,
    SUCCESS,
    MenuClick,
    MenuView,
    OtherMessage,
    Subscribe,
    TextMessage,
    Unsubscribe,
    VoiceMessage,
    cdata,
    parse_fields,
    parse_message,
    text_reply,
)
from servicebot.channels.wechat_protocol import Inbound
from servicebot.channels.wechat_replay import ReplyCache
from servicebot.channels.wechat_text import MAX_TEXT_BYTES, MORE_HINT, WechatText, link, paginate, render, shorten
from servicebot.errors import ConfigError, DecryptError, MalformedMessageError, SignatureError, WechatError
from servicebot.faq import load_faq
from servicebot.records import ButtonKind

from support.fakes import Clock
from support.wechat_sim import (
    TEST_ACCOUNT,
    TEST_AES_KEY,
    TEST_APP_ID,
    TEST_TOKEN,
    WechatSim,
    sha1_signature,
    wechat_decrypt,
    wechat_encrypt,
    xml_fields,
)

pytestmark = [pytest.mark.anyio, pytest.mark.deadline(20)]

NOW = 1_700_000_000
OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"

# WeChat's published sample for message encryption (WeChat Work's docs, as in wechatpy's tests/test_crypto.py).
SAMPLE_TOKEN = "123456"
SAMPLE_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
SAMPLE_APP_ID = "wx49f0ab532d5d035a"
SAMPLE_TIMESTAMP, SAMPLE_NONCE = "1411525903", "461056294"
SAMPLE_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzx"
    "h6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQ"
    "qGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7"
    "FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
SAMPLE_MSG_SIGNATURE = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
SAMPLE_REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
SAMPLE_REPLY_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObv"
    "esEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrr"
    "NrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQ"
    "Jz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)

SAMPLE_REPLY_SIGNATURE = "407518b7649e86ef23978113f92d27afa9296533"


def text_xml(content: str = "低保怎么申请", *, msg_id: str = "6054768590064713728", created: int = NOW) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{TEST_ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId></xml>"
    )


def signed_query(*, token: str = TEST_TOKEN, timestamp: int = NOW, nonce: str = "12345") -> dict[str, str]:
    stamp = str(timestamp)
    return {"signature": sha1_signature(token, stamp, nonce), "timestamp": stamp, "nonce": nonce}


# --- signatures ----------------------------------------------------------------------------


def test_signature_is_sha1_of_the_sorted_parts_known_answer():
    # Sorted by hand: "12345" < "1700000000" < "servicebot" (string order, not numeric).
    assert signature("servicebot", "1700000000", "12345") == hashlib.sha1(b"123451700000000servicebot").hexdigest()
    assert (
        signature("servicebot", "1700000000", "12345") == "26b1ee9298ef9d648194bbe34465fca3dcff60d6"
    )  # printf %s 123451700000000servicebot | sha1sum
    assert signature("12345", "servicebot", "1700000000") == signature("servicebot", "1700000000", "12345")


def test_msg_signature_matches_wechats_published_sample():
    assert signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT) == SAMPLE_MSG_SIGNATURE
    verify_signature(
        SAMPLE_TOKEN,
        SAMPLE_MSG_SIGNATURE,
        SAMPLE_TIMESTAMP,
        SAMPLE_NONCE,
        encrypt=SAMPLE_ENCRYPT,
        now=int(SAMPLE_TIMESTAMP) + 3,
    )


def test_good_signature_inside_the_window_passes():
    q = signed_query()
    verify_signature(TEST_TOKEN, q["signature"], q["timestamp"], q["nonce"], now=NOW)
    verify_signature(TEST_TOKEN, q["signature"], q["timestamp"], q["nonce"], now=NOW + TIMESTAMP_WINDOW)
    verify_signature(TEST_TOKEN, q["signature"], q["timestamp"], q["nonce"], now=NOW - TIMESTAMP_WINDOW)


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"signature": "0" * 40}, "bad signature"),
        ({"signature": "26B1EE9298EF9D648194BBE34465FCA3DCFF60D6"}, "bad signature"),
        ({"signature": "签名"}, "bad signature"),  # non-ASCII: refused, not a TypeError from compare_digest
        ({"signature": ""}, "missing"),
        ({"nonce": None}, "missing"),
        ({"nonce": "12346"}, "bad signature"),  # the nonce is part of what is signed
    ],
)
def test_bad_or_missing_signature_is_refused(change, reason):
    q = signed_query() | change
    with pytest.raises(SignatureError, match=reason):
        verify_signature(TEST_TOKEN, q["signature"], q["timestamp"], q["nonce"], now=NOW)


@pytest.mark.parametrize("offset", [TIMESTAMP_WINDOW + 1, -TIMESTAMP_WINDOW - 1, 86_400 * 365])
def test_a_correctly_signed_but_stale_or_future_timestamp_is_refused(offset):
    q = signed_query(timestamp=NOW + offset)
    with pytest.raises(SignatureError, match="timestamp"):
        verify_signature(TEST_TOKEN, q["signature"], q["timestamp"], q["nonce"], now=NOW)


@pytest.mark.parametrize("stamp", ["-1700000000", "1.7e9", "１７００００００００", "9" * 40])
def test_a_signed_timestamp_that_is_not_plain_seconds_is_refused(stamp):
    sig = sha1_signature(TEST_TOKEN, stamp, "n")
    with pytest.raises(SignatureError, match="timestamp"):
        verify_signature(TEST_TOKEN, sig, stamp, "n", now=NOW)


def test_an_empty_token_refuses_everything_rather_than_accept_forgeries():
    q = signed_query(token="")
    with pytest.raises(SignatureError, match="no token"):
        verify_signature("", q["signature"], q["timestamp"], q["nonce"], now=NOW)


def test_url_verification_answers_echostr_only_when_signed():
    query = signed_query() | {"echostr": "5837397520832701"}
    assert verify_url(query, TEST_TOKEN, now=NOW) == "5837397520832701"
    with pytest.raises(SignatureError):
        verify_url(query, "another-token", now=NOW)
    with pytest.raises(SignatureError):
        verify_url({"echostr": "x"}, TEST_TOKEN, now=NOW)


# --- safe mode -----------------------------------------------------------------------------


def test_encoding_aes_key_decodes_to_32_bytes_and_bad_keys_are_config_errors():
    assert aes_key(TEST_AES_KEY) == base64.b64decode(TEST_AES_KEY + "=")
    assert len(aes_key(TEST_AES_KEY)) == 32
    for bad in ["", TEST_AES_KEY[:-1], TEST_AES_KEY + "H", TEST_AES_KEY[:-1] + "=", TEST_AES_KEY[:-1] + "-"]:
        with pytest.raises(ConfigError, match="wechat_aes_key") as caught:
            aes_key(bad)
        assert TEST_AES_KEY[:10] not in str(caught.value)  # the secret is never echoed
    with pytest.raises(ConfigError, match="wechat_app_id"):
        WechatCrypto(TEST_AES_KEY, "")


def test_decrypt_wechats_published_sample():
    xml = WechatCrypto(SAMPLE_KEY, SAMPLE_APP_ID).decrypt(SAMPLE_ENCRYPT)
    fields = parse_fields(xml)
    assert (fields["Content"], fields["FromUserName"], fields["MsgId"]) == ("test", "messense", "4363689963896700987")


def test_encrypt_reproduces_wechats_published_sample_with_its_random_prefix():
    crypto = WechatCrypto(SAMPLE_KEY, SAMPLE_APP_ID)
    assert crypto.encrypt(SAMPLE_REPLY, random_prefix=b"1234567890123456") == SAMPLE_REPLY_ENCRYPT
    inbound = Inbound(message=parse_message(text_xml()), encrypted=True, nonce=SAMPLE_NONCE)
    body = wx.encode_reply(
        SAMPLE_REPLY,
        inbound,
        token=SAMPLE_TOKEN,
        crypto=crypto,
        now=int(SAMPLE_TIMESTAMP),
        random_prefix=b"1234567890123456",
    )
    fields = xml_fields(body)
    assert fields == {
        "Encrypt": SAMPLE_REPLY_ENCRYPT,
        "MsgSignature": SAMPLE_REPLY_SIGNATURE,
        "TimeStamp": SAMPLE_TIMESTAMP,
        "Nonce": SAMPLE_NONCE,
    }


def test_encrypt_matches_the_spec_computed_by_hand():
    key = base64.b64decode(TEST_AES_KEY + "=")
    xml, prefix = "<xml><Content><![CDATA[你好]]></Content></xml>", bytes(range(16))
    plain = prefix + struct.pack(">I", len(xml.encode())) + xml.encode() + TEST_APP_ID.encode()
    padded = plain + bytes([32 - len(plain) % 32]) * (32 - len(plain) % 32)
    assert len(padded) % 32 == 0
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    expected = base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()

    crypto = WechatCrypto(TEST_AES_KEY, TEST_APP_ID)
    assert crypto.encrypt(xml, random_prefix=prefix) == expected
    assert crypto.decrypt(expected) == xml.encode()


def test_padding_is_a_whole_block_when_the_plaintext_fills_blocks_exactly():
    crypto = WechatCrypto(TEST_AES_KEY, TEST_APP_ID)
    xml = "x" * (64 - 16 - 4 - len(TEST_APP_ID))  # plaintext exactly 64 bytes → 32 bytes of padding
    encrypted = crypto.encrypt(xml, random_prefix=b"\0" * 16)
    assert len(base64.b64decode(encrypted)) == 96
    assert crypto.decrypt(encrypted) == xml.encode()


def test_random_prefix_is_fresh_for_each_message():
    crypto = WechatCrypto(TEST_AES_KEY, TEST_APP_ID)
    first, second = crypto.encrypt("<xml/>"), crypto.encrypt("<xml/>")
    assert first != second
    assert crypto.decrypt(first) == crypto.decrypt(second) == b"<xml/>"


def test_a_message_for_another_appid_is_refused():
    encrypted = WechatCrypto(TEST_AES_KEY, "wxSOMEONEELSE0000").encrypt("<xml/>")
    with pytest.raises(DecryptError, match="AppID"):
        WechatCrypto(TEST_AES_KEY, TEST_APP_ID).decrypt(encrypted)
    # A prefix of our AppID is not our AppID either.
    with pytest.raises(DecryptError, match="AppID"):
        WechatCrypto(TEST_AES_KEY, TEST_APP_ID).decrypt(WechatCrypto(TEST_AES_KEY, TEST_APP_ID[:-1]).encrypt("<xml/>"))


@pytest.mark.parametrize(
    "encrypted",
    [
        "",
        "not base64!!",
        base64.b64encode(b"x" * 15).decode(),  # not whole AES blocks
        WechatCrypto("B" * 43, TEST_APP_ID).encrypt("<xml>other key</xml>"),  # garbage under our key
    ],
    # The last one is random: named, so that every pytest-xdist worker collects the same tests.
    ids=["empty", "not-base64", "not-whole-blocks", "other-key"],
)
def test_damaged_ciphertext_is_a_decrypt_error(encrypted):
    with pytest.raises(DecryptError):
        WechatCrypto(TEST_AES_KEY, TEST_APP_ID).decrypt(encrypted)


def encrypt_raw(plain: bytes) -> str:
    key = aes_key(TEST_AES_KEY)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


@pytest.mark.parametrize("tail", [b"\x05\x05\x09\x05\x05", b"\x00", b"\x30" * 48], ids=["uneven", "zero", "over-32"])
def test_padding_that_is_not_pkcs7_to_32_is_refused(tail):
    plain = b"\0" * 16 + struct.pack(">I", 6) + b"<xml/>" + TEST_APP_ID.encode()
    plain += b"\x07" * (32 - (len(plain) + len(tail)) % 32) + tail
    with pytest.raises(DecryptError, match="padding"):
        WechatCrypto(TEST_AES_KEY, TEST_APP_ID).decrypt(encrypt_raw(plain))


def test_a_length_field_pointing_past_the_end_is_refused():
    plain = b"\0" * 16 + struct.pack(">I", 10_000) + b"<xml/>" + TEST_APP_ID.encode()
    plain += bytes([32 - len(plain) % 32]) * (32 - len(plain) % 32)
    with pytest.raises(DecryptError, match="length"):
        WechatCrypto(TEST_AES_KEY, TEST_APP_ID).decrypt(encrypt_raw(plain))


# --- incoming XML ----------------------------------------------------------------------------


def event_xml(event: str, key: str | None = None, *, created: int = NOW) -> str:
    extra = "" if key is None else f"<EventKey><![CDATA[{key}]]></EventKey>"
    return (
        f"<xml><ToUserName><![CDATA[{TEST_ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
        f"{extra}</xml>"
    )


def media_xml(msg_type: str, extra: str = "") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{TEST_ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{NOW}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{extra}<MsgId>42</MsgId></xml>"
    )


def test_text_message_is_parsed_with_every_field():
    message = parse_message(text_xml("低保怎么申请？ <b>&amp;</b>").encode())
    assert message == TextMessage(
        account=TEST_ACCOUNT,
        sender=OPENID,
        create_time=NOW,
        msg_id="6054768590064713728",
        content="低保怎么申请？ <b>&amp;</b>",
    )
    assert OPENID not in repr(message) and "低保" not in repr(message)  # safe to log by mistake
    # Escaped rather than CDATA: entities of XML itself are fine, only DTD-declared ones are refused.
    escaped = text_xml().replace("<Content><![CDATA[低保怎么申请]]></Content>", "<Content>A &lt; B &amp; 中</Content>")
    message = parse_message(escaped)
    assert isinstance(message, TextMessage) and message.content == "A < B & 中"


class Head(TypedDict):
    """The fields every message shares (the message classes' keywords)."""

    account: str
    sender: str
    create_time: int


HEAD: Head = {"account": TEST_ACCOUNT, "sender": OPENID, "create_time": NOW}


@pytest.mark.parametrize(
    "xml, expected",
    [
        (event_xml("subscribe"), Subscribe(**HEAD)),
        (event_xml("subscribe", "qrscene_123"), Subscribe(**HEAD, key="qrscene_123")),
        (event_xml("unsubscribe"), Unsubscribe(**HEAD)),
        (event_xml("CLICK", "topic:民生保障"), MenuClick(**HEAD, key="topic:民生保障")),
        (event_xml("VIEW", "https://example.org/x"), MenuView(**HEAD, url="https://example.org/x")),
        (event_xml("SCAN", "123"), OtherMessage(**HEAD, msg_type="event", event="scan")),
        (event_xml("LOCATION"), OtherMessage(**HEAD, msg_type="event", event="location")),
    ],
)
def test_events_are_typed(xml, expected):
    assert parse_message(xml) == expected


@pytest.mark.parametrize(
    "msg_type, extra",
    [
        ("image", "<PicUrl><![CDATA[http://127.0.0.1/a.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId>"),
        ("video", "<MediaId><![CDATA[m]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>"),
        ("shortvideo", "<MediaId><![CDATA[m]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>"),
        ("location", "<Location_X>32.3</Location_X><Location_Y>118.3</Location_Y><Scale>20</Scale><Label>x</Label>"),
        ("link", "<Title><![CDATA[t]]></Title><Description><![CDATA[d]]></Description><Url><![CDATA[u]]></Url>"),
        ("miniprogrampage", "<Title><![CDATA[t]]></Title>"),
        ("Image", ""),
    ],
)
def test_everything_else_is_other_with_its_type(msg_type, extra):
    message = parse_message(media_xml(msg_type, extra))
    assert isinstance(message, OtherMessage)
    assert (message.msg_type, message.msg_id, message.sender) == (msg_type.lower(), "42", OPENID)


@pytest.mark.parametrize(
    "extra, heard",
    [
        ("<Recognition><![CDATA[ 低保怎么申请。 ]]></Recognition>", "低保怎么申请。"),
        ("<Recognition><![CDATA[]]></Recognition>", ""),  # recognition on, nothing heard
        ("", ""),  # recognition off: WeChat sends no Recognition
    ],
)
def test_a_voice_message_carries_what_wechat_recognised(extra, heard):
    xml = media_xml("voice", f"<MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format>{extra}")
    message = parse_message(xml)
    assert message == VoiceMessage(**HEAD, msg_id="42", recognition=heard)
    assert message.dedup_key == f"msg:{OPENID}:42"  # keyed by sender and MsgId, like a text message
    assert OPENID not in repr(message) and "低保" not in repr(message)  # as private as typed text


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"hello", "well-formed"),
        (b"<xml><Content>unclosed</xml>", "well-formed"),
        (b"<xml><a>1</a></xml><xml/>", "well-formed"),
        (b"\xff\xfe<\x00x\x00", "well-formed"),
        (b'{"MsgType": "text"}', "well-formed"),
        (b"<root><MsgType>text</MsgType></root>", "root"),
        (text_xml().replace("<MsgType><![CDATA[text]]></MsgType>", "").encode(), "MsgType"),
        (text_xml().replace(OPENID, "").encode(), "FromUserName"),
        (text_xml().replace(str(NOW), "yesterday").encode(), "CreateTime"),
        (b"<xml>" + b"<Pad>x</Pad>" * 30_000 + b"</xml>", "body over"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body, reason):
    with pytest.raises(MalformedMessageError, match=reason):
        parse_message(body)


def test_xxe_pointing_at_a_local_file_is_refused_without_reading_it(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42", encoding="utf-8")
    payloads = [
        # The classic: an external general entity in the message text.
        f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        + text_xml().replace("<Content><![CDATA[低保怎么申请]]></Content>", "<Content>&xxe;</Content>"),
        # An external DTD, and a parameter entity that would pull the file in while reading the DTD.
        f'<!DOCTYPE xml SYSTEM "{secret.as_uri()}">' + text_xml(),
        f'<!DOCTYPE xml [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]>' + text_xml(),
    ]
    for payload in payloads:
        with pytest.raises(MalformedMessageError, match="DOCTYPE") as caught:
            parse_message(payload.encode())
        assert "TOP-SECRET" not in str(caught.value)
        assert secret.as_uri() not in str(caught.value)


def test_billion_laughs_is_refused_without_expanding():
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    bomb = f'<?xml version="1.0"?><!DOCTYPE xml [{"".join(levels)}]>' + text_xml().replace(
        "<Content><![CDATA[低保怎么申请]]></Content>", "<Content>&lol9;</Content>"
    )
    with pytest.raises(MalformedMessageError, match="DOCTYPE"):
        parse_message(bomb.encode())
    with pytest.raises(MalformedMessageError, match="DOCTYPE"):
        parse_message(b"<!DOCTYPE xml><xml/>")  # even a harmless DOCTYPE: WeChat never sends one


def test_a_50000_character_text_message_is_read_whole():
    content = ("我想问一下低保怎么申请，" * 5000)[:50_000]
    assert len(content) == 50_000
    message = parse_message(text_xml(content).encode())
    assert isinstance(message, TextMessage)
    assert message.content == content


def test_dedup_keys_follow_wechats_advice():
    text = parse_message(text_xml(msg_id="77"))
    assert text.dedup_key == parse_message(text_xml("retried", msg_id="77")).dedup_key
    assert text.dedup_key != parse_message(text_xml(msg_id="78")).dedup_key
    # Another sender's message with the same MsgId is another message: it never shares an answer.
    assert text.dedup_key != parse_message(text_xml(msg_id="77").replace(OPENID, "oSomeoneElse")).dedup_key
    subscribe = parse_message(event_xml("subscribe"))
    assert subscribe.dedup_key == parse_message(event_xml("subscribe")).dedup_key
    assert subscribe.dedup_key != parse_message(event_xml("subscribe", created=NOW + 1)).dedup_key
    # Two different taps in the same second are two events, not a retry.
    assert parse_message(event_xml("CLICK", "a")).dedup_key != parse_message(event_xml("CLICK", "b")).dedup_key
    assert subscribe.dedup_key != parse_message(event_xml("CLICK", "a")).dedup_key


# --- a whole POST --------------------------------------------------------------------------


def test_plain_post_is_verified_and_decoded():
    inbound = wx.decode_post(text_xml().encode(), signed_query(), token=TEST_TOKEN, now=NOW)
    assert inbound.encrypted is False
    assert isinstance(inbound.message, TextMessage) and inbound.message.content == "低保怎么申请"


def test_a_post_with_a_bad_signature_is_refused_before_its_body_is_read():
    with pytest.raises(SignatureError):
        wx.decode_post(b"<not even xml", signed_query(token="wrong"), token=TEST_TOKEN, now=NOW)


def safe_post(xml: str, *, app_id: str = TEST_APP_ID, nonce: str = "2718", token: str = TEST_TOKEN):
    encrypt = wechat_encrypt(xml, TEST_AES_KEY, app_id)
    body = f"<xml><ToUserName><![CDATA[{TEST_ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    query = signed_query(nonce=nonce, token=token) | {
        "encrypt_type": "aes",
        "openid": OPENID,
        "msg_signature": sha1_signature(token, str(NOW), nonce, encrypt),
    }
    return body.encode(), query


def test_safe_mode_round_trip_with_a_known_key():
    crypto = WechatCrypto(TEST_AES_KEY, TEST_APP_ID)
    body, query = safe_post(text_xml("梧桐书屋在哪"))
    inbound = wx.decode_post(body, query, token=TEST_TOKEN, crypto=crypto, now=NOW)
    assert inbound.encrypted and inbound.nonce == "2718"
    assert isinstance(inbound.message, TextMessage) and inbound.message.content == "梧桐书屋在哪"

    answer = text_reply(inbound.message, "在凤凰办事处。]]> 不会断开", now=NOW + 1)
    sealed = xml_fields(wx.encode_reply(answer, inbound, token=TEST_TOKEN, crypto=crypto, now=NOW + 1))
    assert sealed["MsgSignature"] == sha1_signature(TEST_TOKEN, sealed["TimeStamp"], sealed["Nonce"], sealed["Encrypt"])
    assert (sealed["TimeStamp"], sealed["Nonce"]) == (str(NOW + 1), "2718")
    inner, app_id = wechat_decrypt(sealed["Encrypt"], TEST_AES_KEY)
    assert app_id == TEST_APP_ID
    assert xml_fields(inner) == {
        "ToUserName": OPENID,
        "FromUserName": TEST_ACCOUNT,
        "CreateTime": str(NOW + 1),
        "MsgType": "text",
        "Content": "在凤凰办事处。]]> 不会断开",
    }


def test_safe_mode_refuses_a_bad_msg_signature_even_with_a_good_signature():
    body, query = safe_post(text_xml())
    query["msg_signature"] = "0" * 40
    with pytest.raises(SignatureError):
        wx.decode_post(body, query, token=TEST_TOKEN, crypto=WechatCrypto(TEST_AES_KEY, TEST_APP_ID), now=NOW)


def test_safe_mode_refuses_another_appid_and_a_missing_key():
    body, query = safe_post(text_xml(), app_id="wxNOTOURS00000000")
    with pytest.raises(DecryptError, match="AppID"):
        wx.decode_post(body, query, token=TEST_TOKEN, crypto=WechatCrypto(TEST_AES_KEY, TEST_APP_ID), now=NOW)
    with pytest.raises(DecryptError, match="wechat_aes_key"):
        wx.decode_post(body, query, token=TEST_TOKEN, crypto=None, now=NOW)
    with pytest.raises(DecryptError, match="encrypt_type"):
        wx.decode_post(body, query | {"encrypt_type": "rsa"}, token=TEST_TOKEN, now=NOW)


def test_safe_mode_refuses_an_unencrypted_post_however_well_signed():
    with pytest.raises(SignatureError, match="unencrypted"):
        crypto = WechatCrypto(TEST_AES_KEY, TEST_APP_ID)
        wx.decode_post(text_xml().encode(), signed_query(), token=TEST_TOKEN, crypto=crypto, now=NOW)


def test_safe_mode_body_without_encrypt_is_malformed():
    query = signed_query() | {"encrypt_type": "aes", "msg_signature": "x"}
    with pytest.raises(MalformedMessageError, match="Encrypt"):
        wx.decode_post(
            text_xml().encode(), query, token=TEST_TOKEN, crypto=WechatCrypto(TEST_AES_KEY, TEST_APP_ID), now=NOW
        )


def test_safe_mode_carries_a_50000_character_message():
    content = "长" * 50_000
    body, query = safe_post(text_xml(content))
    assert len(body) < MAX_BODY_BYTES
    inbound = wx.decode_post(body, query, token=TEST_TOKEN, crypto=WechatCrypto(TEST_AES_KEY, TEST_APP_ID), now=NOW)
    assert isinstance(inbound.message, TextMessage) and inbound.message.content == content


def test_success_and_empty_replies_are_never_encrypted():
    inbound = Inbound(message=parse_message(text_xml()), encrypted=True, nonce="1")
    crypto = WechatCrypto(TEST_AES_KEY, TEST_APP_ID)
    assert wx.encode_reply(SUCCESS, inbound, token=TEST_TOKEN, crypto=crypto) == "success"
    assert wx.encode_reply("", inbound, token=TEST_TOKEN, crypto=crypto) == ""
    plain = Inbound(message=inbound.message, encrypted=False, nonce="1")
    assert wx.encode_reply("<xml/>", plain, token=TEST_TOKEN, crypto=crypto) == "<xml/>"


# --- passive reply -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    ["普通回答", "a]]>b", "]]>", "]]]]>", "x]]><script>alert(1)</script><![CDATA[", '<a href="https://x.cn">x</a>'],
)
def test_reply_content_survives_any_text_including_cdata_end(content):
    xml = text_reply(parse_message(text_xml()), content, now=NOW)
    assert xml_fields(xml) == {
        "ToUserName": OPENID,
        "FromUserName": TEST_ACCOUNT,
        "CreateTime": str(NOW),
        "MsgType": "text",
        "Content": content,
    }


def test_reply_drops_characters_xml_cannot_carry():
    xml = text_reply(parse_message(text_xml()), "a\x00b\x1bc\ud800d\ne\tf", now=NOW)
    assert xml_fields(xml)["Content"] == "abcd\ne\tf"


# --- the text limit ------------------------------------------------------------------------

HINT = "\n" + MORE_HINT


def body_of(page: str) -> str:
    return page.removesuffix(HINT)


def assert_pages_are_sound(text: str, pages: list[str], limit: int = MAX_TEXT_BYTES) -> None:
    assert pages and all(utf8_len(page) <= limit for page in pages)
    assert all(page.endswith(HINT) for page in pages[:-1]) and not pages[-1].endswith(HINT)
    # Nothing lost or reordered: only whitespace at the cuts may go.
    squeeze = re.compile(r"\s+")
    assert squeeze.sub("", "".join(body_of(p) for p in pages)) == squeeze.sub("", text)
    for page in pages:  # every link that starts on a page ends on it
        assert page.count("<a ") == page.count("</a>") == len(re.findall(r"<a [^<>]*>[^<>]*</a>", page))


def test_the_limit_is_2047_utf8_bytes():
    assert MAX_TEXT_BYTES == 2047
    assert utf8_len("低保") == 6 and utf8_len("👍") == 4 and utf8_len("ab") == 2
    assert paginate("字" * 682 + "a") == ["字" * 682 + "a"]  # 2047 bytes: one message
    pages = paginate("字" * 682 + "ab")  # 2048 bytes: too many
    assert len(pages) == 2
    assert_pages_are_sound("字" * 682 + "ab", pages)


def test_cuts_fall_on_line_breaks_when_there_are_any():
    lines = [f"第{n}行：" + "办事处的服务说明，" * 8 + "完。" for n in range(40)]
    text = "\n".join(lines)
    pages = paginate(text)
    assert len(pages) > 2
    assert_pages_are_sound(text, pages)
    for page in pages:
        assert all(line in lines for line in body_of(page).split("\n"))  # whole lines only


def test_without_line_breaks_cuts_fall_after_a_sentence():
    text = "这是第一句话，后面还有很多内容。" * 300
    pages = paginate(text)
    assert_pages_are_sound(text, pages)
    assert all(body_of(page).endswith("。") for page in pages)


def test_english_sentences_and_closing_quotes_count_as_sentence_ends():
    text = "He said “好的。” and left. " * 200
    pages = paginate(text)
    assert_pages_are_sound(text, pages)
    assert all(body_of(page)[-1] in "。”." for page in pages[:-1])


def test_without_sentences_cuts_fall_after_a_pause():
    text = "一二三四五六七八九十，" * 400
    pages = paginate(text)
    assert_pages_are_sound(text, pages)
    assert all(body_of(page).endswith("，") for page in pages[:-1])


def test_an_early_line_break_does_not_make_a_tiny_page():
    text = "标题\n" + "正文的一句话。" * 400
    pages = paginate(text)
    assert_pages_are_sound(text, pages)
    assert all(utf8_len(page) > MAX_TEXT_BYTES // 2 for page in pages[:-1])


def test_text_without_any_boundary_is_cut_between_characters():
    text = "一" * 5000
    pages = paginate(text)
    assert_pages_are_sound(text, pages)
    assert sum(len(body_of(p)) for p in pages) == 5000


@pytest.mark.parametrize("unit", ["👨‍👩‍👧‍👦", "🇨🇳", "é", "👍🏽", "1️⃣"])
def test_a_cut_never_splits_a_character_made_of_several_code_points(unit):
    text = unit * 2000
    pages = paginate(text)
    assert len(pages) > 1
    assert_pages_are_sound(text, pages)
    for page in pages:
        body = body_of(page)
        assert body == unit * (len(body) // len(unit))


def test_a_cut_never_falls_inside_a_link():
    a_link = link("https://www.gov.cn/zhengce/content/2020-12/08/content_5567890.htm?from=凤凰&x=1", "国家政务服务平台")
    text = "".join(f"第{n}段说明文字没有句号也没有换行{a_link}" for n in range(200))
    pages = paginate(text)
    assert len(pages) > 3
    assert_pages_are_sound(text, pages)


def test_a_link_longer_than_a_page_keeps_its_words_but_not_its_markup():
    huge = link("https://example.org/" + "x" * 3000, "很长的链接")
    pages = paginate("前言。" + huge + "后记。")
    assert all(utf8_len(p) <= MAX_TEXT_BYTES for p in pages)
    assert "很长的链接" in "".join(pages) and "<a " not in "".join(pages)


def test_a_50000_character_message_becomes_pages_within_the_limit():
    text = ("居民来信：我家小区的垃圾分类做得不好，希望办事处管一管！\n" * 2000)[:50_000]
    pages = paginate(text)
    assert len(pages) == pytest.approx(utf8_len(text) / 2000, rel=0.15)
    assert_pages_are_sound(text, pages)


def test_short_text_is_untouched_and_shorten_says_where_the_rest_is():
    assert paginate("低保申请请到社区。") == ["低保申请请到社区。"]
    assert shorten("低保申请请到社区。", "（全文见网页版）") == "低保申请请到社区。"
    text = "详细说明。" * 1000
    short = shorten(text, "（全文请到办事处网页查看）")
    assert utf8_len(short) <= MAX_TEXT_BYTES
    assert short.endswith("\n（全文请到办事处网页查看）") and short.startswith("详细说明。")
    with pytest.raises(ValueError):
        paginate(text, limit=100)


def test_trailing_whitespace_does_not_leave_a_dangling_more_hint():
    text = "内容。" * 200 + " " * 3000  # 1800 bytes of words, then blanks past the limit
    pages = paginate(text)
    assert pages == ["内容。" * 200]


LINK = link("https://example.org/a?b=c", "链接")
pieces = st.sampled_from(["低保", "申请。", "，", "\n", " ", "Hello. ", "👨‍👩‍👧", "🇨🇳", "e\u0301", "！", LINK, "\n\n"])


@hsettings(max_examples=150, deadline=None)
@given(st.lists(pieces, min_size=1, max_size=400), st.integers(min_value=400, max_value=900))
def test_pages_are_always_within_the_limit_and_lose_nothing(parts, limit):
    text = "".join(parts)
    pages = paginate(text, limit)
    assert_pages_are_sound(text, pages, limit)
    for page, following in itertools.pairwise(pages):  # no character split across a cut
        assert not body_of(page).endswith("\u200d") and following[0] not in "\u200d\u0301"
        assert sum(0x1F1E6 <= ord(c) <= 0x1F1FF for c in body_of(page)) % 2 == 0


# --- a Reply as WeChat text ----------------------------------------------------------------


@pytest.fixture
def faq(mini_faq):
    return load_faq(mini_faq)


def test_an_answer_renders_title_body_links_source_then_numbered_related_questions(faq):
    entry = faq.by_id["pension-insurance"]
    rendered = render(replies.answer_reply(entry, faq))
    assert rendered.text == (
        "【城乡居民养老保险怎么参保？】\n\n"
        "请到社区咨询参保办法。\n\n"
        '<a href="https://gjzwfw.www.gov.cn">🔗 国家政务服务平台</a>\n\n'
        f"{replies.source_line(entry)}\n\n"
        f"（{replies.WECHAT_FEEDBACK_HINT}）"
    )
    assert rendered.choices == ()

    dibao = render(replies.answer_reply(faq.by_id["dibao-apply"], faq))
    hints = f"（{replies.WECHAT_CHOICE_HINT}；{replies.WECHAT_FEEDBACK_HINT}）"
    assert dibao.text.endswith(f"\n\n[1] ❓ 为什么我家的低保被取消了？\n{hints}")
    assert dibao.choices == (Button("❓ 为什么我家的低保被取消了？", ButtonKind.ENTRY, "dibao-removal"),)


def test_suggestions_and_topic_menus_are_numbered_in_order(faq):
    topics = render(replies.topics_reply(faq))
    names = [t.name for t in faq.topics]
    assert topics.text == f"{replies.TOPICS_TEXT}\n\n" + "\n".join(
        f"[{n}] {name}" for n, name in enumerate(names, 1)
    ) + (f"\n（{replies.WECHAT_CHOICE_HINT}）")
    assert [b.value for b in topics.choices] == names and all(b.kind == ButtonKind.TOPIC for b in topics.choices)

    topic = render(replies.topic_reply(faq.topics[0], faq))
    assert topic.choices[-1].kind == ButtonKind.TOPICS
    assert f"[{len(topic.choices)}] {replies.BACK_TO_TOPICS_LABEL}" in topic.text

    unanswered = render(replies.unanswered_reply(""))
    assert unanswered.text.startswith(replies.UNANSWERED_TEXT.format(where=replies.DEFAULT_CONTACT))
    assert unanswered.choices == (replies.topics_button(),)


def test_plain_text_reply_renders_as_itself():
    assert render(Reply("谢谢您的评价！")) == WechatText("谢谢您的评价！", ())


def test_links_cannot_break_out_of_their_tag():
    rendered = link('https://x.cn/a"onclick="b<c> d', "标题</a><a href=x>")
    assert rendered == '<a href="https://x.cn/a%22onclick=%22b%3Cc%3E%20d">标题＜/a＞＜a href=x＞</a>'
    assert len(re.findall(r"<a [^<>]*>[^<>]*</a>", rendered)) == 1


# --- retries -------------------------------------------------------------------------------


async def test_a_repeated_key_gets_the_same_result_computed_once():
    cache: ReplyCache[str] = ReplyCache()
    calls = []

    async def compute():
        calls.append(1)
        return f"answer {len(calls)}"

    results = [await cache.run_once("msg:1", compute) for _ in range(3)]
    assert results == ["answer 1"] * 3 and len(calls) == 1
    assert cache.seen("msg:1") == 3 and cache.seen("msg:2") == 0
    assert await cache.run_once("msg:2", compute) == "answer 2"


async def test_a_retry_arriving_while_the_first_is_still_answering_awaits_the_same_result():
    cache: ReplyCache[str] = ReplyCache()
    release, started, calls = asyncio.Event(), asyncio.Event(), []

    async def compute():
        calls.append(1)
        started.set()
        await release.wait()
        return "the answer"

    first = asyncio.create_task(cache.run_once("msg:1", compute))
    await started.wait()
    retry = asyncio.create_task(cache.run_once("msg:1", compute))
    await asyncio.sleep(0)  # let the retry reach its await (no time passes)
    assert not retry.done()
    release.set()
    assert await first == await retry == "the answer"
    assert len(calls) == 1


async def test_a_request_that_gives_up_leaves_the_answer_for_the_retry():
    cache: ReplyCache[str] = ReplyCache()
    release, calls = asyncio.Event(), []

    async def compute():
        calls.append(1)
        await release.wait()
        return "late answer"

    with pytest.raises(TimeoutError):
        await cache.run_once("msg:1", compute, timeout=0.01)
    cancelled = asyncio.create_task(cache.run_once("msg:1", compute))
    await asyncio.sleep(0)
    cancelled.cancel()  # an HTTP handler cancelled when WeChat hangs up
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    release.set()
    assert await cache.run_once("msg:1", compute) == "late answer"
    assert len(calls) == 1 and cache.seen("msg:1") == 3


async def test_a_failure_reaches_the_waiting_requests_and_the_next_retry_tries_again():
    cache: ReplyCache[str] = ReplyCache()
    release, calls = asyncio.Event(), []

    async def compute():
        calls.append(1)
        if len(calls) == 1:
            await release.wait()
            raise RuntimeError("database locked")
        return "second try"

    first = asyncio.create_task(cache.run_once("msg:1", compute))
    await asyncio.sleep(0)
    retry = asyncio.create_task(cache.run_once("msg:1", compute))
    await asyncio.sleep(0)
    release.set()
    for task in (first, retry):
        with pytest.raises(RuntimeError, match="locked"):
            await task
    assert await cache.run_once("msg:1", compute) == "second try"
    assert len(calls) == 2


async def test_entries_expire_after_the_ttl():
    clock = Clock(0.0)
    cache: ReplyCache[int] = ReplyCache(ttl=600, clock=clock)
    calls = []

    async def compute():
        calls.append(1)
        return len(calls)

    assert await cache.run_once("k", compute) == 1
    clock.now = 599.9
    assert await cache.run_once("k", compute) == 1
    clock.now = 600
    assert len(cache) == 0
    assert await cache.run_once("k", compute) == 2


async def test_the_store_is_bounded_oldest_first():
    cache: ReplyCache[str] = ReplyCache(max_entries=3, clock=Clock(0.0))
    calls = []

    async def compute():
        calls.append(1)
        return "x"

    for key in "abcd":
        await cache.run_once(key, compute)
    assert len(cache) == 3
    await cache.run_once("d", compute)  # kept
    await cache.run_once("a", compute)  # evicted, so computed again
    assert len(calls) == 5


def test_default_ttl_outlives_the_timestamp_window_so_replays_are_caught():
    assert ReplyCache().ttl >= 2 * TIMESTAMP_WINDOW


# --- the simulator, offline ------------------------------------------------------------------


def test_simulator_signs_and_encrypts_as_the_module_verifies_and_decrypts():
    sim = WechatSim("http://127.0.0.1:9/wechat", aes_key=TEST_AES_KEY, clock=lambda: NOW)
    crypto = WechatCrypto(TEST_AES_KEY, TEST_APP_ID)
    body, query = sim.sign(sim.text(OPENID, "养老保险怎么交", msg_id="99"))
    assert query["signature"] == signature(TEST_TOKEN, query["timestamp"], query["nonce"])
    inbound = wx.decode_post(body.encode(), query, token=TEST_TOKEN, crypto=crypto, now=NOW)
    assert inbound.message == TextMessage(
        account=TEST_ACCOUNT, sender=OPENID, create_time=NOW, msg_id="99", content="养老保险怎么交"
    )
    reply = wx.encode_reply(
        text_reply(inbound.message, "请到社区咨询。", now=NOW), inbound, token=TEST_TOKEN, crypto=crypto
    )
    decoded = sim.read_reply(200, reply)
    assert decoded.encrypted and decoded.content == "请到社区咨询。" and decoded.fields["ToUserName"] == OPENID


def test_simulator_crypto_reproduces_wechats_published_sample():
    assert wechat_encrypt(SAMPLE_REPLY, SAMPLE_KEY, SAMPLE_APP_ID, b"1234567890123456") == SAMPLE_REPLY_ENCRYPT
    xml, app_id = wechat_decrypt(SAMPLE_ENCRYPT, SAMPLE_KEY)
    assert app_id == SAMPLE_APP_ID and "<Content><![CDATA[test]]></Content>" in xml


def test_simulator_refuses_a_reply_whose_signature_or_appid_is_wrong():
    sim = WechatSim("http://127.0.0.1:9/wechat", aes_key=TEST_AES_KEY, clock=lambda: NOW)
    inbound = Inbound(parse_message(text_xml()), encrypted=True, nonce="1")
    xml = text_reply(inbound.message, "hi", now=NOW)
    forged = wx.encode_reply(xml, inbound, token="other-token", crypto=WechatCrypto(TEST_AES_KEY, TEST_APP_ID))
    with pytest.raises(AssertionError, match="MsgSignature"):
        sim.read_reply(200, forged)
    other = wx.encode_reply(xml, inbound, token=TEST_TOKEN, crypto=WechatCrypto(TEST_AES_KEY, "wxOTHER"))
    with pytest.raises(AssertionError, match="AppID"):
        sim.read_reply(200, other)


# --- the simulator over real HTTP --------------------------------------------------------------


class Endpoint:
    """The smallest WeChat endpoint this module allows, served by aiohttp on 127.0.0.1 — only to
    exercise the simulator over real HTTP; the product's endpoint is the integration's job."""

    def __init__(self, crypto: WechatCrypto | None = None):
        self.crypto = crypto
        self.cache: ReplyCache[str | None] = ReplyCache()
        self.arrivals: list[str] = []
        self.computed: list[str] = []
        self.retried = asyncio.Event()
        self.hold: asyncio.Event | None = None  # when set, answers wait for it

    async def get(self, request: web.Request) -> web.Response:
        try:
            return web.Response(text=verify_url(request.query, TEST_TOKEN))
        except SignatureError:
            return web.Response(status=403, text="forbidden")

    async def post(self, request: web.Request) -> web.Response:
        try:
            inbound = wx.decode_post(await request.read(), request.query, token=TEST_TOKEN, crypto=self.crypto)
        except SignatureError:
            return web.Response(status=403, text="forbidden")
        except WechatError as error:
            return web.Response(status=400, text=type(error).__name__)
        message = inbound.message
        self.arrivals.append(message.dedup_key)
        if self.arrivals.count(message.dedup_key) > 1:
            self.retried.set()

        async def compute() -> str | None:
            self.computed.append(message.dedup_key)
            if self.hold is not None:
                await self.hold.wait()
            match message:
                case TextMessage(content=content):
                    return f"收到{len(content)}个字：{content[:10]}"
                case Subscribe():
                    return "欢迎关注"
                case MenuClick(key=key):
                    return f"菜单 {key}"
                case OtherMessage():
                    return "请发文字"
            return None

        content = await self.cache.run_once(message.dedup_key, compute)
        if content is None:
            return web.Response(text=SUCCESS)
        xml = text_reply(message, shorten(content, "（略）"))
        return web.Response(text=wx.encode_reply(xml, inbound, token=TEST_TOKEN, crypto=self.crypto))


@asynccontextmanager
async def serving(endpoint: Endpoint):
    app = web.Application()
    app.router.add_get("/wechat", endpoint.get)
    app.router.add_post("/wechat", endpoint.post)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession() as session:
            yield f"http://{host}:{port}/wechat", session
    finally:
        if endpoint.hold is not None:
            endpoint.hold.set()  # let a held computation finish
        await runner.cleanup()


async def test_url_verification_handshake_over_http():
    async with serving(Endpoint()) as (url, session):
        sim = WechatSim(url)
        assert await sim.verify_url(session, "echo-5837397520832701") == (200, "echo-5837397520832701")
        forged = signed_query(token="guess", timestamp=int(sim.clock())) | {"echostr": "x"}
        assert (await sim.verify_url(session, query=forged))[0] == 403


@pytest.mark.parametrize("aes_key", [None, TEST_AES_KEY], ids=["plain", "safe-mode"])
async def test_messages_and_events_round_trip_over_http(aes_key):
    crypto = WechatCrypto(aes_key, TEST_APP_ID) if aes_key else None
    async with serving(Endpoint(crypto)) as (url, session):
        sim = WechatSim(url, aes_key=aes_key)
        text = await sim.post(session, sim.text(OPENID, "梧桐书屋在哪里"))
        assert (text.status, text.encrypted, text.tries) == (200, bool(aes_key), 1)
        assert text.content == "收到7个字：梧桐书屋在哪里" and text.fields["ToUserName"] == OPENID
        assert (await sim.post(session, sim.event(OPENID, "subscribe"))).content == "欢迎关注"
        assert (await sim.post(session, sim.event(OPENID, "CLICK", "topic:共享书屋"))).content == "菜单 topic:共享书屋"
        assert (await sim.post(session, sim.image(OPENID))).content == "请发文字"
        assert (await sim.post(session, sim.event(OPENID, "unsubscribe"))).silent
        long = await sim.post(session, sim.text(OPENID, "问" * 50_000))
        assert long.content == "收到50000个字：" + "问" * 10


async def test_forged_and_hostile_posts_are_refused_over_http(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    endpoint = Endpoint()
    async with serving(endpoint) as (url, session):
        sim = WechatSim(url)
        xml = sim.text(OPENID, "hello")
        _, good = sim.sign(xml)
        assert (await sim.post(session, xml, query=good | {"signature": "0" * 40})).status == 403
        stale = WechatSim(url, clock=lambda: NOW)  # signed correctly, but years ago
        assert (await stale.post(session, stale.text(OPENID, "hello"))).status == 403
        xxe = f'<!DOCTYPE xml [<!ENTITY x SYSTEM "{secret.as_uri()}">]>' + xml.replace("hello", "&x;")
        refused = await sim.post(session, xxe, body=xxe)
        assert (refused.status, refused.body) == (400, "MalformedMessageError")
        assert (await sim.post(session, "<xml><oops>", body="<xml><oops>")).status == 400
    assert endpoint.computed == []


async def test_a_slow_answer_is_retried_by_the_simulator_and_computed_once():
    endpoint = Endpoint()
    endpoint.hold = endpoint.retried  # the first request cannot be answered before WeChat retries
    async with serving(endpoint) as (url, session):
        sim = WechatSim(url, deadline=0.5)
        reply = await sim.post(session, sim.text(OPENID, "低保怎么申请", msg_id="31415"))
        assert (reply.status, reply.content) == (200, "收到6个字：低保怎么申请")
        assert reply.tries >= 2  # 2, unless a loaded machine also made the retry miss its deadline
        key = f"msg:{OPENID}:31415"
        assert endpoint.arrivals == [key] * reply.tries and endpoint.computed == [key]


async def test_the_simulator_gives_up_after_three_tries_like_wechat():
    endpoint = Endpoint()
    endpoint.hold = asyncio.Event()  # never answered while WeChat waits
    async with serving(endpoint) as (url, session):
        sim = WechatSim(url, deadline=0.2)
        reply = await sim.post(session, sim.text(OPENID, "在吗", msg_id="27182"))
        assert (reply.status, reply.tries, sim.sent) == (None, 3, 3)
        assert endpoint.arrivals == [f"msg:{OPENID}:27182"] * 3 and endpoint.computed == [f"msg:{OPENID}:27182"]
