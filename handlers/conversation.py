"""No dead ends: greetings and the numbered menu, what the bot did not understand (a question is offered to the
branch secretary: `转给书记`, answered with `回复 姓名 内容`), and `确认` / `取消` for whichever command asked."""

from __future__ import annotations

from datetime import timedelta

from bot.conversation.context import Context
from bot.conversation.dispatch import SECRETARY_ROLES
from bot.conversation.routing import Need, Router, Usage
from bot.repo import audit, campaigns, conversation, members, orgs
from bot.storage.models import Member
from handlers.help import numbered_menu
from handlers.notices import ACKNOWLEDGES, receipt

router = Router(topic="通知")
QUESTION_CHARS = 6  # a message not understood and at least this long (letters, not spaces) looks like a question
OFFER = timedelta(minutes=30)  # how long `转给书记` forwards the questions just asked
# Asking to forward in one's own words, typed or said (`帮我转给书记`, `请转书记吧`, `问问书记`), normal form.
FORWARD = r"(?:(?:请|麻烦你?|帮我|帮忙|给我) ?)*(?:转给|转交给?|转到|转|问问?|交给|告诉|报给) ?书记(?: ?(?:吧|啊|呀|一下|了|好吗|行吗))*"
GREETINGS = ("你好", "您好", "谢谢", "谢谢你", "感谢", "多谢", "早上好", "上午好", "下午好", "晚上好", "在吗", "在不在",
             "好的", "嗯", "哈喽", "hi", "hello", "ok", "thanks")


@router.command(GREETINGS[0], loose=GREETINGS, fits=".{0,8}", usage=Usage("你好 / 谢谢", "问候，回复数字菜单"))
async def greet(ctx: Context) -> str:
    """A greeting or thanks: a short friendly answer and the numbered menu (a number runs its item). With 收到 in
    it (`好的，收到！`), a member acknowledges the notices that asked for it instead."""
    if ctx.member is not None and ACKNOWLEDGES in ctx.said.norm:
        return await receipt(ctx) or ctx.render("ack_none")
    return ctx.render("greeting", name=ctx.member.name if ctx.member else "", thanks="谢" in ctx.said.norm,
                      menu=numbered_menu(ctx.router), bound=ctx.member is not None)


