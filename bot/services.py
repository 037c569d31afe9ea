"""What the app holds for the lifetime of the process, shared by requests and jobs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.content import Content
from bot.conversation.routing import Router
from bot.message.replay import DatabaseMemory, ReplayMemory
from bot.ops.metrics import Metrics
from bot.pushes.delivery import DeliveryWorker
from bot.pushes.outbound import Clock, Outbound
from bot.storage.db import SessionMaker
from bot.wechat.client import WeChatClient


@dataclass
class Services:
    settings: Settings
    sessionmaker: SessionMaker
    content: Content
    outbound: Outbound
    router: Router
    clock: Clock
    crypto: Any = None
    redis_replays: ReplayMemory | None = None  # with `redis_url`: the replay memory in Redis
    deliveries: DeliveryWorker | None = None  # None without an AppSecret: pushes queue, nothing is sent
    wechat: WeChatClient | None = None  # the WeChat API; None without an AppSecret (the sandbox)
    metrics: Metrics = field(default_factory=Metrics)  # what /metrics reports (`bot/ops/metrics.py`)
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def replays(self) -> ReplayMemory:
        """Where plaintext callbacks' signed queries are remembered (`bot/message/replay.py`): Redis, else the
        database."""
        return self.redis_replays or DatabaseMemory(self.sessionmaker)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run `coro` in the background, keeping a reference so it is neither lost nor collected."""
        task: asyncio.Task[Any] = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task
