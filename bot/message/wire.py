"""WeChat's callback XML, parsed and checked field by field before anything reads it.

wechatpy converts fields lazily (`msg.id` is `int(MsgId)` on every read), so a field that is not what
WeChat's message doc says would fail deep inside a handler. Everything is checked here instead, and
anything wrong is a 400 naming the field. Limits come from WeChat's doc (openids are 28 characters,
MsgId a 64-bit number, CreateTime Unix seconds) with room to spare, and from the columns that store
the values (`bot/storage/limits.py`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any, TypeVar
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError

from aiohttp import web
from wechatpy import parse_message
from wechatpy.messages import MESSAGE_TYPES, UnknownMessage

from bot.storage.limits import length_of
from bot.storage.models import VolunteerClaim

T = TypeVar("T")
ACCOUNT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # openids and the account's gh_… id or AppID
NUMBER = re.compile(r"[0-9]{1,20}")
WORD = re.compile(r"[A-Za-z0-9_]{1,32}")  # MsgType and Event
MAX_MSG_ID = 2**64 - 1
MAX_CREATE_TIME = 2**32 - 1  # Unix seconds, as WeChat sends them (to 2106)
TEXT_LIMIT = 4096  # characters of Content or Recognition; WeChat's input box stops long before
OTHER_LIMIT = 1024  # any other field

_LIMITS = {
    "Content": TEXT_LIMIT,
    "Recognition": TEXT_LIMIT,
    "MediaId": length_of(VolunteerClaim.photo_media_id),
    "PicUrl": length_of(VolunteerClaim.photo_url),
    "EventKey": OTHER_LIMIT,  # the router reads it as text: an element or attribute inside it is not WeChat's
}
_PATTERNS = {"ToUserName": ACCOUNT_ID, "FromUserName": ACCOUNT_ID, "MsgType": WORD, "Event": WORD,
             "CreateTime": NUMBER, "MsgId": NUMBER}
_REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
_REQUIRED_BY_TYPE = {"text": "Content", "event": "Event"}  # what the router reads


_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def sanitize_xml(xml: str) -> tuple[str, int]:
    """The XML without the characters XML 1.0 forbids (control characters a phone let through, such as
    `积分\x02`), and how many were dropped: WeChat forwards them as they came, and refusing the message would
    show the member "该公众号暂时无法提供服务"."""
    return _XML_FORBIDDEN.subn("", xml)


def parse_sanitized(text: str) -> tuple[Any, int]:
    """The message in `text` (`parse`) and how many characters XML forbids were dropped from it first."""
    return read_sanitized(text, parse, web.HTTPBadRequest)


def read_sanitized(text: str, read: Callable[[str], T], fails: type[Exception]) -> tuple[T, int]:
    """What `read` makes of `text`, and how many characters XML forbids were dropped from it first: a message, or
    a compatible-mode envelope, whose plain fields carry what the member typed.

    They are looked for only when `read` raises `fails` on `text` as it came, which any one of them makes it do
    (the parsers refuse each of them, `tests/test_wire.py`): a scan of every message for them cost more than its
    parse."""
    try:
        return read(text), 0
    except fails:
        xml, dropped = sanitize_xml(text)
        if not dropped:
            raise
    return read(xml), dropped


def parse(xml: str) -> Any:
    """The wechatpy message for `xml`, or a 400 for malformed, hostile (DTD, entities) or invalid XML."""
    refuse_dtd(xml)
    try:
        fields = flat_fields(xml)
        kind = fields.get("MsgType") if fields else None
        kind = kind.lower() if isinstance(kind, str) else None
        if fields is None or kind is None or kind == "event" or kind.startswith("device_"):
            msg = parse_message(xml)  # events: wechatpy tells their kinds apart
        else:
            msg = MESSAGE_TYPES.get(kind, UnknownMessage)(fields)
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError):
        raise web.HTTPBadRequest(text="malformed XML") from None
    if msg is None or not isinstance(msg._data, dict):
        raise web.HTTPBadRequest(text="not a WeChat message")
    problem = invalid_field(msg._data)
    if problem:
        raise web.HTTPBadRequest(text=problem)
    return msg


def refuse_dtd(xml: str) -> None:
    """A 400 for XML with a document type or entities, which no WeChat callback has (and which could expand)."""
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise web.HTTPBadRequest(text="DTDs and entities are not accepted")


def flat_fields(xml: str) -> dict[str, str | None] | None:
    """The fields of a flat `<xml>` document, read as xmltodict reads them for wechatpy (text stripped, an empty
    element None), by the standard library's C parser in a third of xmltodict's time; None for any other shape
    (attributes, namespaces, nested or repeated elements, text between elements, another root) and for what it
    cannot read, which then goes to wechatpy's own parser: that decides whether it is XML at all.

    Every message and safe-mode envelope WeChat sends is flat; some events nest (wechat-anchors: message doc).
    Namespaces are handed over unread: ElementTree takes `xmlns` attributes out of an element's own, and refuses a
    prefix never declared (`<a:b>`), which xmltodict reads as a name.
    """
    if not xml or "xmlns" in xml:
        return None
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    if root.tag != "xml" or root.attrib or not len(root) or not _blank(root.text):
        return None
    fields: dict[str, str | None] = {}
    for child in root:
        if len(child) or child.attrib or child.tag in fields or "{" in child.tag or not _blank(child.tail):
            return None
        fields[child.tag] = (child.text.strip() or None) if child.text else None
    return fields


def _blank(text: str | None) -> bool:
    return not text or not text.strip()


def invalid_field(fields: dict[str, Any]) -> str | None:
    """Why these fields are not a WeChat message, or None when every one is as WeChat sends it."""
    for name in _REQUIRED:
        if not fields.get(name):
            return f"{name} is missing"
    kind = str(fields["MsgType"]).lower()  # as wechatpy and `parse` tell the kinds apart
    if kind != "event" and not fields.get("MsgId"):
        return "MsgId is missing"
    for name, value in fields.items():
        if value is None:
            continue
        if not isinstance(value, str):
            if name in _PATTERNS or name in _LIMITS:
                return f"{name} is not text"
            continue  # nested fields of events nobody handles
        pattern = _PATTERNS.get(name)
        if pattern is not None and not pattern.fullmatch(value):
            return f"{name} is not valid"
        if len(value) > _LIMITS.get(name, OTHER_LIMIT):
            return f"{name} is too long"
    if int(fields.get("MsgId") or 0) > MAX_MSG_ID or int(fields["CreateTime"]) > MAX_CREATE_TIME:
        return "MsgId or CreateTime is out of range"
    needed = _REQUIRED_BY_TYPE.get(kind)
    if needed == "Content":  # an empty text is a person's (the grammar answers it with the menu)
        return None if needed in fields else "Content is missing"
    return f"{needed} is missing" if needed and not fields.get(needed) else None


KEY_LIMIT = 120  # inbound_messages.key


def dedup_key(msg: Any) -> str:
    """WeChat's dedup key with the sender in it, so one member's MsgId never reaches another's reply.

    Messages: sender and MsgId. Events (no MsgId): sender, CreateTime, Event, EventKey and, where present,
    MsgID (template and mass-send results) or Ticket (QR scans). WeChat's retry of one event repeats all of
    these (wechat-anchors: "排重" by FromUserName + CreateTime for events), while two different clicks in
    the same second differ in EventKey. A message key fits `inbound_messages.key` (120: 4 + 64 + 1 + 20);
    an event key longer than that is replaced by its SHA-256.
    """
    if msg.type != "event":
        return f"msg:{msg.source}:{msg.id}"
    data = getattr(msg, "_data", {})
    parts = (msg.source, msg.time, data.get("Event", ""), data.get("EventKey", ""),
             data.get("MsgID") or data.get("MsgId") or data.get("Ticket") or "")
    key = "evt:" + ":".join(str(part or "") for part in parts)
    return key if len(key) <= KEY_LIMIT else "evt:" + hashlib.sha256(key.encode()).hexdigest()