@router.otherwise
async def not_understood(ctx: Context) -> str:
    """Anything nothing else understood. A bound member's question (long enough, or ending with a question mark,
    `党费怎么交？`) is kept, to forward with `转给书记`; a secretary's gets the menu (they are the one asked)."""
    text = ctx.said.norm
    asks = ctx.said.typed.rstrip().endswith(("？", "?")) and bool(text)
    secretary = ctx.member is not None and ctx.member.role in SECRETARY_ROLES  # would be offered to themselves
    if ctx.member is not None and not secretary and (asks or len(text.replace(" ", "")) >= QUESTION_CHARS):
        branch = await orgs.branch_of(ctx.session, org_id=ctx.member.org_id)
        await conversation.offer_question(ctx.session, member_id=ctx.member.id, org_id=branch,
                                          text=ctx.said.typed.strip(), now=ctx.now, since=ctx.now - OFFER)
        return ctx.render("question_offer", minutes=int(OFFER.total_seconds() // 60))
    return ctx.render("unknown", menu=numbered_menu(ctx.router), bound=ctx.member is not None)


@router.command("转给书记", "转书记", "问书记", "转交书记", need=Need.MEMBER, bare=FORWARD,
                usage=Usage("转给书记", "把刚才没听懂的问题转给本支部书记"))
async def forward(ctx: Context) -> str:
    """Forward every question the member asked in the offer's window, together, to their branch's secretaries
    (nearest above, if none); audited, one entry a question."""
    questions = await conversation.forward_questions(ctx.session, member_id=ctx.bound.id, since=ctx.now - OFFER,
                                                     now=ctx.now)
    if not questions:
        return ctx.render("forward_none")
    org_id = questions[-1].org_id
    secretaries = await _secretaries(ctx, org_id)
    if not secretaries:
        return ctx.render("forward_nobody")
    org = await orgs.name_of(ctx.session, org_id=ctx.bound.org_id)
    note = ctx.render("question_note", name=ctx.bound.name, org=org, texts=[q.text for q in questions])
    await campaigns.personal(ctx.session, key=f"question:{questions[0].id}", kind="question", title="党员提问",
                             bodies={s.id: note for s in secretaries}, at=ctx.now, now=ctx.now, org_id=org_id)
    for question in questions:
        await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=ctx.bound.id, org_id=question.org_id,
                           action="question_forward", subject=f"question:{question.id}", detail=question.text,
                           at=ctx.now)
    return ctx.render("forward_done", secretaries=[s.name for s in secretaries], count=len(questions))


async def _secretaries(ctx: Context, org_id: int) -> list[Member]:
    """The secretaries (and administrators) of the organisation, else of the nearest one above that has some."""
    for level in await orgs.chain_up(ctx.session, org_id=org_id):
        found = [m for m in await members.of_orgs(ctx.session, org_ids=[level], roles=SECRETARY_ROLES)
                 if m.id != ctx.bound.id]
        if found:
            return found
    return []


@router.command("回复", "答复", need=Need.SECRETARY, usage=Usage("回复 姓名 内容", "答复党员转来的问题（首问负责）"))
async def answer(ctx: Context) -> str:
    """`回复 李秀英 内容`: the answer reaches that member privately; their open questions count as answered."""
    text = ctx.text_after(1)
    if not text:
        return ctx.render("answer_usage")
    found = await members.named(ctx.session, name=ctx.args[0], org_ids=await ctx.governed())
    if len(found) != 1:
        return ctx.render("member_unknown", name=ctx.args[0], count=len(found))
    member = found[0]
    open_ones = await conversation.open_questions(ctx.session, member_id=member.id)
    if not open_ones:
        return ctx.render("answer_none", name=member.name)
    body = ctx.render("question_answer", name=ctx.bound.name, question=open_ones[-1].text, text=text)
    await campaigns.personal(ctx.session, key=f"answer:{open_ones[-1].id}:{ctx.now.isoformat()}", kind="answer",
                             title="书记回复", bodies={member.id: body}, at=ctx.now, now=ctx.now, org_id=member.org_id)
    await conversation.answer_questions(ctx.session, ids=[q.id for q in open_ones], by=ctx.bound.id, now=ctx.now)
    await audit.record(ctx.session, actor_id=ctx.bound.id, member_id=member.id, org_id=member.org_id,
                       action="question_answer", subject=f"question:{open_ones[-1].id}", detail=text, at=ctx.now)
    return ctx.render("answer_done", name=member.name)


@router.command("确认", "确定", "确认发送", need=Need.MEMBER,
                usage=Usage("确认", "执行刚才预览的事（通知、评星、大额调整）", Need.SECRETARY))
async def confirm(ctx: Context) -> str:
    """Whatever command asked for confirmation last, and only that one, is carried out. Without one, `确认`
    acknowledges the notices that asked for a receipt, as `收到` does (members say either)."""
    pending = await conversation.take_confirmation(ctx.session, member_id=ctx.bound.id)
    settle = ctx.router.confirmations.get(pending.command) if pending else None
    if pending is None or settle is None:
        acknowledged = await receipt(ctx)
        if acknowledged:
            return acknowledged
        return ctx.render("confirm_none" if ctx.bound.role in SECRETARY_ROLES else "secretary_only")
    if pending.expires_at <= ctx.now:
        return ctx.render("confirm_expired", what=settle.what)
    return await settle.confirm(ctx, pending.payload)


@router.command("取消", "不发了", "算了", need=Need.SECRETARY, usage=Usage("取消", "放弃刚才预览的事"))
async def cancel(ctx: Context) -> str:
    pending = await conversation.take_confirmation(ctx.session, member_id=ctx.bound.id)
    settle = ctx.router.confirmations.get(pending.command) if pending else None
    if pending is None or settle is None:
        return ctx.render("confirm_none")
    if settle.cancel is not None:
        return await settle.cancel(ctx, pending.payload)
    return ctx.render("confirm_cancelled", what=settle.what)
