"""Acting from the console as from the chat: the handler's Context for the signed-in secretary, so a button
calls the very function the chat command calls (same push, same audit row, same ledger entry)."""

from __future__ import annotations

from types import SimpleNamespace

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.web import Viewer, services
from bot.conversation.context import Context
from bot.repo.members import Sender


def context(request: web.Request, session: AsyncSession, who: Viewer) -> Context:
    """A Context whose sender is the viewer, in `session`'s transaction; no message text (`args` empty)."""
    svc = services(request)
    return Context(msg=SimpleNamespace(source="", type="console"),
                   member=Sender(who.member_id, who.name, who.role, who.org_id, "zh"),  # the console is in Chinese
                   args=(), session=session, settings=svc.settings, content=svc.content,
                   outbound=svc.outbound, now=svc.clock(), router=svc.router)
