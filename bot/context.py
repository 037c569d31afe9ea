"""The one typed object a handler receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.content import Content
from bot.limits import Limit, too_long
from bot.outbound import Outbound
from bot.repo import orgs
from bot.repo.members import Sender


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
    rest: str = ""  # the text after the command word, as typed

    @property
    def openid(self) -> str:
        return str(self.msg.source)

    @property
    def bound(self) -> Sender:
        """The sender's roster entry; routes that need a member guarantee it is there."""
        if self.member is None:
            raise RuntimeError("route needs a bound member")
        return self.member

    async def governed(self) -> list[int]:
        """The organisations the sender answers for: their own and those under it, by id (secretaries and
        administrators alike: a township's administrator never sees another township)."""
        return await orgs.subtree(self.session, org_id=self.bound.org_id)

    def text_after(self, words: int) -> str:
        """The text as typed after the first `words` words (a reason keeps its spacing and punctuation)."""
        parts = self.rest.split(maxsplit=words)
        return parts[words].strip() if len(parts) > words else ""

    def refuse_long(self, text: str, limit: Limit) -> str | None:
        """The reply naming the limit ("理由最多 100 字") when `text` is over it, else None."""
        return self.render("too_long", what=limit.what, limit=limit.chars) if too_long(text, limit) else None

    def render(self, name: str, /, **values: Any) -> str:
        return self.content.render(name, **values)
