"""`make deploy-test`: the deployment README tells a county to run, started and shaken on loopback.

nginx (Debian's package, deploy/nginx/ as shipped) terminates TLS in front of three `palmbot serve` replicas on
PostgreSQL with Redis; one fake WeChat API takes every replica's pushes. The schema is migrated once, a roster
of a few hundred is imported, and every member binds through nginx. Two `palmbot jobs run daily_lesson` race for
the same lesson, and the 党委's secretary sends a notice (`通知 …`, `确认`). While both go out, the replica sending
the most is killed with SIGKILL and started again, members chatting through nginx all the while. The test waits
for every delivery to settle and asserts: no member got a message twice; every member got the lesson and the
notice once, pushed, or (the few rows the kill caught mid-send, which are never pushed again) read with `通知`;
the job ran once; every webhook request got 200, nginx having tried the dead replica and gone on to another.

Settings: PALMBOT_DEPLOY_DATABASE_URL (a PostgreSQL database it empties; created if missing),
PALMBOT_DEPLOY_REDIS_URL, PALMBOT_DEPLOY_MEMBERS (300). Run: `python -m tests.deploy.run`.
"""

from __future__ import annotations

import asyncio
import base64
import os
import platform
import random
import re
import secrets
import shutil
import ssl
import sys
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.content import load_content
from bot.message.replies import split_text
from bot.ops.simulator import Simulator
from bot.repo.campaigns import OPEN
from bot.storage.db import open_database
from bot.storage.models import Campaign, Delivery, JobRun, Member
from bot.storage.models import DeliveryStatus as S
from tests.deploy.members import Person, Webhook, roster, write_roster
from tests.deploy.stack import (
    ROOT,
    TZ,
    FakeApi,
    Process,
    Unavailable,
    free_port,
    nginx_binary,
    nginx_config,
    palmbot,
    palmbot_argv,
    wait_until_up,
)

DATABASE_URL = os.environ.get("PALMBOT_DEPLOY_DATABASE_URL",
                              "postgresql+asyncpg://postgres@127.0.0.1:5432/palmbot_deploy")
REDIS_URL = os.environ.get("PALMBOT_DEPLOY_REDIS_URL", "redis://127.0.0.1:6379/7")
MEMBERS = int(os.environ.get("PALMBOT_DEPLOY_MEMBERS", "300"))
REPLICAS = 3
TOKEN, SECRET = "palmbotdeploy", "deploysecret"
NOTICE = "本周六上午九点在镇党群服务中心召开全体党员大会，请准时参加。"
KILL_AFTER = 60  # messages at the fake API before the busiest replica is killed
DOWN_SECONDS = 1.5  # how long the killed replica stays down before it is started again
CHATTERERS = 4  # members chatting through nginx around the kill
SETTLE_TIMEOUT = 120  # seconds for every delivery to settle (a dead replica's lease runs out after 45)


@dataclass
class Figures:
    """What the run measured, printed at the end."""

    started: float = field(default_factory=time.monotonic)
    members: int = 0
    messages: int = 0
    duplicates: int = 0
    losses: list[str] = field(default_factory=list)
    rows: Counter[tuple[str, str]] = field(default_factory=Counter)  # (campaign kind, status) -> delivery rows
    read_with_notice: int = 0  # uncertain rows that had not arrived, read with `通知`
    victim_port: int = 0
    victim_sent: int = 0
    down_for: float = 0.0
    asked_meanwhile: int = 0
    failed_over: int = 0
    served_again: int = 0
    recovered: tuple[int, int] = (0, 0)  # (requeued, uncertain), as the survivors logged them
    job_runs: int = 0

    def statuses(self, kind: str) -> dict[str, int]:
        return {status: n for (of, status), n in self.rows.items() if of == kind}


@dataclass
class Deployment:
    """The running pieces and what the scenario needs to talk to them."""

    work: Path
    env: dict[str, str]
    fake: FakeApi
    replicas: list[Process]
    ports: list[int]
    webhook: Webhook
    http: aiohttp.ClientSession
    http_port: int


