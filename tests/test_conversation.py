"""The conversation layer through the real webhook: issue 11's examples as regressions, 帮助 from the declarations
(and README's table compared with them), context kept in the database, and the forward-to-secretary loop."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from bot.conversation.routing import Need
from bot.ops.simulator import event_xml, voice_xml
from bot.repo import points, stars
from bot.storage.db import SessionMaker
from bot.storage.models import (
    Activity,
    AuditEntry,
    Delivery,
    DeliveryStatus,
    HeldStar,
    Member,
    PointEntry,
    Question,
    VolunteerClaim,
)
from bot.wechat.fake import FakeWeChat
from handlers import build_router
from handlers.help import topics, usages
from scheduler import runner
from scheduler.delivery_loop import deliver_due
from tests.conftest import Clock, services_of
from tests.phone import Phone

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
SECRETARY_1, SECRETARY_2, TOP_SECRETARY, ADMIN = "13800000001", "13800000011", "13800000021", "13800000022"
Phones = Callable[[str], Phone]


async def code_of(secretary: Phone, title: str = "主题党日") -> str:
    """Open a check-in as the secretary and return its code."""
    opened = await secretary.send(f"发起签到 {title} 120")
    found = re.search(r"\d{4}", opened or "")
    assert found, opened
    return found.group()


async def member_id(db: SessionMaker, name: str) -> int:
    async with db() as session:
        found = await session.scalar(select(Member.id).where(Member.name == name))
        assert found is not None
        return found


# --- issue 11's table, row by row ------------------------------------------------------------------------------


async def test_a_voice_check_in_with_recognised_punctuation_checks_in(live: TestClient, member: Phones,
                                                                       clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    code = await code_of(secretary)
    said = await li.deliver(voice_xml(li.openid, f"签到{code}。", at=int(clock().timestamp())))
    assert said and said.startswith("签到成功") and "获得 2 分" in said


async def test_a_bare_code_checks_in_only_while_a_check_in_is_open(live: TestClient, member: Phones) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    assert "没有听懂" in (await li.send("8032") or "")
    code = await code_of(await member(SECRETARY_1).bound("张建国"))
    assert (await li.send(f"{code}。") or "").startswith("签到成功")
    assert "签到码 0000" in (await li.send("0000") or "")  # a check-in is open: a wrong code is named


CHECKED_IN = "签到成功！李秀英同志，已记录你参加「主题党日」。获得 2 分。"
SPOKEN = "🎤"  # a row starting with this is sent as recognised speech


@pytest.mark.parametrize(("said", "code", "expected"), [
    ("签 到 7076", "7076", CHECKED_IN), ("签到 65 03", "6503", CHECKED_IN), ("签到七零七六", "7076", CHECKED_IN),
    ("签到 幺三五七", "1357", CHECKED_IN), ("签到一三五七", "1357", CHECKED_IN), (f"{SPOKEN}签到七零七六。", "7076", CHECKED_IN),
    ("签\u200b到7076", "7076", CHECKED_IN), ("打卡 七零 七六", "7076", CHECKED_IN),
    # not the code: a wrong code (digits) is told so; words without a digit (a question: `签到码是多少？`, the
    # second trial) get the usage reply, which says to ask the secretary for the code
    ("签到七零七五", "7076", "签到码 7075 不正确"), ("签到 7O76", "7076", "签到码 7o76 不正确"),
    ("签到 一下", "7076", "签到码请向支部书记询问"), ("签到十二", "7076", "签到码请向支部书记询问"),
    ("签到 王一", "7076", "签到码请向支部书记询问"), ("签到码是多少？", "7076", "签到码请向支部书记询问"),
    ("签到码是什么", "7076", "签到码请向支部书记询问"),
    ("签到 7076 7076", "7076", "签到格式"), ("签到 70 761", "7076", "签到格式"),
    # phrasings: a code follows them, or they are not understood
    ("我要签到 4496。", "4496", CHECKED_IN), ("签到码是2052", "2052", CHECKED_IN), ("签到码 2052", "2052", CHECKED_IN),
    ("我要签到", "7076", "签到码请向支部书记询问"), ("我要签到，但是忘了签到码", "7076", "签到码请向支部书记询问"),
])
async def test_the_field_trials_check_ins_read_the_code_as_digits(live: TestClient, member: Phones, db: SessionMaker,
                                                                  clock: Clock, said: str, code: str,
                                                                  expected: str) -> None:  # type: ignore[type-arg]
    await code_of(await member(SECRETARY_1).bound("张建国"))
    async with db.begin() as session:
        await session.execute(update(Activity).values(code=code))  # the code the member was given
    li = await member("13800000002").bound("李秀英")
    if said.startswith(SPOKEN):
        reply = await li.deliver(voice_xml(li.openid, said[len(SPOKEN):], at=int(clock().timestamp())))
    else:
        reply = await li.send(said)
    assert reply and expected in reply, reply


async def test_a_command_word_typed_with_spaces_keeps_the_words_after_it_as_typed(live: TestClient,
                                                                                 member: Phones) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    corrected = await secretary.send("调 整 李秀英 -2 重复 签到")
    assert corrected and "已为李秀英记录积分更正 -2 分，理由：重复 签到。" in corrected, corrected


async def test_after_a_lesson_a_bare_option_answers_its_quiz_and_answer_variants_work(
        live: TestClient, member: Phones, clock: Clock) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    assert "没有听懂" in (await li.send("B") or "")  # no lesson read: a bare letter means nothing
    await li.send("微课")
    first = await li.send("选B")
    assert first and ("回答正确" in first or "答错了" in first)
    assert "你已回答过" in (await li.send("答：A") or "")
    wang = await member("13800000003").bound("王德明")
    await wang.send("微课")
    assert "没有听懂" in (await wang.send("ｚ") or "")  # not an option: never a quiz answer
    bare = await wang.send("b")
    assert bare and ("回答正确" in bare or "答错了" in bare)
    zhao = await member("13800000004").bound("赵春花")
    await zhao.send("微课")
    clock.advance(hours=13)  # "for a while": the context has passed
    assert "没有听懂" in (await zhao.send("B") or "")


async def test_after_the_daily_lesson_push_a_bare_option_answers_its_quiz(live: TestClient, member: Phones,
                                                                         clock: Clock) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    job = runner.find_job(services_of(live), "daily_lesson")
    assert job is not None
    await runner.run(services_of(live), job, clock.now)
    await deliver_due(services_of(live))
    assert li.pushed() and li.pushed()[0].startswith("【微党课】")
    answered = await li.send("b。")
    assert answered and ("回答正确" in answered or "答错了" in answered)


async def test_binding_without_spaces_binds(live: TestClient, member: Phones) -> None:  # type: ignore[type-arg]
    assert (await member("13800000003").send("绑定王德明0003") or "").startswith("绑定成功")


async def test_commands_typed_without_spaces_or_in_full_width_do_what_they_say(live: TestClient,
                                                                              member: Phones) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    recorded = await li.send("志愿２社区环境整治。")
    found = re.search(r"已记录志愿服务 (\d+) 号：2 小时，社区环境整治。", recorded or "")
    assert found, recorded
    assert f"已确认志愿服务 {found.group(1)} 号" in (await secretary.send(f"通过{found.group(1)}。") or "")
    corrected = await secretary.send("调整李秀英-2重复签到，更正")
    assert corrected and "已为李秀英记录积分更正 -2 分，理由：重复签到，更正。" in corrected


async def test_full_width_decimal_hours_are_recorded_as_typed(live: TestClient, member: Phones) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    recorded = await li.send("志愿　１．５　帮五保户打扫卫生")
    assert recorded and re.search(r"已记录志愿服务 \d+ 号：1\.5 小时，帮五保户打扫卫生。", recorded), recorded


async def test_an_empty_text_gets_the_numbered_menu_not_an_apology(live: TestClient, member: Phones) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    reply = await li.send("")
    assert reply and "没有听懂" in reply and "1 今天的微党课" in reply and "抱歉，出了点问题" not in reply


@pytest.mark.parametrize(("text", "expected"), [
    ("谢谢", "不客气，李秀英同志！"), ("你好！", "你好，李秀英同志！"), ("菜单", "李秀英同志（党员），你可以发送"),
    ("1", "【微党课】"), ("help", "你可以发送"), ("2", "李秀英同志的积分"),
])
async def test_greetings_the_menu_and_its_numbers_answer(live: TestClient, member: Phones, text: str,
                                                         expected: str) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    reply = await li.send(text)
    assert reply and expected in reply and "没有听懂" not in reply


async def test_a_secretary_decides_several_claims_and_hears_each_outcome(live: TestClient, member: Phones) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    other = await member("13800000012").bound("马丽娟")
    first, second = await li.volunteer("2 社区环境整治"), await li.volunteer("1 帮老人买药")
    elsewhere = await other.volunteer("1 打扫活动室")
    reply = await secretary.send(f"通过 {first}，{second}、{elsewhere} 999")
    lines = (reply or "").splitlines()
    assert lines[0].startswith(f"{first} 号：已确认志愿服务 {first} 号：李秀英 2 小时")
    assert lines[1].startswith(f"{second} 号：已确认志愿服务 {second} 号：李秀英 1 小时")
    assert lines[2].startswith(f"{elsewhere} 号：没有找到") and lines[3].startswith("999 号：没有找到")
    again = await secretary.send(f"驳回 {first} {second}")
    assert again and "驳回需要写明理由" in again


@pytest.mark.parametrize("said", ["通过{a}号，{b}号。", "通过 {a} 和 {b}", "通过{a}号和{b}号", "通过 {a} 及 {b}",
                                  "通过 {a}、{b}"])
async def test_every_number_of_a_batch_approval_is_decided_and_reported(live: TestClient, member: Phones,
                                                                       clock: Clock, said: str) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    a, b = await li.volunteer("2 社区环境整治"), await li.volunteer("1 帮老人买药")
    reply = await secretary.deliver(voice_xml(secretary.openid, said.format(a=a, b=b), at=int(clock().timestamp())))
    lines = (reply or "").splitlines()
    assert len(lines) == 2, reply
    assert lines[0].startswith(f"{a} 号：已确认志愿服务 {a} 号") and lines[1].startswith(f"{b} 号：已确认志愿服务 {b} 号")


async def test_a_batch_rejection_decides_every_number_then_takes_the_reason(live: TestClient, member: Phones) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    a, b = await li.volunteer("2 社区环境整治"), await li.volunteer("1 帮老人买药")
    reply = await secretary.send(f"驳回{a}号和{b}号 没有照片")
    lines = (reply or "").splitlines()
    assert len(lines) == 2, reply
    assert lines[0] == f"{a} 号：已驳回志愿服务 {a} 号，理由：没有照片。已通知本人。"
    assert lines[1] == f"{b} 号：已驳回志愿服务 {b} 号，理由：没有照片。已通知本人。"


async def test_two_photos_attach_to_the_newest_claim_and_say_which(live: TestClient, member: Phones,
                                                                   db: SessionMaker) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    older, newer = await li.volunteer("1 帮老人买药"), await li.volunteer("2 社区环境整治")
    assert f"志愿服务 {newer} 号记录（社区环境整治）" in (await li.photo("https://img/1.jpg") or "")
    assert "替换了之前的照片" in (await li.photo("https://img/2.jpg") or "")
    async with db() as session:
        photos = dict((await session.execute(select(VolunteerClaim.id, VolunteerClaim.photo_url))).all())
    assert photos == {older: None, newer: "https://img/2.jpg"}


async def test_a_report_period_is_honoured_or_refused(live: TestClient, member: Phones) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    past = await secretary.send("报表 2026Q3")
    assert past and "2026Q3 季度报表\n" in past  # a closed quarter: not "截至今天"
    assert "2026Q4 季度报表（截至今天）" in (await secretary.send("报表") or "")
    assert "2026Q1 季度报表" in (await secretary.send("报表 2026年第一季度") or "")
    refused = await secretary.send("报表 2026Q5")
    assert refused and "没有看懂要哪个季度" in refused and "季度报表" not in refused
    assert "没有看懂" in (await secretary.send("报表 2027Q1") or "")  # not begun


@pytest.mark.parametrize(("text", "seen"), [
    ("积分 2025", "「积分」显示的是本月和今年的积分，不能按「2025」查询"),
    ("积分 上个月", "不能按「上个月」查询"),
    ("我的积分 10月", "不能按「10月」查询"),
    ("排行 上月", "「排行」显示的是本支部本月的积分榜，不能按「上月」查询"),
    ("星级 2026Q3", "「星级」显示的是现有的星"),
    ("我的积分是多少", "李秀英同志的积分"),
    ("积分", "李秀英同志的积分"),
    ("排行", "积分榜"),
])
async def test_a_period_asked_of_a_command_that_shows_only_the_current_one_is_refused(
        live: TestClient, member: Phones, text: str, seen: str) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    reply = await li.send(text)
    assert reply and seen in reply, reply


async def open_review(db: SessionMaker, clock: Clock) -> dict[str, int]:
    """A pending 2026Q3 review of 第一党支部: 李秀英 proposed 学习星, 王德明 (holding 服务星) proposed to lose it."""
    li, wang = await member_id(db, "李秀英"), await member_id(db, "王德明")
    async with db.begin() as session:
        org_id = (await session.get(Member, li)).org_id  # type: ignore[union-attr]
        review = await stars.open_review(session, org_id=org_id, quarter="2026Q3", now=clock())
        session.add(HeldStar(member_id=wang, star="服务星", since="2026Q2"))
        await stars.add_proposals(session, [
            {"review_id": review, "member_id": li, "star": "学习星", "proposed": True, "decision": True,
             "evidence": "答对 5 题"},
            {"review_id": review, "member_id": wang, "star": "服务星", "proposed": False, "decision": False,
             "evidence": "志愿服务 0 小时"}])
    async with db() as session:
        rows = await stars.proposals(session, review_ids=[review])  # type: ignore[list-item]
    return {r.name: r.id for r in rows}


async def test_star_review_verbs_and_counts_agree_with_the_stars_held(live: TestClient, member: Phones,
                                                                      db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    ids = await open_review(db, clock)
    assert "请写明理由" in (await secretary.send("评星 授 李秀英 学习星") or "")
    assert "请写明理由" in (await secretary.send(f"评星 改 {ids['李秀英']}") or "")
    assert "已调整" in (await secretary.send(f"评星 改 {ids['李秀英']} 本季度缺勤较多") or "")
    assert "没有自律星，无法摘" in (await secretary.send("评星 摘 李秀英 自律星 理由") or "")
    assert "已经有服务星" in (await secretary.send("评星 授 王德明 服务星 理由") or "")
    assert "已调整" in (await secretary.send(f"评星 改 {ids['王德明']} 入户走访未登记") or "")
    assert "已调整" in (await secretary.send("评星 授 赵春花 自律星 表现突出") or "")
    listed = await secretary.send("评星")
    assert listed and "（已调整 3 条）" in listed
    assert "李秀英 不授学习星" in listed and "王德明 保留服务星" in listed and "赵春花 授自律星" in listed
    assert "摘学习星" not in listed and "摘服务星" not in listed
    confirmed = await secretary.send("确认")  # a bare 确认 right after 评星 confirms the review
    assert confirmed and "摘星授星已确认" in confirmed


async def test_a_check_in_when_the_month_is_full_says_nothing_was_counted(
        live: TestClient, member: Phones, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    async with db.begin() as session:
        await points.add(session, member_id=await member_id(db, "李秀英"), action="quiz_correct", delta=9,
                         reason="学习", event_key="test:9", at=clock())
    secretary = await member(SECRETARY_1).bound("张建国")
    first = await li.send(f"签到 {await code_of(secretary)}")
    assert first and "获得 1 分（本月已满 10 分，超出部分不计）" in first
    second = await li.send(f"签到 {await code_of(secretary, '党课')}")
    assert second and "本月已满 10 分，本次不再计分" in second and "获得" not in second


async def test_approvals_and_wishes_at_the_monthly_cap_say_nothing_was_counted(
        live: TestClient, member: Phones, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    async with db.begin() as session:
        await points.add(session, member_id=await member_id(db, "李秀英"), action="quiz_correct", delta=10,
                         reason="学习", event_key="test:10", at=clock())
    claim = await li.volunteer("2 社区环境整治")
    approved = await secretary.send(f"通过 {claim}")
    assert approved and "李秀英 2 小时，本月已满 10 分，本次不再计分。" in approved and "计 0 分" not in approved
    published = await secretary.send("心愿 想要一台收音机听新闻 张大爷 13900000000")
    wish = re.search(r"已发布 (\d+) 号", published or "")
    assert wish, published
    await li.send(f"认领 {wish.group(1)}")
    await li.send(f"完成 {wish.group(1)}")
    accepted = await secretary.send(f"验收 {wish.group(1)}")
    assert accepted and "认领的党员本月已满 10 分，本次不再计分" in accepted and "计 0 分" not in accepted
    await deliver_due(services_of(live))
    pushed = "\n".join(li.pushed())
    assert "已确认，本月已满 10 分，本次不再计分，并计入服务星" in pushed
    assert "已验收，本月已满 10 分，本次不再计分。" in pushed and "计 0 分" not in pushed


async def test_reopening_an_open_check_in_is_refused_with_its_code_and_points_count_once(
        live: TestClient, member: Phones, db: SessionMaker, clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    code = await code_of(secretary)
    clock.advance(minutes=10)
    again = await secretary.send("发起签到 主题党日 60")
    closing = (clock() + timedelta(minutes=110)).astimezone(TZ).strftime("%H:%M")
    assert again and "「主题党日」的签到还在进行" in again and f"签到码：{code}，至 {closing} 结束" in again, again
    assert (await li.send(f"签到 {code}") or "").startswith("签到成功")
    assert "签到码" in (await secretary.send("发起签到 党课 60") or "")  # another title opens
    async with db() as session:
        total = await session.scalar(select(func.sum(PointEntry.delta)).where(PointEntry.action == "checkin"))
    assert total == 2
    clock.advance(hours=2)  # closed: the same title may open again
    assert "签到码：" in (await secretary.send("发起签到 主题党日 60") or "")


async def test_a_long_notice_reaches_members_in_marked_pieces_cut_at_sentences(
        live: TestClient, member: Phones, wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    sentence = "请各位党员本周六上午九点到村委会参加主题党日活动，不得无故缺席。"
    body = sentence * 24  # 792 characters, 2,376 bytes
    await secretary.send(f"通知 {body}")
    await secretary.send("确认")
    await deliver_due(services_of(live))
    pushed = li.pushed()
    assert [p[:5] for p in pushed] == ["(1/2)", "(2/2)"]
    assert all(len(p.encode()) <= 2048 for p in pushed)
    assert pushed[0].endswith("缺席。") and pushed[1].removeprefix("(2/2)\n").startswith("请各位党员")
    assert "".join(p[6:] for p in pushed).count(sentence) == 24


async def test_an_event_type_nobody_knows_gets_success(live: TestClient, member: Phones, clock: Clock) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    xml = event_xml(li.openid, "subscribe_msg_popup_event", at=int(clock().timestamp()))
    status, body = await li.post(xml)
    assert (status, body) == (200, "success")


async def test_a_control_character_is_dropped_with_a_warning_not_refused(live: TestClient, member: Phones,
                                                                         caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    with caplog.at_level(logging.WARNING, logger="bot.message.webhook"):
        reply = await li.send("积分\x02")
    assert reply and reply.startswith("李秀英同志的积分")
    assert "dropped 1 characters XML forbids from message 7" in caplog.text


async def test_two_clicks_in_one_second_both_answer_and_a_retry_still_dedupes(live: TestClient, member: Phones,
                                                                              clock: Clock) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    points_reply, stars_reply = await li.click("MY_POINTS"), await li.click("MY_STARS")
    assert points_reply and points_reply.startswith("李秀英同志的积分")
    assert stars_reply and "积分" not in stars_reply.splitlines()[0]
    assert await li.click("MY_STARS") == stars_reply  # WeChat's retry of the same event: the same reply


# --- 帮助 from the declarations, and README's table ------------------------------------------------------------


@pytest.mark.parametrize(("phone", "name", "role"), [
    ("13800000002", "李秀英", Need.MEMBER), (SECRETARY_1, "张建国", Need.SECRETARY), (ADMIN, "田秀芝", Need.SECRETARY),
    ("13900000009", "", Need.ANYONE),
])
async def test_help_by_role_lists_exactly_the_declared_usages(live: TestClient, member: Phones, phone: str,
                                                             name: str, role: Need) -> None:  # type: ignore[type-arg]
    sender = await member(phone).bound(name) if name else member(phone)
    reply = await sender.send("帮助")
    assert reply and len(reply.encode()) <= 2048
    router = build_router()
    shown = usages(router, Need.ANYONE) + usages(router, Need.MEMBER) if role == Need.MEMBER else usages(router, role)
    hidden = [u for need in Need for u in usages(router, need) if u not in shown]
    replies = [reply]
    if "请按类别查看" in reply:  # more than one message holds: each topic, in full
        for topic in dict.fromkeys(t for need in Need for t in topics(router, need)):
            if f"「帮助 {topic}」" in reply:
                replies.append(await sender.send(f"帮助 {topic}") or "")
                assert 0 < len(replies[-1].encode()) <= 2048
    lines = [line for text in replies for line in text.splitlines()]
    for usage in shown:
        assert any(line.startswith("「" + "」或「".join(usage.form.split(" / ")) + "」" + usage.says)
                   for line in lines), usage
    for usage in hidden:
        assert not any(line.startswith("「" + usage.form.split(" / ")[0] + "」") for line in lines), usage
    if role == Need.SECRETARY:
        assert "调整" in reply and "回执" in reply and "验收" in reply and "收到" in reply


async def test_help_by_topic_or_command_and_an_unknown_topic_lists_the_topics(live: TestClient,
                                                                            member: Phones) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    meetings = await secretary.send("帮助 会议")
    assert "「请假 理由」" not in (meetings or "") and "「纪要 " in (meetings or "") and "「督办" in (meetings or "")
    assert await secretary.send("帮助 准假") == meetings  # a command's word: its topic
    unknown = await secretary.send("帮助 天气")
    assert unknown and unknown.startswith("没有「天气」这一类") and "「帮助 会议」" in unknown and "「帮助 志愿」" in unknown
    plain = await member("13800000002").bound("李秀英")
    assert "「请假" in (await plain.send("帮助 会议") or "")  # a member's own topic: their lines only


WHO = {"anyone": Need.ANYONE, "member": Need.MEMBER, "secretary, administrator": Need.SECRETARY}


def readme_commands() -> list[tuple[str, Need]]:
    """(forms joined by " / ", who) of each row of README's command table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## What members and secretaries can send", 1)[1].split("\n\n| message")[1].split("\n\n")[0]
    rows = []
    for line in table.splitlines()[2:]:
        message, who = (cell.strip() for cell in line.strip("|").split("|")[:2])
        forms = re.findall(r"`([^`]+)`", re.sub(r"\(menu `[^`]+`\)", "", message))
        rows.append((" / ".join(forms), WHO[who]))
    return rows


