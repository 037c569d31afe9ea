"""Linking a WeChat follower to their roster entry: 绑定, subscribe, unsubscribe."""

from __future__ import annotations

import math

from bot.conversation.context import Context, Outcome
from bot.conversation.routing import Need, Router, Usage
from bot.repo import members, orgs
from bot.rules.binding import WINDOW, retry_after
from bot.storage.models import Member

router = Router(topic="成员")


@router.command("绑定", usage=Usage("绑定 姓名 手机号后四位", "绑定党员身份，例如「绑定 张三 1234」"))
async def bind(ctx: Context) -> str:
    """绑定 姓名 手机号后四位 (or the whole number, when two of a name share the last four digits): link this
    WeChat account to the roster entry."""
    if ctx.member is not None:
        return ctx.render("bind_already", name=ctx.member.name)
    if len(ctx.args) != 2 or not (len(ctx.args[1]) in (4, 11) and ctx.args[1].isdigit()):
        return ctx.render("bind_usage")
    failures = await members.bind_failures_since(ctx.session, openid=ctx.openid, since=ctx.now - WINDOW)
    wait = retry_after(failures, ctx.now)
    if wait is not None:
        return ctx.render("bind_wait", minutes=math.ceil(wait.total_seconds() / 60))
    found = await members.matching(ctx.session, name=ctx.args[0], phone_tail=ctx.args[1])
    if len(found) != 1:
        await members.record_bind_failure(ctx.session, openid=ctx.openid, now=ctx.now)
        return ctx.render("bind_not_found" if not found else "bind_ambiguous")
    member = found[0]
    if not await members.bind(ctx.session, member_id=member.id, openid=ctx.openid):
        await members.record_bind_failure(ctx.session, openid=ctx.openid, now=ctx.now)  # probing is slowed alike
        return ctx.render("bind_taken")
    return ctx.render("bind_done", name=member.name, org=await orgs.path_of(ctx.session, org_id=member.org_id))


@router.event("subscribe", "subscribe_scan")
async def welcome(ctx: Context) -> str:
    """A new (or returning) follower: explain binding, or greet a member already bound."""
    return ctx.render("welcome", name=ctx.member.name if ctx.member else "")


@router.event("unsubscribe")
async def farewell(ctx: Context) -> None:
    """Unlink the openid; the roster entry stays, it is the branch's record."""
    await members.unbind(ctx.session, openid=ctx.openid)


@router.command("解绑", need=Need.SECRETARY,
                usage=Usage("解绑 姓名 / 解绑 姓名 0002", "解除党员的微信绑定（可重新绑定）"))
async def release(ctx: Context) -> str:
    """`解绑 姓名 [手机号后四位]`: a secretary unlinks the WeChat account of a member they answer for (audited);
    the member may bind again, say from a new phone."""
    if not 1 <= len(ctx.args) <= 2:
        return ctx.render("unbind_usage")
    member = await ctx.governed_member(ctx.args[0], ctx.args[1] if len(ctx.args) == 2 else "", example="解绑 {} 0002")
    if isinstance(member, str):
        return member
    return (await unbind_member(ctx, member)).reply


async def unbind_member(ctx: Context, member: Member) -> Outcome:
    """Unlink the WeChat account of `member` (one the sender answers for: the caller has checked) with an `unbind`
    audit row; they may bind again. Refused for the sender's own account and for a member not bound."""
    if member.id == ctx.bound.id:
        return Outcome(False, ctx.render("unbind_own"))
    if not await members.release(ctx.session, member=member, actor_id=ctx.bound.id, now=ctx.now):
        return Outcome(False, ctx.render("unbind_not_bound", name=member.name))
    return Outcome(True, ctx.render("unbind_done", name=member.name,
                                    org=await orgs.path_of(ctx.session, org_id=member.org_id)))
