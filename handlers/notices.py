"""Secretary notices (通知 → 确认 / 取消, 回执通知, 回执) and members reading them (通知, 收到)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select

from bot.conversation.context import Context
from bot.conversation.dispatch import SECRETARY_ROLES
from bot.conversation.routing import Need, Router, Usage
from bot.message.replies import split_text
from bot.repo import campaigns, conversation, lessons, notices, orgs
from bot.storage import limits
from bot.storage.models import Member, NoticeDraft, Organisation

router = Router(topic="通知")
PREVIEW_MINUTES = 10  # how long a notice preview waits for 确认
PREVIEW = timedelta(minutes=PREVIEW_MINUTES)
COMMAND = "通知"  # the command `确认` and `取消` then apply to
ACKNOWLEDGES = "收到"  # the command acknowledging notices that ask for it


@router.command("通知", "看通知", "看看通知", "查看通知", "未读通知", loose=("看通知", "看看通知", "查看通知", "未读通知"),
                fits=r"(?:吧|一下)?", click="NOTICES", need=Need.MEMBER, menu=4, usage=(
    Usage("通知", "阅读未读通知"),
    Usage("通知 内容…", "给本组织发通知（先预览，再确认）", Need.SECRETARY)))
async def notice(ctx: Context) -> str:
    """`通知` reads the member's unread notices; `通知 内容` is a secretary writing one."""
    if ctx.rest:
        return await _draft(ctx, needs_ack=False)
    unread = await campaigns.read_waiting(ctx.session, member_id=ctx.bound.id, now=ctx.now)
    for lesson in (u for u in unread if u.kind in lessons.QUIZ_KINDS and u.ref):  # so `答` answers the lesson just read
        await lessons.record_view(ctx.session, member_id=ctx.bound.id, lesson_id=str(lesson.ref), now=ctx.now)
    return ctx.render("notices_list", notices=unread) if unread else ctx.render("notices_none")


@router.command("回执通知", need=Need.SECRETARY, usage=Usage("回执通知 内容…", "发需要回复「收到」的通知"))
async def notice_with_receipt(ctx: Context) -> str:
    """回执通知 内容: a notice members acknowledge with `收到`."""
    return await _draft(ctx, needs_ack=True)


async def _draft(ctx: Context, *, needs_ack: bool) -> str:
    """Check the addressee, save the draft, make `确认` send exactly it, and show the preview with the audience
    size."""
    if ctx.bound.role not in SECRETARY_ROLES:
        return ctx.render("secretary_only")
    name, body = addressee(ctx.rest)
    if not body:
        return ctx.render("notice_usage")
    org = await target(ctx, name)
    if isinstance(org, str):
        return org
    drafted = await prepare(ctx, org, body, needs_ack=needs_ack)
    if isinstance(drafted, str):
        return drafted
    await conversation.ask_confirmation(ctx.session, member_id=ctx.bound.id, command=COMMAND,
                                        payload=json.dumps({"digest": drafted.digest}), expires_at=ctx.now + PREVIEW)
    return ctx.render("notice_preview", body=body, org=drafted.org, size=drafted.size, needs_ack=needs_ack,
                      messages=drafted.messages, minutes=PREVIEW_MINUTES)


@dataclass(frozen=True, slots=True)
class Drafted:
    """A saved draft waiting for `确认` (or the console's 发送): its mark (`notices.digest`), addressee (id and full
    path), text and whether it asks for 收到; the notice as members read it, how many members it reaches, and how
    many chat messages it goes out as (WeChat's 2,048 bytes each)."""

    digest: str
    org_id: int
    org: str
    body: str
    needs_ack: bool
    text: str
    size: int
    messages: int


async def prepare(ctx: Context, org: Organisation, body: str, *, needs_ack: bool) -> Drafted | str:
    """Save the sender's draft of `body` to `org` and its subtree (replacing any earlier draft) for PREVIEW_MINUTES;
    the draft, or the reply refusing a text over `limits.NOTICE`. Only a send carrying its digest sends it.

    The caller has checked that the sender is a secretary or administrator who answers for `org`.
    """
    if refusal := ctx.refuse_long(body, limits.NOTICE):
        return refusal
    await notices.save_draft(ctx.session, member_id=ctx.bound.id, org_id=org.id, body=body, needs_ack=needs_ack,
                             expires_at=ctx.now + PREVIEW)
    return await _drafted(ctx, org, body, needs_ack=needs_ack)


