"""请假 before a meeting, the secretary's 准假 / 不准, and catching up after it: 送学 in person, 补学 pushes for
members on leave. A leave reason is seen by the member and their secretaries only."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from bot.conversation.context import Context
from bot.conversation.routing import Need, NotUnderstood, Router, Usage
from bot.life import meetings as life
from bot.repo import audit, campaigns, meetings, members
from bot.rules import meetings as rules
from bot.rules.meetings import question_index
from bot.storage import limits
from bot.storage.models import AttendanceStatus, LeaveRequest, MakeupKind, Meeting, Member
from handlers.meetings import visible

router = Router(topic="会议")
DATE_UNITS = "月号日点时"  # after a number, these make it a date or a time


@router.command("请假", "我要请假", "我请假", "请个假", need=Need.MEMBER, usage=Usage(
    "请假 理由 / 请假 12 理由", "会前向书记请假"))
async def ask(ctx: Context) -> str:
    """`请假 理由` for the member's next meeting, `请假 12 理由` for meeting 12; the secretaries are told. A number
    that is a date (`请假12月20号的会我去不了`, as speech comes) is part of the reason, not a meeting's."""
    numbered = bool(ctx.args) and ctx.args[0].isdigit() and not (len(ctx.args) > 1 and ctx.args[1][0] in DATE_UNITS)
    reason = ctx.text_after(1) if numbered else ctx.rest
    if not reason:
        return ctx.render("leave_usage")
    if refusal := ctx.refuse_long(reason, limits.REASON):
        return refusal
    named = None if numbered else _NAMED.search(rules.normal(reason))  # `11号会议我去不了`
    number = ctx.args[0] if numbered else named.group(1) if named else ""
    found = (await visible(ctx, int(number)))[0] if number else await _meant(ctx, reason)
    if found is None or not await meetings.in_audience(ctx.session, meeting=found, member_id=ctx.bound.id):
        return ctx.render("leave_no_meeting", id=number)
    meeting = await life.described(ctx.session, ctx.content, ctx.settings.timezone, found)
    if found.starts_at <= ctx.now:
        return ctx.render("leave_too_late", meeting=meeting)
    if not await meetings.ask_leave(ctx.session, meeting_id=found.id, member_id=ctx.bound.id, reason=reason,
                                    now=ctx.now):
        return ctx.render("leave_already_granted", meeting=meeting)
    tail = await _tail(ctx, ctx.bound.id, found)
    await campaigns.create(ctx.session, key=f"leave:{found.id}:{ctx.bound.id}:{ctx.now.timestamp():.0f}",
                           kind="leave", title="请假申请", org_id=found.org_id, at=ctx.now, now=ctx.now,
                           body=ctx.render("leave_asked", name=ctx.bound.name, tail=tail, reason=reason,
                                           meeting=meeting),
                           audience=await meetings.holders(ctx.session, org_id=found.org_id))
    return ctx.render("leave_recorded", meeting=meeting)


async def _meant(ctx: Context, reason: str) -> Meeting | None:
    """The meeting a reason names by its day (`12月20号的会我去不了`: the member's first meeting that day), else the
    member's next meeting."""
    dated = rules.read_date(rules.normal(reason), ctx.today)
    start = datetime.combine(dated[0], time(), ctx.settings.timezone) if dated else ctx.now
    return await meetings.next_for(ctx.session, member_id=ctx.bound.id, org_id=ctx.bound.org_id,
                                   now=max(start, ctx.now), until=start + timedelta(days=1) if dated else None)


_NAMED = re.compile(r"(\d+)\s*号(?:会议|会)")


async def _tail(ctx: Context, member_id: int, meeting: Meeting) -> str:
    """The phone's last four digits when another member the secretaries answer for shares the name, else ""."""
    member = await ctx.session.get(Member, member_id)
    assert member is not None
    namesakes = await members.named(ctx.session, name=member.name, org_ids=await meetings.audience_orgs(
        ctx.session, meeting=meeting))
    return member.phone[-4:] if len(namesakes) > 1 else ""


@router.command("准假", "批假", need=Need.SECRETARY, usage=Usage("准假 姓名 / 准假 姓名 0002", "准许请假"))
async def grant(ctx: Context) -> str:
    return await _decide(ctx, granted=True)


@router.command("不准", "不准假", need=Need.SECRETARY, usage=Usage("不准 姓名 理由", "不准请假"))
async def refuse(ctx: Context) -> str:
    return await _decide(ctx, granted=False)


async def _decide(ctx: Context, *, granted: bool) -> str:
    """The pending request of the named member for the soonest meeting the secretary governs; the member is told."""
    named = await _named(ctx, "准假" if granted else "不准")
    if isinstance(named, str):
        return named
    member, used = named
    reason = None if granted else ctx.text_after(used)
    if not granted and not reason:
        return ctx.render("reason_missing", example=f"不准 {member.name} 会议内容重要，请准时参加")
    if reason and (refusal := ctx.refuse_long(reason, limits.REASON)):
        return refusal
    pending = await meetings.pending_leave(ctx.session, org_ids=await ctx.governed(), now=ctx.now,
                                           member_ids=[member.id])
    if not pending:
        return ctx.render("leave_none", name=member.name)
    leave, found = pending[0]
    return await decide(ctx, leave, found, member.name, granted=granted, reason=reason)


