"""豁免 through the webhook: recorded and audited by the member's own secretary, left out of 待关注, explained by
`星级`, not held against the member at the quarter's review; after the end date, everything is as before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.storage.db import SessionMaker
from bot.storage.models import AuditEntry, Exemption, HeldStar, Member, StarProposal, StarReview
from scheduler import runner
from tests.conftest import Clock, services_of
from tests.phone import Phone

TZ = ZoneInfo("Asia/Shanghai")
SECRETARY_1, LI, WANG = "13800000001", "13800000002", "13800000003"
Phones = Callable[[str], Phone]


async def removals(live: TestClient, db: SessionMaker, at: datetime, quarter: str) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    """Run the star review at `at`; (name, star) of each removal it proposed for `quarter`."""
    job = runner.find_job(services_of(live), "star_review")
    assert job is not None
    await runner.run(services_of(live), job, at)
    async with db() as session:
        return {(name, star) for name, star in await session.execute(
            select(Member.name, StarProposal.star).join(Member, Member.id == StarProposal.member_id)
            .join(StarReview, StarReview.id == StarProposal.review_id)
            .where(StarReview.quarter == quarter, StarProposal.proposed.is_(False)))}


async def arrange(db: SessionMaker) -> None:
    """The roster since 2022 with nothing earned, and 李秀英 and 王德明 holding 敬业星 from the last quarter."""
    async with db.begin() as session:
        for m in await session.scalars(select(Member)):
            m.created_at = datetime(2022, 3, 1, tzinfo=TZ)
        for phone in (LI, WANG):
            member_id = await session.scalar(select(Member.id).where(Member.phone == phone))
            assert member_id is not None
            session.add(HeldStar(member_id=member_id, star="敬业星", since="2026Q3"))


def followed(listing: str) -> set[str]:
    """The names `待关注` lists."""
    return {line.split("：", 1)[0] for line in listing.splitlines()[1:] if "：" in line}


async def test_an_exempt_member_is_left_out_of_follow_up_told_by_stars_and_keeps_stars_until_it_ends(
        live: TestClient, member: Phones, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    await arrange(db)
    secretary = await member(SECRETARY_1).bound("张建国")
    li, wang = await member(LI).bound("李秀英"), await member(WANG).bound("王德明")
    assert {"李秀英", "王德明"} <= followed(await secretary.send("待关注") or "")

    done = await secretary.send("豁免 李秀英 １１月１０日至１２月１０日 冬季转场放牧。")  # voice, full-width
    assert done and done.startswith("已登记李秀英豁免：2026年11月10日至2026年12月10日，理由：冬季转场放牧。"), done
    listing = await secretary.send("豁免")
    assert listing and "李秀英：2026年11月10日至2026年12月10日，冬季转场放牧" in listing, listing
    follow_up = followed(await secretary.send("待关注") or "")
    assert "李秀英" not in follow_up and "王德明" in follow_up

    stars = await li.send("星级")
    assert stars and "本季度你有豁免：2026年11月10日至2026年12月10日（冬季转场放牧）" in stars, stars
    assert "☆ 敬业星：豁免期间不作要求，予以保留" in stars and "再参加组织活动签到" not in stars, stars
    theirs = await wang.send("星级")
    assert theirs and "豁免" not in theirs and "冬季转场" not in theirs and "再参加组织活动签到 3 次" in theirs
    assert "冬季转场" not in (await li.send("积分") or "")

    clock.now = datetime(2026, 12, 11, 9, 0, tzinfo=TZ)  # the day after it ended
    assert "李秀英" in followed(await secretary.send("待关注") or "")
    assert "目前没有豁免的党员" in (await secretary.send("豁免") or "")
    clock.now = datetime(2027, 1, 1, 9, 0, tzinfo=TZ)  # Q4's review: the exemption fell in it
    assert await removals(live, db, clock.now, "2026Q4") == {("王德明", "敬业星")}
    clock.now = datetime(2027, 2, 1, 9, 0, tzinfo=TZ)
    stars = await li.send("星级")
    assert stars and "豁免" not in stars and "☆ 敬业星：再参加组织活动签到 3 次即可获得敬业星" in stars, stars
    clock.now = datetime(2027, 4, 1, 9, 0, tzinfo=TZ)  # Q1's review: no exemption, normal again
    assert ("李秀英", "敬业星") in await removals(live, db, clock.now, "2027Q1")

    async with db() as session:
        trail = [(e.action, e.detail) for e in await session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert trail[0] == ("exempt", "2026-11-10–2026-12-10: 冬季转场放牧")


async def test_exemptions_are_refused_when_they_make_no_sense_and_end_early_when_asked(
        live: TestClient, member: Phones, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    await arrange(db)
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member(LI).bound("李秀英")
    replies = {
        "豁免 李秀英 转场": "豁免的格式",
        "豁免 李秀英 12月1日 2月28日": "请写明理由",
        "豁免 李秀英 2026-12-10 2026-12-01 病": "早于开始日期",
        "豁免 李秀英 10月1日 10月31日 病": "已经过去，不能补登",
        "豁免 张建国 12.1 12.31 自己": "不能给自己登记或取消豁免",
        "豁免 马丽娟 12.1 12.31 其他支部": "你负责的组织里没有叫「马丽娟」的党员",
        "取消豁免 马丽娟": "你负责的组织里没有叫「马丽娟」的党员",
        "取消豁免 李秀英": "李秀英目前没有豁免",
    }
    for text, expected in replies.items():
        assert expected in (await secretary.send(text) or ""), text
    assert "仅支部书记" in (await li.send("豁免 王德明 12.1 12.31 病") or "")
    assert "已登记李秀英豁免" in (await secretary.send("豁免 李秀英 11.1 12.31 住院治疗") or "")
    assert "已登记王德明豁免" in (await secretary.send("豁免 王德明 2027-01-01 2027-03-31 年老体弱") or "")
    clash = await secretary.send("豁免 李秀英 12月1日 1月31日 转场")
    assert clash and "李秀英已有豁免：2026年11月1日至2026年12月31日（住院治疗）" in clash, clash
    assert "李秀英" not in followed(await secretary.send("待关注") or "")

    assert "已提前结束李秀英的豁免，从今天起恢复正常" in (await secretary.send("取消豁免 李秀英") or "")
    assert "已提前结束王德明的豁免" in (await secretary.send("结束豁免 王德明") or "")  # one to come: dropped
    assert {"李秀英", "王德明"} <= followed(await secretary.send("待关注") or "")
    assert "目前没有豁免的党员" in (await secretary.send("豁免") or "")
    async with db() as session:
        kept = [(e.starts_on.isoformat(), e.ends_on.isoformat()) for e in await session.scalars(select(Exemption))]
        trail = [(e.action, e.detail) for e in await session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert kept == [("2026-11-01", "2026-11-15")]  # ended yesterday: the days it covered stay on record
    assert trail == [("exempt", "2026-11-01–2026-12-31: 住院治疗"), ("exempt", "2027-01-01–2027-03-31: 年老体弱"),
                     ("exempt_end", "2026-11-01–2026-12-31: 住院治疗 → 2026-11-16"),
                     ("exempt_end", "2027-01-01–2027-03-31: 年老体弱 → 2026-11-16")]
