"""Awarding points for an action, once per event, with the rules' value and label, and saying what counted."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.context import Context
from bot.repo import points as ledger
from bot.rules.periods import month_of


@dataclass(frozen=True, slots=True)
class Earned:
    """What an award changed in the member's month (`points`, after the monthly cap: the ledger keeps the full
    entry) and whether the cap held some back (`capped`), so the reply says what was counted."""

    points: int
    capped: bool
    offset: bool = False  # the month was below zero (a deduction), which these points made up first
    raw: int = 0  # the entry's own points, as the ledger keeps them


async def award(ctx: Context, *, action: str, event_key: str, detail: str = "", points: int | None = None,
                member_id: int | None = None) -> Earned:
    """Append the action's points (or `points`) to the ledger of the sender (or `member_id`).

    A month's score is its sum clamped to [0, monthly cap] (rules.toml, seed 002), so an entry counts only as
    far as the month has room: 2 points when the month is at 9 of 10 count 1. Nothing counts when that event
    was already in the ledger.
    """
    spec = ctx.content.rules.actions[action]
    delta = spec.points if points is None else points
    who = ctx.bound.id if member_id is None else member_id
    start, end = month_of(ctx.now.astimezone(ctx.settings.timezone).date()).bounds(ctx.settings.timezone)
    before = await ledger.total_between(ctx.session, member_id=who, start=start, end=end)
    added = await ledger.add(ctx.session, member_id=who, action=action, delta=delta,
                             reason=f"{spec.label}{detail}", event_key=event_key, at=ctx.now)
    if not added:
        return Earned(0, capped=False)
    cap = ctx.content.rules.policy.monthly_cap
    counted = _clamp(before + delta, cap) - _clamp(before, cap)
    return Earned(counted, capped=delta > 0 and before + delta > cap, offset=delta > 0 and before < 0, raw=delta)


def counted(ctx: Context, earned: Earned) -> str:
    """What a reply about points says was counted: "计 2 分", "计 1 分（本月已满 10 分，超出部分不计）",
    "本月已满 10 分，本次不再计分" or "这次的 2 分先抵扣本月的扣分，计 0 分" (content/replies/points_counted.j2)."""
    return ctx.render("points_counted", points=earned.points, capped=earned.capped, offset=earned.offset,
                      raw=earned.raw, cap=ctx.content.rules.policy.monthly_cap)


def _clamp(total: int, cap: int) -> int:
    return max(0, min(total, cap))
