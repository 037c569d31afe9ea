"""发起签到 and 签到: a secretary opens a check-in window, members check in with its code."""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.conversation.context import Context
from bot.conversation.routing import Need, NotUnderstood, Router, Usage
from bot.life.awards import award
from bot.repo import activities, orgs
from bot.rules.checkin import code_in, new_code, window_minutes
from bot.storage import limits

router = Router(topic="会议")


@router.command("发起签到", "开启签到", need=Need.SECRETARY,
                usage=Usage("发起签到 主题党日 120", "为本支部开启签到（120 分钟），回复签到码"))
async def open_check_in(ctx: Context) -> str:
    """发起签到 主题党日 120: open a check-in for the secretary's branch and reply with its code; refused while
    one with the same title is open for the branch (its code and closing time are given instead)."""
    minutes = window_minutes(ctx.args[1] if len(ctx.args) > 1 else None)
    if not ctx.args or minutes is None or len(ctx.args) > 2:
        return ctx.render("checkin_open_usage")
    if refusal := ctx.refuse_long(ctx.args[0], limits.ACTIVITY):
        return refusal
    org_id = ctx.bound.org_id
    already = await activities.open_titled(ctx.session, org_id=org_id, title=ctx.args[0], now=ctx.now)
    if already is not None:  # a second one would award its points twice
        return ctx.render("checkin_open_already", title=already.title, code=already.code,
                          closes_at=already.closes_at.astimezone(ctx.settings.timezone))
    code = new_code(await activities.open_codes(ctx.session, org_id=org_id, now=ctx.now), secrets.randbelow)
    activity = await activities.open_activity(
        ctx.session, org_id=org_id, title=ctx.args[0], code=code, opened_by=ctx.bound.id,
        opens_at=ctx.now, closes_at=ctx.now + timedelta(minutes=minutes),
    )
    return ctx.render(
        "checkin_opened", title=activity.title, code=code, minutes=minutes,
        closes_at=activity.closes_at.astimezone(ctx.settings.timezone),
        org=await orgs.name_of(ctx.session, org_id=org_id),
    )


@router.command("签到", "打卡", "签到码", need=Need.MEMBER, bare=r"\d{4}",
                loose=("我要签到", "签到码是"), fits=r".*",  # whatever follows: a code, or the usage reply
                usage=Usage("签到 1234", "参加活动签到；签到开放时直接发签到码也可以"))
async def check_in(ctx: Context) -> str:
    """签到 1234: check in to the open activity of the member's branch; points once. The code may come spoken
    (`签到七零七六`) or split (`签到 65 03`): `code_in`."""
    code = code_in(ctx.args)
    if code is None:
        return ctx.render("checkin_usage")
    org_ids = await orgs.chain_up(ctx.session, org_id=ctx.bound.org_id)
    activity = await activities.open_with_code(ctx.session, org_ids=org_ids, code=code, now=ctx.now)
    if activity is None and ctx.bare and not await _any_open(ctx, org_ids):
        raise NotUnderstood  # four digits are a check-in code only while a check-in is open
    if activity is None:
        return ctx.render("checkin_unknown", code=code)
    if not await activities.check_in(ctx.session, activity_id=activity.id, member_id=ctx.bound.id, now=ctx.now):
        return ctx.render("checkin_already", title=activity.title)
    earned = await award(ctx, action="checkin", event_key=f"checkin:{activity.id}:{ctx.bound.id}",
                         detail=f"：{activity.title}")
    return ctx.render("checkin_done", title=activity.title, points=earned.points, capped=earned.capped,
                      offset=earned.offset, raw=earned.raw, cap=ctx.content.rules.policy.monthly_cap,
                      name=ctx.bound.name)


async def _any_open(ctx: Context, org_ids: list[int]) -> bool:
    """Whether a check-in is open now for the member's organisation or one above it."""
    for org_id in org_ids:
        if await activities.open_codes(ctx.session, org_id=org_id, now=ctx.now):
            return True
    return False
