"""Every command a member or secretary can send, through the webhook, checked by reply and database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.content import load_content
from bot.storage.models import BindFailure, CheckIn, Member, PointEntry, QuizAnswer
from tests.conftest import ROOT, TZ


async def _code(secretary, title: str = "主题党日", minutes: int = 120) -> str:
    reply = await secretary.send(f"发起签到 {title} {minutes}")
    assert reply.startswith("已为第一党支部开启签到"), reply
    return reply.split("签到码：")[1][:4]


async def test_an_unbound_follower_gets_the_welcome_and_help_explaining_binding(roster, phone) -> None:
    stranger = phone("13800000002")
    assert "绑定 姓名 手机号后四位" in await stranger.event("subscribe")
    assert "「绑定 姓名 手机号后四位」绑定党员身份" in await stranger.send("帮助")


async def test_help_differs_by_role(roster, phone) -> None:
    member, secretary = phone("13800000002"), phone("13800000001")
    await member.bind("李秀英")
    await secretary.bind("张建国")
    member_help, secretary_help = await member.send("帮助"), await secretary.send("帮助")
    assert "「积分」" in member_help and "发起签到" not in member_help
    assert "发起签到" in secretary_help


async def test_binding_links_the_openid_to_the_roster_entry(roster, phone, db) -> None:
    member = phone("13800000002")
    reply = await member.send("绑定 李秀英 0002")
    assert reply == "绑定成功！李秀英同志，你已加入塘约村党总支/第一党支部。回复「帮助」查看可以使用的功能。"
    async with db() as session:
        assert await session.scalar(select(Member.openid).where(Member.phone == "13800000002")) == member.openid
    assert "已绑定为李秀英" in await member.send("绑定 李秀英 0002")


async def test_wrong_binding_details_get_a_clear_answer_and_are_counted(roster, phone, db) -> None:
    member = phone("13800000002")
    assert "没有找到" in await member.send("绑定 李秀英 9999")
    assert "绑定格式" in await member.send("绑定 李秀英")
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(BindFailure)) == 1
        assert await session.scalar(select(Member.openid).where(Member.phone == "13800000002")) is None


async def test_repeated_wrong_binding_is_slowed_down_then_allowed_again(roster, phone, clock) -> None:
    member = phone("13800000002")
    for _ in range(3):
        assert "没有找到" in await member.send("绑定 李秀英 9999")
    assert "请 1 分钟后再试" in await member.send("绑定 李秀英 0002")
    clock.advance(minutes=1)
    assert "没有找到" in await member.send("绑定 李秀英 9999")
    assert "请 2 分钟后再试" in await member.send("绑定 李秀英 0002")
    clock.advance(minutes=2)
    assert (await member.send("绑定 李秀英 0002")).startswith("绑定成功")


async def test_ambiguous_binding_asks_for_the_secretary(roster, phone, db, clock) -> None:
    async with db.begin() as session:
        session.add(Member(name="李秀英", phone="13900000002", org_id=(await session.scalar(
            select(Member.org_id).where(Member.phone == "13800000002"))), role="党员", created_at=clock()))
    assert "多位党员" in await phone("13700000002").send("绑定 李秀英 0002")


async def test_a_roster_entry_bound_to_another_wechat_cannot_be_taken_nor_probed_freely(roster, phone) -> None:
    await phone("13800000002").bind("李秀英")
    prober = phone("13700000000")
    for _ in range(3):  # a wrong try like any other: after the three free ones, each waits longer
        assert "已绑定其他微信号" in await prober.send("绑定 李秀英 0002")
    assert "分钟后再试" in await prober.send("绑定 张建国 0001")


async def test_unsubscribe_unlinks_the_openid_but_keeps_the_roster(roster, phone, db) -> None:
    member = phone("13800000002")
    await member.bind("李秀英")
    assert await member.event("unsubscribe") is None
    async with db() as session:
        row = await session.scalar(select(Member).where(Member.phone == "13800000002"))
    assert row is not None and row.openid is None
    assert "请先绑定" in await member.send("积分")


async def test_member_commands_need_binding_first(roster, phone) -> None:
    stranger = phone("13800000002")
    for command in ("积分", "星级", "微课", "答 B", "签到 1234"):
        assert "请先绑定党员身份" in await stranger.send(command)


async def test_a_member_cannot_open_a_check_in(roster, phone) -> None:
    member = phone("13800000002")
    await member.bind("李秀英")
    assert "仅支部书记和管理员" in await member.send("发起签到 主题党日 120")


async def test_check_in_with_the_code_earns_points_once(roster, phone, db) -> None:
    secretary, member = phone("13800000001"), phone("13800000002")
    await secretary.bind("张建国")
    await member.bind("李秀英")
    code = await _code(secretary)
    assert await member.send(f"签到 {code}") == "签到成功！李秀英同志，已记录你参加「主题党日」。获得 2 分。"
    assert await member.send(f"签到{code}") == "你已完成「主题党日」的签到，无需重复签到。"
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 1
        assert (await session.scalars(select(PointEntry.reason))).all() == ["参加组织活动签到：主题党日"]


async def test_check_in_with_a_wrong_or_expired_code_is_refused(roster, phone, clock) -> None:
    secretary, member = phone("13800000001"), phone("13800000002")
    await secretary.bind("张建国")
    await member.bind("李秀英")
    code = await _code(secretary, minutes=30)
    wrong = "0000" if code != "0000" else "1111"
    assert f"签到码 {wrong} 不正确" in await member.send(f"签到 {wrong}")
    clock.advance(minutes=31)
    assert "不正确，或本支部的签到已经结束" in await member.send(f"签到 {code}")


async def test_another_branch_cannot_use_the_code(roster, phone) -> None:
    secretary, outsider = phone("13800000001"), phone("13800000012")
    await secretary.bind("张建国")
    await outsider.bind("马丽娟")
    code = await _code(secretary)
    assert "不正确" in await outsider.send(f"签到 {code}")


async def test_opening_a_check_in_with_bad_arguments_explains_the_format(roster, phone) -> None:
    secretary = phone("13800000001")
    await secretary.bind("张建国")
    for bad in ("发起签到", "发起签到 主题党日 两小时", "发起签到 主题党日 3", "发起签到 主题党日 2000"):
        assert "发起签到 活动名称 分钟数" in await secretary.send(bad)


async def test_points_show_month_year_line_and_latest_reasons(roster, phone, db, clock) -> None:
    member = phone("13800000002")
    await member.bind("李秀英")
    async with db.begin() as session:
        member_id = await session.scalar(select(Member.id).where(Member.phone == "13800000002"))
        for i, (day, delta) in enumerate([((10, 5), 8), ((11, 2), 6), ((11, 9), 6)]):
            session.add(PointEntry(member_id=member_id, action="checkin", delta=delta, reason=f"活动{i}",
                                   event_key=f"seed:{i}", occurred_at=datetime(2026, *day, 10, tzinfo=TZ)))
    reply = await member.send("积分")
    assert "本月（11月）：10 分（每月最多计 10 分，本月已达上限）" in reply
    assert "今年累计：18 分" in reply
    assert "全年目标：120 分，还差 102 分" in reply
    assert reply.index("11月9日 +6 活动2") < reply.index("10月5日 +8 活动0")
    assert "60" not in reply
    assert await member.click("MY_POINTS") == reply


async def test_points_from_another_year_show_their_year(roster, phone, db) -> None:
    """With nothing this year, `积分` lists the latest entries of all time: last December's must not read as this
    December's."""
    member = phone("13800000002")
    await member.bind("李秀英")
    async with db.begin() as session:
        member_id = await session.scalar(select(Member.id).where(Member.phone == "13800000002"))
        session.add(PointEntry(member_id=member_id, action="checkin", delta=2, reason="参加组织活动签到",
                               event_key="seed:last-year", occurred_at=datetime(2025, 12, 3, 10, tzinfo=TZ)))
    reply = await member.send("积分")
    assert "今年累计：0 分" in reply
    assert "2025年12月3日 +2 参加组织活动签到" in reply


