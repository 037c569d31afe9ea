"""Check-in windows: how long they stay open and the short code members type."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

DEFAULT_MINUTES = 120
MIN_MINUTES = 5
MAX_MINUTES = 24 * 60
CODE_LENGTH = 4

# Digits as speech recognition writes a code read aloud digit by digit (a field trial: `签到七零七六`); 幺 is 1 and
# 两 is 2 when digits are read out.
NUMERALS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5",
            "六": "6", "七": "7", "八": "8", "九": "9"}
_DIGITS = NUMERALS | {digit: digit for digit in "0123456789"}


def window_minutes(arg: str | None) -> int | None:
    """Minutes a check-in stays open: the default when not given, None when out of range or not a number."""
    if arg is None:
        return DEFAULT_MINUTES
    if not arg.isdigit():
        return None
    minutes = int(arg)
    return minutes if MIN_MINUTES <= minutes <= MAX_MINUTES else None


def as_digits(word: str) -> str:
    """`word` with each Chinese numeral as its digit (`七零七六`: `7076`, `幺三五七`: `1357`) when all of it is
    numerals or digits; otherwise `word` as it is (`一下`, `十二`)."""
    return "".join(_DIGITS[char] for char in word) if all(char in _DIGITS for char in word) else word


def code_in(words: Sequence[str]) -> str | None:
    """The code in the words after `签到` (normal form): one word, or groups of digits that make a code together
    (`65 03`: `6503`, a field trial), numerals read as digits (`as_digits`). None when there is no word, one
    without a digit (`签到码是多少`: a question, a second trial), or several that are not one code (`8032 8033`,
    `8032 号`): the usage reply answers those."""
    read = [as_digits(word) for word in words]
    if len(read) == 1:
        return read[0] if any(char.isdigit() for char in read[0]) else None
    joined = "".join(read)
    return joined if len(joined) == CODE_LENGTH and joined.isdigit() else None


def new_code(taken: Collection[str], randbelow: Callable[[int], int]) -> str:
    """A four-digit code not used by another open check-in of the same branch."""
    if len(taken) >= 9000:
        raise ValueError("no free check-in code")
    while True:
        code = f"{1000 + randbelow(9000)}"
        if code not in taken:
            return code