def test_readme_command_table_matches_the_declarations() -> None:
    router = build_router()
    declared = [(u.form, u.need if u.need is not None else r.need) for r in router.routes() for u in r.usages]
    assert sorted(readme_commands()) == sorted(declared)
    assert all(r.usages for r in router.routes()), "every command declares its usage"


# --- the forward-to-secretary loop ------------------------------------------------------------------------------


@pytest.mark.parametrize(("said", "expected"), [
    ("今天的微课", "【微党课】"), ("看看微课", "【微党课】"), ("学习", "【微党课】"), ("排名", "月积分榜（前十名）"),
    ("我的排名", "月积分榜（前十名）"), ("看通知", "没有未读通知"), ("我的星", "李秀英同志的星级"),
    ("积\u200b分", "李秀英同志的积分"),
    ("积 分", "李秀英同志的积分"), ("帮 助", "「积分」本月和全年积分"),
    ("查一下我的积分", "李秀英同志的积分"), ("查下积分", "李秀英同志的积分"), ("我想看看我的积分", "李秀英同志的积分"),
])
async def test_common_synonyms_run_their_command(live: TestClient, member: Phones, said: str, expected: str) -> None:  # type: ignore[type-arg]
    li = await member("13800000002").bound("李秀英")
    reply = await li.send(said)
    assert reply and expected in reply and "没有听懂" not in reply, reply


