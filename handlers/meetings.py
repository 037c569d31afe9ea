"""会议 and 纪要: secretaries plan meetings (三会一课, 主题党日) and keep their minutes; members see theirs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.conversation.context import Context
from bot.conversation.dispatch import SECRETARY_ROLES
from bot.conversation.routing import Need, Router, Usage
from bot.life import meetings as life
from bot.repo import audit, campaigns, meetings, members, orgs
from bot.rules import meetings as rules
from bot.rules.periods import month_of
from bot.storage import limits
from bot.storage.models import Meeting, MeetingKind, Member, Organisation
from handlers.notices import target
from handlers.volunteer import PHOTO_MINUTES

router = Router(topic="会议")


@router.command("会议", "开会", need=Need.MEMBER, usage=(
    Usage("会议", "近期的会议"),
    Usage("会议 12", "会议详情（书记另见出席情况和纪要）"),
    Usage("会议 党员大会 12月20日 14:30 村委会 学习全会精神", "安排会议并通知，开始时自动签到",
          Need.SECRETARY)))
async def meeting(ctx: Context) -> str:
    """`会议` lists, `会议 12` shows one, `会议 党员大会 …` plans one."""
    if not ctx.args:
        return await _list(ctx)
    if len(ctx.args) == 1 and ctx.args[0].isdigit():
        return await _show(ctx, int(ctx.args[0]))
    if ctx.bound.role not in SECRETARY_ROLES:
        return ctx.render("secretary_only")
    return await _plan(ctx)


async def _list(ctx: Context) -> str:
    """The meetings the sender is asked to, and for a secretary those of the organisations they govern (a member
    never sees a 支委会 or another 党小组's meeting they could not open)."""
    governed = await ctx.governed()
    chain = await orgs.chain_up(ctx.session, org_id=ctx.bound.org_id)
    secretary = ctx.bound.role in SECRETARY_ROLES
    owed = await meetings.awaiting_attendance(ctx.session, org_ids=governed) if secretary else []
    found = owed + [m for m in await meetings.upcoming(ctx.session, org_ids=sorted({*governed, *chain}), now=ctx.now)
                    if (secretary and m.org_id in governed)
                    or await meetings.in_audience(ctx.session, meeting=m, member_id=ctx.bound.id)]
    return ctx.render("meeting_list", meetings=[await _described(ctx, m) for m in found])


async def visible(ctx: Context, meeting_id: int) -> tuple[Meeting | None, bool]:
    """The meeting if the sender may see it, and whether they govern it (a secretary of it or above)."""
    found = await meetings.get(ctx.session, meeting_id=meeting_id)
    if found is None:
        return None, False
    if ctx.bound.role in SECRETARY_ROLES and found.org_id in await ctx.governed():
        return found, True
    return (found if await meetings.in_audience(ctx.session, meeting=found, member_id=ctx.bound.id) else None), False


async def _show(ctx: Context, meeting_id: int) -> str:
    found, governs = await visible(ctx, meeting_id)
    if found is None:
        return ctx.render("meeting_not_found", id=meeting_id)
    mine = await meetings.attendance_of(ctx.session, meeting_id=found.id, member_id=ctx.bound.id)
    counts = await meetings.tally(ctx.session, meeting_id=found.id) if governs else None
    notes = await meetings.minutes_text(ctx.session, meeting_id=found.id) if governs else []
    photos = await meetings.photo_count(ctx.session, meeting_id=found.id) if governs else 0
    return ctx.render("meeting_detail", meeting=await _described(ctx, found), closed=found.closed_at is not None,
                      mine=mine.status if mine else None, makeup=mine.makeup if mine else None, counts=counts,
                      minutes=notes, photos=photos, awaiting=life.after_the_fact(found))


async def _described(ctx: Context, found: Meeting) -> dict[str, object]:
    return await life.described(ctx.session, ctx.content, ctx.settings.timezone, found)


def _addressed(text: str) -> tuple[str, str]:
    """The `@组织` wherever a plan has it (`会议 党小组会 @第一党小组 12月22日 …`, or last), and the plan without it."""
    found = _AT.search(text)
    if found is None:
        return "", text
    return found.group(1), f"{text[:found.start()]} {text[found.end():]}".strip()


_AT = re.compile(r"[@＠](\S+)")


async def _plan(ctx: Context) -> str:
    name, text = _addressed(ctx.rest)
    org = await target(ctx, name)
    if isinstance(org, str):
        return org
    try:
        plan = rules.parse_plan(text, ctx.today)
    except rules.PlanError as exc:
        return ctx.render("meeting_usage", part=exc.part)
    return (await plan_meeting(ctx, org, plan))[1]


async def plan_meeting(ctx: Context, org: Organisation, plan: rules.Plan) -> tuple[int | None, str]:
    """Hold `plan` in `org` (one the sender governs), as `会议 …` does: a kind the organisation does not hold, a day
    more than `backfill_days` ago, a place or topic over its limit and a plan sent twice are refused; otherwise the
    meeting is saved (a 主题党日 in a month whose theme day has not begun changes that one), audited, and announced
    to its audience unless it is recorded after it ended. (The meeting's number, None when refused; the reply.)"""
    tz = ctx.settings.timezone
    if not rules.held_by(plan.kind, org.kind):
        return None, ctx.render("meeting_wrong_level", kind=plan.kind, org=org.name, org_kind=org.kind)
    days = ctx.content.rules.life.backfill_days
    if rules.too_far_back(plan.starts.date(), ctx.today, days):
        return None, ctx.render("meeting_too_old", day=plan.starts.date(), days=days)
    if rules.too_far_ahead(plan.starts.date(), ctx.today):
        return None, ctx.render("meeting_too_far", day=plan.starts.date(), days=rules.AHEAD_DAYS)
    if refusal := ctx.refuse_long(plan.place, limits.PLACE) or ctx.refuse_long(plan.topic, limits.TOPIC):
        return None, refusal
    starts = plan.starts.replace(tzinfo=tz)
    values = {"org_id": org.id, "kind": plan.kind, "topic": plan.topic, "place": plan.place, "starts_at": starts,
              "ends_at": starts + timedelta(minutes=plan.minutes), "planned_by": ctx.bound.id, "planned_at": ctx.now}
    changed = await _theme_day_to_change(ctx, org.id, plan.kind, starts)
    twice = await meetings.same_plan(ctx.session, org_id=org.id, kind=plan.kind, starts_at=starts)
    if twice is not None and changed is None:
        return None, ctx.render("meeting_twice", meeting=await _described(ctx, twice))
    if changed is not None and changed.starts_at != starts:
        await meetings.drop_leave(ctx.session, meeting_id=changed.id)  # asked for the old time, which no longer holds
    planned = await meetings.replan(ctx.session, meeting=changed, **values) if changed else await meetings.create(
        ctx.session, **values)
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=None, org_id=org.id, action="meeting_plan",
                       subject=f"meeting:{planned.id}", detail=f"{plan.kind} {plan.starts:%Y-%m-%d %H:%M} "
                       f"{plan.place} {plan.topic}", at=ctx.now)
    size = len(list(await ctx.session.scalars(await meetings.audience(ctx.session, meeting=planned))))
    if life.after_the_fact(planned):
        return planned.id, ctx.render("meeting_recorded", meeting=await _described(ctx, planned), size=size)
    await life.announce(ctx.session, ctx.content, tz, planned, ctx.now, changed=bool(changed))
    return planned.id, ctx.render("meeting_planned", meeting=await _described(ctx, planned), size=size,
                                  changed=bool(changed), minutes=plan.minutes)


