"""`bot.storage.db.pending`: read from SQLAlchemy's own sets, it must agree with the public properties."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.db import SessionMaker, pending
from bot.storage.models import Organisation


def public(session: Session) -> bool:
    return bool(session.new or session.dirty or session.deleted)


async def test_pending_agrees_with_new_dirty_and_deleted(db: SessionMaker) -> None:
    seen: list[tuple[str, bool, bool]] = []

    def look(step: str, session: Session) -> None:
        seen.append((step, pending(session), public(session)))

    async with db() as session:
        sync = session.sync_session
        look("empty", sync)
        org = Organisation(name="一村党支部", kind="党支部", path="一村党支部")
        session.add(org)
        look("new", sync)
        await session.flush()
        look("flushed", sync)
        org.name = "二村党支部"
        look("modified", sync)
        await session.flush()
        look("modified, flushed", sync)
        await session.commit()
        loaded = (await session.scalars(select(Organisation).where(Organisation.id == org.id))).one()
        look("loaded", sync)
        await session.delete(loaded)
        look("deleted", sync)
        await session.flush()
        look("deleted, flushed", sync)
        await session.rollback()
        look("rolled back", sync)

    assert [(step, ours) for step, ours, _ in seen] == [(step, theirs) for step, _, theirs in seen]
    assert {step for step, ours, _ in seen if ours} == {"new", "modified", "deleted"}
