"""Calendar pushes: 主题党日 times, catching up within the grace time, political birthdays, the daily lesson."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.keys import SERVICES
from bot.ops.simulator import Simulator
from bot.rules.anniversaries import is_political_birthday, party_years
from bot.services import Services
from bot.storage.db import SessionMaker
from bot.storage.models import Activity, Campaign, Delivery, JobRun, Meeting
from bot.wechat.fake import FakeWeChat
from scheduler import runner
from scheduler.delivery_loop import deliver_due
from tests.conftest import SECRET, TZ, AppMaker, Clock
from tests.phone import Phone


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)  # type: ignore[misc]


@pytest.mark.parametrize(("joined", "today", "expected"), [
    (date(1998, 7, 1), date(2026, 7, 1), True),
    (date(1998, 7, 1), date(2026, 7, 2), False),
    (date(2026, 7, 1), date(2026, 7, 1), False),  # the joining day itself is not an anniversary
    (date(1988, 2, 29), date(2027, 2, 28), True),  # no 29 February in 2027
    (date(1988, 2, 29), date(2028, 2, 28), False),  # 2028 has one
    (date(1988, 2, 29), date(2028, 2, 29), True),
    (date(1990, 2, 28), date(2027, 2, 28), True),
])
def test_political_birthdays_fall_back_to_28_february(joined: date, today: date, expected: bool) -> None:
    assert is_political_birthday(joined, today) is expected


@pytest.mark.parametrize(("joined", "today", "years"), [
    (date(1998, 7, 1), date(2026, 7, 1), 28), (date(1998, 7, 1), date(2026, 6, 30), 27),
    (date(1988, 2, 29), date(2027, 2, 28), 39), (date(1988, 2, 29), date(2028, 2, 29), 40),
])
def test_party_years(joined: date, today: date, years: int) -> None:
    assert party_years(joined, today) == years


@pytest.fixture
async def bot(make_client: AppMaker, roster: None) -> Services:
    client = await make_client()
    return client.app[SERVICES]  # type: ignore[no-any-return]


async def campaign_keys(db: SessionMaker) -> list[str]:
    async with db() as session:
        return list(await session.scalars(select(Campaign.key).order_by(Campaign.id)))


async def test_the_theme_day_reminder_fires_on_the_14th_at_18_and_the_notice_on_the_15th_at_8(
        bot: Services, clock: Clock, db: SessionMaker) -> None:
    jobs = {job.name: job for job in runner.jobs_of(bot)}
    assert jobs["theme_day_reminder"].next_fire(at(2026, 11, 13, 12, 0)) == at(2026, 11, 14, 18, 0)
    assert jobs["theme_day"].next_fire(at(2026, 11, 13, 12, 0)) == at(2026, 11, 15, 8, 0)

    clock.now = at(2026, 11, 14, 17, 59, 50)
    assert "theme_day_reminder" not in {o.job for o in await runner.tick(bot)}
    clock.now = at(2026, 11, 14, 18, 0, 20)
    assert [o.job for o in await runner.tick(bot)] == ["theme_day_reminder", "meeting_reminders"]
    assert await runner.tick(bot) == []  # the next tick finds it done
    clock.now = at(2026, 11, 15, 8, 0, 10)  # the evening's absence check was skipped over: recorded as missed
    assert {o.job for o in await runner.tick(bot) if o.result != "missed"} == {"theme_day", "daily_lesson"}

    keys = await campaign_keys(db)
    assert len([k for k in keys if k.startswith("meeting-reminder:")]) == 3  # each branch's theme day, once
    assert len([k for k in keys if k.startswith("themeday:2026-11-15:")]) == 3  # one per organisation with members
    async with db() as session:
        opened = await session.scalar(select(func.count()).select_from(Activity).where(Activity.key.is_not(None)))
        reminded = await session.scalar(select(func.count()).select_from(Delivery).join(Campaign)
                                        .where(Campaign.key.startswith("meeting-reminder:")))
        planned = await session.scalar(select(func.count()).select_from(Meeting).where(Meeting.key.is_not(None)))
    assert opened == 3 and reminded == 22 and planned == 3  # the calendar planned each branch's theme day


async def test_a_push_missed_by_less_than_the_grace_time_goes_out_once_an_older_one_never(
        bot: Services, clock: Clock, db: SessionMaker) -> None:
    clock.now = at(2026, 11, 15, 13, 59)  # the server was down from before 08:00 until now
    sent = {o.job for o in await runner.tick(bot) if o.result != "missed"}
    assert sent == {"theme_day", "daily_lesson", "political_birthdays"}
    clock.now = at(2026, 12, 15, 14, 30)  # down again, for longer than the six hours
    missed = await runner.tick(bot)
    assert {(o.job, o.result) for o in missed} >= {("theme_day", "missed"), ("daily_lesson", "missed")}
    assert not [k for k in await campaign_keys(db) if k.startswith("themeday:2026-12-15")]
    async with db() as session:
        outcome = await session.scalar(select(JobRun.outcome).where(JobRun.job == "theme_day",
                                                                    JobRun.fire_at == at(2026, 12, 15, 8, 0)))
    assert outcome == "missed"
    assert await runner.tick(bot) == []


async def test_a_member_who_joined_on_29_february_gets_the_card_on_28_february_and_the_secretary_a_note(
        bot: Services, clock: Clock, db: SessionMaker) -> None:
    clock.now = at(2027, 2, 28, 9, 0, 5)
    await runner.run(bot, runner.find_job(bot, "political_birthdays"), clock.now)  # type: ignore[arg-type]
    async with db() as session:
        rows = (await session.execute(select(Campaign.key, Campaign.body).order_by(Campaign.id))).all()
    cards = [body for key, body in rows if key.startswith("birthday:")]
    notes = [body for key, body in rows if key.startswith("birthday-note:")]
    assert len(cards) == 1 and "王德明同志" in cards[0] and "1988年2月29日" in cards[0] and "39 年" in cards[0]
    assert len(notes) == 1 and "王德明（党龄 39 年）" in notes[0]


async def test_the_daily_lesson_reaches_bound_members_and_its_quiz_can_be_answered(
        make_client: AppMaker, roster: None, wechat: FakeWeChat, sim: Simulator, clock: Clock) -> None:
    live: TestClient = await make_client(wechat_secret=SECRET, wechat_api_base=wechat.base)  # type: ignore[type-arg]
    services: Services = live.app[SERVICES]
    quiet, active = (Phone(live, sim, clock, n, wechat) for n in ("13800000003", "13800000002"))
    await quiet.bind("王德明")
    clock.now = at(2026, 11, 19, 7, 0)  # three days later: 王德明's window has closed
    await active.bind("李秀英")
    clock.now = at(2026, 11, 19, 8, 0, 5)
    await runner.tick(services)
    await deliver_due(services)
    lesson = services.content.lesson_for(clock.now.date())
    assert lesson and lesson.quiz

    pushed = active.pushed()
    assert len(pushed) == 1 and pushed[0].startswith(f"【微党课】{lesson.title}")
    assert (await active.send(f"答 {lesson.quiz.answer}") or "").startswith("回答正确")
    assert quiet.pushed() == []
    assert lesson.title in (await quiet.send("通知") or "")
    assert (await quiet.send(f"答 {lesson.quiz.answer}") or "").startswith("回答正确")


async def test_running_a_job_by_hand_again_sends_nothing_twice(bot: Services, clock: Clock, db: SessionMaker) -> None:
    clock.now = at(2026, 11, 15, 8, 0, 5)
    job = runner.find_job(bot, "theme_day")
    assert job is not None
    await runner.run(bot, job, at(2026, 11, 15, 8, 0))
    await runner.run(bot, job, at(2026, 11, 15, 8, 0), again=True)
    async with db() as session:
        deliveries = await session.scalar(select(func.count()).select_from(Delivery))
    assert deliveries == 22


async def test_the_three_affairs_day_reaches_everyone_on_the_25th(bot: Services, clock: Clock, db: SessionMaker) -> None:
    job = runner.find_job(bot, "recurring_three_affairs")
    assert job is not None and job.next_fire(at(2026, 11, 16, 0, 0)) == at(2026, 11, 25, 9, 0)
    clock.now = at(2026, 11, 25, 9, 0, 10)
    assert "recurring_three_affairs" in {o.job for o in await runner.tick(bot)}
    async with db() as session:
        body, rows = (await session.execute(
            select(Campaign.body, func.count(Delivery.id)).join(Delivery)
            .where(Campaign.key == "recurring:three_affairs:2026-11-25").group_by(Campaign.body))).one()
    assert "三务公开日" in body and rows == 22
