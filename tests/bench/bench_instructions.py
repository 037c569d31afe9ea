"""`make bench-instructions`: the instructions one message costs palmbot past the protocol, counted, not timed.

The webhook benchmark's ratios move by ±10% from run to run, more than most single changes to the message path
save. This counts instead: it runs `bot.message.inbox.process` (durable dedup, the handler, the group commit;
no HTTP, no AES, no XML) in-process for 1,000 `积分` and then 1,000 fresh writes (`签到`/`答`, the webhook
benchmark's mix), 32 at a time, on the same seeded SQLite database, under valgrind's callgrind with
instrumentation switched on only around the measured messages. The same code gives the same count to within
a fraction of a percent, whatever else the machine is doing. Prints instructions per message for each load.

Run: `python tests/bench/bench_instructions.py` (starts valgrind itself; needs valgrind and callgrind_control).
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the seeded database and the loads are the webhook's
import bench_webhook as webhook

from bot.app import create_app
from bot.config import Settings
from bot.keys import SERVICES
from bot.message import inbox
from bot.message.wire import dedup_key, parse
from bot.ops.simulator import text_xml
from bot.services import Services
from bot.storage.migrate import upgrade_async

MESSAGES, WARM_UP = 1000, 500
INSIDE = "PALMBOT_UNDER_CALLGRIND"
COLLECTED = re.compile(r"Collected : (\d+)")


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


def _instrument(state: str, toggle: bool) -> None:
    if toggle:
        subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True, capture_output=True)


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
            gc.collect()
            gc.freeze()  # as `palmbot serve` does once started (bot.app.settle_heap)
            await handle(services, openids, words, first, MESSAGES, toggle=True)
        finally:
            await runner.cleanup()


def count(load: str) -> int:
    """Run this file under callgrind for one load; the instructions it collected."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/out",
             sys.executable, __file__, load], check=False, env={**os.environ, INSIDE: "1"}, capture_output=True, text=True)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    if os.environ.get(INSIDE):
        asyncio.run(measure(sys.argv[1]))
        return 0
    print(f"inbox.process in-process, SQLite, {webhook.MEMBERS:,} bound members, concurrency "
          f"{webhook.CONCURRENCY}; instructions counted by callgrind over {MESSAGES:,} messages a load")
    for load, name in (("read", "积分 (a read)"), ("write", "签到/答 (fresh writes with their points)")):
        print(f"  {name:<44} {count(load) / MESSAGES:>12,.0f} instructions a message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
