"""Reply XML for WeChat: CDATA-safe text, the 2048-byte limit, and safe-mode encryption."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from wechatpy.replies import TextReply

TEXT_LIMIT = 2048
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def cdata_safe(text: str) -> str:
    """Text that cannot end its CDATA section early or carry characters XML forbids."""
    return _XML_ILLEGAL.sub("", text).replace("]]>", "]]]]><![CDATA[>")


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split text into pieces of at most `limit` UTF-8 bytes, preferring line breaks."""
    pieces: list[str] = []
    rest = text
    while len(rest.encode()) > limit:
        cut = _fit(rest, limit)
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    return [*pieces, rest] if rest else pieces


def _fit(text: str, limit: int) -> int:
    """How many leading characters of `text` fit in `limit` UTF-8 bytes."""
    return len(text.encode()[:limit].decode(errors="ignore"))


def text_reply(msg: Any, text: str) -> str:
    """The passive reply XML carrying `text` back to the sender; every field CDATA-safe, whoever wrote it."""
    return str(TextReply(source=cdata_safe(msg.target), target=cdata_safe(msg.source),
                         content=cdata_safe(text)).render())


def encrypted(crypto: Any, xml: str) -> str:
    """Wrap a reply for safe mode: encrypted and signed with a fresh nonce."""
    return str(crypto.encrypt_message(xml, secrets.token_hex(8), str(int(time.time()))))
