"""Reading a secretary's `心愿 内容 姓名 电话`, keeping the resident's name and phone out of the published text."""

from __future__ import annotations

import re
from dataclasses import dataclass

PHONE = re.compile(r"\+?\d[\d-]{6,18}\d")
MAX_CONTENT = 100


@dataclass(frozen=True, slots=True)
class NewWish:
    content: str
    resident_name: str
    resident_phone: str


def parse_wish(text: str) -> NewWish | None:
    """"给孙子买一个书包 王秀兰 13912345678" → the wish; None without content, name and phone."""
    words = text.split()
    if len(words) < 3 or not PHONE.fullmatch(words[-1]):
        return None
    content = text[:text.rindex(words[-2])].strip()[:MAX_CONTENT]
    return NewWish(content, words[-2], words[-1]) if content else None


def leaks_private(wish: NewWish) -> bool:
    """Whether the text to publish names the resident or carries a phone number."""
    return wish.resident_name in wish.content or bool(PHONE.search(wish.content))