async def test_a_short_question_with_a_question_mark_is_offered_and_forwarded(live: TestClient, member: Phones,
                                                                             clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    offered = await li.send("党费怎么交？")
    assert offered and "转给书记" in offered and "没有听懂" not in offered, offered
    assert "已把你的问题转给张建国" in (await li.send("转给书记吧") or "")
    await deliver_due(services_of(live))
    assert "党费怎么交？" in secretary.pushed()[-1]
    said = await li.deliver(voice_xml(li.openid, "几点开会?", at=int(clock().timestamp())))
    assert said and "转给书记" in said
    assert "没有听懂" in (await li.send("党费") or "")  # short, and not a question: the menu
    mine = await secretary.send("村里的路灯坏了找谁修？")  # a secretary is not offered to forward to themselves
    assert mine and "转给书记" not in mine and "没有听懂" in mine, mine


async def test_a_question_is_forwarded_to_the_branch_secretary_who_answers_privately(
        live: TestClient, member: Phones, db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    other_secretary = await member(SECRETARY_2).bound("孙卫东")
    li = await member("13800000002").bound("李秀英")
    wang = await member("13800000003").bound("王德明")
    question = "请问村里的低保材料什么时候交？"
    offered = await li.send(question)
    assert offered and "转给书记" in offered
    assert "已把你的问题转给张建国" in (await li.send("转给书记") or "")
    await deliver_due(services_of(live))
    note = secretary.pushed()[-1]
    assert "李秀英" in note and question in note and "回复 李秀英" in note
    assert other_secretary.pushed() == [] and wang.pushed() == []

    assert "没有叫「李秀英」" in (await other_secretary.send("回复 李秀英 周五前交") or "")  # another branch's secretary
    assert "回复的格式" in (await secretary.send("回复 李秀英") or "")
    assert "已回复李秀英" in (await secretary.send("回复 李秀英 周五前交到村委会，带上户口本。") or "")
    await deliver_due(services_of(live))
    answer = li.pushed()[-1]
    assert answer.startswith("【书记回复】") and "周五前交到村委会，带上户口本。" in answer and "张建国" in answer
    assert wang.pushed() == [] and other_secretary.pushed() == []
    assert "没有等待回复的问题" in (await secretary.send("回复 李秀英 还有别的吗") or "")
    assert "没有要转的问题" in (await li.send("转给书记") or "")
    async with db() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("question_%")).order_by(AuditEntry.id)))
        open_count = await session.scalar(select(func.count()).select_from(Question)
                                          .where(Question.answered_at.is_(None), Question.forwarded_at.is_not(None)))
    assert actions == ["question_forward", "question_answer"] and open_count == 0


