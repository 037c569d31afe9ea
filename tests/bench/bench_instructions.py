"""`make bench-instructions`: the instructions a message costs, counted, not timed, so the figures hold on any host.

The webhook benchmark's ratios move by ±10% from run to run, and by more from one host to another (the same code
gave `积分` 0.38 where the baseline served 4,100 messages/s and 0.31 where it served 1,650), more than most single
changes to the message path save. This counts instead, under valgrind's callgrind with instrumentation switched on
only around the measured messages; the same code gives the same count to within a percent, whatever else the
machine is doing. Two tables:

- **The message path** (`process`): `bot.message.inbox.process` (durable dedup, the handler, the group commit; no
  HTTP, no AES, no XML) run in-process for 1,000 `积分` and then 1,000 fresh writes (`签到`/`答`, the webhook
  benchmark's mix), 32 at a time, on the same seeded SQLite database.
- **The whole webhook** (`serve`): each server of the webhook benchmark (`baseline_app.py`, and palmbot on its
  seeded database) runs under callgrind in a process of its own, serving from the event loop on its own (palmbot
  without its scheduler, content watcher and delivery loop, whose work comes with time, not with messages); this
  process sends it the webhook benchmark's signed, encrypted requests, 32 at a time, and counts 1,000 of them after
  a warm-up. Its ratio, the baseline's instructions a request over palmbot's, is issue 17's ratio counted in
  instructions. Under callgrind the server is some fifty times slower than its load, so a group commit holds
  more messages than at full speed (about 6 at full load on the 2-core VM): the count is the message path's
  work, with fewer COMMITs than a timed run pays.

Run: `python tests/bench/bench_instructions.py` (starts valgrind itself; needs valgrind and callgrind_control).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the seeded database and the loads are the webhook's
import baseline_app
import bench_webhook as webhook

from bot.app import SERVER_OPTIONS, create_app, settle_heap
from bot.config import Settings
from bot.keys import SERVICES
from bot.message import inbox
from bot.message.wire import dedup_key, parse
from bot.ops.simulator import Simulator, text_xml
from bot.services import Services
from bot.storage.migrate import upgrade_async

MESSAGES, WARM_UP = 1000, 500
INSIDE = "PALMBOT_UNDER_CALLGRIND"
COLLECTED = re.compile(r"Collected : (\d+)")
STARTUP_SECONDS = 300  # palmbot's imports under callgrind take about half a minute on the 2-core VM


async def handle(services: Services, openids: list[str], words: Callable[[int], str], start: int,
                 count: int, toggle: bool) -> None:
    """Messages start … start + count - 1 (as `bench_webhook.requests` numbers them), CONCURRENCY at a time;
    with `toggle`, callgrind counts only while they are handled. Every one must be answered without error."""
    msgs = [parse(text_xml(openids[i % len(openids)], words(i))) for i in range(start, start + count)]
    gate = asyncio.Semaphore(webhook.CONCURRENCY)

    async def one(msg: object) -> str:
        async with gate:
            return (await inbox.process(services, msg, dedup_key(msg))).result

    _instrument("on", toggle)
    results = await asyncio.gather(*(one(msg) for msg in msgs))
    _instrument("off", toggle)
    assert "error" not in results, results.count("error")


def _instrument(state: str, toggle: bool, pid: int | None = None) -> None:
    """Switch callgrind's counting on or off in this process (or `pid`), when `toggle`."""
    if toggle:
        subprocess.run(["callgrind_control", "-i", state, str(pid or os.getpid())], check=True, capture_output=True)


async def measure(load: str) -> None:
    """Inside valgrind: seed, warm up on other messages of the same kind, then count MESSAGES of `load`."""
    words, first, warm = (webhook.reads, WARM_UP, 0) if load == "read" else (webhook.writes, 0, 11_000)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade_async(url)
        openids = await webhook.seed(url)
        app = create_app(Settings(database_url=url, content_dir=webhook.ROOT / "content"), background=False)
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            services = app[SERVICES]
            await handle(services, openids, words, warm, WARM_UP, toggle=False)
            await settle_heap(app)  # as `palmbot serve` does once started
            await handle(services, openids, words, first, MESSAGES, toggle=True)
        finally:
            await runner.cleanup()


def count(load: str) -> int:
    """Run this file under callgrind for one load; the instructions it collected."""
    done = subprocess.run(_callgrind(load), check=False, env={**os.environ, INSIDE: "1"}, capture_output=True,
                          text=True)
    return _collected(done.returncode, done.stderr)


