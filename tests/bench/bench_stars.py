"""`make bench`, part three: the quarter-end star review (摘星授星) of 100,000 members over 2,000,000 ledger entries.

The database is seeded with plain sqlite3 (quickly); then a child process runs the review as the
server's job does, on a worker thread with its own engine, while its event loop keeps a 10 ms
heartbeat. Prints the review's time, the child's peak memory and the loop's longest stall.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.content import load_content
from bot.life.star_review import propose
from bot.ops import offloop
from bot.rules.periods import parse_quarter
from bot.storage.db import sqlite_path
from bot.storage.migrate import upgrade_async

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = int(os.environ.get("BENCH_STARS_MEMBERS", "100000"))
ENTRIES = 20 * MEMBERS
BRANCHES = 100
QUARTER = "2026Q4"
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 1 October 00:00 in Shanghai
SPAN = timedelta(days=92)


def _at(rng: random.Random) -> str:
    """A random moment of the quarter, stored as SQLAlchemy stores UTC datetimes in SQLite."""
    return (START + SPAN * rng.random()).strftime("%Y-%m-%d %H:%M:%S.%f")


def seed(path: str) -> None:
    """Branches, members, the ledger, check-ins, quiz answers, confirmed service, last quarter's stars."""
    rng = random.Random(5)
    now = START.strftime("%Y-%m-%d %H:%M:%S.%f")
    db = sqlite3.connect(path)
    db.execute("INSERT INTO organisations (id, name, kind, path) VALUES (1, '基准党委', '党委', '基准党委')")
    db.executemany("INSERT INTO organisations (id, name, kind, parent_id, path) VALUES (?, ?, '党支部', 1, ?)",
                   [(b + 2, f"第{b + 1}党支部", f"基准党委/第{b + 1}党支部") for b in range(BRANCHES)])
    db.executemany("INSERT INTO members (id, name, phone, org_id, role, language, hide_rank, created_at) "
                   "VALUES (?, ?, ?, ?, '党员', 'zh', 0, ?)",
                   [(i, f"党员{i}", f"136{i:08d}", i % BRANCHES + 2, now) for i in range(1, MEMBERS + 1)])
    db.executemany("INSERT INTO point_entries (member_id, action, delta, reason, event_key, occurred_at) "
                   "VALUES (?, ?, ?, '基准', ?, ?)",
                   ((rng.randint(1, MEMBERS), "checkin" if n % 10 else "deduction", 2 if n % 10 else -1, f"e{n}",
                     _at(rng)) for n in range(ENTRIES)))
    db.executemany("INSERT INTO activities (id, org_id, title, code, opens_at, closes_at) "
                   "VALUES (?, ?, '主题党日', '1234', ?, ?)",
                   [(a, a % BRANCHES + 2, now, now) for a in range(1, 3 * BRANCHES + 1)])
    db.executemany("INSERT OR IGNORE INTO check_ins (activity_id, member_id, at) VALUES (?, ?, ?)",
                   ((m % BRANCHES + 1 + BRANCHES * k, m, _at(rng)) for m in range(1, MEMBERS + 1)
                    for k in range(rng.randint(0, 3))))
    db.executemany("INSERT INTO quiz_answers (member_id, lesson_id, choice, correct, at) VALUES (?, ?, 'A', ?, ?)",
                   ((m, f"l{k}", rng.random() < 0.7, _at(rng)) for m in range(1, MEMBERS + 1)
                    for k in range(rng.randint(0, 9))))
    db.executemany("INSERT INTO volunteer_claims (member_id, org_id, minutes, description, status, created_at, "
                   "decided_at) VALUES (?, ?, ?, '社区服务', 'approved', ?, ?)",
                   ((m, m % BRANCHES + 2, 60 * rng.randint(1, 4), now, _at(rng)) for m in range(1, MEMBERS + 1)
                    if rng.random() < 0.6))
    db.executemany("INSERT INTO held_stars (member_id, star, since) VALUES (?, ?, '2026Q3')",
                   ((m, star) for m in range(1, MEMBERS + 1, 2) for star in ("学习星", "服务星", "自律星")))
    db.commit()
    db.close()


async def review(url: str) -> None:
    """The child: the review on a worker thread, the loop's stall measured by a heartbeat meanwhile."""
    content = load_content(ROOT / "content")
    quarter = parse_quarter(QUARTER)
    assert quarter is not None
    longest = 0.0

    async def heartbeat() -> None:
        nonlocal longest
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            longest = max(longest, time.perf_counter() - before - 0.01)

    beat = asyncio.create_task(heartbeat())
    start = time.perf_counter()
    done = await offloop.in_thread(url, partial(propose, content=content, tz=TZ, quarter=quarter,
                                                now=datetime.now(UTC)))
    elapsed = time.perf_counter() - start
    beat.cancel()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "stall_ms": longest * 1000,
                      "reviews": done.reviews, "proposals": done.proposals}))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/stars.db"
        asyncio.run(upgrade_async(url))
        began = time.perf_counter()
        seed(sqlite_path(url) or "")
        seeded = time.perf_counter() - began
        child = subprocess.run([sys.executable, __file__, "review", url], capture_output=True, text=True, check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"star review: {MEMBERS:,} members, {ENTRIES:,} ledger entries in {QUARTER} (seeded in {seeded:.0f} s)")
    print(f"  {result['seconds']:.1f} s on a worker thread; peak memory {result['peak_mb']:.0f} MB; "
          f"{result['reviews']} reviews, {result['proposals']:,} proposals; "
          f"longest event-loop stall meanwhile {result['stall_ms']:.0f} ms")
    return 0 if result["reviews"] == BRANCHES else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "review":
        asyncio.run(review(sys.argv[2]))
    else:
        sys.exit(main())
