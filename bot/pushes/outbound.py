"""Messages to members outside the passive reply: the deferred answer, long replies' remainders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.storage.db import SessionMaker
from bot.storage.models import OutboxMessage

Clock = Callable[[], datetime]


class Outbound(Protocol):
    """Where customer-service text messages go."""

    async def send_text(self, openid: str, text: str) -> None: ...


class SandboxOutbox:
    """Stores messages in the local outbox, where `palmbot chat` and the tests read them."""

    def __init__(self, sessionmaker: SessionMaker, clock: Clock) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock

    async def send_text(self, openid: str, text: str) -> None:
        async with self._sessionmaker.begin() as session:
            session.add(OutboxMessage(openid=openid, content=text, created_at=self._clock()))