async def _drafted(ctx: Context, org: Organisation, body: str, *, needs_ack: bool) -> Drafted:
    text = push_text(ctx, org=org.name, body=body, needs_ack=needs_ack)
    size = await notices.audience_size(ctx.session, org_ids=await orgs.subtree(ctx.session, org_id=org.id))
    return Drafted(notices.digest(org_id=org.id, needs_ack=needs_ack, body=body), org.id, org.path, body, needs_ack,
                   text, size, len(split_text(text)))


def push_text(ctx: Context, *, org: str, body: str, needs_ack: bool) -> str:
    """A notice exactly as its members read it: the organisation's name as its title, then the text."""
    return ctx.render("notice_push", org=org, body=body, needs_ack=needs_ack)


def addressee(text: str) -> tuple[str, str]:
    """"@第二党支部 内容" → ("第二党支部", "内容"); without "@", no addressee."""
    if not text.startswith(("@", "＠")):
        return "", text
    parts = text[1:].split(maxsplit=1) + ["", ""]  # any space, the full-width one too
    return parts[0], parts[1].strip()


async def target(ctx: Context, name: str) -> Organisation | str:
    """The organisation a notice goes to, or the reply refusing it.

    A secretary or administrator addresses their own organisation or one under it, by name or path; a name
    that could mean several of theirs is refused with the paths it could mean.
    """
    governed = await ctx.governed()
    if not name:
        own = await ctx.session.get(Organisation, ctx.bound.org_id)
        assert own is not None
        return own
    found = await orgs.matching(ctx.session, path=name, within=governed)
    if len(found) == 1:
        return found[0]
    if found:
        return ctx.render("org_ambiguous", org=name, paths=[org.path for org in found])
    elsewhere = await orgs.matching(ctx.session, path=name)
    return ctx.render("notice_other_branch" if elsewhere else "notice_unknown_org", org=name)


@dataclass(frozen=True, slots=True)
class Settled:
    """What `确认`/发送 or `取消`/放弃 did with the sender's draft.

    `outcome`: "started" (the campaign `campaign_id` to `size` members), "cancelled", "expired", "no_draft" (none
    waiting, or another request took it), or "changed": the draft waiting is not the one previewed (another
    preview replaced it), so nothing happened and `current` is that draft, kept for a new decision.
    """

    outcome: Literal["started", "cancelled", "expired", "no_draft", "changed"]
    needs_ack: bool = False
    campaign_id: int | None = None
    size: int = 0
    current: Drafted | None = None
    paused_until: datetime | None = None  # started while another campaign waits for the daily quota: until when


async def send_draft(ctx: Context, *, digest: str) -> Settled:
    """Start the campaign of the sender's draft if it is the one previewed (`digest`) and has not expired; the
    draft is used up either way, unless it changed since."""
    draft = await _take(ctx, digest)
    if isinstance(draft, Settled):
        return draft
    if draft.expires_at <= ctx.now:
        return Settled("expired")
    org_ids = await orgs.subtree(ctx.session, org_id=draft.org_id)
    org = await orgs.name_of(ctx.session, org_id=draft.org_id)
    campaign_id = await campaigns.create(
        ctx.session, key=f"notice:{ctx.bound.id}:{draft.id}:{ctx.now.isoformat()}", kind=notices.KIND,
        title=f"{org}通知", body=push_text(ctx, org=org, body=draft.body, needs_ack=draft.needs_ack),
        audience=select(Member.id).where(Member.org_id.in_(org_ids)), at=ctx.now, now=ctx.now,
        org_id=draft.org_id, created_by=ctx.bound.id, needs_ack=draft.needs_ack,
    )
    size = await notices.audience_size(ctx.session, org_ids=org_ids)
    paused = await campaigns.quota_paused_until(ctx.session, now=ctx.now)
    return Settled("started", draft.needs_ack, campaign_id, size,
                   paused_until=paused.astimezone(ctx.settings.timezone) if paused else None)