def settings_file(work: Path, *, appid: str, key: str, https_port: int) -> Path:
    """The replicas' palmbot.toml: PostgreSQL, Redis, safe mode; each replica's own wechat_api_base comes from
    its environment."""
    path = work / "palmbot.toml"
    path.write_text(f"""database_url = "{DATABASE_URL}"
redis_url = "{REDIS_URL}"
content_dir = "{ROOT / 'content'}"
timezone = "Asia/Shanghai"
wechat_token = "{TOKEN}"
wechat_aes_key = "{key}"
wechat_appid = "{appid}"
wechat_secret = "{SECRET}"
public_url = "https://127.0.0.1:{https_port}"
""")
    return path


async def fresh_database(url: str) -> None:
    """Create the database if missing and empty its schema."""
    target = make_url(url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            if not await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                     {"name": target.database}):
                await conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    except OSError as exc:
        raise AssertionError(f"no PostgreSQL at {target.host}:{target.port} ({exc}); "
                             "set PALMBOT_DEPLOY_DATABASE_URL") from None
    finally:
        await admin.dispose()
    engine = create_async_engine(target)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def check_redis(url: str) -> None:
    redis = Redis.from_url(url)
    try:
        await redis.ping()  # type: ignore[misc]  # redis-py types it as Awaitable[bool] | bool
    except (OSError, RedisError) as exc:
        raise AssertionError(f"no Redis at {url} ({exc}); set PALMBOT_DEPLOY_REDIS_URL") from None
    finally:
        await redis.aclose()


async def start(stack: AsyncExitStack, work: Path, nginx: str) -> Deployment:
    """Migrate once, then start the fake API, the replicas and nginx, and wait until each answers."""
    appid = f"wxdeploy{secrets.token_hex(5)}"  # a fresh Redis key for the shared token
    key = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")  # an EncodingAESKey: safe mode
    http_port, https_port, ports = free_port(), free_port(), [free_port() for _ in range(REPLICAS)]
    config = settings_file(work, appid=appid, key=key, https_port=https_port)
    env = {**os.environ, "PALMBOT_CONFIG": str(config)}
    await palmbot(env, "db", "upgrade")  # once, before any replica starts: they never migrate
    fake = FakeApi(appid, SECRET, REPLICAS)
    await fake.start()
    stack.push_async_callback(fake.stop)
    replicas = [Process(palmbot_argv("serve", "--host", "127.0.0.1", "--port", str(port)),
                        work / f"replica-{index}.log", {**env, "PALMBOT_WECHAT_API_BASE": fake.base(index)})
                for index, port in enumerate(ports)]
    server = Process([nginx, "-p", str(work), "-e", str(work / "error.log"), "-c",
                      str(nginx_config(work, http_port=http_port, https_port=https_port, replicas=ports))],
                     work / "nginx.out", env)
    for process in [*replicas, server]:
        await process.start()
        stack.push_async_callback(process.stop)
    http = await stack.enter_async_context(aiohttp.ClientSession())
    tls = ssl.create_default_context(cafile=str(work / "cert.pem"))
    for process, port in zip(replicas, ports, strict=True):
        await wait_until_up(http, f"http://127.0.0.1:{port}/healthz", process=process)
    await wait_until_up(http, f"https://127.0.0.1:{https_port}/healthz", process=server, tls=tls)
    simulator = Simulator(TOKEN, key, appid)
    webhook = Webhook(http, f"https://127.0.0.1:{https_port}/wechat", tls, simulator)
    return Deployment(work, env, fake, replicas, ports, webhook, http, http_port)


async def check_front(deploy: Deployment) -> None:
    """What nginx does before any replica is asked: HTTP → HTTPS (ACME excepted), /metrics closed, 1 MiB bodies."""
    plain = f"http://127.0.0.1:{deploy.http_port}"
    async with deploy.http.get(f"{plain}/wechat?echostr=1", allow_redirects=False) as response:
        assert response.status == 301, response.status
        assert response.headers["Location"] == "https://127.0.0.1/wechat?echostr=1", response.headers["Location"]
    (deploy.work / "acme/.well-known/acme-challenge/probe").write_text("acme-probe")
    async with deploy.http.get(f"{plain}/.well-known/acme-challenge/probe", allow_redirects=False) as response:
        assert (response.status, await response.text()) == (200, "acme-probe")
    async with deploy.http.get(f"{plain}/healthz", allow_redirects=False) as response:
        assert response.status == 200, "a load balancer's plain-HTTP health check"
    secure = deploy.webhook.url.removesuffix("/wechat")
    async with deploy.http.get(f"{secure}/metrics", ssl=deploy.webhook.tls) as response:
        assert response.status == 404, "/metrics must not be reachable through nginx"
    async with deploy.http.post(deploy.webhook.url, data=b"x" * (1024 * 1024 + 1), ssl=deploy.webhook.tls) as response:
        assert response.status == 413, response.status


