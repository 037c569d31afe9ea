"""Awarding points for an action, once per event, with the rules' value and label."""

from __future__ import annotations

from bot.context import Context
from bot.repo import points


async def award(ctx: Context, *, action: str, event_key: str, detail: str = "") -> int:
    """Append the action's points to the sender's ledger; returns the points added (0 if already counted)."""
    spec = ctx.content.rules.actions[action]
    added = await points.add(
        ctx.session, member_id=ctx.bound.id, action=action, delta=spec.points,
        reason=f"{spec.label}{detail}", event_key=event_key, at=ctx.now,
    )
    return spec.points if added else 0
