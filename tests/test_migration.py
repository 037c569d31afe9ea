"""Upgrading a live database in place: a database at the schema before the organisation tree (0004), filled
with the demo roster, check-ins, claims and a confirmed star review, keeps every row and id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.repo import orgs
from bot.roster.imports import read_rows
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import upgrade
from bot.storage.models import AuditEntry
from tests.conftest import ROOT, Scratch, Snapshot, snapshot

AT = datetime(2026, 10, 12, 1, 30, tzinfo=UTC)


@pytest.fixture
async def scratch_url(scratch: Scratch) -> str:
    return await scratch("migration")


def _fill(conn: Connection, *, sqlite: bool) -> None:
    """Rows as the 0004 code wrote them: organisations unique by name, audit rows without an organisation."""
    tables = MetaData()
    tables.reflect(conn)
    t: dict[str, Table] = dict(tables.tables)
    at = AT.replace(tzinfo=None) if sqlite else AT

    def put(name: str, *rows: dict[str, Any]) -> None:
        for row in rows:
            conn.execute(t[name].insert().values(**row))

    put("organisations", {"id": 5, "name": "塘约村党总支", "kind": "党总支", "parent_id": None},
        {"id": 7, "name": "第一党支部", "kind": "党支部", "parent_id": 5},
        {"id": 9, "name": "第二党支部", "kind": "党支部", "parent_id": 5})
    branch = {"第一党支部": 7, "第二党支部": 9, "塘约村党总支": 5}
    put("members", *({"id": 100 + n, "name": row.name, "phone": row.phone, "role": row.role,
                      "org_id": branch[row.branch.rpartition("/")[2]], "joined_on": row.joined_on,
                      "openid": f"o-{row.phone}", "language": "zh", "hide_rank": False, "created_at": at}
                     for n, row in enumerate(read_rows(ROOT / "deploy/demo/roster.csv"))))
    put("activities", {"id": 3, "org_id": 7, "title": "主题党日", "key": None, "code": "4821", "opened_by": 100,
                       "opens_at": at, "closes_at": at})
    put("check_ins", {"id": 11, "activity_id": 3, "member_id": 101, "at": at},
        {"id": 12, "activity_id": 3, "member_id": 102, "at": at})
    put("point_entries", {"id": 21, "member_id": 101, "action": "checkin", "delta": 2, "reason": "签到：主题党日",
                          "event_key": "checkin:3:101", "occurred_at": at})
    put("volunteer_claims", {"id": 31, "member_id": 101, "org_id": 7, "minutes": 120, "description": "防汛值守",
                             "status": "approved", "created_at": at, "decided_by": 100, "decided_at": at},
        {"id": 32, "member_id": 111, "org_id": 9, "minutes": 60, "description": "环境整治", "status": "pending",
         "created_at": at})
    put("star_reviews", {"id": 41, "org_id": 7, "quarter": "2026Q3", "created_at": at, "confirmed_by": 100,
                         "confirmed_at": at})
    put("star_proposals", {"id": 51, "review_id": 41, "member_id": 101, "star": "服务星", "proposed": True,
                           "evidence": "完成志愿服务 2 小时", "decision": True})
    put("held_stars", {"member_id": 101, "star": "服务星", "since": "2026Q3"})
    put("star_changes", {"id": 61, "member_id": 101, "star": "服务星", "granted": True, "quarter": "2026Q3",
                         "reason": "完成志愿服务 2 小时", "at": at})
    put("audit_trail", {"id": 71, "actor_id": 100, "member_id": 101, "action": "volunteer_approve",
                        "subject": "volunteer:31", "detail": "2h 防汛值守; +4", "at": at},
        {"id": 72, "actor_id": 100, "member_id": None, "action": "star_confirm", "subject": "stars:2026Q3",
         "detail": "第一党支部: 1 changes, 0 overruled", "at": at})


async def _on(engine: AsyncEngine, work: Any) -> Any:
    async with engine.begin() as conn:
        return await conn.run_sync(work)


async def test_an_old_database_upgrades_with_every_row_and_id_kept(scratch_url: str) -> None:
    await asyncio.to_thread(upgrade, scratch_url, "0004")
    engine = make_engine(scratch_url)
    await _on(engine, lambda c: _fill(c, sqlite=scratch_url.startswith("sqlite")))
    before: Snapshot = await _on(engine, snapshot)
    await engine.dispose()

    await asyncio.to_thread(upgrade, scratch_url)

    engine = make_engine(scratch_url)
    after: Snapshot = await _on(engine, snapshot)
    for name, (columns, rows) in before.items():
        kept = sorted(({c: row[c] for c in columns} for row in after[name][1]), key=repr)
        assert kept == rows, name
    assert sum(len(rows) for _, rows in before.values()) == 37  # what _fill wrote
    assert after["organisations"][0] == ["id", "kind", "name", "parent_id", "path"]

    async with make_sessionmaker(engine)() as session:
        first = await orgs.resolve(session, path="第一党支部")
        assert (first.id, first.path) == (7, "塘约村党总支/第一党支部")
        assert (await orgs.resolve(session, path="塘约村党总支")).path == "塘约村党总支"
        assert await orgs.subtree(session, org_id=5) == [5, 7, 9]
        audit_orgs = {id_: org for id_, org in await session.execute(select(AuditEntry.id, AuditEntry.org_id))}
    assert audit_orgs == {71: 7, 72: 7}  # the approved member's branch; the branch the confirmation names
    await engine.dispose()