async def test_stars_explain_what_each_missing_star_needs_and_the_review_date(roster, phone) -> None:
    secretary, member = phone("13800000001"), phone("13800000002")
    await secretary.bind("张建国")
    await member.bind("李秀英")
    await member.send(f"签到 {await _code(secretary)}")
    reply = await member.send("星级")
    assert "★ 自律星：已达到" in reply
    assert "☆ 敬业星：再参加组织活动签到 2 次即可获得" in reply
    assert "☆ 服务星：再完成志愿服务 4 小时即可获得" in reply
    assert "现有 0 颗星" in reply  # no quarter has been reviewed yet
    assert "本季度（2026Q4）已达到 1 颗星的标准" in reply
    assert "下次摘星授星评定：2027年1月1日" in reply
    assert await member.click("MY_STARS") == reply


async def test_lesson_of_the_day_comes_with_its_quiz(roster, phone, clock) -> None:
    member = phone("13800000002")
    await member.bind("李秀英")
    reply = await member.send("微课")
    assert reply.startswith("【微党课】") and "【随堂小题】" in reply and "答对得 1 分" in reply
    assert await member.click("LESSON_TODAY") == reply
    clock.advance(days=1)
    assert await member.send("微课") != reply


async def test_a_right_answer_earns_learning_points_once(roster, phone, db, clock) -> None:
    member = phone("13800000002")
    await member.bind("李秀英")
    await member.send("微课")
    answer = _todays_quiz(clock).answer
    assert (await member.send(f"答 {answer.lower()}")).startswith("回答正确！获得 1 分。")
    assert "你已回答过" in await member.send(f"答 {answer}")
    async with db() as session:
        assert (await session.scalars(select(PointEntry.action))).all() == ["quiz_correct"]


