"""What a load balancer and Prometheus ask: `/healthz` (liveness), `/readyz` (readiness) and `/metrics`.

`/healthz` and `/readyz` answer anyone on the serving address, so a load balancer on another host reaches
them; `/metrics` only the addresses of `metrics_allow` (403 for others). The asking address is the TCP peer;
only when that peer is one of `trusted_proxies` does X-Forwarded-For name the client.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Network
from bot.keys import SERVICES
from bot.ops.metrics import Ledger
from bot.repo import campaigns
from bot.services import Services
from bot.storage import migrate

log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 2.0  # seconds a probe waits for the database before calling it unreachable
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def mount(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


async def healthz(_request: web.Request) -> web.Response:
    """Liveness: 200 while the process serves requests; it asks nothing of the database."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 when the database answers and its schema is the code's; else 503 with the reason."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), request.app[SERVICES].sessionmaker() as session:
            revision = await session.run_sync(lambda sync: migrate.revision_of(sync.connection()))
    except (SQLAlchemyError, OSError):  # TimeoutError is an OSError
        return _unready("database unreachable")
    if revision != migrate.head():
        return _unready(f"database schema at {revision or 'none'}, the code needs {migrate.head()}: "
                        "run `palmbot db upgrade`")
    return web.json_response({"status": "ready", "revision": revision})


def _unready(reason: str) -> web.Response:
    return web.json_response({"status": "unavailable", "reason": reason}, status=503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus's text format, for the addresses of `metrics_allow` only (403 for others)."""
    services = request.app[SERVICES]
    settings = services.settings
    client = client_address(request, settings.trusted_proxies)
    if client is None or not any(client in network for network in settings.metrics_allow):
        raise web.HTTPForbidden(text="metrics are not served to this address")
    body = services.metrics.exposition(await _ledger(services))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _ledger(services: Services) -> Ledger | None:
    """The delivery ledger's counts and lag as the database has them now; None when it does not answer."""
    now = services.clock()
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), services.sessionmaker() as session:
            statuses = await campaigns.counts(session)
            oldest = await campaigns.oldest_due(session, now=now)
    except (SQLAlchemyError, OSError):
        log.warning("metrics: the database did not answer")
        return None
    return Ledger(statuses, max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


def client_address(request: web.Request, trusted: tuple[Network, ...]) -> Address | None:
    """Who is asking: the TCP peer, or, when the peer is a trusted proxy, the last address in X-Forwarded-For
    that is not one (proxies append, so the ones before it could be forged); None when it cannot be read."""
    address = _address(request.remote)
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    while address is not None and forwarded and any(address in network for network in trusted):
        address = _address(forwarded.pop())
    return address


def _address(text: str | None) -> Address | None:
    """An IP address, IPv4-mapped IPv6 (`::ffff:10.0.0.1`, a dual-stack socket's peer) read as IPv4."""
    try:
        address = ipaddress.ip_address(text or "")
    except ValueError:
        return None
    return address.ipv4_mapped or address if isinstance(address, ipaddress.IPv6Address) else address
