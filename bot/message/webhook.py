"""The /wechat endpoint: verify, enforce the message mode, refuse stale or replayed queries, parse, answer.

Message modes as WeChat's console names them (明文, 兼容, 安全): `plaintext` refuses encrypted callbacks,
`safe` refuses anything without a valid msg_signature over the `Encrypt` body, `compatible` accepts both
and answers each in kind. Every refusal is a 403 with a WARNING naming the reason (rate-limited with the
other warnings, `bot/ops/logs.py`); a request that is not what WeChat sends is a 400, never a 500.
"""

from __future__ import annotations

import hmac
import logging
import re
import sqlite3
import struct
from typing import Any
from xml.parsers.expat import ExpatError

from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner

from bot.keys import SERVICES
from bot.message import inbox
from bot.message.replay import query_key
from bot.message.replies import encrypted, split_text, text_reply
from bot.message.wire import dedup_key, flat_fields, parse_sanitized, read_sanitized, refuse_dtd
from bot.ops.logs import member_tag
from bot.services import Services

log = logging.getLogger(__name__)
TIMESTAMP = re.compile(r"[0-9]{1,12}")


def signature_ok(token: str, query: Any) -> bool:
    """WeChat's query signature over token, timestamp and nonce, compared in constant time."""
    signer = WeChatSigner()
    signer.add_data(token, query.get("timestamp", ""), query.get("nonce", ""))
    return hmac.compare_digest(signer.signature.encode(), query.get("signature", "").encode())


def refuse(reason: str) -> web.HTTPForbidden:
    """A 403 for a request that is not WeChat speaking now, logged with its reason (never the query).

    `reason` is one of a few fixed phrases, and part of the message so that each is rate-limited apart."""
    log.warning("refused: " + reason.replace("%", "%%"))
    return web.HTTPForbidden(text=reason)


def check_query(services: Services, query: Any) -> None:
    """A valid signature and a timestamp within `request_max_age` of now, or a 403."""
    if not signature_ok(services.settings.wechat_token, query):
        raise refuse("bad signature")
    timestamp = query.get("timestamp", "")
    if not TIMESTAMP.fullmatch(timestamp):
        raise web.HTTPBadRequest(text="timestamp is not a number")
    if abs(services.clock().timestamp() - int(timestamp)) > services.settings.request_max_age:
        raise refuse("stale timestamp")


async def verify(request: web.Request) -> web.Response:
    """GET: WeChat checks the server URL; echo `echostr` when the signature holds."""
    services = request.app[SERVICES]
    check_query(services, request.query)
    if services.settings.message_mode != "safe" and not await _first_use(services, request.query, "verify"):
        raise refuse("replayed query")  # a verification's query, which plaintext POSTs could otherwise reuse
    return web.Response(text=request.query.get("echostr", ""))


async def receive(request: web.Request) -> web.Response:
    """POST: one message or event from WeChat; the reply goes back in the response body."""
    services = request.app[SERVICES]
    query = request.query
    check_query(services, query)
    aes = query.get("encrypt_type") == "aes"
    mode = services.settings.message_mode
    if mode == "safe" and not aes:
        raise refuse("safe mode refuses a plaintext callback")
    if mode == "plaintext" and aes:
        raise refuse("plaintext mode refuses an encrypted callback")
    body = await request.read()
    msg, dropped = parse_sanitized(_decrypt(services, query, body) if aes else body.decode("utf-8", "replace"))
    if dropped:
        log.warning("dropped %d characters XML forbids from message %s of member %s", dropped, msg.id or msg.time,
                    member_tag(msg.source))
    key = dedup_key(msg)
    if (mode == "compatible" or not aes) and not await _first_use(services, query, key):
        # an encrypted callback's query is remembered too where a plaintext POST could reuse it
        raise refuse("replayed query with another message")
    reply = await inbox.answer(services, msg, key)
    if not reply:
        return web.Response(text="success")
    xml = text_reply(msg, split_text(reply)[0])
    return web.Response(text=encrypted(services.crypto, xml) if aes else xml, content_type="application/xml")


async def _first_use(services: Services, query: Any, key: str) -> bool:
    """Whether this signed query is new, or carries the same message as before (WeChat's retry)."""
    used = query_key(query.get("timestamp", ""), query.get("nonce", ""), query.get("signature", ""))
    try:
        return await services.replays.admits(used, key, services.clock())
    except (SQLAlchemyError, sqlite3.Error, RedisError, OSError):  # sqlite3's own from a lean statement
        log.exception("replay memory unreachable")
        raise web.HTTPServiceUnavailable(text="try again") from None


def _decrypt(services: Services, query: Any, body: bytes) -> str:
    """Safe or compatible mode: check msg_signature and the AppID, and return the plain XML."""
    def opened(envelope: str) -> str:
        return str(services.crypto.decrypt_message(
            flat_fields(envelope) or envelope, query.get("msg_signature", ""), query.get("timestamp", ""),
            query.get("nonce", "")
        ))

    try:
        envelope = body.decode()
        refuse_dtd(envelope)
        return read_sanitized(envelope, opened, ExpatError)[0]  # compatible mode's plain fields: as a message's
    except (InvalidSignatureException, InvalidAppIdException):
        raise refuse("bad message signature") from None
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError, IndexError, UnicodeError, struct.error):
        raise web.HTTPBadRequest(text="malformed encrypted message") from None  # struct: too short to hold a length
