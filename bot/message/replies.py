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
    """Split text into messages of at most `limit` UTF-8 bytes (WeChat's 2,048), each marked "(1/2)", "(2/2)"
    when there are several; a short text is one unmarked message.

    Pieces end at a line break, else after a sentence (。！？；), else after a pause (，、 or a space), and only
    in the middle of a phrase when a single phrase is longer than a message. Nothing but the breaks is lost.
    """
    if len(text.encode()) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    rest = text
    room = limit - MARKER_BYTES
    while len(rest.encode()) > room:
        cut = _break(rest, _fit(rest, room))
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    pieces = [p for p in [*pieces, rest] if p]
    return [f"({n}/{len(pieces)})\n{piece}" for n, piece in enumerate(pieces, start=1)]


MARKER_BYTES = len("(99/99)\n")
_BREAKS = ("\n", "。！？!?；;", "，、,： ")


def _break(text: str, cut: int) -> int:
    """Where to end a piece of at most `cut` characters: after the last line break, sentence or pause in its
    second half, by that preference; at `cut` when there is none."""
    for marks in _BREAKS:
        at = max(text.rfind(mark, 0, cut) for mark in marks)
        if at >= cut // 2:
            return at + 1 if marks != "\n" else at
    return cut


def _fit(text: str, limit: int) -> int:
    """How many leading characters of `text` fit in `limit` UTF-8 bytes."""
    return len(text.encode()[:limit].decode(errors="ignore"))


def text_reply(msg: Any, text: str) -> str:
    """The passive reply XML carrying `text` back to the sender, CDATA-safe whoever wrote it. The two account
    ids are as `bot.message.wire.parse` checked them (letters, digits, `_` and `-`): nothing in them to make
    safe."""
    return str(TextReply(source=msg.target, target=msg.source, content=cdata_safe(text)).render())


def encrypted(crypto: Any, xml: str) -> str:
    """Wrap a reply for safe mode: encrypted and signed with a fresh nonce."""
    return str(crypto.encrypt_message(xml, secrets.token_hex(8), str(int(time.time()))))
