"""What a load balancer and Prometheus ask: /healthz (the process lives), /readyz (the database answers at the code's
schema) and /metrics (counters that move with messages, deliveries, token fetches and jobs; only for allowed
addresses)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Callable
from ipaddress import ip_network
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.ops.simulator import Simulator
from bot.storage.db import SessionMaker, make_engine
from bot.storage.migrate import head, revision_of, upgrade
from bot.storage.models import Delivery
from scheduler import runner
from scheduler.delivery_loop import deliver_due
from tests.conftest import ROOT, AppMaker, Clock, Scratch, services_of
from tests.phone import Phone

DOWN = "postgresql+asyncpg://postgres@127.0.0.1:9/down"  # nothing listens there
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: TestClient, **headers: str) -> Samples:  # type: ignore[type-arg]
    """/metrics read as Prometheus reads it: each sample by name and labels."""
    resp = await client.get("/metrics", headers=headers)
    assert resp.status == 200, await resp.text()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(await resp.text()) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_healthz_answers_while_the_process_lives_and_readyz_says_the_database_is_unreachable(
        make_client: AppMaker) -> None:
    client = await make_client(database_url=DOWN)
    health = await client.get("/healthz")
    assert (health.status, await health.json()) == (200, {"status": "ok"})
    ready = await client.get("/readyz")
    assert (ready.status, await ready.json()) == (503, {"status": "unavailable", "reason": "database unreachable"})


async def test_readyz_is_ready_at_the_code_s_schema_and_names_a_pending_migration(
        make_client: AppMaker, scratch: Scratch) -> None:
    ready = await (await make_client()).get("/readyz")
    assert (ready.status, await ready.json()) == (200, {"status": "ready", "revision": head()})

    old = await scratch("old")
    await asyncio.to_thread(upgrade, old, "0012")
    behind = await (await make_client(database_url=old)).get("/readyz")
    assert (behind.status, await behind.json()) == (503, {
        "status": "unavailable",
        "reason": f"database schema at 0012, the code needs {head()}: run `palmbot db upgrade`"})


async def test_the_counters_move_with_messages_deliveries_token_fetches_and_jobs(
        live: TestClient, member: Callable[[str], Phone], clock: Clock, db: SessionMaker) -> None:  # type: ignore[type-arg]
    secretary = await member("13800000001").bound("张建国")
    await member("13800000002").bound("李秀英")
    stranger = member("13800000003")
    assert (await stranger.send("积分") or "").startswith("请先绑定")
    await stranger.send("今天天气不错")
    retried = secretary.text_xml("积分")
    await secretary.deliver(retried)
    await secretary.deliver(retried)  # WeChat's retry: answered from the stored reply
    await secretary.send("通知 本周六上午9点开会")
    await secretary.send("确认")
    clock.advance(seconds=90)

    queued = await scrape(live)
    assert value(queued, "palmbot_messages_total", command="绑定", outcome="replied") == 2
    assert value(queued, "palmbot_messages_total", command="积分", outcome="refused") == 1
    assert value(queued, "palmbot_messages_total", command="none", outcome="not_understood") == 1
    assert value(queued, "palmbot_messages_total", command="积分", outcome="replied") == 1
    assert value(queued, "palmbot_messages_total", command="none", outcome="duplicate") == 1
    assert value(queued, "palmbot_messages_total", command="确认", outcome="replied") == 1
    assert value(queued, "palmbot_reply_seconds_count") == 8
    assert value(queued, "palmbot_database_up") == 1
    assert value(queued, "palmbot_deliveries", status="new") == 2  # the two bound members of 第一党支部
    assert value(queued, "palmbot_deliveries", status="waiting") == 8  # its others, not bound: read with 通知
    assert value(queued, "palmbot_deliveries", status="sent") == 0
    assert value(queued, "palmbot_delivery_lag_seconds") == 90
    assert value(queued, "palmbot_token_refreshes_total", reason="due") == 0

    job = runner.find_job(services_of(live), "oversight_reminder")
    assert job is not None
    await runner.run(services_of(live), job, clock.now)
    await deliver_due(services_of(live))

    done = await scrape(live)
    async with db() as session:
        sent = await session.scalar(select(func.count()).where(Delivery.status == "sent"))
    assert value(done, "palmbot_deliveries", status="new") == 0
    assert value(done, "palmbot_deliveries", status="sent") == sent >= 3  # two members and the report at least
    assert value(done, "palmbot_delivery_lag_seconds") == 0
    assert value(done, "palmbot_token_refreshes_total", reason="due") == 1
    assert value(done, "palmbot_job_runs_total", job="oversight_reminder", outcome="run") == 1


async def test_metrics_answer_only_allowed_addresses_and_forwarded_ones_only_through_trusted_proxies(
        make_client: AppMaker) -> None:
    lan = (ip_network("10.0.0.0/8"),)
    forwarded = {"X-Forwarded-For": "10.1.2.3"}
    refused = await make_client(metrics_allow=lan)  # the test client asks from 127.0.0.1
    for headers in ({}, forwarded):
        resp = await refused.get("/metrics", headers=headers)
        assert (resp.status, await resp.text()) == (403, "metrics are not served to this address")
    assert (await refused.get("/healthz")).status == 200  # the probes answer anyone

    proxied = await make_client(metrics_allow=lan, trusted_proxies=(ip_network("127.0.0.1"),))
    assert value(await scrape(proxied, **forwarded), "palmbot_database_up") == 1
    forged = await proxied.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3, 192.0.2.7"})  # the proxy saw .7
    assert forged.status == 403


async def test_two_apps_in_one_process_count_apart(make_client: AppMaker, sim: Simulator, clock: Clock) -> None:
    first, second = await make_client(), await make_client()
    await Phone(first, sim, clock, "13800000002").send("帮助")
    assert value(await scrape(first), "palmbot_messages_total", command="帮助", outcome="replied") == 1
    assert value(await scrape(second), "palmbot_messages_total", command="帮助", outcome="replied") == 0


async def test_group_commits_are_counted_by_the_messages_each_made_durable(make_client: AppMaker, sim: Simulator,
                                                                            clock: Clock, db: SessionMaker) -> None:
    client = await make_client()
    phones = [Phone(client, sim, clock, f"139000003{i:02d}") for i in range(24)]
    await asyncio.gather(*(p.send("帮助") for p in phones))
    samples = await scrape(client)
    groups = value(samples, "palmbot_group_commit_messages_count")
    if db.kw["bind"].dialect.name == "sqlite":
        assert value(samples, "palmbot_group_commit_messages_sum") == 24  # each message in exactly one group
        assert 1 <= groups < 24  # and some shared a COMMIT
    else:
        assert groups == 0  # PostgreSQL commits each message on its own


async def test_two_replicas_starting_at_once_run_no_migration_and_wait_for_the_one_step_that_does(
        scratch: Scratch, tmp_path: Path) -> None:
    """Migrations are a step of their own (`palmbot db upgrade`, the oneshot unit), never a replica's start: two
    `palmbot serve` processes started together on a database one revision behind leave it there and say so at
    /readyz; the one upgrade makes both ready. The units say the same."""
    old = await scratch("replicas")
    await asyncio.to_thread(upgrade, old, "0012")
    env = {**os.environ, "PALMBOT_DATABASE_URL": old, "PALMBOT_CONTENT_DIR": str(ROOT / "content")}
    ports = [free_port(), free_port()]
    replicas = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--port", str(port), env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL) for port in ports]
    try:
        async with aiohttp.ClientSession() as http:
            answers = [await ready_answer(http, port) for port in ports]
            assert answers == [(503, f"database schema at 0012, the code needs {head()}: run `palmbot db upgrade`")] * 2
            assert await revision(old) == "0012"  # neither replica migrated
            await asyncio.to_thread(upgrade, old)
            assert [await ready_answer(http, port) for port in ports] == [(200, "")] * 2
    finally:
        for replica in replicas:
            replica.terminate()
            await asyncio.wait_for(replica.wait(), timeout=10)
    unit = (ROOT / "deploy/systemd/palmbot@.service").read_text(encoding="utf-8")
    assert "db upgrade" not in unit and "Requires=palmbot-migrate.service" in unit
    assert "ExecStart=/opt/palmbot/.venv/bin/palmbot db upgrade" in (
        ROOT / "deploy/systemd/palmbot-migrate.service").read_text(encoding="utf-8")


async def revision(url: str) -> str | None:
    engine = make_engine(url)
    async with engine.connect() as conn:
        found = await conn.run_sync(revision_of)
    await engine.dispose()
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def ready_answer(http: aiohttp.ClientSession, port: int) -> tuple[int, str]:
    """/readyz of the replica on `port` once it listens (within 30 s): the status and the reason, if any."""
    for _ in range(300):
        try:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                return resp.status, str((await resp.json()).get("reason", ""))
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing listened on {port}")
