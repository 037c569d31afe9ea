"""The fast reading of WeChat's XML (`bot.message.wire.flat_fields`) must read every document exactly as wechatpy's
own parser (xmltodict) does, or hand it over to that parser: the member's message, or the 400, is the same."""

from __future__ import annotations

import re
from random import Random
from unittest import mock

import pytest
import xmltodict
from aiohttp import web

from bot.message import wire
from tests.test_fuzz import field_value, message_xml

TEXT = ("<xml><ToUserName><![CDATA[gh_palmbot000]]></ToUserName><FromUserName><![CDATA[oA]]></FromUserName>"
        "<CreateTime>1794790800</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{}]]></Content>"
        "<MsgId>1</MsgId></xml>")


@pytest.mark.parametrize(("xml", "fields"), [
    (TEXT.format("积分"), {"ToUserName": "gh_palmbot000", "FromUserName": "oA", "CreateTime": "1794790800",
                         "MsgType": "text", "Content": "积分", "MsgId": "1"}),
    ("<xml>\n  <Content> 签到 7076\n</Content>\n</xml>", {"Content": "签到 7076"}),  # stripped, as xmltodict does
    ("<xml><Content></Content><MsgId/></xml>", {"Content": None, "MsgId": None}),
    ("<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>", {"Content": "a]]>b"}),  # a split CDATA section
    ("<xml><Content>a<!-- note -->b</Content></xml>", {"Content": "ab"}),
    ('<?xml version="1.0" encoding="utf-8"?><xml><Content>&lt;党&gt;</Content></xml>', {"Content": "<党>"}),
    ('<xml a="1"><Content>x</Content></xml>', None),  # attributes
    ('<xml><Content a="1">x</Content></xml>', None),
    ("<xml><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>", None),  # nested (an event)
    ("<xml><Content>x</Content><Content>y</Content></xml>", None),  # repeated: xmltodict makes a list
    ('<xml xmlns="urn:x"><Content>x</Content></xml>', None),  # a namespace
    ('<xml><Content xmlns:a="urn:x">x</Content></xml>', None),  # a declaration ElementTree hides from attrib
    ('<xml><Content xmlns="">x</Content></xml>', None),
    ('<xml xmlns:a="urn:x"><Content>x</Content></xml>', None),
    ("", None),  # wechatpy: no message at all
    ("<xml><Content>x</Content><a:b>y</a:b></xml>", None),  # a prefix never declared: xmltodict reads `a:b`
    ('<xml><Content a:x="1">x</Content></xml>', None),
    ("<xml><Content>x</Content", None),  # not XML: wechatpy's parser says so
    ("<xml>text<Content>x</Content></xml>", None),  # text between elements
    ("<xml><Content>x</Content>tail</xml>", None),
    ("<message><Content>x</Content></message>", None),  # another root
    ("<xml></xml>", None),
])
def test_flat_documents_are_read_as_xmltodict_reads_them_and_others_are_handed_over(
        xml: str, fields: dict[str, str | None] | None) -> None:
    assert wire.flat_fields(xml) == fields
    if fields is not None:
        assert fields == dict(xmltodict.parse(xml)["xml"])
    with mock.patch.object(wire, "flat_fields", return_value=None):
        library = _outcome(xml)
    assert _outcome(xml) == library


def _outcome(xml: str) -> tuple[str, object]:
    """What `wire.parse` makes of `xml`: the 400's text, or the message's class and fields."""
    try:
        msg = wire.parse(xml)
    except web.HTTPBadRequest as refused:
        return "400", refused.text
    return type(msg).__name__, msg._data


def _shaped(rng: Random) -> str:
    """A WeChat-shaped document, sometimes reshaped the ways a fast reader could get wrong."""
    xml = message_xml(rng)
    kind = rng.choice(["", "", "Text", "EVENT", "device_event", "DEVICE_text", "shortvideo"])
    if kind:
        xml = re.sub("<MsgType>[^<]*</MsgType>", f"<MsgType>{kind}</MsgType>", xml, count=1)
    if rng.random() < 0.05:
        return rng.choice(["", " ", "\n"])
    extra = rng.choice(["", "", "<Content>again</Content>", '<Content a="1">x</Content>', "<N><M>1</M></N>",
                        '<Content xmlns:a="urn:x">积分</Content>', '<Content xmlns="">积分</Content>',
                        "<a:b>x</a:b>", '<Content a:x="1">积分</Content>', "<x:y/>",
                        "  \n ", "stray", "<!-- c -->", "<Empty/>", f"<Content> {field_value(rng)} </Content>"])
    at = xml.find("<MsgType>") if xml.find("<MsgType>") >= 0 else len(xml) - len("</xml>")
    return xml[:at] + extra + xml[at:]


