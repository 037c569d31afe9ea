"""Acting as WeChat's push server: build signed (and in safe mode encrypted) requests, read the replies.

`palmbot chat`, the tests and the benchmark all send messages through this one piece of code.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

if TYPE_CHECKING:
    from bot.config import Settings

ACCOUNT = "gh_palmbot000"
_SENDER = re.compile(r"<FromUserName>(?:<!\[CDATA\[)?([^<\]]*)")
_ids = itertools.count(int(time.time() * 1000) * 1000)


def openid_for(phone: str) -> str:
    """A stable 28-character openid for a simulated follower."""
    return "o" + hashlib.sha1(phone.encode()).hexdigest()[:27]


def text_xml(openid: str, content: str, *, msg_id: int | None = None, at: int | None = None) -> str:
    """A text message as WeChat pushes it."""
    return _xml(openid, at, MsgType="text", Content=content, MsgId=str(msg_id or next(_ids)))


def voice_xml(openid: str, recognition: str, *, at: int | None = None) -> str:
    """A voice message with WeChat's speech recognition result (when the account has it enabled)."""
    return _xml(openid, at, MsgType="voice", MediaId="media0", Format="amr", Recognition=recognition,
                MsgId=str(next(_ids)))


def image_xml(openid: str, url: str, *, at: int | None = None, media_id: str | None = None) -> str:
    """A photo the member sent (WeChat gives its URL and a media id, a new one unless `media_id` is given)."""
    return _xml(openid, at, MsgType="image", PicUrl=url, MediaId=media_id or f"media-{next(_ids)}",
                MsgId=str(next(_ids)))


def click_xml(openid: str, key: str, *, at: int | None = None) -> str:
    """A menu CLICK event."""
    return _xml(openid, at, MsgType="event", Event="CLICK", EventKey=key)


def event_xml(openid: str, event: str, *, at: int | None = None, **fields: str) -> str:
    """An event (subscribe, unsubscribe…) with any further fields (EventKey, Ticket, MsgID)."""
    return _xml(openid, at, MsgType="event", Event=event, **fields)


def _xml(openid: str, at: int | None, **fields: str) -> str:
    body = {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": str(at or int(time.time())), **fields}
    return str(xmltodict.unparse({"xml": body}, full_document=False))


@dataclass
class Simulator:
    """Signs requests with the account's Token and, given an EncodingAESKey, encrypts them (safe mode)."""

    token: str
    aes_key: str = ""
    appid: str = ""
    clock: Callable[[], float] = time.time  # WeChat's clock, in Unix seconds: the query's timestamp
    _crypto: WeChatCrypto | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.aes_key:
            self._crypto = WeChatCrypto(self.token, self.aes_key, self.appid)

    @classmethod
    def speaking_to(cls, settings: Settings, clock: Callable[[], float] = time.time) -> Simulator:
        """WeChat as it speaks to a server with these settings: encrypting unless its message mode is plaintext
        (an EncodingAESKey may be configured and still unused: 明文模式)."""
        key = "" if settings.message_mode == "plaintext" else settings.wechat_aes_key
        return cls(settings.wechat_token, key, settings.wechat_appid, clock)

    def signed_query(self, *, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        """The query WeChat adds to every callback: timestamp, nonce and their signature."""
        timestamp = timestamp or str(int(self.clock()))
        nonce = nonce or str(secrets.randbelow(10**10))
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce)
        return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}

    def request(self, xml: str, *, openid: str | None = None) -> tuple[dict[str, str], str]:
        """Query and body for POSTing `xml` to /wechat, encrypted in safe mode; `openid` defaults to the sender."""
        query = self.signed_query()
        found = _SENDER.search(xml)  # read without parsing: WeChat forwards characters XML forbids, and so do we
        query["openid"] = (found.group(1) if found else "") if openid is None else openid
        if self._crypto is None:
            return query, xml
        envelope = xmltodict.parse(self._crypto.encrypt_message(xml, query["nonce"], query["timestamp"]))["xml"]
        query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        body = xmltodict.unparse({"xml": {"ToUserName": ACCOUNT, "Encrypt": envelope["Encrypt"]}},
                                 full_document=False)
        return query, str(body)

    def reply_text(self, body: str) -> str | None:
        """The text of a reply body, checking its signature in safe mode; None for `success`."""
        if body in ("", "success"):
            return None
        if self._crypto is not None:
            outer = xmltodict.parse(body)["xml"]
            body = self._crypto.decrypt_message(body, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
        reply: dict[str, Any] = xmltodict.parse(body)["xml"]
        return str(reply.get("Content") or "")