async def withdraw(ctx: Context, *, digest: str) -> Settled:
    """Give up the sender's draft if it is the one previewed (`digest`)."""
    draft = await _take(ctx, digest)
    return draft if isinstance(draft, Settled) else Settled("cancelled")


async def _take(ctx: Context, digest: str) -> NoticeDraft | Settled:
    """The sender's draft, removed, if it is the one previewed or has expired anyway; else what happened."""
    draft = await notices.draft_of(ctx.session, member_id=ctx.bound.id)
    if draft is None:
        return Settled("no_draft")
    if notices.digest_of(draft) != digest and draft.expires_at > ctx.now:
        org = await ctx.session.get(Organisation, draft.org_id)
        assert org is not None
        return Settled("changed", current=await _drafted(ctx, org, draft.body, needs_ack=draft.needs_ack))
    return draft if await notices.drop_draft(ctx.session, draft_id=draft.id) else Settled("no_draft")


def told(ctx: Context, settled: Settled) -> str:
    """The chat's reply on what `确认` or `取消` did."""
    if settled.outcome == "started":
        return ctx.render("notice_started", size=settled.size, needs_ack=settled.needs_ack,
                          paused_until=settled.paused_until)
    if settled.outcome == "expired":
        return ctx.render("notice_expired", minutes=PREVIEW_MINUTES)
    if settled.outcome == "changed":
        return ctx.render("notice_changed")
    return ctx.render("notice_cancelled" if settled.outcome == "cancelled" else "notice_no_draft")


def _previewed(payload: str) -> str:
    """The digest the chat preview armed `确认` with (none in a confirmation armed before there were digests)."""
    return str(json.loads(payload or "{}").get("digest", ""))


async def cancel(ctx: Context, payload: str) -> str:
    return told(ctx, await withdraw(ctx, digest=_previewed(payload)))


@router.confirms(COMMAND, what="这条通知", cancel=cancel)
async def confirm(ctx: Context, payload: str) -> str:
    """`确认` after a preview: start the campaign of the draft chat previewed, if it has not expired or changed."""
    return told(ctx, await send_draft(ctx, digest=_previewed(payload)))


@router.command(ACKNOWLEDGES, "确认收到", "已收到", "已经收到", "收到了", need=Need.MEMBER,
                usage=Usage("收到", "确认收到要求回执的通知"))
async def acknowledge(ctx: Context) -> str:
    """The member confirms the notices that asked for it."""
    return await receipt(ctx) or ctx.render("ack_none")


async def receipt(ctx: Context) -> str | None:
    """Acknowledge the sender's notices that asked for it, those still waiting to be read too (shown first);
    the reply, or None when none asked (`确认` of a member, `好的，收到！`, see handlers/conversation.py)."""
    shown = [u.body for u in await campaigns.read_asked(ctx.session, member_id=ctx.bound.id, now=ctx.now)]
    titles = await campaigns.acknowledge(ctx.session, member_id=ctx.bound.id, now=ctx.now)
    return ctx.render("ack_done", titles=titles, shown=shown) if titles else None


@router.command("回执", need=Need.SECRETARY, usage=Usage("回执", "谁还没有回复「收到」"))
async def receipts(ctx: Context) -> str:
    """Who has not yet acknowledged the secretary's latest notice that asked for it, and while WeChat's daily
    quota (45009) holds it back, how many are paused until when (they can read it with `通知` meanwhile)."""
    campaign = await campaigns.latest_ack_campaign(ctx.session, created_by=ctx.bound.id)
    if campaign is None:
        return ctx.render("receipts_none")
    names = await campaigns.not_acknowledged(ctx.session, campaign_id=campaign.id)
    tally = (await campaigns.tallies(ctx.session, campaign_ids=[campaign.id]))[campaign.id]
    until = campaign.paused_until.astimezone(ctx.settings.timezone) if campaign.paused_until else None
    return ctx.render("receipts", title=campaign.title, names=names, paused=tally.paused, until=until)
