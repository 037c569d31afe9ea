"""督办 on a three-branch tree: the colours `督办` shows equal `palmbot oversight`'s and the rule's table
(tests/test_rules_oversight.py), each secretary sees their own subtree only, members are refused, and the
reminder job tells each red or yellow organisation's own secretaries once per reason."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime, time

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ops.cli import main
from bot.roster.imports import RosterRow, apply_rows
from bot.rules.oversight import MeetingFacts
from bot.storage.db import SessionMaker
from bot.storage.models import Campaign, Delivery, Member, Role
from scheduler import runner
from tests import meeting_rows
from tests.conftest import TZ, Clock, services_of
from tests.phone import Phone
from tests.test_rules_oversight import TREE

ROOT_ORG = "塘约村党总支"
COLOURS = {"red": "红", "yellow": "黄", "green": "绿"}
EXTRA = [  # the demo roster's two branches, plus a third and a 党小组 under each of the first two
    ("谢文斌", "13800000031", "第三党支部", Role.SECRETARY), ("蒋春燕", "13800000032", "第三党支部", Role.MEMBER),
    ("曹志明", "13800000033", "第一党支部/第一党小组", Role.MEMBER),
    ("袁丽", "13800000034", "第二党支部/第一党小组", Role.MEMBER),
]
Phones = Callable[[str], Phone]


def full(tail: str) -> str:
    return ROOT_ORG if tail == ROOT_ORG else f"{ROOT_ORG}/{tail}"


@pytest.fixture
async def tree(live: TestClient, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    """The tree of TREE, with its meetings stored as the meeting commands store them."""
    async with db.begin() as session:
        await apply_rows(session, [RosterRow(name, phone, full(org), role, None) for name, phone, org, role in EXTRA],
                         clock())
        author = await session.scalar(select(Member.id).where(Member.phone == "13800000001"))
        assert author is not None
        for tail, _, meetings, _, _ in TREE:
            org = await meeting_rows.org_id(session, full(tail))
            for facts in meetings:
                await _store(session, org, facts, author)


async def _store(session: AsyncSession, org: int, facts: MeetingFacts, author: int) -> None:
    starts_at = datetime.combine(facts.starts_on, time(14, 30), TZ)
    held = await meeting_rows.meeting(session, org=org, kind=facts.kind, starts_at=starts_at,
                                      planned_at=datetime.combine(facts.planned_on, time(10, 0), TZ),
                                      closed=starts_at < datetime(2026, 11, 16, tzinfo=TZ))
    if facts.recorded:
        await meeting_rows.minute(session, held, author=author, at=held.ends_at, text="会议纪要")


def colours(reply: str) -> dict[str, str]:
    """{path: 红/黄/绿} as the 督办 view lists them."""
    return {path: colour for colour, path in re.findall(r"^【(红|黄|绿)】(\S+)$", reply, re.MULTILINE)}


EXPECTED = {full(tail): COLOURS[colour] for tail, _, _, colour, _ in TREE}


async def test_duban_shows_the_tables_colours_and_palmbot_oversight_prints_the_same(
        tree: None, member: Phones, cli_env: None, clock: Clock, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    above = await member("13800000021").bound("彭光明")
    reply = await above.send("督办")
    assert reply is not None and colours(reply) == EXPECTED, reply
    assert reply.startswith(f"{ROOT_ORG} 2026年11月督办：红 1，黄 2，绿 3"), reply
    assert "11月主题党日没有在10月25日前报备计划" in reply and "11月没有开展党小组活动" in reply
    assert re.search(r"\d+ 号会议（11月3日 支委会「学习全会精神」）结束已超过7天，还没有纪要", reply), reply
    assert await above.send("督办 11月") == reply and await above.send("督办：2026年11月。") == reply

    monkeypatch.setattr("bot.ops.cli.datetime", _frozen(clock()))
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["oversight", "--org", ROOT_ORG, "--month", "2026-11"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == reply.strip()
    assert await asyncio.to_thread(main, ["oversight", "--org", ROOT_ORG]) == 0  # this month by default
    assert capsys.readouterr().out.strip() == reply.strip()
    assert await asyncio.to_thread(main, ["oversight", "--org", ROOT_ORG, "--month", "十一月"]) == 2
    assert "not a month such as 2026-12" in capsys.readouterr().err


def _frozen(now: datetime) -> type[datetime]:
    class Frozen(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Frozen:  # type: ignore[override]
            return cls.fromtimestamp(now.timestamp(), now.tzinfo)

    return Frozen


async def test_a_branch_secretary_sees_only_their_subtree_and_members_are_refused(tree: None, member: Phones) -> None:
    branch = await member("13800000001").bound("张建国")
    reply = await branch.send("督办")
    assert reply is not None
    assert colours(reply) == {p: c for p, c in EXPECTED.items() if p.startswith(full("第一党支部"))}, reply
    for refused in ("13800000002", "13800000033"):
        phone = await member(refused).bound({"13800000002": "李秀英", "13800000033": "曹志明"}[refused])
        assert await phone.send("督办") == "这条指令仅支部书记和管理员可以使用。回复「帮助」查看你可以使用的指令。"


@pytest.mark.parametrize("asked", ["13月", "12月下旬", "2027年1月"])
async def test_a_month_not_understood_or_after_next_is_refused_never_replaced(tree: None, member: Phones,
                                                                          asked: str) -> None:
    above = await member("13800000021").bound("彭光明")
    reply = await above.send(f"督办 {asked}")
    assert reply is not None and reply.startswith(f"没有看懂要哪个月：「{asked}」"), reply


async def test_next_month_shows_whose_theme_day_is_not_planned_yet(tree: None, member: Phones) -> None:
    above = await member("13800000021").bound("彭光明")
    coming = await above.send("督办 12月")  # in November: December's plans, due by 25 November
    assert coming is not None and "2026年12月" in coming and "12月主题党日没有在11月25日前报备计划" in coming, coming


async def reminded(db: SessionMaker) -> set[tuple[str, str]]:
    """(campaign key without the organisation id, member name) of every 督办 reminder."""
    async with db() as session:
        rows = await session.execute(
            select(Campaign.key, Member.name).join(Delivery, Delivery.campaign_id == Campaign.id)
            .join(Member, Member.id == Delivery.member_id).where(Campaign.key.startswith("oversight:")))
        return {(re.sub(r"^oversight:\d+:", "", key), name) for key, name in rows}


async def test_reminders_tell_each_branch_secretary_once_per_reason_on_the_20th_and_26th(
        tree: None, live: TestClient, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    async with db.begin() as session:  # the first branch files December's plan in time, the others do not
        first = await meeting_rows.org_id(session, full("第一党支部"))
        await meeting_rows.meeting(session, org=first, kind="主题党日", starts_at=datetime(2026, 12, 15, 9, tzinfo=TZ),
                                   planned_at=datetime(2026, 11, 20, tzinfo=TZ))
    job = runner.find_job(services_of(live), "oversight_reminder")
    assert job is not None
    assert job.next_fire(clock()) == datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    novembers = {("2026-11:group_idle", "张建国"), ("2026-11:no_plan", "孙卫东")}
    assert await reminded(db) == set()

    clock.now = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    assert await runner.run(services_of(live), job, clock.now) == "oversight 2026-11: 3 reminders"
    told = await reminded(db)
    minutes = {(k, n) for k, n in told if k.startswith("2026-11:no_minutes:")}
    assert len(minutes) == 1 and {n for _, n in minutes} == {"谢文斌"}
    assert told == novembers | minutes
    assert await runner.run(services_of(live), job, clock.now, again=True) == "oversight 2026-11: 0 reminders"

    clock.now = datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
    assert await runner.run(services_of(live), job, clock.now) == "oversight 2026-11: 2 reminders"
    decembers = {("2026-12:no_plan", "孙卫东"), ("2026-12:no_plan", "谢文斌")}
    assert await reminded(db) == novembers | minutes | decembers

    clock.now = datetime(2026, 12, 20, 9, 0, tzinfo=TZ)  # December's plans were told on the 26th: not again
    assert await runner.run(services_of(live), job, clock.now) == "oversight 2026-12: 2 reminders"
    idle = {("2026-12:group_idle", "张建国"), ("2026-12:group_idle", "孙卫东")}
    assert await reminded(db) == novembers | minutes | decembers | idle

    async with db() as session:  # nobody but the organisation's own secretaries; the text names the organisation
        body = await session.scalar(select(Campaign.body).where(Campaign.key.endswith(":2026-11:no_plan")))
    assert body == (f"【督办提醒】{full('第二党支部')}\n2026年11月组织生活：红\n11月主题党日没有在10月25日前报备计划\n"
                    "请及时补上。回复「督办」查看本组织的情况。")
