"""Understanding what a member typed or said: one normalisation, then words that remember where they were typed.

Members type on phones with full-width characters and stray punctuation, or speak (WeChat's speech recognition
adds its own `。` and `，`). Everything a member sends as text, typed or recognised, goes through `read`:

- traditional characters as simplified ones (OpenCC t2s: `審核` is `审核`), when that keeps the length;
- NFKC, character by character, so full-width letters and digits become half-width (`签到８０３２`);
- letters compared case-insensitively (`HELP`, `选b`);
- punctuation such as `。，、：:` and spaces are separators wherever a person puts them (`答：A`, `签到8032。`);
- a change between Chinese characters and Latin letters, digits or signs also separates words (`绑定王德明0004`);
- zero-width characters (a field trial found them inside words: `积`, U+200B, `分`) are dropped, as if never typed.

The words keep the position they were typed at, so a reason or a notice keeps its own punctuation
(`Said.typed_from`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from opencc import OpenCC

# What separates words: whitespace and the punctuation people put between them, Chinese and Latin.
SEPARATORS = frozenset(" \t\r\n\u3000,;:!?，。、：；！？…~～·\"'“”‘’()（）【】[]《》<>「」『』")
# Zero-width space, non-joiner and joiner, byte order mark, word joiner: invisible, so as if never typed.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\ufeff\u2060")
_T2S = OpenCC("t2s")
_WORD = re.compile(r"[+-]?\d+(?:\.\d+)?[a-z0-9]*|[a-z][a-z0-9]*|[^\sa-z0-9]+")


@dataclass(frozen=True, slots=True)
class Said:
    """A message as typed, its normal form (`norm`) and, for each character of `norm`, where it was typed."""

    typed: str
    norm: str
    origin: tuple[int, ...]

    def words(self, start: int = 0) -> list[tuple[str, int]]:
        """The words of `norm` from `start`, each with its index in `norm`."""
        return [(m.group(), m.start()) for m in _WORD.finditer(self.norm, start)]

    def typed_from(self, index: int) -> str:
        """The typed text from the character that became `norm[index]`, without leading separators (`：`) or
        trailing spaces; its own punctuation stays."""
        if index >= len(self.origin):
            return ""
        return self.typed[self.origin[index]:].lstrip("".join(SEPARATORS)).rstrip()


def read(text: str) -> Said:
    """The normal form of a message: NFKC per character, case-folded, zero-width characters dropped, separators
    as single spaces, trimmed.

    A short text's form is remembered (`积分`, `签到 8032`, `答 B` come again and again).

    >>> read("签到８０３２。").norm
    '签到 8032'
    """
    return _read_short(text) if len(text) <= REMEMBERED_LENGTH else _read(text)


REMEMBERED_LENGTH = 32  # characters: a command with its arguments; notices and reasons are read afresh


@lru_cache(maxsize=1024)
def _read_short(text: str) -> Said:
    return _read(text)


def _read(text: str) -> Said:
    simple = simplified(text)
    simple = simple if len(simple) == len(text) else text  # each character keeps where it was typed
    raw = [(out, at) for at, char in enumerate(simple) if char not in ZERO_WIDTH
           for out in unicodedata.normalize("NFKC", char).casefold()]
    chars: list[str] = []
    origin: list[int] = []
    for i, (out, at) in enumerate(raw):
        if _separates(raw, i):
            if chars and chars[-1] != " ":
                chars.append(" ")
                origin.append(at)
            continue
        if chars and chars[-1] != " " and _latin(chars[-1]) != _latin(out):
            chars.append(" ")
            origin.append(at)
        chars.append(out)
        origin.append(at)
    if chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    return Said(text, "".join(chars), tuple(origin))


def simplified(text: str) -> str:
    """`text` with traditional characters written as simplified ones (OpenCC t2s)."""
    return str(_T2S.convert(text))


def _separates(raw: list[tuple[str, int]], i: int) -> bool:
    """Whether `raw[i]` separates words: a separator, a control character, or a full stop not inside a number."""
    char = raw[i][0]
    if char == ".":
        return not (0 < i < len(raw) - 1 and raw[i - 1][0].isdigit() and raw[i + 1][0].isdigit())
    return char in SEPARATORS or char.isspace() or unicodedata.category(char) == "Cc"


def _latin(char: str) -> bool:
    """Latin letters, digits and signs (a word of them ends where Chinese begins, typed space or not)."""
    return char.isascii()


def joined_chinese(norm: str) -> tuple[str, tuple[int, ...]]:
    """A normal form (`Said.norm`: no space at either end) without the spaces between two Chinese characters
    (`积 分`: `积分`), and for each character left its index in `norm`. For a command word typed or recognised
    with spaces inside it (a field trial: `帮 助`, `签 到 7076`); a space next to a letter, a digit or a sign
    stays."""
    kept = tuple(i for i, char in enumerate(norm)
                 if not (char == " " and _chinese(norm[i - 1]) and _chinese(norm[i + 1])))
    return "".join(norm[i] for i in kept), kept


def _chinese(char: str) -> bool:
    """A Chinese character (CJK unified ideographs and extension A), not a sign or a letter of another script."""
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def without_full_stop(text: str) -> str:
    """A typed text without the full stop speech recognition ends a sentence with (replies would double it:
    打扫卫生。。), and without surrounding spaces."""
    return text.strip().rstrip("。．.！!").rstrip()


EMPTY = read("")  # nothing said (an event, a photo)