@router.command("出席", "补记出席", need=Need.SECRETARY,
                usage=Usage("出席 12 张三 李四", "补记会后才录入的会议由谁出席（其余计为缺席，并推送补学）"))
async def attended(ctx: Context) -> str:
    """`出席 12 姓名 …`: who attended a meeting recorded after it ended (a name followed by the phone's last four
    digits when two share it); closes it like the end of any meeting, catch-ups included."""
    if len(ctx.args) < 2 or not ctx.args[0].isdigit():
        return ctx.render("attendance_usage")
    found, governs = await visible(ctx, int(ctx.args[0]))
    if found is None or not governs:
        return ctx.render("meeting_not_found", id=ctx.args[0])
    if not life.after_the_fact(found) or found.closed_at is not None:
        return ctx.render("attendance_not_needed", meeting=await _described(ctx, found),
                          closed=found.closed_at is not None)
    present = await _attendees(ctx, found, ctx.args[1:])
    if isinstance(present, str):
        return present
    await life.close(ctx.session, ctx.content, ctx.settings.timezone, found.id, ctx.now, present=present)
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=None, org_id=found.org_id,
                       action="meeting_attendance", subject=f"meeting:{found.id}",
                       detail=" ".join(ctx.args[1:])[:500], at=ctx.now)
    return ctx.render("meeting_detail", meeting=await _described(ctx, found), closed=True, mine=None, makeup=None,
                      awaiting=False,
                      counts=await meetings.tally(ctx.session, meeting_id=found.id),
                      minutes=await meetings.minutes_text(ctx.session, meeting_id=found.id),
                      photos=await meetings.photo_count(ctx.session, meeting_id=found.id))


