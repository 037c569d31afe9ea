"""`make bench`: drive signed, encrypted `积分` messages at a real server on SQLite and report the numbers.

The server runs on core 0 and this load generator on core 1 (when the machine has two). Phase one sends
as fast as bounded concurrency allows (throughput); phase two sends at a fixed 300 messages per second
(latency). Targets: at least 1,000 messages/s, and p99 under 50 ms at 300 messages/s.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiohttp

from bot.db import open_database
from bot.migrate import upgrade_async
from bot.models import Member, Organisation, PointEntry
from bot.simulator import Simulator, openid_for, text_xml

ROOT = Path(__file__).resolve().parents[2]
TOKEN, APPID = "palmbotbench", "wx5823bf96d3bd56c7"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
MEMBERS = 2000
THROUGHPUT_MESSAGES, CONCURRENCY = 8000, 32
STEADY_RATE, STEADY_SECONDS = 300, 10


async def seed(url: str) -> list[str]:
    """Members bound to WeChat, each with a few ledger entries, so `积分` does real work."""
    now = datetime.now().astimezone()
    async with open_database(url) as sessionmaker, sessionmaker.begin() as session:
        org = Organisation(name="基准党支部", kind="党支部", path="基准党支部")
        session.add(org)
        await session.flush()
        phones = [f"139{i:08d}" for i in range(MEMBERS)]
        roster = [Member(name=f"党员{i}", phone=p, org_id=org.id, role="党员", openid=openid_for(p),
                         created_at=now) for i, p in enumerate(phones)]
        session.add_all(roster)
        await session.flush()
        session.add_all(PointEntry(member_id=m.id, action="checkin", delta=2, reason="参加组织活动签到",
                                   event_key=f"seed:{m.id}:{k}", occurred_at=now) for m in roster for k in range(5))
    return [openid_for(p) for p in phones]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PALMBOT_DATABASE_URL": url, "PALMBOT_WECHAT_TOKEN": TOKEN,
           "PALMBOT_WECHAT_AES_KEY": AES_KEY, "PALMBOT_WECHAT_APPID": APPID,
           "PALMBOT_CONTENT_DIR": str(ROOT / "content"), "PALMBOT_CONFIG": str(ROOT / "tests/bench/empty.toml")}
    cmd = [sys.executable, "-m", "bot", "--log-level", "WARNING", "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, env=env)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(server.pid, {0})
    return server


def _pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


async def wait_ready(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit("server did not start")


def requests(sim: Simulator, openids: list[str], count: int) -> list[tuple[dict[str, str], bytes]]:
    """Pre-built encrypted `积分` requests (WeChat encrypts on its side, not on ours)."""
    return [(q, b.encode()) for q, b in (sim.request(text_xml(openids[i % len(openids)], "积分"))
                                         for i in range(count))]


async def post(http: aiohttp.ClientSession, url: str, req: tuple[dict[str, str], bytes]) -> tuple[float, str]:
    start = time.perf_counter()
    async with http.post(url, params=req[0], data=req[1]) as resp:
        body = await resp.text()
        if resp.status != 200:
            raise SystemExit(f"server answered {resp.status}: {body[:200]}")
    return time.perf_counter() - start, body


async def throughput(url: str, reqs: list[tuple[dict[str, str], bytes]]) -> tuple[float, list[float], str]:
    queue = iter(reqs)
    latencies: list[float] = []
    sample = ""

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal sample
        for req in queue:
            latency, sample = await post(http, url, req)
            latencies.append(latency)

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    return len(reqs) / elapsed, latencies, sample


async def steady(url: str, reqs: list[tuple[dict[str, str], bytes]], rate: int) -> tuple[float, list[float]]:
    """Open-loop load: request i is sent at i/rate seconds whatever the earlier ones are doing.

    The first second is a warm-up at the same rate (opening the client's connections) and is not counted.
    """
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()

        async def at(i: int, req: tuple[dict[str, str], bytes]) -> float:
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            return (await post(http, url, req))[0]

        latencies = await asyncio.gather(*(at(i, r) for i, r in enumerate(reqs)))
        elapsed = time.perf_counter() - start
    return len(reqs) / elapsed, list(latencies[rate:])


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] * 1000


async def main() -> int:
    _pin(1)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade_async(url)
        openids = await seed(url)
        port = free_port()
        server = start_server(url, port)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_ready(base)
            sim = Simulator(TOKEN, AES_KEY, APPID)
            await throughput(f"{base}/wechat", requests(sim, openids, 500))  # warm-up
            rate, lat, sample = await throughput(f"{base}/wechat", requests(sim, openids, THROUGHPUT_MESSAGES))
            reply = sim.reply_text(sample) or ""
            assert "积分" in reply and "今年累计" in reply, reply
            steady_reqs = requests(sim, openids, STEADY_RATE * (STEADY_SECONDS + 1))
            achieved, steady_lat = await steady(f"{base}/wechat", steady_reqs, STEADY_RATE)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print("palmbot webhook benchmark: 积分 in safe mode on SQLite "
          f"({MEMBERS} bound members, server on one core, load generator on the other)")
    print(f"  throughput: {rate:,.0f} messages/s over {THROUGHPUT_MESSAGES} messages, concurrency {CONCURRENCY}; "
          f"p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms   (target ≥ 1,000/s)")
    print(f"  steady {STEADY_RATE}/s for {STEADY_SECONDS}s after a 1-s warm-up (achieved {achieved:,.0f}/s): "
          f"p50 {pct(steady_lat, 50):.1f} ms, p99 {pct(steady_lat, 99):.1f} ms   (target p99 < 50 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
