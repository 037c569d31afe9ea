"""成员: the roster of the viewer's subtree (search by name or phone tail, filter by organisation, a page at a
time), and unbinding or moving a member after a confirming page; the chat's and the operator's own functions do
it (`handlers.binding.unbind_member`, `bot.repo.members.move`), with their audit rows. Nobody moves themselves,
and a 书记 or 管理员 is moved only between organisations strictly below the viewer's own
(`bot.roster.scope.overreach`, as an import).

Phones are shown masked to their last four digits; openids never.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import acting
from bot.console.web import PREFIX, Viewer, form, number, page, refusal, scoped, secretary, services
from bot.repo import members, orgs
from bot.roster.scope import CHIEFS, Actor, overreach
from bot.storage.models import Member
from handlers.binding import unbind_member

routes = web.RouteTableDef()
PER_PAGE = 50
HERE = f"{PREFIX}/members"
SEARCH_CHARS = 20


@dataclass(frozen=True, slots=True)
class Shown:
    """A roster line as the page shows it: never the phone in full, never the openid."""

    id: int
    name: str
    org: str
    role: str
    bound: bool
    phone: str  # masked: *******0002

    @classmethod
    def of(cls, member: Member, org: str) -> Shown:
        return cls(member.id, member.name, org, member.role, member.openid is not None, masked(member.phone))


def masked(phone: str) -> str:
    """A phone number with all but its last four digits hidden."""
    return "*" * max(0, len(phone) - 4) + phone[-4:]


@routes.get(HERE)
async def roster(request: web.Request) -> web.Response:
    """`/console/members?q=&org=&page=`: the viewer's subtree; `q` a name or the last digits of a phone, `org` one
    organisation of the subtree and those under it (another's is 403)."""
    return await listing(request, secretary(request))


async def listing(request: web.Request, who: Viewer, *, status: int = 200, **outcome: Any) -> web.Response:
    """The roster page for `request`'s query; `outcome` says what an action did (`flash`: a chat reply;
    `moved`: name, before, after, done; `imported`: a `bot.roster.imports.ImportResult` and `skipped`, the bad
    rows left out)."""
    text = request.query.get("q", "").strip()[:SEARCH_CHARS]
    org_id = number(request.query.get("org"))
    if org_id is not None:
        scoped(request, org_id)
    shown = number(request.query.get("page")) or 1
    async with services(request).sessionmaker() as session:
        within = await orgs.subtree(session, org_id=org_id) if org_id else who.governed
        total, found = await members.search(session, org_ids=within, text=text, offset=(shown - 1) * PER_PAGE,
                                            limit=PER_PAGE)
        choices = await orgs.paths(session, org_ids=who.governed)
    query = urlencode({k: v for k, v in (("q", text), ("org", org_id or "")) if v})
    shown_outcome = {"flash": "", "moved": None, "imported": None, "skipped": 0} | outcome
    return page(request, "members.html", status=status, **shown_outcome, rows=[Shown.of(m, o) for m, o in found],
                total=total, q=text, org=org_id, orgs=choices, page=shown, pages=max(1, -(-total // PER_PAGE)),
                path=HERE, query=f"{query}&" if query else "")


def actor_of(who: Viewer) -> Actor:
    """The viewer as `bot.roster.scope` judges what they may change."""
    return Actor(who.member_id, who.org_id, who.governed)


async def governed_member(request: web.Request, session: AsyncSession) -> tuple[Viewer, Member]:
    """The member the URL names, who must be of the viewer's subtree (else 403; an unknown id 404)."""
    secretary(request)
    member_id = number(request.match_info["member_id"])
    member = await session.get(Member, member_id) if member_id else None
    if member is None:
        raise refusal(request, web.HTTPNotFound, "not_found", what="这名党员")
    return scoped(request, member.org_id), member


@routes.get(f"{HERE}/{{member_id}}/unbind")
async def unbind_page(request: web.Request) -> web.Response:
    """The confirming page before unbinding: who, where, and that they may bind again."""
    async with services(request).sessionmaker() as session:
        who, member = await governed_member(request, session)
        _not_oneself(request, who, member, "own_unbind")
        org = await orgs.path_of(session, org_id=member.org_id)
    return page(request, "member_action.html", action="unbind", member=Shown.of(member, org), orgs=[])


@routes.post(f"{HERE}/{{member_id}}/unbind")
async def unbind(request: web.Request) -> web.Response:
    """Unbind as chat `解绑` does (the same function, reply and audit row); then the roster with the reply."""
    async with services(request).sessionmaker.begin() as session:
        who, member = await governed_member(request, session)
        done, reply = await unbind_member(acting.context(request, session, who), member)
    return await listing(request, who, flash=reply, status=200 if done else 400)


@routes.get(f"{HERE}/{{member_id}}/move")
async def move_page(request: web.Request) -> web.Response:
    """The confirming page before moving: the member and the organisations of the subtree to move them to."""
    async with services(request).sessionmaker() as session:
        who, member = await governed_member(request, session)
        _not_oneself(request, who, member)
        org = await orgs.path_of(session, org_id=member.org_id)
        choices = [(id_, path) for id_, path in await orgs.paths(session, org_ids=who.governed)
                   if id_ != member.org_id and not overreach(actor_of(who), member, org_id=id_, role=member.role)]
    return page(request, "member_action.html", action="move", member=Shown.of(member, org), orgs=choices,
                chief=member.role in CHIEFS)


@routes.post(f"{HERE}/{{member_id}}/move")
async def move(request: web.Request) -> web.Response:
    """Move the member to the organisation `org` (form) of the subtree, as `palmbot members move` does: their
    ledger, stars and history stay theirs, a pending claim follows them, both organisations' audit trails get a
    row. A target outside the subtree, moving oneself, or a 书记 or 管理员 moved out of or into an organisation not
    strictly below the viewer's own is 403."""
    target = number((await form(request)).get("org"))
    svc = services(request)
    async with svc.sessionmaker.begin() as session:
        who, member = await governed_member(request, session)
        _not_oneself(request, who, member)
        if target is None:
            raise refusal(request, web.HTTPBadRequest, "bad_request", what="请选择要转到的组织。")
        scoped(request, target)
        if refused := overreach(actor_of(who), member, org_id=target, role=member.role):
            raise refusal(request, web.HTTPForbidden, refused[0], where=await orgs.path_of(session, org_id=refused[1]))
        before = await orgs.path_of(session, org_id=member.org_id)
        done = await members.move(session, member=member, org_id=target, actor_id=who.member_id, now=svc.clock())
        after = await orgs.path_of(session, org_id=target)
    return await listing(request, who, moved={"name": member.name, "before": before, "after": after, "done": done},
                         status=200 if done else 400)


def _not_oneself(request: web.Request, who: Viewer, member: Member, reason: str = "own_move") -> None:
    """403 when the viewer would move or unbind themselves (`reason`): the level above does that."""
    if member.id == who.member_id:
        raise refusal(request, web.HTTPForbidden, reason)
