"""Positive boards: the branch's points top ten and the month's 服务之星."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

TOP = 10


@dataclass(frozen=True, slots=True)
class Ranked:
    place: int
    name: str
    points: int


def top_ten(month_sums: Iterable[tuple[str, int]], cap: int) -> list[Ranked]:
    """Names by this month's counted points (capped), highest first, positive only; ties share a place."""
    scored = sorted(((min(total, cap), name) for name, total in month_sums if total > 0), key=lambda s: (-s[0], s[1]))
    board: list[Ranked] = []
    for points, name in scored[:TOP]:
        place = board[-1].place if board and board[-1].points == points else len(board) + 1
        board.append(Ranked(place, name, points))
    return board


@dataclass(frozen=True, slots=True)
class ServiceStar:
    member_id: int
    minutes: int


def service_star(confirmed: Iterable[tuple[int, int, datetime]]) -> ServiceStar | None:
    """The member with the most confirmed minutes from (member, minutes, confirmed at) rows.

    A tie goes to whoever reached their total first: the earlier last confirmation.
    """
    totals: dict[int, int] = {}
    reached: dict[int, datetime] = {}
    for member_id, minutes, at in confirmed:
        totals[member_id] = totals.get(member_id, 0) + minutes
        reached[member_id] = max(at, reached.get(member_id, at))
    if not totals:
        return None
    winner = min(totals, key=lambda m: (-totals[m], reached[m], m))
    return ServiceStar(winner, totals[winner])
