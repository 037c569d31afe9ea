"""Meetings from plan to close through the webhook (issue 14, part A), in the two villages whose branches share
names (tests/villages.csv): plan → reminder → leave → check-in on time and late → close (twice, and two at once) →
one catch-up per absentee without leave → `答` records 补学 → 送学 → minutes and a photo; nothing crosses villages."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.ops.cli import main
from bot.storage.db import SessionMaker
from bot.storage.models import Attendance, Meeting, MeetingMinute
from bot.wechat.fake import FakeWeChat
from scheduler import meetings as meeting_jobs
from scheduler import runner
from scheduler.delivery_loop import deliver_due
from tests.conftest import Clock, services_of
from tests.test_villages import (  # noqa: F401 (fixtures)
    BRANCH,
    TZ,
    A,
    B,
    Village,
    live,
    member_ids,
    run_job,
    village_roster,
    villages,
)

LEAVE_REASON = "外出务工赶不回来"
MINUTES = "传达学习了全会精神，讨论了明年春耕安排。"


async def _plan(secretary: object, text: str) -> int:
    reply = await secretary.says(text)  # type: ignore[attr-defined]
    found = re.search(r"已安排 (\d+) 号会议", reply)
    assert found, reply
    return int(found.group(1))


async def _statuses(db: SessionMaker, meeting_id: int) -> dict[int, tuple[str, str | None]]:
    async with db() as session:
        return {a.member_id: (a.status, a.makeup) for a in await session.scalars(
            select(Attendance).where(Attendance.meeting_id == meeting_id))}


@pytest.fixture
def december(clock: Clock) -> None:
    """Everyone binds (and so opens their 48-hour window) two days before the meeting."""
    clock.now = datetime(2026, 12, 18, 9, 0, tzinfo=TZ)


async def test_a_meeting_from_plan_to_catch_up_in_two_villages(
        december: None, villages: dict[str, Village], live: TestClient, clock: Clock, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        wechat: FakeWeChat, cli_env: None, tmp_path: Path) -> None:
    services = services_of(live)
    a, b = villages[A], villages[B]
    clock.now = datetime(2026, 12, 18, 10, 0, tzinfo=TZ)
    ours = await _plan(a.secretary, "会议 党员大会 12月20日 14:30 村委会 学习全会精神")
    theirs = await _plan(b.secretary, "会议，党员大会，１２月２０日下午两点半，村委会，学习全会精神。")
    await deliver_due(services)
    assert f"请假 {ours} 理由" in a["孙丽"].pushed()[-1] and "村委会" in a["孙丽"].pushed()[-1]
    assert not [p for p in b["郑红"].pushed() if f"请假 {ours} " in p]

    # leave: asked, told to the secretary only, granted; another asked and refused; another village's number is not
    assert "已向书记提交请假" in await a["王芳"].says(f"请假 {LEAVE_REASON}")
    assert "没有找到你要参加的" in await b["王芳"].says(f"请假 {ours} 有事")
    assert "已向书记提交请假" in await a["刘洋"].says(f"请假 {ours} 家里有事")
    spoken = await a["孙丽"].says("请假12月20号的会我去不了。")  # a date, not meeting number 12: her next meeting
    assert "已向书记提交请假" in spoken and f"{ours} 号" in spoken, spoken
    assert "已不准孙丽的请假" in await a.secretary.says("不准 孙丽 会议重要")
    await deliver_due(services)
    assert any(LEAVE_REASON in p and "准假 王芳" in p for p in a.secretary.pushed())
    assert "已准许王芳的请假" in await a.secretary.says("准假 王芳")
    assert "理由" in await a.secretary.says("不准 刘洋")  # a reason is asked for
    assert "已不准刘洋的请假" in await a.secretary.says("不准 刘洋 会议内容重要")
    assert "没有待处理的请假" in await b.secretary.says("准假 王芳")
    await deliver_due(services)
    assert "请假已获批准" in a["王芳"].pushed()[-1] and "未获批准" in a["刘洋"].pushed()[-1]

    # the evening before: one reminder each, however often the job runs
    clock.now = datetime(2026, 12, 19, 18, 0, tzinfo=TZ)
    assert await run_job(live, "meeting_reminders", clock.now) == "reminders for 2026-12-20: 2 meetings"
    job = runner.find_job(services, "meeting_reminders")
    assert job is not None
    await runner.run(services, job, clock.now, again=True)  # by hand, again: the campaign keys still dedupe
    await deliver_due(services)
    assert len([p for p in a["孙丽"].pushed() if p.startswith("【会议提醒】")]) == 1

    # the day: everyone looks at their meetings (which also keeps their 48-hour window open)
    clock.now = datetime(2026, 12, 20, 14, 0, tzinfo=TZ)
    for village, own, other in ((a, ours, theirs), (b, theirs, ours)):
        for person in village.people.values():
            listed = await person.says("会议")
            if person.name not in ("周国庆", "吴永红"):  # the 党总支's own members are not in a branch meeting
                assert f"{own} 号" in listed, (person.name, listed)
            assert f"{other} 号" not in listed, (person.name, listed)

    # the start: the check-in opens by itself and the secretary gets the code
    clock.now = datetime(2026, 12, 20, 14, 30, tzinfo=TZ)
    assert await meeting_jobs.step(services) == [f"opened {ours}", f"opened {theirs}"]
    await deliver_due(services)
    code = re.search(r"签到码：(\d{4})", a.secretary.pushed()[-1])
    assert code, a.secretary.pushed()[-1]
    clock.now = datetime(2026, 12, 20, 14, 38, tzinfo=TZ)
    assert "签到成功" in await a["李强"].says(f"签到 {code.group(1)}")
    clock.now = datetime(2026, 12, 20, 14, 45, tzinfo=TZ)
    assert "签到成功" in await a["赵敏"].says(f"签到 {code.group(1)}")

    # minutes and a photo, private to the branch and above
    clock.now = datetime(2026, 12, 20, 16, 0, tzinfo=TZ)
    assert "已记录" in await a.secretary.says(f"纪要 {ours} {MINUTES}")
    assert f"照片已附在 {ours} 号会议" in (await a.secretary.photo("https://example.com/meeting.jpg") or "")
    assert "没有找到" in await b.secretary.says(f"纪要 {ours} 冒名记录")
    assert "没有找到" in await b.secretary.says(f"会议 {ours}")
    assert MINUTES not in await a["孙丽"].says(f"会议 {ours}")

    # the close: two runs at once and one more settle it once and queue one catch-up per absentee without leave
    clock.now = datetime(2026, 12, 20, 16, 31, tzinfo=TZ)
    runs = await asyncio.gather(meeting_jobs.step(services), meeting_jobs.step(services))
    assert sorted(x for run in runs for x in run) == [f"closed {ours}", f"closed {theirs}"]
    assert await meeting_jobs.step(services) == []
    await deliver_due(services)
    ids = await member_ids(db)
    status = {name: (await _statuses(db, ours))[ids[p.number]] for name, p in a.people.items() if name != "周国庆"}
    assert status == {"张建华": ("absent", None), "王芳": ("leave", None), "刘洋": ("absent", None),
                      "李强": ("present", None), "赵敏": ("late", None), "孙丽": ("absent", None)}
    for name, person in a.people.items():
        catch_ups = [p for p in person.pushed() if p.startswith("【补学】")]
        assert len(catch_ups) == (1 if status.get(name, ("",))[0] == "absent" else 0), (name, catch_ups)
    assert MINUTES in next(p for p in a["孙丽"].pushed() if p.startswith("【补学】"))

    # `答` answers the catch-up: wrong, then right; 送学 for another; the members on leave by the secretary's choice
    assert "不对" in await a["孙丽"].says("答 B")
    assert "完成" in await a["孙丽"].says("答 A") and "补学" in await a["孙丽"].says(f"会议 {ours}")
    assert "已记录为刘洋送学" in await a.secretary.says(f"送学 刘洋 {ours}")
    assert "没有找到" in await b.secretary.says(f"送学 王芳 {ours}")
    assert "请假的 1 位党员" in await a.secretary.says(f"补学 {ours} 请假")
    await deliver_due(services)
    assert len([p for p in a["王芳"].pushed() if p.startswith("【补学】")]) == 1
    detail = await a.secretary.says(f"会议 {ours}")
    assert "出席 1 人，迟到 1 人，请假 1 人" in detail and "补学 1 人，送学 1 人" in detail and MINUTES in detail
    assert "你的情况：缺席\n出席 1 人" in detail, detail  # the secretary's own standing, on its own line
    assert (await _statuses(db, ours))[ids[a["孙丽"].number]] == ("absent", "补学")

    async with db() as session:
        photos = list(await session.scalars(select(MeetingMinute.meeting_id).where(
            MeetingMinute.photo_media_id.is_not(None))))
        assert photos == [ours]
        assert len({m.org_id for m in await session.scalars(select(Meeting))}) == 2
    for person in b.people.values():  # nothing of village A's leave reasons or minutes reached village B
        assert not [p for p in person.pushed() if LEAVE_REASON in p or MINUTES in p], person.name
    for person in a.people.values():
        if person is not a.secretary:
            assert not [p for p in person.pushed() if LEAVE_REASON in p], person.name

    # the 台账 holds every one of these as it was said in chat, and nothing of the other village
    out = tmp_path / "ledger.xlsx"
    assert await asyncio.to_thread(main, ["ledger", "--org", A, "--year", "2026", "--out", str(out)]) == 0
    rows = list(load_workbook(out)["党员大会"].iter_rows(values_only=True))
    assert len(rows) == 2, rows  # the header and our meeting: not village B's
    cells = dict(zip(rows[0], rows[1], strict=True))
    names = {column: set(str(cells[column] or "").split("、")) - {""} for column in
             ("按时出席", "迟到", "请假", "缺席", "豁免", "补学", "送学")}
    assert (cells["组织"], cells["日期"], cells["开始"], cells["结束"], cells["地点"], cells["主题"], cells["状态"]) == (
        A + BRANCH, datetime(2026, 12, 20), time(14, 30),
        time(16, 30), "村委会", "学习全会精神", "已召开")
    assert names == {"按时出席": {"李强"}, "迟到": {"赵敏"}, "请假": {"王芳"}, "缺席": {"张建华", "刘洋", "孙丽"},
                     "豁免": set(), "补学": {"孙丽"}, "送学": {"刘洋"}}
    assert (cells["纪要"], cells["照片（张）"], cells["照片链接"]) == (MINUTES, 1, "https://example.com/meeting.jpg")


async def test_the_theme_day_is_a_meeting_planned_by_the_secretary_or_else_by_the_calendar(
        december: None, villages: dict[str, Village], live: TestClient, clock: Clock,  # type: ignore[type-arg]  # noqa: F811
        db: SessionMaker, wechat: FakeWeChat) -> None:
    services = services_of(live)
    a, b = villages[A], villages[B]
    clock.now = datetime(2027, 1, 10, 9, 0, tzinfo=TZ)
    ours = await _plan(a.secretary, "会议 主题党日 1月15日 下午2点半 村史馆 聆听老党员讲故事")
    clock.now = datetime(2027, 1, 13, 10, 0, tzinfo=TZ)
    for person in [*a.people.values(), *b.people.values()]:
        await person.says("会议")  # the window is open for the pushes below
    clock.now = datetime(2027, 1, 14, 18, 0, tzinfo=TZ)
    assert await run_job(live, "theme_day_reminder", clock.now) == "theme day reminders for 2027-01-15: 4 branches"
    await deliver_due(services)
    assert "14:30" in a["孙丽"].pushed()[-1] and "聆听老党员讲故事" in a["孙丽"].pushed()[-1]
    assert "08:00" in b["郑红"].pushed()[-1] and "学党章党规" in b["郑红"].pushed()[-1]  # calendar.toml's January
    theirs = re.search(r"请假 (\d+) 理由", b["郑红"].pushed()[-1])
    assert theirs, b["郑红"].pushed()[-1]
    assert "已向书记提交请假" in await b["郑红"].says(f"请假 {theirs.group(1)} 上午要去医院")
    changed = await b.secretary.says("会议 主题党日 1月15日 9:00 村委会 学习村规民约")  # the branch's own plan
    assert f"已修改 {theirs.group(1)} 号会议" in changed, changed
    await deliver_due(services)
    assert "变更通知" in b["郑红"].pushed()[-1] and "请再回复一次" in b["郑红"].pushed()[-1]
    assert "没有待处理的请假" in await b.secretary.says("准假 郑红")  # asked for the old time: forgotten

    clock.now = datetime(2027, 1, 15, 8, 0, tzinfo=TZ)
    await run_job(live, "theme_day", clock.now)
    await deliver_due(services)
    assert "开始时开启签到" in a["孙丽"].pushed()[-1] and "开始时开启签到" in b["郑红"].pushed()[-1]
    clock.now = datetime(2027, 1, 15, 9, 0, tzinfo=TZ)
    assert await meeting_jobs.step(services) == [f"opened {theirs.group(1)}"]
    clock.now = datetime(2027, 1, 15, 14, 30, tzinfo=TZ)
    assert await meeting_jobs.step(services) == [f"opened {ours}", f"closed {theirs.group(1)}"]  # 9:00 for 120 minutes
    async with db() as session:
        kinds = {(m.org_id, m.kind) for m in await session.scalars(select(Meeting).where(Meeting.kind == "主题党日"))}
    assert len(kinds) == 4  # one theme day per branch (and per 党总支 for its own members), none twice


async def test_a_meeting_recorded_after_it_ended_waits_for_its_secretary_to_say_who_attended(
        december: None, villages: dict[str, Village], live: TestClient, clock: Clock, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        wechat: FakeWeChat) -> None:
    services = services_of(live)
    a, b = villages[A], villages[B]
    recorded = await a.secretary.says("会议 党员大会 12月16日 19:00 村委会 讨论冬季防火 60分钟")
    found = re.search(r"已补记 (\d+) 号会议", recorded)
    assert found and "出席" in recorded, recorded
    number = found.group(1)
    assert await meeting_jobs.step(services) == []  # neither opened nor closed by itself
    assert f"{number} 号" in await a.secretary.says("会议")  # listed while its 出席 is owed
    assert "会后补记的会议，请发送「出席" in await a.secretary.says(f"会议 {number}")
    await deliver_due(services)
    assert not [p for person in a.people.values() for p in person.pushed() if "讨论冬季防火" in p]

    assert "没有叫「查无此人」的党员" in await a.secretary.says(f"出席 {number} 查无此人")
    assert "没有找到" in await b.secretary.says(f"出席 {number} 李强")
    assert "书记" in await a["李强"].says(f"出席 {number} 李强")  # members may not
    detail = await a.secretary.says(f"出席 {number} 李强 赵敏")
    assert "出席 2 人" in detail, detail
    ids = await member_ids(db)
    statuses = await _statuses(db, int(number))
    assert {name for name, p in a.people.items() if statuses.get(ids[p.number], ("",))[0] == "present"} == {"李强", "赵敏"}
    assert "已经结束并登记" in await a.secretary.says(f"出席 {number} 孙丽")  # once
    await deliver_due(services)
    absent = [name for name, p in a.people.items() if statuses.get(ids[p.number], ("",))[0] == "absent"]
    assert absent and all(len([x for x in a[n].pushed() if x.startswith("【补学】")]) == 1 for n in absent)

    # an exemption entered afterwards, covering that day, excuses the absence it would have prevented
    excused = await a.secretary.says("豁免 孙丽 12月15日 12月31日 生病住院")
    assert "已经召开的 1 次会议，缺席已改记为豁免" in excused, excused
    assert (await _statuses(db, int(number)))[ids[a["孙丽"].number]] == ("exempt", None)


async def test_a_member_lists_only_the_meetings_they_are_asked_to(
        december: None, villages: dict[str, Village], live: TestClient) -> None:  # type: ignore[type-arg]  # noqa: F811
    a = villages[A]
    committee = await _plan(a.secretary, "会议 支委会 12月21日 9:00 村委会 研究发展党员")
    assert "党小组会由党小组召开" in await a.secretary.says("会议 党小组会 12月22日 19:00 活动室 学习党章")
    group = await _plan(a.secretary, "会议 党小组会 @第一党小组 12月22日 19:00 活动室 学习党章")
    assert f"{committee} 号" in await a.secretary.says("会议") and f"{group} 号" in await a.secretary.says("会议")
    outside = await a["王芳"].says("会议")  # a branch member, not of the group nor the committee
    assert f"{committee} 号" not in outside and "研究发展党员" not in outside and f"{group} 号" not in outside
    inside = await a["李强"].says("会议")  # of the group
    assert f"{group} 号" in inside and "研究发展党员" not in inside
    last = await _plan(a.secretary, "会议 党小组会 12月23日 19:00 活动室 学习党章 @第一党小组")  # @ at the end
    assert f"{last} 号" in await a["李强"].says("会议") and f"{last} 号" not in await a["王芳"].says("会议")
    again = await a.secretary.says("会议 党小组会 12月23日 19:00 活动室 学习党章 @第一党小组")  # sent twice
    assert f"已经安排了 {last} 号会议" in again, again


async def test_a_meeting_is_called_off_before_it_begins_and_its_audience_is_told_once(
        december: None, villages: dict[str, Village], live: TestClient, clock: Clock, db: SessionMaker,  # type: ignore[type-arg]  # noqa: F811
        wechat: FakeWeChat) -> None:
    services = services_of(live)
    a, b = villages[A], villages[B]
    number = await _plan(a.secretary, "会议 党员大会 12月20日 14:30 村委会 学习全会精神")
    assert "已向书记提交请假" in await a["王芳"].says(f"请假 {number} 外出")
    assert "没有找到" in await b.secretary.says(f"取消会议 {number}")
    assert "请写明要取消的会议号" in await a.secretary.says("取消会议")
    assert f"已取消 {number} 号会议" in await a.secretary.says(f"取消会议 {number}")
    await deliver_due(services)
    assert len([p for p in a["孙丽"].pushed() if p.startswith("【会议取消】")]) == 1
    assert not [p for p in b["郑红"].pushed() if p.startswith("【会议取消】")]
    assert "没有找到" in await a.secretary.says(f"会议 {number}")
    again = await _plan(a.secretary, "会议 党员大会 12月20日 14:30 村委会 学习全会精神")  # planned anew
    assert again != number  # a number members were sent is never another meeting's
    assert f"已取消 {again} 号会议" in await a.secretary.says(f"取消会议 {again}")
    await deliver_due(services)
    assert len([p for p in a["孙丽"].pushed() if p.startswith("【会议取消】")]) == 2
    clock.now = datetime(2026, 12, 20, 14, 30, tzinfo=TZ)
    assert await meeting_jobs.step(services) == []  # nothing opens or closes
    begun = await _plan(a.secretary, "会议 党员大会 12月20日 14:30 村委会 学习全会精神")
    clock.now = datetime(2026, 12, 20, 14, 40, tzinfo=TZ)
    assert "已经开始，不能取消" in await a.secretary.says(f"取消会议 {begun}")


async def test_leave_goes_to_the_meeting_its_words_name_by_day_or_number(
        december: None, villages: dict[str, Village], live: TestClient) -> None:  # type: ignore[type-arg]  # noqa: F811
    a = villages[A]
    sooner = await _plan(a.secretary, "会议 党课 12月19日 9:00 村委会 学党章")
    later = await _plan(a.secretary, "会议 党员大会 12月20日 14:30 村委会 学习全会精神")
    by_day = await a["王芳"].says("请假12月20号的会我去不了。")  # as speech comes: a day, not a number
    assert f"{later} 号会议" in by_day and "已向书记提交请假" in by_day, by_day
    by_number = await a["刘洋"].says(f"请假，{later}号会议我去不了。")
    assert f"{later} 号会议" in by_number, by_number
    plain = await a["李强"].says("请假 家里有事")  # no day, no number: the next meeting
    assert f"{sooner} 号会议" in plain, plain
    assert "没有要参加的会议" in await a["赵敏"].says("请假 12月25日 走亲戚")  # no meeting that day


@pytest.mark.parametrize("text", ["会议 党员大会 2099年1月1日 19:30 村委会 学习党章", "会议 党课 2028年3月1日 14:30 活动室 学党史"])
async def test_a_meeting_more_than_a_year_ahead_is_a_slip_and_nobody_is_told(
        december: None, villages: dict[str, Village], live: TestClient, db: SessionMaker, text: str) -> None:  # type: ignore[type-arg]  # noqa: F811
    reply = await villages[A].secretary.says(text)
    assert "太远了" in reply and "最多提前一年" in reply
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Meeting)) == 0