async def _attendees(ctx: Context, found: Meeting, words: tuple[str, ...]) -> set[int] | str:
    """The members of the meeting's audience the secretary named, or the reply saying which name is unknown
    or ambiguous."""
    present: set[int] = set()
    orgs_of = await meetings.audience_orgs(ctx.session, meeting=found)
    for at, word in enumerate(words):
        if word.isdigit():
            continue  # the phone's last four digits of the name before it
        tail = words[at + 1] if at + 1 < len(words) and words[at + 1].isdigit() else ""
        named = await members.named(ctx.session, name=word, org_ids=orgs_of, tail=tail)
        if len(named) != 1 or not await meetings.in_audience(ctx.session, meeting=found, member_id=named[0].id):
            return ctx.render("member_which", name=word, count=len(named), tail=tail,
                              example=f"出席 {found.id} {word} 0002")
        present.add(named[0].id)
    return present


async def _theme_day_to_change(ctx: Context, org_id: int, kind: str, starts: datetime) -> Meeting | None:
    """A 主题党日 planned for a month whose theme day (the calendar's or an earlier plan) has not started yet is
    that theme day changed, never a second one."""
    if kind != MeetingKind.THEME_DAY:
        return None
    start, end = month_of(starts.date()).bounds(ctx.settings.timezone)
    found = await meetings.theme_day_in(ctx.session, org_id=org_id, start=start, end=end)
    return found if found is not None and found.activity_id is None and found.starts_at > ctx.now else None


@router.command("取消会议", "撤销会议", "删除会议", need=Need.SECRETARY,
                usage=Usage("取消会议 12", "会前取消会议，并通知参会党员"))
async def cancel(ctx: Context) -> str:
    """`取消会议 12`: a meeting not yet begun, planned by mistake or called off; its audience is told."""
    if len(ctx.args) != 1 or not ctx.args[0].isdigit():
        return ctx.render("cancel_meeting_usage")
    found, governs = await visible(ctx, int(ctx.args[0]))
    if found is None or not governs:
        return ctx.render("meeting_not_found", id=ctx.args[0])
    meeting = await _described(ctx, found)
    if found.closed_at is not None or (found.starts_at <= ctx.now and not life.after_the_fact(found)):
        return ctx.render("cancel_meeting_begun", meeting=meeting)  # a past one recorded by mistake may go
    audience = list(await ctx.session.scalars(await meetings.audience(ctx.session, meeting=found)))
    if not await meetings.cancel(ctx.session, meeting=found, now=ctx.now):
        return ctx.render("meeting_not_found", id=ctx.args[0])  # called off meanwhile
    if not life.after_the_fact(found):
        await campaigns.create(ctx.session, key=f"meeting-cancel:{found.id}", kind="meeting",
                               title=f"{found.kind}取消", body=ctx.render("meeting_cancelled", meeting=meeting),
                               org_id=found.org_id, at=ctx.now, now=ctx.now,
                               audience=select(Member.id).where(Member.id.in_(audience)))
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=None, org_id=found.org_id,
                       action="meeting_cancel", subject=f"meeting:{found.id}",
                       detail=f"{found.kind} {meeting['starts']:%Y-%m-%d %H:%M} {found.place} {found.topic}", at=ctx.now)
    return ctx.render("cancel_meeting_done", meeting=meeting, size=len(audience))


@router.command("纪要", "会议纪要", need=Need.SECRETARY,
                usage=Usage("纪要 12 内容…", "记录会议纪要，随后可发照片"))
async def minutes(ctx: Context) -> str:
    """`纪要 12 内容`: the minutes of a meeting the secretary governs, kept exactly as sent."""
    text = ctx.text_after(1)
    if not ctx.args or not ctx.args[0].isdigit() or not text:
        return ctx.render("minutes_usage")
    found, governs = await visible(ctx, int(ctx.args[0]))
    if found is None or not governs:
        return ctx.render("meeting_not_found", id=ctx.args[0])
    if refusal := ctx.refuse_long(text, limits.MINUTES):
        return refusal
    await meetings.add_minutes(ctx.session, meeting_id=found.id, author_id=ctx.bound.id, now=ctx.now, text=text)
    return ctx.render("minutes_done", meeting=await _described(ctx, found), minutes=PHOTO_MINUTES)


async def attach_photo(ctx: Context, meeting_id: int) -> str:
    """A photo right after `纪要`: kept with that meeting's minutes."""
    await meetings.add_minutes(ctx.session, meeting_id=meeting_id, author_id=ctx.bound.id, now=ctx.now,
                               media_id=str(ctx.msg.media_id), url=str(ctx.msg.image or ""))
    found = await meetings.get(ctx.session, meeting_id=meeting_id)
    assert found is not None
    return ctx.render("minutes_photo", meeting=await _described(ctx, found),
                      photos=await meetings.photo_count(ctx.session, meeting_id=meeting_id))
