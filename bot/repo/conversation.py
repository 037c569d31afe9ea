"""Conversation context kept in the database, so every replica sees it and a restart keeps it:
what `确认`/`取消` apply to, and the questions members asked to forward to their secretary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import rowcount
from bot.storage.models import PendingConfirmation, Question


async def ask_confirmation(session: AsyncSession, *, member_id: int, command: str, payload: str,
                           expires_at: datetime) -> None:
    """Remember that `确认` now applies to `command` (replacing whatever the sender was asked before)."""
    await session.execute(delete(PendingConfirmation).where(PendingConfirmation.member_id == member_id))
    session.add(PendingConfirmation(member_id=member_id, command=command, payload=payload, expires_at=expires_at))


async def take_confirmation(session: AsyncSession, *, member_id: int,
                            command: str | None = None) -> PendingConfirmation | None:
    """The sender's pending confirmation (only `command`'s, when given), removed; expired ones too."""
    stmt = select(PendingConfirmation).where(PendingConfirmation.member_id == member_id)
    if command is not None:
        stmt = stmt.where(PendingConfirmation.command == command)
    found = await session.scalar(stmt)
    if found is not None:
        await session.delete(found)
    return found


async def offer_question(session: AsyncSession, *, member_id: int, org_id: int, text: str, now: datetime,
                         since: datetime) -> None:
    """Keep a question the bot did not understand, until the member forwards it; questions offered before
    `since` (the offer's window) and never forwarded are forgotten."""
    await session.execute(delete(Question).where(Question.member_id == member_id, Question.forwarded_at.is_(None),
                                                 Question.asked_at < since))
    session.add(Question(member_id=member_id, org_id=org_id, text=text, asked_at=now))


async def forward_questions(session: AsyncSession, *, member_id: int, since: datetime,
                            now: datetime) -> Sequence[Question]:
    """Mark every question the member was offered to forward (asked after `since`) forwarded; oldest first."""
    found = (await session.scalars(select(Question).where(
        Question.member_id == member_id, Question.forwarded_at.is_(None), Question.asked_at >= since)
        .order_by(Question.id))).all()
    for question in found:
        question.forwarded_at = now
    return found


async def open_questions(session: AsyncSession, *, member_id: int) -> Sequence[Question]:
    """The member's forwarded questions nobody has answered yet, oldest first."""
    return (await session.scalars(select(Question).where(
        Question.member_id == member_id, Question.forwarded_at.is_not(None), Question.answered_at.is_(None))
        .order_by(Question.id))).all()


async def answer_questions(session: AsyncSession, *, ids: Sequence[int], by: int, now: datetime) -> int:
    """Mark these questions answered by `by`; how many were still open."""
    result = await session.execute(update(Question).where(Question.id.in_(ids), Question.answered_at.is_(None))
                                   .values(answered_at=now, answered_by=by))
    return rowcount(result)