async def bind_everyone(deploy: Deployment, people: list[Person]) -> None:
    """Every member sends `绑定 姓名 尾号` through nginx and is told they are bound."""
    gate = asyncio.Semaphore(12)

    async def bind(person: Person) -> None:
        async with gate:
            reply = await deploy.webhook.say(person, f"绑定 {person.name} {person.phone[-4:]}")
        assert "绑定成功" in reply and person.name in reply, f"{person.name}: {reply!r}"

    await asyncio.gather(*(bind(person) for person in people))


def lesson_fire_time() -> datetime:
    """A daily lesson's fire time at least two days ago, outside the replicas' own catch-up (one day back), so
    only the two `jobs run` below race for it; the latest such day whose lesson is for every member."""
    content = load_content(ROOT / "content")
    today = datetime.now(TZ).date()
    for back in range(2, 400):
        lesson = content.lesson_for(today - timedelta(days=back))
        if lesson is not None and lesson.audience == "all":
            return datetime.combine(today - timedelta(days=back), content.calendar.lesson_time, tzinfo=TZ)
    raise AssertionError("content/ has no lesson for every member in the last year")


async def start_campaigns(deploy: Deployment, secretary: Person, fire_at: datetime) -> None:
    """Two operators run the same day's lesson at once; the secretary sends a notice to the whole 党委."""
    outputs = await asyncio.gather(*(palmbot(deploy.env, "jobs", "run", "daily_lesson", "--at", fire_at.isoformat())
                                     for _ in range(2)))
    assert all("daily_lesson at" in out for out in outputs), outputs
    preview = await deploy.webhook.say(secretary, f"通知 {NOTICE}")
    assert "请确认以下通知" in preview and f"共 {MEMBERS + 1} 人" in preview, preview
    started = await deploy.webhook.say(secretary, "确认")
    assert "通知已开始发送" in started, started


async def chatter(webhook: Webhook, people: list[Person], stop: asyncio.Event, seed: int) -> None:
    """A member asking for their points through nginx, again and again, until `stop`."""
    rng = random.Random(seed)
    while not stop.is_set():
        person = rng.choice(people)
        reply = await webhook.say(person, "积分")
        assert not reply or "积分" in reply, reply
        await asyncio.sleep(0.05)


async def kill_mid_campaign(deploy: Deployment, people: list[Person], figures: Figures) -> int:
    """With members chatting through nginx, SIGKILL the replica sending the most once the pushes are under way,
    start it again after DOWN_SECONDS, and chat on past nginx's fail_timeout (5 s) so it is taken back; the offset
    in nginx's access log where the restarted replica was up again."""
    stop = asyncio.Event()
    chat = [asyncio.create_task(chatter(deploy.webhook, people, stop, seed)) for seed in range(CHATTERERS)]
    try:
        index = await _busiest_once_under_way(deploy.fake)
        victim = deploy.replicas[index]
        figures.victim_port, figures.victim_sent = deploy.ports[index], len(deploy.fake.arrivals[index])
        killed = time.monotonic()
        await victim.kill()
        await asyncio.sleep(DOWN_SECONDS)
        await victim.start()
        await wait_until_up(deploy.http, f"http://127.0.0.1:{deploy.ports[index]}/healthz", process=victim)
        back = time.monotonic()
        offset = (deploy.work / "palmbot.access.log").stat().st_size
        await asyncio.sleep(8)
    finally:
        stop.set()
        await asyncio.gather(*chat)
    figures.down_for = back - killed
    figures.asked_meanwhile = deploy.webhook.asked(killed, back)
    return offset


