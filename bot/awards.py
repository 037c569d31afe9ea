"""Awarding points for an action, once per event, with the rules' value and label."""

from __future__ import annotations

from bot.context import Context
from bot.repo import points as ledger


async def award(ctx: Context, *, action: str, event_key: str, detail: str = "", points: int | None = None,
                member_id: int | None = None) -> int:
    """Append the action's points (or `points`) to the ledger of the sender (or `member_id`).

    Returns the points added: 0 when that event was already counted.
    """
    spec = ctx.content.rules.actions[action]
    delta = spec.points if points is None else points
    added = await ledger.add(
        ctx.session, member_id=ctx.bound.id if member_id is None else member_id, action=action, delta=delta,
        reason=f"{spec.label}{detail}", event_key=event_key, at=ctx.now,
    )
    return delta if added else 0
