"""The application factory: settings in, a ready aiohttp app out."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto

from bot import console
from bot.config import FAKE_WECHAT_PATH, Settings
from bot.content import Content, load_content
from bot.conversation.routing import Router
from bot.keys import SERVICES
from bot.message.replay import RedisMemory, kept_for
from bot.message.webhook import receive, verify
from bot.ops import probes
from bot.ops.logs import AccessLogger
from bot.ops.metrics import Metrics
from bot.pushes.delivery import DeliveryWorker
from bot.pushes.outbound import Clock, SandboxOutbox
from bot.services import Services
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import OutboxMessage
from bot.wechat.client import build_client
from bot.wechat.fake import FakeWeChat

MAX_BODY = 1024 * 1024
SERVER_OPTIONS: dict[str, Any] = {"access_log_class": AccessLogger}  # for web.run_app and test servers alike


def create_app(
    settings: Settings, *, clock: Clock | None = None, content: Content | None = None,
    router: Router | None = None, background: bool = True,
) -> web.Application:
    """Build the app; the database, content, WeChat client and scheduler come up in its cleanup context.

    `background=False` (tests) starts neither the scheduler nor the delivery loop: tests run them by hand.
    """
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_get("/wechat", verify)
    app.router.add_post("/wechat", receive)
    probes.mount(app)
    console.mount(app)
    if settings.sandbox:
        app.router.add_get("/sandbox/outbox", sandbox_outbox)
    now = clock or (lambda: datetime.now(settings.timezone))
    if settings.fake_wechat:
        app.add_subapp(FAKE_WECHAT_PATH, FakeWeChat(settings.wechat_appid, settings.wechat_secret, now).app())

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        from handlers import build_router

        metrics = Metrics()
        engine = make_engine(settings.database_url, on_group=metrics.group_committed)
        sessionmaker = make_sessionmaker(engine)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        async with aiohttp.ClientSession() as http:
            client = None if settings.sandbox else build_client(settings, sessionmaker, now, http, redis,
                                                                 on_refresh=metrics.token_refreshed)
            services = Services(
                settings=settings,
                sessionmaker=sessionmaker,
                content=content or load_content(settings.content_dir),
                outbound=client or SandboxOutbox(sessionmaker, now),
                router=router or build_router(),
                clock=now,
                crypto=_crypto(settings),
                redis_replays=RedisMemory(redis, kept_for(settings.request_max_age)) if redis else None,
                deliveries=DeliveryWorker(sessionmaker, client, now, settings.wechat_template_notice,
                                          settings.wechat_template_fields) if client else None,
                wechat=client,
                metrics=metrics,
            )
            app[SERVICES] = services
            async with _background(services, enabled=background):
                yield
        if redis is not None:
            await redis.aclose()
        await engine.dispose()

    app.cleanup_ctx.append(lifecycle)
    return app


YOUNG_COLLECTION = 10_000  # allocations between two collections of the youngest generation (Python's default: 700)


async def settle_heap(app: web.Application) -> None:
    """Once the server is up: collect, set every object alive now aside from the collector (`gc.freeze`), and
    collect the youngest generation every YOUNG_COLLECTION allocations rather than every 700.

    A full collection then never rescans the code, content and libraries loaded at startup. Before, one
    stalled every request for 80–100 ms about every 10 s at a steady 300 messages/s, which was the p99 of
    `make bench` (Python's docs on `gc.freeze`). A message allocates some thousands of objects, almost all
    freed by their reference counts, so at 700 the collector ran several times a message and traversed the
    messages under way each time: 40,000 of a `积分`'s 1.99M instructions (`make bench-instructions`), about
    nothing at 10,000, which holds at most a few MB of cyclic garbage a little longer. For `palmbot serve`
    only: tests build many apps per process.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])


@asynccontextmanager
async def _background(services: Services, *, enabled: bool) -> AsyncIterator[None]:
    """The scheduler, the content watcher and the delivery loop, for the app's lifetime; stopped in order."""
    from scheduler.content_watch import watch_content
    from scheduler.delivery_loop import deliver_forever
    from scheduler.setup import start_scheduler

    scheduler = start_scheduler(services) if enabled else None
    loops = [services.spawn(watch_content(services))] if enabled else []
    if enabled and services.deliveries:
        loops.append(services.spawn(deliver_forever(services)))
    if enabled:
        _reload_on_sighup(services)
    try:
        yield
    finally:
        if scheduler:
            scheduler.shutdown(wait=False)
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*services.background, return_exceptions=True)


def _reload_on_sighup(services: Services) -> None:
    """`kill -HUP` reloads the content at once (where the platform has signals and this is the main thread)."""
    from scheduler.content_watch import reload_content

    try:
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGHUP, lambda: services.spawn(reload_content(services)))
    except (NotImplementedError, RuntimeError, ValueError):
        pass


def _crypto(settings: Settings) -> WeChatCrypto | None:
    if settings.message_mode == "plaintext":
        return None
    return WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)


async def sandbox_outbox(request: web.Request) -> web.Response:
    """Sandbox only: the messages the bot 'sent' to one member, after a given id."""
    openid = request.query.get("openid", "")
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise web.HTTPBadRequest(text="after must be a number") from None
    async with request.app[SERVICES].sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.openid == openid, OutboxMessage.id > after)
            .order_by(OutboxMessage.id)
        )
        return web.json_response([{"id": m.id, "content": m.content} for m in rows])