async def _busiest_once_under_way(fake: FakeApi, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busiest = fake.busiest(1.0)
        if len(fake.wechat.sent) >= KILL_AFTER and busiest is not None:
            return busiest
        await asyncio.sleep(0.05)
    raise AssertionError(f"the pushes never got under way: {len(fake.wechat.sent)} messages at the fake API")


async def settle(timeout: float = SETTLE_TIMEOUT) -> None:
    """Wait until no delivery is open and the secretary's delivery report has gone out too."""
    deadline = time.monotonic() + timeout
    async with open_database(DATABASE_URL) as sessionmaker:
        while time.monotonic() < deadline:
            async with sessionmaker() as session:
                still_open = await session.scalar(select(func.count()).select_from(Delivery)
                                                  .where(Delivery.status.in_(OPEN)))
                reported = await session.scalar(select(func.count()).select_from(Campaign)
                                                .where(Campaign.kind == "report"))
            if not still_open and reported:
                return
            await asyncio.sleep(0.5)
    raise AssertionError(f"deliveries still open after {timeout:.0f} s")


async def judge_deliveries(deploy: Deployment, people: list[Person], fire_at: datetime, figures: Figures) -> None:
    """Hold every row of the lesson, the notice and the secretary's report against what the fake API received:
    a row sent arrived once; an uncertain row that did not arrive is read with `通知` through nginx."""
    pairs = Counter((m.openid, m.content) for m in deploy.fake.wechat.sent)
    figures.messages, figures.duplicates = len(deploy.fake.wechat.sent), sum(n - 1 for n in pairs.values())
    unread: dict[str, list[str]] = {}
    async with open_database(DATABASE_URL) as sessionmaker, sessionmaker() as session:
        rows = (await session.execute(
            select(Campaign.kind, func.coalesce(Delivery.body, Campaign.body), Delivery.status, Member.openid)
            .join(Delivery, Delivery.campaign_id == Campaign.id).join(Member, Member.id == Delivery.member_id)
            .where(Campaign.key.startswith(f"lesson:{fire_at.date()}:") | Campaign.kind.in_(("notice", "report")))
        )).all()
    for kind, body, status, bound in rows:
        openid = bound or "(not bound)"
        figures.rows[(kind, status)] += 1
        arrived = pairs[(openid, split_text(body)[0])]
        if status == S.UNCERTAIN and not arrived:
            unread.setdefault(openid, []).append(body.splitlines()[0])
        elif status not in (S.SENT, S.UNCERTAIN) or not arrived:
            figures.losses.append(f"{kind} to {openid}: {status}, {arrived} arrived")
    for kind in ("lesson", "notice"):
        if sum(figures.statuses(kind).values()) != len(people):
            figures.losses.append(f"{figures.statuses(kind)} {kind} rows for {len(people)} members")
    await read_unread(deploy, people, unread, figures)


async def read_unread(deploy: Deployment, people: list[Person], unread: dict[str, list[str]],
                      figures: Figures) -> None:
    """Each member with pushes that never arrived sends `通知` through nginx and must find them in the reply."""
    by_openid = {person.openid: person for person in people}
    for openid, firsts in unread.items():
        reply = await deploy.webhook.say(by_openid[openid], "通知")
        figures.read_with_notice += len(firsts)
        figures.losses += [f"{openid} cannot read {first!r} with 通知" for first in firsts if first not in reply]


async def count_job_runs(fire_at: datetime) -> tuple[int, int]:
    """(runs recorded for the raced lesson, (job, fire time) pairs recorded more than once)."""
    async with open_database(DATABASE_URL) as sessionmaker, sessionmaker() as session:
        runs = await session.scalar(select(func.count()).select_from(JobRun)
                                    .where(JobRun.job == "daily_lesson", JobRun.fire_at == fire_at))
        twice = select(JobRun.job).group_by(JobRun.job, JobRun.fire_at).having(func.count() > 1).subquery()
        return int(runs or 0), int(await session.scalar(select(func.count()).select_from(twice)) or 0)


def read_nginx(deploy: Deployment, offset: int, figures: Figures) -> None:
    """From nginx's access log: requests it tried on the dead replica and then passed to another, and requests the
    restarted replica answered once nginx had taken it back."""
    victim = f"127.0.0.1:{figures.victim_port}"
    log = (deploy.work / "palmbot.access.log").read_bytes()
    line = re.compile(r'" (\d{3}) .* upstream=(.*?) upstream_status=')
    for number, chunk in enumerate((log[:offset], log[offset:])):
        for found in filter(None, map(line.search, chunk.decode().splitlines())):
            tried = found.group(2).split(", ")
            figures.failed_over += victim in tried[:-1]
            figures.served_again += number == 1 and tried[-1] == victim and found.group(1) == "200"


def read_recoveries(deploy: Deployment) -> tuple[int, int]:
    """(rows requeued, rows made uncertain) as the replicas logged taking back the dead one's rows."""
    found = re.findall(r"recovered deliveries: (\d+) requeued, (\d+) uncertain",
                       "".join(p.log.read_text(errors="replace") for p in deploy.replicas))
    return sum(int(a) for a, _ in found), sum(int(b) for _, b in found)


async def scenario(work: Path, figures: Figures) -> list[str]:
    """Run everything; the expectations that failed."""
    nginx = nginx_binary()
    await check_redis(REDIS_URL)
    await fresh_database(DATABASE_URL)
    people = roster(MEMBERS)
    figures.members = len(people)
    fire_at = lesson_fire_time()
    async with AsyncExitStack() as stack:
        deploy = await start(stack, work, nginx)
        await palmbot(deploy.env, "members", "import", str(write_roster(work / "roster.csv", people,
                                                                         datetime.now(TZ).date())))
        await check_front(deploy)
        await bind_everyone(deploy, people)
        await start_campaigns(deploy, people[-1], fire_at)
        offset = await kill_mid_campaign(deploy, people[:-1], figures)
        await settle()
        await judge_deliveries(deploy, people, fire_at, figures)
        read_nginx(deploy, offset, figures)
        figures.recovered = read_recoveries(deploy)
        failed = deploy.webhook.failed()
    figures.job_runs, twice = await count_job_runs(fire_at)
    return [problem for problem, bad in [
        (f"{figures.duplicates} duplicates at the fake WeChat API", figures.duplicates),
        (f"{len(figures.losses)} losses: {figures.losses[:5]}", figures.losses),
        (f"the lesson ran {figures.job_runs} times, and {twice} job fire times ran twice",
         figures.job_runs != 1 or twice),
        (f"webhook requests through nginx got {Counter(failed)} instead of 200", failed),
        (f"only {figures.asked_meanwhile} webhook requests while the replica was down", figures.asked_meanwhile < 10),
        ("nginx never tried the dead replica (so never had to route around it)", not figures.failed_over),
        ("nginx never sent the restarted replica a request again", not figures.served_again),
    ] if bad]


def print_figures(figures: Figures) -> None:
    print(f"deploy-test: nginx + {REPLICAS} replicas on PostgreSQL and Redis, {datetime.now(TZ):%Y-%m-%d %H:%M %z}, "
          f"{platform.node()} ({os.cpu_count()} CPUs)")
    print(f"  members: {figures.members} bound through nginx; messages at the fake WeChat API: {figures.messages}")
    print(f"  delivery rows: lesson {figures.statuses('lesson')}, notice {figures.statuses('notice')}, "
          f"the secretary's report {figures.statuses('report')}")
    print(f"  duplicates: {figures.duplicates}; losses: {len(figures.losses)} "
          f"({figures.read_with_notice} caught mid-send by the kill and not arrived, read with 通知)")
    print(f"  kill -9 of replica :{figures.victim_port} after it had sent {figures.victim_sent}; back after "
          f"{figures.down_for:.1f} s; the others took back {figures.recovered[0]} claimed rows and made "
          f"{figures.recovered[1]} uncertain")
    print(f"  webhook requests while it was down or starting: {figures.asked_meanwhile}; nginx passed "
          f"{figures.failed_over} from the dead replica to another; the restarted one answered "
          f"{figures.served_again} afterwards")
    print(f"  daily_lesson runs recorded: {figures.job_runs}; time taken: {time.monotonic() - figures.started:.0f} s")


def main() -> int:
    figures = Figures()
    work = Path(tempfile.mkdtemp(prefix="palmbot-deploy-"))
    try:
        problems = asyncio.run(scenario(work, figures))
    except Unavailable as exc:
        print(f"deploy-test skipped: {exc}")
        print("deploy-test: 0 passed, 0 failed, 1 skipped")
        return 0
    except AssertionError as exc:
        problems = [f"{exc} (logs in {work})"]
    if figures.messages:
        print_figures(figures)
    for problem in problems:
        print(f"  FAILED: {problem}", file=sys.stderr)
    print(f"deploy-test: {0 if problems else 1} passed, {1 if problems else 0} failed")
    if not problems:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"  logs kept in {work}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
