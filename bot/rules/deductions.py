"""驾照式扣分 (seed 002 L475/L485): reading `扣分 姓名 [后四位] [扣]N[分] 理由`, and the points a reason takes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.conversation.grammar import read


class Listed(Protocol):
    """A reason listed in rules.toml's [deductions] with its usual points."""

    @property
    def reason(self) -> str: ...

    @property
    def points(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Asked:
    """What a secretary asked: whom (a name, and a phone's last four digits when two share it), the points
    (None: the listed reason's), and where the reason begins in the text read."""

    name: str
    tail: str
    points: int | None
    reason_at: int


_ASKED = re.compile(r"\s*(?P<name>\S+?)(?=\s|扣\s*-?\d|$)(?:\s+(?P<tail>\d{4}))?(?:\s*扣(?=\s*-?\d))?(?:\s*-?(?P<points>\d{1,3})\s*分?)?\s*")


def parse(norm: str) -> Asked | None:
    """The request in `norm` (the normal form of the text after `扣分`, see `bot.conversation.grammar`):
    "王芳 2 理由", "王芳 扣 2 分 理由", "王芳 0112 -2 理由" or "王芳 理由"; None without a name. The reason may be missing
    (`reason_at` is then the text's length)."""
    found = _ASKED.match(norm)
    if found is None:
        return None
    points = found.group("points")
    return Asked(found.group("name"), found.group("tail") or "", int(points) if points else None, found.end())


def listed_points(reason: str, listed: Sequence[Listed]) -> int | None:
    """The usual points of the listed reason `reason` starts with (compared in normal form: "无故缺席组织生活，
    11月主题党日" is the listed 无故缺席组织生活), or None when it names no listed reason."""
    said = read(reason).norm
    return next((r.points for r in listed if said.startswith(read(r.reason).norm)), None)


def points_for(asked: Asked, reason: str, listed: Sequence[Listed], most: int) -> int | None:
    """The points to take: the typed N, else the listed reason's; None when neither gives a number from 1 to
    `most` (a free reason needs its N)."""
    points = asked.points if asked.points is not None else listed_points(reason, listed)
    return points if points is not None and 0 < points <= most else None