def test_every_document_gets_the_same_message_or_the_same_400_as_through_wechatpys_parser() -> None:
    """5,000 seeded documents (hostile values, dropped fields, DTDs, reshaped), read the fast way and through
    wechatpy's `parse_message` alone; at least a fifth are read the fast way and some are handed over."""
    rng, fast, handed = Random(17), 0, 0
    for _ in range(5000):
        xml = _shaped(rng)
        ours = _outcome(xml)
        with mock.patch.object(wire, "flat_fields", return_value=None):
            assert ours == _outcome(xml), xml
        try:
            read = wire.flat_fields(xml)
        except ValueError:  # a lone surrogate, which no parser takes
            continue
        fast, handed = fast + (read is not None), handed + (read is None)
    assert fast > 1000 and handed > 300, (fast, handed)


FORBIDDEN = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\ufffe", "\uffff", "\ud800"]


@pytest.mark.parametrize("char", FORBIDDEN, ids=lambda char: f"U+{ord(char):04X}")
def test_characters_xml_forbids_are_dropped_wherever_they_are_though_only_looked_for_when_the_parse_fails(
        char: str) -> None:
    """Each one makes the parse fail, so a message that parses as it came holds none: it is never scanned."""
    for xml in (TEXT.format(f"积分{char}"), TEXT.format(f"{char}签到 {char}7076"),
                TEXT.format("积分").replace("<MsgId>", f"{char}<MsgId>"),
                TEXT.format("积分").replace("<Content><![CDATA[", f"<Content>{char}<![CDATA[")):
        cleaned, dropped = wire.sanitize_xml(xml)
        msg, counted = wire.parse_sanitized(xml)
        assert counted == dropped == xml.count(char)
        assert msg._data == wire.parse(cleaned)._data
        assert msg.content in ("积分", "签到 7076")


def test_a_clean_message_is_parsed_as_it_came_and_a_bad_one_keeps_its_400() -> None:
    msg, dropped = wire.parse_sanitized(TEXT.format("积分"))
    assert (msg.content, dropped) == ("积分", 0)
    for xml, refusal in ((TEXT.format("长" * 5000), "Content is too long"),
                         ("<xml><Content>\x01</Content", "malformed XML")):
        with pytest.raises(web.HTTPBadRequest) as refused:
            wire.parse_sanitized(xml)
        assert refused.value.text == refusal


@pytest.mark.parametrize(("kind", "tail", "checked"), [
    ("Event", "<Event>subscribe</Event>", "subscribe"),  # an event has no MsgId, whatever its MsgType's case
    ("EVENT", "<Event>CLICK</Event><EventKey>MY_POINTS</EventKey>", "click"),
    ("TEXT", "<Content>积分</Content><MsgId>7</MsgId>", "积分"),
])
def test_the_kind_of_message_is_told_apart_without_regard_to_case(kind: str, tail: str, checked: str) -> None:
    msg = wire.parse(f"<xml><ToUserName>gh_palmbot000</ToUserName><FromUserName>oA</FromUserName>"
                     f"<CreateTime>1794790800</CreateTime><MsgType>{kind}</MsgType>{tail}</xml>")
    assert checked == (msg.event if msg.type == "event" else msg.content)


def test_a_text_of_any_case_without_its_content_is_refused() -> None:
    with pytest.raises(web.HTTPBadRequest) as refused:
        wire.parse("<xml><ToUserName>gh_p</ToUserName><FromUserName>oA</FromUserName><CreateTime>1</CreateTime>"
                   "<MsgType>Text</MsgType><MsgId>7</MsgId></xml>")
    assert refused.value.text == "Content is missing"
