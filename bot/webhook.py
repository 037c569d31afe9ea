"""The /wechat endpoint: verify, decrypt, parse, answer (encrypted in safe mode)."""

from __future__ import annotations

import hmac
import logging
import re
from typing import Any
from xml.parsers.expat import ExpatError

from aiohttp import web
from wechatpy import parse_message
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner

from bot import inbox
from bot.keys import SERVICES
from bot.replies import encrypted, split_text, text_reply
from bot.services import Services

log = logging.getLogger(__name__)


def signature_ok(token: str, query: Any) -> bool:
    """WeChat's query signature over token, timestamp and nonce, compared in constant time."""
    signer = WeChatSigner()
    signer.add_data(token, query.get("timestamp", ""), query.get("nonce", ""))
    return hmac.compare_digest(signer.signature, query.get("signature", ""))


async def verify(request: web.Request) -> web.Response:
    """GET: WeChat checks the server URL; echo `echostr` when the signature holds."""
    services = request.app[SERVICES]
    if not signature_ok(services.settings.wechat_token, request.query):
        raise web.HTTPForbidden(text="bad signature")
    return web.Response(text=request.query.get("echostr", ""))


async def receive(request: web.Request) -> web.Response:
    """POST: one message or event from WeChat; the reply goes back in the response body."""
    services = request.app[SERVICES]
    if not signature_ok(services.settings.wechat_token, request.query):
        raise web.HTTPForbidden(text="bad signature")
    body = await request.read()
    aes = request.query.get("encrypt_type") == "aes"
    xml, dropped = sanitize_xml(_decrypt(services, request.query, body) if aes else body.decode("utf-8", "replace"))
    msg = parse(xml)
    if dropped:
        log.warning("dropped %d characters XML forbids from message %s", dropped, inbox.dedup_key(msg))
    reply = await inbox.answer(services, msg)
    if not reply:
        return web.Response(text="success")
    xml = text_reply(msg, split_text(reply)[0])
    return web.Response(text=encrypted(services.crypto, xml) if aes else xml, content_type="application/xml")


def _decrypt(services: Services, query: Any, body: bytes) -> str:
    """Safe or compatible mode: check msg_signature and the AppID, and return the plain XML."""
    if services.crypto is None:
        log.warning("encrypted message received but no EncodingAESKey is configured")
        raise web.HTTPForbidden(text="encryption not configured")
    try:
        return str(services.crypto.decrypt_message(
            body, query.get("msg_signature", ""), query.get("timestamp", ""), query.get("nonce", "")
        ))
    except (InvalidSignatureException, InvalidAppIdException):
        raise web.HTTPForbidden(text="bad message signature") from None
    except (ExpatError, ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest(text="malformed encrypted message") from None


_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def sanitize_xml(xml: str) -> tuple[str, int]:
    """The XML without the characters XML 1.0 forbids (control characters a phone let through, such as
    `积分\x02`), and how many were dropped: WeChat forwards them as they came, and refusing the message would
    show the member "该公众号暂时无法提供服务"."""
    clean, dropped = _XML_FORBIDDEN.subn("", xml)
    return clean, dropped


def parse(xml: str) -> Any:
    """Parse WeChat XML, refusing malformed or hostile (entity-laden) documents with 400."""
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise web.HTTPBadRequest(text="DTDs and entities are not accepted")
    try:
        msg = parse_message(xml)
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError):
        raise web.HTTPBadRequest(text="malformed XML") from None
    if msg is None or not getattr(msg, "source", None):
        raise web.HTTPBadRequest(text="not a WeChat message")
    return msg