@pytest.mark.parametrize("forward", ["帮我转给书记", "转书记", "问书记", "转给书记吧", "转给书记。", "请帮我转给书记一下"])
async def test_every_way_of_asking_to_forward_forwards_the_pending_question(
        live: TestClient, member: Phones, clock: Clock, forward: str) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    question = "请问村里的低保材料什么时候交？"
    await li.send(question)
    said = await li.deliver(voice_xml(li.openid, forward, at=int(clock().timestamp())))
    assert said and "已把你的问题转给张建国" in said, said
    await deliver_due(services_of(live))
    assert question in secretary.pushed()[-1]


async def test_all_questions_waiting_are_forwarded_together_and_counted(live: TestClient, member: Phones,
                                                                       clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    stale, first, second = "去年的党费收据在哪里领？", "请问村里的低保材料什么时候交？", "医保缴费截止到几号呢"
    await li.send(stale)
    clock.advance(hours=1)  # past the offer: no longer forwarded
    await li.send(first)
    await li.send(second)
    said = await li.send("转给书记")
    assert said and "已把你的 2 个问题转给张建国" in said, said
    await deliver_due(services_of(live))
    notes = secretary.pushed()
    assert len(notes) == 1 and first in notes[0] and second in notes[0] and stale not in notes[0]
    assert "没有要转的问题" in (await li.send("转给书记") or "")


async def test_only_the_command_that_asked_consumes_confirm(live: TestClient, member: Phones,
                                                            wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    preview = await secretary.send("调整 李秀英 -20 重复登记，更正")
    assert preview and "回复「确认」执行" in preview
    await secretary.send("通知 明天上午开会")  # a notice preview now waits for 确认 instead
    assert "通知已开始发送" in (await secretary.send("确认") or "")
    assert "没有待确认的事项" in (await secretary.send("确认") or "")
    await secretary.send("调整 李秀英 -20 重复登记，更正")
    assert "已取消这次积分调整" in (await secretary.send("取消") or "")
    await secretary.send("调整 李秀英 -20 重复登记，更正")
    assert "已为李秀英记录积分更正 -20 分" in (await secretary.send("确认。") or "")
    assert "书记" in (await li.send("确认") or "")  # members have nothing to confirm


async def send_receipt_notice(live: TestClient, secretary: Phone) -> None:  # type: ignore[type-arg]
    await secretary.send("回执通知 请于周五前上交党费")
    assert "通知已开始发送" in (await secretary.send("确认") or "")
    await deliver_due(services_of(live))


@pytest.mark.parametrize("said", ["好的，收到！", "收到，谢谢", "确认", "已经收到了", "嗯嗯收到"])
async def test_a_member_acknowledges_in_their_own_words(live: TestClient, member: Phones, said: str) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    await send_receipt_notice(live, secretary)
    assert li.pushed()[-1].endswith("请回复「收到」确认。")
    reply = await li.send(said)
    assert reply and reply.startswith("已确认收到：第一党支部通知") and "你好" not in reply, reply
    assert "李秀英" not in (await secretary.send("回执") or "")


async def test_a_members_confirm_without_a_receipt_to_give_is_still_refused_and_previews_still_confirm(
        live: TestClient, member: Phones) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    assert "仅支部书记和管理员" in (await li.send("确认") or "")
    assert "你好" in (await li.send("好的") or "")  # a greeting without 收到 stays a greeting
    await send_receipt_notice(live, secretary)  # the secretary's 确认 of the preview still sends it
    assert "已确认收到" in (await secretary.send("确认") or "")  # the secretary's own copy asked for a receipt
    assert "没有待确认的事项" in (await secretary.send("确认") or "")


async def test_a_waiting_receipt_notice_is_shown_and_acknowledged(live: TestClient, member: Phones,
                                                                  clock: Clock) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    clock.advance(days=3)  # 李秀英's window has closed: the notice waits to be read
    await send_receipt_notice(live, secretary)
    assert li.pushed() == []
    reply = await li.send("已收到")
    assert reply and "请于周五前上交党费" in reply and "已确认收到：第一党支部通知" in reply, reply
    assert "未读通知" not in reply
    assert "李秀英" not in (await secretary.send("回执") or "")
    assert "没有未读通知" in (await li.send("通知") or "")


async def test_context_survives_a_restart(make_client, wechat: FakeWeChat, roster: None, sim, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import SECRET
    first = await make_client(wechat_secret=SECRET, wechat_api_base=wechat.base, send_rate=10_000.0)
    secretary = await Phone(first, sim, clock, SECRETARY_1, wechat).bound("张建国")
    await secretary.send("通知 明天上午开会")
    second = await make_client(wechat_secret=SECRET, wechat_api_base=wechat.base, send_rate=10_000.0)
    again = Phone(second, sim, clock, SECRETARY_1, wechat)
    assert "通知已开始发送" in (await again.send("确认") or "")



@pytest.mark.parametrize(("one", "other", "same"), [
    ({"event": "CLICK", "EventKey": "MY_POINTS"}, {"event": "CLICK", "EventKey": "MY_STARS"}, False),
    ({"event": "CLICK", "EventKey": "MY_POINTS"}, {"event": "CLICK", "EventKey": "MY_POINTS"}, True),
    ({"event": "subscribe", "EventKey": "qrscene_1", "Ticket": "T1"},
     {"event": "subscribe", "EventKey": "qrscene_1", "Ticket": "T2"}, False),
    ({"event": "TEMPLATESENDJOBFINISH", "MsgID": "1"}, {"event": "TEMPLATESENDJOBFINISH", "MsgID": "2"}, False),
    ({"event": "VIEW", "EventKey": "https://example.com/" + "a" * 200},
     {"event": "VIEW", "EventKey": "https://example.com/" + "b" * 200}, False),
])
def test_an_event_dedup_key_tells_different_events_apart_and_keeps_a_retry(one: dict[str, str],
                                                                           other: dict[str, str], same: bool) -> None:
    from wechatpy import parse_message

    from bot.message.wire import KEY_LIMIT, dedup_key

    keys = [dedup_key(parse_message(event_xml("oSender", at=1764000000, **fields))) for fields in (one, other)]
    assert (keys[0] == keys[1]) is same
    assert all(len(key) <= KEY_LIMIT for key in keys)
    assert dedup_key(parse_message(event_xml("oSender", at=1764000000, **one))) == keys[0]  # a retry


async def test_a_notice_whose_sixth_piece_wechat_refuses_is_not_counted_sent_and_stays_readable(
        live: TestClient, member: Phones, db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY_1).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    sentence = "请各位党员本周六上午九点到村委会参加主题党日活动，不得无故缺席。"
    await secretary.send(f"通知 {sentence * 120}")  # 3,840 characters: six pieces, WeChat allows five (45047)
    await secretary.send("确认")
    await deliver_due(services_of(live))
    assert len(li.pushed()) == 5
    async with db() as session:
        status, error = (await session.execute(select(Delivery.status, Delivery.error).join(Member)
                                               .where(Member.name == "李秀英"))).one()
    assert status == DeliveryStatus.UNCERTAIN and error.startswith("只送达前 5 条")
    readable = await li.send("通知")
    assert readable and sentence in readable
