"""A member's phone in tests: sends signed, encrypted messages to /wechat and reads the replies."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable
from datetime import datetime

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.ops.simulator import Simulator, click_xml, event_xml, image_xml, openid_for, text_xml
from bot.storage.db import SessionMaker
from bot.storage.models import OutboxMessage
from bot.wechat.fake import FakeWeChat

_msg_ids = itertools.count(7_000_000_000_000_000_000)


class Phone:
    def __init__(self, client: TestClient, sim: Simulator, clock: Callable[[], datetime], number: str,  # type: ignore[type-arg]
                 wechat: FakeWeChat | None = None) -> None:
        self.client, self.sim, self.clock, self.number, self.wechat = client, sim, clock, number, wechat
        self.openid = openid_for(number)

    def text_xml(self, content: str, msg_id: int | None = None) -> str:
        return text_xml(self.openid, content, msg_id=msg_id or next(_msg_ids), at=int(self.clock().timestamp()))

    async def post(self, xml: str) -> tuple[int, str]:
        """POST a message exactly as WeChat does; the HTTP status and the raw body."""
        query, body = self.sim.request(xml)
        resp = await self.client.post("/wechat", params=query, data=body.encode())
        return resp.status, await resp.text()

    async def deliver(self, xml: str) -> str | None:
        status, body = await self.post(xml)
        assert status == 200, body
        return self.sim.reply_text(body)

    async def send(self, content: str) -> str | None:
        """Send a text message; the reply text (None when the bot answered `success`).

        WeChat sees the message too, so the fake API (when there is one) opens this member's window.
        """
        if self.wechat is not None:
            self.wechat.interaction(self.openid)
        return await self.deliver(self.text_xml(content))

    def pushed(self) -> list[str]:
        """What the fake WeChat API accepted for this member, oldest first."""
        assert self.wechat is not None
        return [m.content for m in self.wechat.messages_to(self.openid)]

    async def volunteer(self, text: str) -> int:
        """Record volunteer service (`志愿 2 社区环境整治`); the claim's number."""
        reply = await self.send(f"志愿 {text}")
        found = re.search(r"已记录志愿服务 (\d+) 号", reply or "")
        assert found, reply
        return int(found.group(1))

    async def photo(self, url: str) -> str | None:
        """Send a photo; the fake WeChat API (when there is one) keeps it for `media/get`, as WeChat does."""
        media_id = f"media-{next(_msg_ids)}"
        if self.wechat is not None:
            self.wechat.interaction(self.openid)
            self.wechat.received_photo(media_id)
        return await self.deliver(image_xml(self.openid, url, at=int(self.clock().timestamp()), media_id=media_id))

    async def click(self, key: str) -> str | None:
        return await self.deliver(click_xml(self.openid, key, at=int(self.clock().timestamp())))

    async def event(self, name: str) -> str | None:
        return await self.deliver(event_xml(self.openid, name, at=int(self.clock().timestamp())))

    async def bind(self, name: str) -> None:
        reply = await self.send(f"绑定 {name} {self.number[-4:]}")
        assert reply and reply.startswith("绑定成功"), reply

    async def bound(self, name: str) -> Phone:
        """This phone, bound to the roster entry `name`."""
        await self.bind(name)
        return self

    async def outbox(self, db: SessionMaker) -> list[str]:
        """What the bot sent this member outside the passive reply."""
        async with db() as session:
            rows = await session.scalars(
                select(OutboxMessage.content).where(OutboxMessage.openid == self.openid).order_by(OutboxMessage.id)
            )
            return list(rows)

    async def wait_outbox(self, db: SessionMaker, count: int, seconds: float = 5.0) -> list[str]:
        """The outbox once it holds `count` messages (or whatever it holds after `seconds`)."""
        for _ in range(int(seconds / 0.02)):
            messages = await self.outbox(db)
            if len(messages) >= count:
                return messages
            await asyncio.sleep(0.02)
        return await self.outbox(db)