async def decide(ctx: Context, leave: LeaveRequest, found: Meeting, name: str, *, granted: bool,
                 reason: str | None) -> str:
    """`准假` / `不准` in chat and the console: grant or refuse the pending request `leave` of member `name` for
    meeting `found` (one the sender governs), with `reason` (required to refuse, already checked); the audit row
    and the member's message; the reply saying so, or that someone decided it first."""
    if not await meetings.decide_leave(ctx.session, leave_id=leave.id, granted=granted, by=ctx.bound.id,
                                       now=ctx.now, reason=reason):
        return ctx.render("leave_none", name=name)
    await _tell(ctx, leave, found, granted=granted, reason=reason or "")
    return ctx.render("leave_decided", name=name, granted=granted,
                      meeting=await life.described(ctx.session, ctx.content, ctx.settings.timezone, found))


async def _tell(ctx: Context, leave: LeaveRequest, found: Meeting, *, granted: bool, reason: str) -> None:
    """The audit row and the member's message."""
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=leave.member_id, org_id=found.org_id,
                       action="leave_grant" if granted else "leave_refuse", subject=f"meeting:{found.id}",
                       detail=reason or "准假", at=ctx.now)
    body = ctx.render("leave_result", granted=granted, reason=reason,
                      meeting=await life.described(ctx.session, ctx.content, ctx.settings.timezone, found))
    await campaigns.personal(ctx.session, key=f"leave-decision:{leave.id}:{ctx.now.timestamp():.0f}", kind="leave",
                             title="请假结果", bodies={leave.member_id: body}, at=ctx.now, now=ctx.now,
                             org_id=found.org_id)


async def _named(ctx: Context, command: str) -> tuple[Member, int] | str:
    """The member a secretary names (`姓名` or `姓名 0002`, the phone's last four digits telling namesakes apart)
    among those they answer for, and how many words that took; else the reply saying why not."""
    if not ctx.args:
        return ctx.render("named_usage", command=command)
    tail = ctx.args[1] if len(ctx.args) > 1 and len(ctx.args[1]) == 4 and ctx.args[1].isdigit() else ""
    member = await ctx.governed_member(ctx.args[0], tail, example=command + " {} 0002")
    return member if isinstance(member, str) else (member, 2 if tail else 1)


@router.command("送学", need=Need.SECRETARY, usage=Usage(
    "送学 姓名 12", "记录上门送学"))
async def delivered(ctx: Context) -> str:
    """`送学 姓名 12`: an in-person catch-up of meeting 12, recorded once, by the secretary."""
    named = await _named(ctx, "送学")
    if isinstance(named, str):
        return named
    member, used = named
    number = ctx.args[used] if len(ctx.args) > used else ""
    found, governs = await visible(ctx, int(number)) if number.isdigit() else (None, False)
    if found is None or not governs:
        return ctx.render("makeup_usage") if not number.isdigit() else ctx.render("meeting_not_found", id=number)
    if not await meetings.record_makeup(ctx.session, meeting_id=found.id, member_id=member.id,
                                        kind=MakeupKind.DELIVERED, at=ctx.now, by=ctx.bound.id):
        return ctx.render("makeup_refused", name=member.name, closed=found.closed_at is not None)
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=member.id, org_id=found.org_id,
                       action="makeup_delivered", subject=f"meeting:{found.id}", detail="送学", at=ctx.now)
    return ctx.render("makeup_delivered", name=member.name,
                      meeting=await life.described(ctx.session, ctx.content, ctx.settings.timezone, found))


@router.command("补学", need=Need.SECRETARY, usage=Usage(
    "补学 12 请假", "把补学内容也发给请假的党员"))
async def for_leave(ctx: Context) -> str:
    """`补学 12 请假`: members on leave from closed meeting 12 get the catch-up push too (once each)."""
    if len(ctx.args) != 2 or not ctx.args[0].isdigit() or ctx.args[1] != "请假":
        return ctx.render("makeup_leave_usage")
    found, governs = await visible(ctx, int(ctx.args[0]))
    if found is None or not governs:
        return ctx.render("meeting_not_found", id=ctx.args[0])
    if found.closed_at is None:
        return ctx.render("makeup_not_closed", id=found.id)
    sent = await life.catch_up(ctx.session, ctx.content, ctx.settings.timezone, found,
                               statuses=(AttendanceStatus.LEAVE,), now=ctx.now)
    return ctx.render("makeup_leave_sent", id=found.id, count=sent)




async def answer(ctx: Context, meeting_id: int, choice: str) -> str:
    """`答 B` after a catch-up push (or `答 12 B`): a right answer records 补学; a wrong one says so and the member
    may try again. A bare letter answers only a catch-up still open."""
    found = await meetings.get(ctx.session, meeting_id=meeting_id)
    mine = await meetings.attendance_of(ctx.session, meeting_id=found.id, member_id=ctx.bound.id) if found else None
    if found is None or mine is None or mine.status not in meetings.CATCH_UP:
        if ctx.bare:
            raise NotUnderstood
        return ctx.render("makeup_none", id=meeting_id)
    if mine.makeup is not None:
        if ctx.bare:
            raise NotUnderstood
        return ctx.render("makeup_already", id=meeting_id, makeup=mine.makeup)
    bank = ctx.content.makeup[found.kind]
    quiz = bank[question_index(found.id, len(bank))]
    if choice not in quiz.options:
        return ctx.render("quiz_usage", options=sorted(quiz.options))
    meeting = await life.described(ctx.session, ctx.content, ctx.settings.timezone, found)
    if choice != quiz.answer:
        return ctx.render("makeup_wrong", meeting=meeting, choice=choice)
    await meetings.record_makeup(ctx.session, meeting_id=found.id, member_id=ctx.bound.id,
                                 kind=MakeupKind.SELF_STUDY, at=ctx.now)
    return ctx.render("makeup_right", meeting=meeting, quiz=quiz)
