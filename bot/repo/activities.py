"""Check-in activities and check-ins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import insert_once, run
from bot.storage.models import Activity, CheckIn


async def open_codes(session: AsyncSession, *, org_id: int, now: datetime) -> set[str]:
    """Codes of the organisation's activities still open, so a new one gets a different code."""
    rows = await session.scalars(select(Activity.code).where(Activity.org_id == org_id, Activity.closes_at > now))
    return set(rows)


async def open_titled(session: AsyncSession, *, org_id: int, title: str, now: datetime) -> Activity | None:
    """The organisation's check-in with this title open now, if any (the latest to close)."""
    return await session.scalar(
        select(Activity)
        .where(Activity.org_id == org_id, Activity.title == title, Activity.opens_at <= now, Activity.closes_at > now)
        .order_by(Activity.closes_at.desc())
        .limit(1)
    )


async def open_activity(
    session: AsyncSession, *, org_id: int, title: str, code: str, opened_by: int | None, opens_at: datetime,
    closes_at: datetime,
) -> Activity:
    activity = Activity(
        org_id=org_id, title=title, code=code, opened_by=opened_by, opens_at=opens_at, closes_at=closes_at
    )
    session.add(activity)
    await session.flush()
    return activity


async def ensure_calendar_activity(
    session: AsyncSession, *, key: str, org_id: int, title: str, code: str, opens_at: datetime, closes_at: datetime,
) -> str:
    """Open the check-in a calendar job asks for, once per `key`; the code members check in with."""
    await insert_once(session, Activity, key=key, org_id=org_id, title=title, code=code, opened_by=None,
                      opens_at=opens_at, closes_at=closes_at)
    return str(await session.scalar(select(Activity.code).where(Activity.key == key)))


async def id_of(session: AsyncSession, *, key: str) -> int:
    """The id of the check-in a job opened under `key`."""
    found = await session.scalar(select(Activity.id).where(Activity.key == key))
    assert found is not None
    return int(found)


class Opened(Protocol):
    """An open check-in as the 签到 handler reads it."""

    id: int
    title: str


_OPEN_WITH_CODE = (select(Activity.id, Activity.title)
                   .where(Activity.org_id.in_(bindparam("orgs", expanding=True)), Activity.code == bindparam("code"),
                          Activity.opens_at <= bindparam("now"), Activity.closes_at > bindparam("now"))
                   .order_by(Activity.opens_at.desc()).limit(1))


async def open_with_code(session: AsyncSession, *, org_ids: Sequence[int], code: str, now: datetime) -> Opened | None:
    """The open activity with `code` among the given organisations, nearest-created first."""
    return cast(Opened | None, (await run(session, _OPEN_WITH_CODE,
                                          {"orgs": list(org_ids), "code": code, "now": now})).first())


async def check_in(session: AsyncSession, *, activity_id: int, member_id: int, now: datetime) -> bool:
    """Record the check-in once; False when the member had already checked in."""
    return await insert_once(session, CheckIn, activity_id=activity_id, member_id=member_id, at=now)

