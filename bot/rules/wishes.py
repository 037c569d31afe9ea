"""Reading a secretary's `心愿 内容 姓名 电话`, keeping the resident's name and phone out of the published text.

The guard works by kind, not by example: the text is folded first (NFKC turns full-width digits and
letters into plain ones, traditional characters become simplified (OpenCC), Chinese numerals, 大写 ones
included, become digits). Then a phone number is seven or more digits held apart only by spaces or
punctuation (a mobile number has 11 digits, a landline 7 or 8 plus the area code), or groups of three
or more digits joined by up to three characters of anything that together make a mobile number or a
landline with its area code ("139转1234转5678", "139_1234_5678"), while a list of quantities
("100斤米和200斤面") is left alone. The resident's name counts when its
letters appear in the text's letters, whatever is put between them ("王 秀 兰", "王·秀兰", "王秀蘭").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.conversation.grammar import simplified
from bot.storage.limits import length_of
from bot.storage.models import Wish

PHONE = re.compile(rf"\+?\d[\d-]{{6,{length_of(Wish.resident_phone) - 3}}}\d")  # fits resident_phone
_NUMERALS = str.maketrans("零〇一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖", "0012345678912123456789")
_DIGIT_RUN = re.compile(r"\d(?:[^\w]*\d){6,}")  # seven digits, nothing but punctuation and spaces between
_DIGIT_GROUPS = re.compile(r"\d{3,}(?:\D{1,3}\d{3,})+")  # 139转1234转5678
_PHONE_SHAPE = re.compile(r"1\d{10}|0\d{9,11}")  # a mobile number, or a landline with its area code


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
    content = text[:text.rindex(words[-2])].strip()
    return NewWish(content, words[-2], words[-1]) if content else None


def leaks_private(wish: NewWish) -> bool:
    """Whether the text to publish names the resident or carries a phone number, however it is written."""
    folded = _fold(wish.content)
    name = _letters(_fold(wish.resident_name))
    return _has_phone(folded.translate(_NUMERALS)) or (bool(name) and name in _letters(folded))


def _has_phone(text: str) -> bool:
    """Seven digits apart only by punctuation, or consecutive digit groups that join into a phone's shape."""
    if _DIGIT_RUN.search(text):
        return True
    for found in _DIGIT_GROUPS.findall(text):
        groups = re.findall(r"\d+", found)
        if any(_PHONE_SHAPE.fullmatch("".join(groups[i:j]))
               for i in range(len(groups)) for j in range(i + 2, len(groups) + 1)):
            return True
    return False


def _fold(text: str) -> str:
    return simplified(unicodedata.normalize("NFKC", text).casefold())


def _letters(text: str) -> str:
    """Only the letters of `text` (Han characters included): spaces, punctuation and symbols dropped."""
    return "".join(ch for ch in text if unicodedata.category(ch).startswith("L"))
