"""The one typed object a handler receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.content import Content
from bot.conversation.grammar import EMPTY, Said
from bot.conversation.routing import Router
from bot.pushes.outbound import Outbound
from bot.repo import members, orgs
from bot.repo.members import Sender
from bot.rules.periods import Period, names_period, reachable_month
from bot.storage.limits import Limit, too_long
from bot.storage.models import Member


class Outcome(NamedTuple):
    """What a shared action (called by a chat command and a console page alike) replied, and whether it changed
    anything (False: the reply refuses, and nothing was written)."""

    done: bool
    reply: str


@dataclass(frozen=True, slots=True)
class Context:
    """A message, its sender's roster entry (if bound), and the services to answer it."""

    msg: Any
    member: Sender | None
    args: tuple[str, ...]
    session: AsyncSession
    settings: Settings
    content: Content
    outbound: Outbound
    now: datetime
    router: Router
    said: Said = EMPTY
    starts: tuple[int, ...] = ()  # in `said.norm`: after the command word, then each of `args` (`Match.starts`)
    bare: bool = False  # reached by a bare word (`B`, `8032`, a menu number) rather than a command word

    @property
    def openid(self) -> str:
        return str(self.msg.source)

    @property
    def bound(self) -> Sender:
        """The sender's roster entry; routes that need a member guarantee it is there."""
        if self.member is None:
            raise RuntimeError("route needs a bound member")
        return self.member

    @property
    def today(self) -> date:
        """The local date (`settings.timezone`)."""
        return self.now.astimezone(self.settings.timezone).date()

    async def governed(self) -> list[int]:
        """The organisations the sender answers for: their own and those under it, by id (secretaries and
        administrators alike: a township's administrator never sees another township)."""
        return await orgs.subtree(self.session, org_id=self.bound.org_id)

    async def governed_member(self, name: str, tail: str, *, example: str) -> Member | str:
        """The one member of the sender's organisations with this name (whose phone ends in `tail`, when two
        share it), or the reply saying there is none or several; `example` shows where the digits go, with
        `{}` for the name ("解绑 {} 0002")."""
        found = await members.named(self.session, name=name, org_ids=await self.governed(), tail=tail)
        if len(found) == 1:
            return found[0]
        return self.render("member_which", name=name, count=len(found), tail=tail, example=example.format(name))

    async def still_governed(self, member_id: int) -> Member | str:
        """The member a preview named, when `确认` comes: still one the sender answers for (they may have moved
        away meanwhile), or the reply saying they are not."""
        member = await self.session.get(Member, member_id)
        if member is None or member.org_id not in await self.governed():
            return self.render("member_unknown", name="", count=0)
        return member

    @property
    def rest(self) -> str:
        """The text as typed after the command word (a notice keeps its punctuation)."""
        return self.said.typed_from(self.starts[0]) if self.starts else ""

    @property
    def rest_norm(self) -> str:
        """The normal form of the text after the command word (`bot.conversation.grammar`), for rules that
        read it."""
        return self.said.norm[self.starts[0]:] if self.starts else ""

    def typed_at(self, index: int) -> str:
        """The text as typed from `rest_norm[index]` on (a reason keeps its spacing and punctuation)."""
        return self.said.typed_from(self.starts[0] + index) if self.starts else ""

    def text_after(self, words: int) -> str:
        """The text as typed after the first `words` words (a reason keeps its spacing and punctuation)."""
        return self.said.typed_from(self.starts[words + 1]) if len(self.starts) > words + 1 else ""

    def refuse_period(self, command: str, shows: str) -> str | None:
        """For a command that shows only the current period (`shows`, such as 本月和今年): the reply refusing a
        period the sender asked for (`积分 2025`, `排行 上月`), else None; never silently the current one."""
        asked = "".join(self.args)  # the grammar splits `10月` into `10` and `月`
        if not names_period(asked):
            return None
        return self.render("period_refused", command=command, shows=shows, asked=asked)

    def month_asked(self, command: str) -> Period | str:
        """The month named after the command (`台账 11月`; this month when none), or the reply refusing words that
        name no month or one after next month (never silently another)."""
        month = reachable_month("".join(self.args), self.today)
        if month is None:
            return self.render("month_usage", command=command, asked=self.rest, current=self.today)
        return month

    def refuse_long(self, text: str, limit: Limit) -> str | None:
        """The reply naming the limit ("理由最多 100 字") when `text` is over it, else None."""
        return self.render("too_long", what=limit.what, limit=limit.chars) if too_long(text, limit) else None

    def render(self, name: str, /, **values: Any) -> str:
        return self.content.render(name, **values)