def _callgrind(*args: str) -> list[str]:
    """This file under callgrind, counting only while told to (`_instrument`), its profile thrown away."""
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
            sys.executable, __file__, *args]


def _collected(returncode: int, stderr: str) -> int:
    found = COLLECTED.search(stderr)
    if returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed ({returncode}):\n{stderr[-2000:]}")
    return int(found.group(1))


async def serve(kind: str, port: int, url: str) -> None:
    """Inside valgrind: serve the baseline or palmbot (safe mode, no background work) until SIGTERM."""
    if kind == "baseline":
        runner = web.AppRunner(baseline_app.make_app(webhook.TOKEN, webhook.AES_KEY, webhook.APPID), access_log=None)
    else:
        settings = Settings(database_url=url, content_dir=webhook.ROOT / "content", wechat_token=webhook.TOKEN,
                            wechat_aes_key=webhook.AES_KEY, wechat_appid=webhook.APPID)
        runner = web.AppRunner(create_app(settings, background=False), **SERVER_OPTIONS)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    if kind != "baseline":
        await settle_heap(runner.app)  # as `palmbot serve` does once started
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


def count_served(kind: str, load: str, url: str, sim: Simulator, openids: list[str]) -> int:
    """Start one server under callgrind, warm it up, count MESSAGES requests of `load`; its instructions."""
    port = webhook.free_port()
    server = subprocess.Popen(_callgrind("serve", kind, str(port), url), env={**os.environ, INSIDE: "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        reply = asyncio.run(_load(f"http://127.0.0.1:{port}", server, load, sim, openids))
        if kind != "baseline" and load == "read":
            assert "今年累计" in reply, reply  # palmbot answered `积分`, not an apology
        server.terminate()
        _, stderr = server.communicate(timeout=STARTUP_SECONDS)
    finally:
        if server.poll() is None:
            server.kill()
    return _collected(server.returncode, stderr)


async def _load(target: str, server: subprocess.Popen[str], load: str, sim: Simulator, openids: list[str]) -> str:
    """Wait for the server, warm it up, then send the counted requests; the text of the last reply."""
    await webhook.wait_ready(target, server, STARTUP_SECONDS)
    words, warm = (webhook.reads, 5000) if load == "read" else (webhook.writes, 11_000)
    await webhook.throughput(f"{target}/wechat", webhook.requests(sim, openids, WARM_UP, words, warm), server.pid)
    measured = webhook.requests(sim, openids, MESSAGES, words)
    _instrument("on", True, server.pid)
    run = await webhook.throughput(f"{target}/wechat", measured, server.pid)
    _instrument("off", True, server.pid)
    return sim.reply_text(run.sample) or ""


def served() -> None:
    """The whole-webhook table: the baseline's and palmbot's instructions a request, and their ratios."""
    sim = Simulator(webhook.TOKEN, webhook.AES_KEY, webhook.APPID)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        asyncio.run(upgrade_async(url))
        openids = asyncio.run(webhook.seed(url))
        base = count_served("baseline", "read", url, sim, openids) / MESSAGES
        print(f"  {'baseline: aiohttp + wechatpy, no storage':<52} {base:>12,.0f}")
        for load, name, target in (("read", "palmbot 积分 (a read)", 0.5),
                                   ("write", "palmbot 签到/答 (fresh writes with their points)", 0.35)):
            ours = count_served("palmbot", load, url, sim, openids) / MESSAGES
            print(f"  {name:<52} {ours:>12,.0f}   ratio {base / ours:.3f} (target ≥ {target})")
        made = asyncio.run(webhook.written(url))
        assert made == WARM_UP + MESSAGES, f"{made} writes recorded of {WARM_UP + MESSAGES}"


def main() -> int:
    if os.environ.get(INSIDE):
        if sys.argv[1] == "serve":
            asyncio.run(serve(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
        else:
            asyncio.run(measure(sys.argv[1]))
        return 0
    print(f"inbox.process in-process, SQLite, {webhook.MEMBERS:,} bound members, concurrency "
          f"{webhook.CONCURRENCY}; instructions counted by callgrind over {MESSAGES:,} messages a load")
    for load, name in (("read", "积分 (a read)"), ("write", "签到/答 (fresh writes with their points)")):
        print(f"  {name:<44} {count(load) / MESSAGES:>12,.0f} instructions a message")
    print(f"the whole webhook, safe mode, each server alone under callgrind, concurrency {webhook.CONCURRENCY}; "
          f"instructions a request over {MESSAGES:,} requests a load (the baseline's over palmbot's: the ratio)")
    served()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