def _todays_quiz(clock):  # type: ignore[no-untyped-def]
    """The quiz of the shipped lesson due on the clock's day."""
    lesson = load_content(ROOT / "content").lesson_for(clock().date())
    assert lesson is not None and lesson.quiz is not None
    return lesson.quiz


async def test_a_wrong_answer_earns_nothing_and_shows_the_right_one(roster, phone, db, clock) -> None:
    member = phone("13800000002")
    await member.bind("李秀英")
    await member.send("微课")
    quiz = _todays_quiz(clock)
    wrong = next(key for key in quiz.options if key != quiz.answer)
    assert (await member.send(f"答 {wrong}")).startswith(f"很遗憾，答错了。正确答案是 {quiz.answer}。")
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(PointEntry)) == 0
        assert await session.scalar(select(QuizAnswer.correct)) is False


async def test_answering_before_any_lesson_or_with_a_bad_option_is_explained(roster, phone) -> None:
    member = phone("13800000002")
    await member.bind("李秀英")
    assert "请先回复「微课」" in await member.send("答 B")
    await member.send("微课")
    assert "可选：A、B、C" in await member.send("答 Z")


async def test_anything_else_points_to_help(roster, phone) -> None:
    member = phone("13800000002")
    await member.bind("李秀英")
    assert "回复「帮助」" in await member.send("今天天气怎么样")
    assert "帮助" in await member.click("HELP")


async def test_a_voice_message_with_recognised_speech_works_like_typing(roster, phone, clock) -> None:
    from bot.ops.simulator import voice_xml

    member = phone("13800000002")
    await member.bind("李秀英")
    spoken = await member.deliver(voice_xml(member.openid, "积分。", at=int(clock().timestamp())))
    assert spoken is not None and spoken.startswith("李秀英同志的积分")
    unheard = await member.deliver(voice_xml(member.openid, "", at=int(clock().timestamp()) + 1))
    assert unheard is not None and "回复「帮助」" in unheard
