"""Two villages on one account, each with a 第一党支部 and a 第一党小组 under it, imported from one roster file
with paths (tests/villages.csv). Both have a 王芳 in the branch and a 李强 in the group. Through the webhook,
every command and job a secretary or administrator uses stays inside their own village (issue 10)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.content.lessons import Lesson
from bot.ops.simulator import Simulator, openid_for
from bot.roster.imports import RosterRow, apply_rows, read_rows
from bot.storage.db import SessionMaker
from bot.storage.models import (
    Activity,
    AuditEntry,
    Campaign,
    CheckIn,
    ClaimStatus,
    Delivery,
    HeldStar,
    Member,
    Organisation,
    PointEntry,
    Role,
    StarProposal,
    StarReview,
    VolunteerClaim,
    Wish,
)
from bot.wechat.fake import FakeWeChat
from scheduler import runner
from scheduler.delivery_loop import deliver_due
from tests import meeting_rows
from tests.conftest import SECRET, AppMaker, Clock, services_of
from tests.phone import Phone
from tests.test_oversight import colours

TZ = ZoneInfo("Asia/Shanghai")
ROSTER = Path(__file__).with_name("villages.csv")
ROWS = read_rows(ROSTER)
A, B = "甲村党总支", "乙村党总支"
BRANCH, GROUP = "/第一党支部", "/第一党支部/第一党小组"
SHARED = {"王芳", "李强"}  # a name each village has
rows_by_phone = {r.phone: r for r in ROWS}


def rows_in(village: str, org: str = "", *, below: bool = False) -> list[RosterRow]:
    """The roster rows of an organisation of one village (`org` the path's tail, "" the 党总支 itself);
    `below` adds the organisations under it."""
    path = village + org
    return [r for r in ROWS if r.branch == path or (below and r.branch.startswith(path + "/"))]


def names_in(village: str, org: str = "", *, below: bool = False) -> set[str]:
    return {r.name for r in rows_in(village, org, below=below)}


def other(village: str) -> str:
    return B if village == A else A


def foreign(village: str) -> set[str]:
    """What must never reach a village's people unless they typed it: the other village's own names and name."""
    return (names_in(other(village), below=True) - SHARED) | {other(village)[:2]}


class Villager(Phone):
    """A phone that remembers every command it sent and the reply it got, in its village's log."""

    def __init__(self, row: RosterRow, village: Village, client: TestClient, sim: Simulator, clock: Clock,  # type: ignore[type-arg]
                 wechat: FakeWeChat) -> None:
        super().__init__(client, sim, clock, row.phone, wechat)
        self.name, self.village = row.name, village

    async def send(self, content: str) -> str | None:
        reply = await super().send(content)
        self.village.heard.append((content, reply or ""))
        return reply

    async def says(self, content: str) -> str:
        """The reply to `content`, which must not be the deferred `success`."""
        reply = await self.send(content)
        assert reply is not None, content
        return reply


@dataclass
class Village:
    """One village's bound phones by name (names are unique inside a village) and what they heard."""

    path: str
    people: dict[str, Villager] = field(default_factory=dict)
    heard: list[tuple[str, str]] = field(default_factory=list)

    def __getitem__(self, name: str) -> Villager:
        return self.people[name]

    def role(self, role: str) -> Villager:
        return next(p for p in self.people.values() if rows_by_phone[p.number].role == role)

    @property
    def admin(self) -> Villager:
        return self.role("管理员")

    @property
    def secretary(self) -> Villager:
        return self.role("书记")


@pytest.fixture
async def village_roster(db: SessionMaker, clock: Clock) -> None:
    """The two villages, from the one file."""
    async with db.begin() as session:
        result = await apply_rows(session, ROWS, clock())
    assert (result.created, result.updated) == (len(ROWS), 0)


@pytest.fixture
async def live(make_client: AppMaker, wechat: FakeWeChat, village_roster: None) -> TestClient:  # type: ignore[type-arg]
    return await make_client(wechat_secret=SECRET, wechat_api_base=wechat.base, send_rate=10_000.0)


@pytest.fixture
async def villages(live: TestClient, sim: Simulator, clock: Clock, wechat: FakeWeChat) -> dict[str, Village]:  # type: ignore[type-arg]
    """Everyone of both villages, bound (`绑定 王芳 0112` and `绑定 王芳 0212` find one 王芳 each)."""
    found = {A: Village(A), B: Village(B)}
    for row in ROWS:
        village = found[A if row.branch.startswith(A) else B]
        person = village.people[row.name] = Villager(row, village, live, sim, clock, wechat)
        await person.bind(row.name)
    return found


def assert_private(villages: dict[str, Village], wechat: FakeWeChat) -> None:
    """Nobody heard the other village's names or path, in a reply (unless they typed it) or a push."""
    for village in villages.values():
        for command, reply in village.heard:
            assert not {w for w in foreign(village.path) if w in reply and w not in command}, (command, reply)
        for person in village.people.values():
            for pushed in person.pushed():
                assert not {w for w in foreign(village.path) if w in pushed}, (person.name, pushed)


async def member_ids(db: SessionMaker) -> dict[str, int]:
    """Member id by phone."""
    async with db() as session:
        return {phone: id_ for id_, phone in await session.execute(select(Member.id, Member.phone))}


async def org_ids(db: SessionMaker) -> dict[str, int]:
    """Organisation id by full path."""
    async with db() as session:
        return {path: id_ for id_, path in await session.execute(select(Organisation.id, Organisation.path))}


def listed_names(reply: str, after: str) -> set[str]:
    """The names of a `、`-separated list that follows `after` on its line."""
    line = next(line for line in reply.splitlines() if after in line)
    return set(line.split(after, 1)[1].strip().split("、"))


async def run_job(live: TestClient, name: str, at: datetime) -> str:  # type: ignore[type-arg]
    job = runner.find_job(services_of(live), name)
    assert job is not None
    return await runner.run(services_of(live), job, at)


# --- the roster ---------------------------------------------------------------------------------------------


async def test_one_file_with_paths_makes_two_villages_and_each_wang_fang_binds_to_her_own(
        villages: dict[str, Village], db: SessionMaker, wechat: FakeWeChat) -> None:
    async with db() as session:
        tree = {(o.path, o.name, o.kind) for o in await session.scalars(select(Organisation))}
        parents = {path: parent for path, parent in await session.execute(
            select(Organisation.path, Organisation.parent_id))}
        placed = {(m.name, m.phone, m.openid, path) for m, path in await session.execute(
            select(Member, Organisation.path).join(Organisation, Organisation.id == Member.org_id))}
    ids = await org_ids(db)
    assert tree == {(v + tail, name, kind) for v in (A, B) for tail, name, kind in (
        ("", v, "党总支"), (BRANCH, "第一党支部", "党支部"), (GROUP, "第一党小组", "党小组"))}
    assert parents == {
        A: None, A + BRANCH: ids[A], A + GROUP: ids[A + BRANCH],
        B: None, B + BRANCH: ids[B], B + GROUP: ids[B + BRANCH]}
    assert placed == {(r.name, r.phone, openid_for(r.phone), r.branch) for r in ROWS}
    assert len(names_in(A, GROUP)) >= 3 and len(names_in(B, GROUP)) >= 3
    async with db.begin() as session:  # importing the file again finds every place and member by its path
        again = await apply_rows(session, ROWS, datetime(2026, 11, 17, tzinfo=TZ))
    assert (again.created, again.updated, again.moved) == (0, len(ROWS), 0)
    assert await org_ids(db) == ids
    assert_private(villages, wechat)


# --- notices, their previews, 确认 and 回执 -------------------------------------------------------------------

PREVIEWS = [  # (who, the notice, the organisation it goes to (path's tail), its audience size)
    ("书记", "通知 明晚七点开支部党员大会", BRANCH, 6),
    ("书记", "通知 @第一党小组 周六上午小组学习", GROUP, 3),
    ("书记", "回执通知 @第一党小组 请交党费", GROUP, 3),
    ("管理员", "通知 全村党员冬季集中轮训", "", 7),
    ("管理员", "通知 @第一党支部 支部换届筹备会", BRANCH, 6),
    ("管理员", "通知 @第一党小组 小组活动安排", GROUP, 3),
]


@pytest.mark.parametrize(("role", "text", "org", "size"), PREVIEWS)
async def test_a_notice_preview_counts_exactly_its_own_villages_members(
        villages: dict[str, Village], wechat: FakeWeChat, role: str, text: str, org: str, size: int) -> None:
    for path, village in villages.items():
        preview = await village.role(role).says(text)
        assert f"发送对象：{path}{org}（含下级组织）共 {size} 人" in preview, preview
        assert size == len(rows_in(path, org, below=True))
    assert_private(villages, wechat)


REFUSED = [  # (who, an address in the other village, as a path's tail)
    ("书记", BRANCH), ("书记", GROUP), ("书记", ""), ("管理员", ""), ("管理员", BRANCH), ("管理员", GROUP),
]


@pytest.mark.parametrize(("role", "org"), REFUSED)
async def test_nobody_addresses_a_notice_to_the_other_village(
        villages: dict[str, Village], wechat: FakeWeChat, db: SessionMaker, role: str, org: str) -> None:
    for path, village in villages.items():
        target = other(path) + org
        refused = await village.role(role).says(f"通知 @{target} 明天开会")
        assert refused == f"你只能向本支部（及下级组织）发送通知，不能向「{target}」发送。", refused
        assert "没有待确认的事项" in await village.role(role).says("确认")  # nothing was drafted
    async with db() as session:
        assert list(await session.scalars(select(Campaign.id))) == []
    assert_private(villages, wechat)


async def test_a_confirmed_notice_to_the_first_group_reaches_only_that_villages_group(
        villages: dict[str, Village], live: TestClient, db: SessionMaker, wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    sent_by = {A: "书记", B: "管理员"}  # a branch secretary and a 党总支 administrator address 第一党小组 alike
    for path, village in villages.items():
        sender = village.role(sent_by[path])
        assert "共 3 人" in await sender.says(f"通知 @第一党小组 {path[:2]}第一党小组周六学习")
        started = await sender.says("确认")
        assert "通知已开始发送，共 3 人" in started, started
    await deliver_due(services_of(live))

    for path, village in villages.items():
        for person in village.people.values():
            got = [m for m in person.pushed() if "第一党小组周六学习" in m]
            expected = [f"【第一党小组通知】\n{path[:2]}第一党小组周六学习"] if person.name in names_in(path, GROUP) else []
            assert [m.strip() for m in got] == expected, (path, person.name, got)
    ids, people = await org_ids(db), await member_ids(db)
    async with db() as session:
        audiences = {(org, member) for org, member in await session.execute(
            select(Campaign.org_id, Delivery.member_id).join(Delivery, Delivery.campaign_id == Campaign.id)
            .where(Campaign.kind == "notice"))}
    assert audiences == {(ids[r.branch], people[r.phone]) for v in (A, B) for r in rows_in(v, GROUP)}
    assert_private(villages, wechat)


async def test_receipts_list_only_their_own_villages_members(
        villages: dict[str, Village], live: TestClient, wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    for village in villages.values():
        assert "共 6 人" in await village.secretary.says("回执通知 本周五前交纳党费")
        assert "共 6 人" in await village.secretary.says("确认")
    await deliver_due(services_of(live))
    acknowledged = {A: ["王芳", "李强"], B: ["陈静"]}  # B's 王芳 and 李强 have not answered
    for path, names in acknowledged.items():
        for name in names:
            assert "已确认收到" in await villages[path][name].says("收到")

    for path, village in villages.items():
        receipts = await village.secretary.says("回执")
        waiting = names_in(path, BRANCH, below=True) - set(acknowledged[path]) - {village.secretary.name}
        assert f"还有 {len(waiting)} 人未回复「收到」" in receipts, receipts
        assert listed_names(receipts, "未回复「收到」：") == waiting
        assert "你还没有发过需要回执的通知" in await village.admin.says("回执")
    assert_private(villages, wechat)


# --- volunteer service: 审核, 通过, 驳回 -------------------------------------------------------------------------


async def test_claims_are_listed_and_decided_in_their_own_village_only(
        villages: dict[str, Village], live: TestClient, db: SessionMaker, wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    hours = {A: {"王芳": 3, "李强": 2}, B: {"王芳": 5, "李强": 1}}
    claims = {(path, name): await villages[path][name].volunteer(f"{h} {path[:2]}{name}志愿服务")
              for path, by_name in hours.items() for name, h in by_name.items()}

    for path, village in villages.items():
        theirs = [n for (p, _), n in claims.items() if p == other(path)]
        for decider in (village.secretary, village.admin):
            pending = await decider.says("审核")
            assert "待审核的志愿服务共 2 条" in pending, pending
            for name, h in hours[path].items():
                assert f"{claims[path, name]} 号 {name} {h} 小时 {path[:2]}{name}志愿服务" in pending
            assert not [n for n in theirs if f"{n} 号" in pending], pending
            for n in theirs:
                for command in (f"通过 {n}", f"驳回 {n} 时长不符"):
                    refused = await decider.says(command)
                    assert refused == f"没有找到你所在支部的志愿服务 {n} 号记录。回复「审核」查看待审核的记录。", refused
    async with db() as session:
        assert set(await session.scalars(select(VolunteerClaim.status))) == {ClaimStatus.PENDING}
        assert list(await session.scalars(select(AuditEntry.id))) == []

    a, b = villages[A], villages[B]
    assert "计 3 分" in await a.secretary.says(f"通过 {claims[A, '王芳']}")
    assert "计 2 分" in await a.admin.says(f"通过 {claims[A, '李强']}")
    assert "计 5 分" in await b.admin.says(f"通过 {claims[B, '王芳']}")
    assert "理由：没有活动记录" in await b.secretary.says(f"驳回 {claims[B, '李强']} 没有活动记录")
    await deliver_due(services_of(live))

    for path, village in villages.items():
        assert "没有待审核的志愿服务记录" in await village.secretary.says("审核")
    outcome = {(A, "王芳"): "已确认，计 3 分", (A, "李强"): "已确认，计 2 分", (B, "王芳"): "已确认，计 5 分",
               (B, "李强"): "理由：没有活动记录"}
    for (path, name), n in claims.items():  # each told once, of their own claim
        told = [m for m in villages[path][name].pushed() if "志愿服务" in m]
        assert len(told) == 1 and f"志愿服务 {n} 号" in told[0] and outcome[path, name] in told[0], told

    people, ids = await member_ids(db), await org_ids(db)
    phone = {(p, n): villages[p][n].number for p, n in claims}
    async with db() as session:
        decided = {(c.member_id, c.org_id, c.status, c.decided_by) for c in await session.scalars(select(VolunteerClaim))}
        earned = {(e.member_id, e.delta) for e in await session.scalars(select(PointEntry))}
        trail = {(e.actor_id, e.member_id, e.org_id, e.action) for e in await session.scalars(select(AuditEntry))}
    by = {(A, "王芳"): a.secretary, (A, "李强"): a.admin, (B, "王芳"): b.admin, (B, "李强"): b.secretary}
    status = {(B, "李强"): ClaimStatus.REJECTED}
    org = {"王芳": BRANCH, "李强": GROUP}
    assert decided == {(people[phone[k]], ids[k[0] + org[k[1]]], status.get(k, ClaimStatus.APPROVED),
                        people[by[k].number]) for k in claims}
    assert earned == {(people[phone[A, "王芳"]], 3), (people[phone[A, "李强"]], 2), (people[phone[B, "王芳"]], 5)}
    assert trail == {(people[by[k].number], people[phone[k]], ids[k[0] + org[k[1]]],
                      "volunteer_reject" if k in status else "volunteer_approve") for k in claims}
    assert_private(villages, wechat)


# --- micro-wishes: 心愿, 认领, 完成, 验收 -----------------------------------------------------------------------


async def test_micro_wishes_are_seen_claimed_and_accepted_in_their_own_village_only(
        villages: dict[str, Village], live: TestClient, db: SessionMaker, wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    wanted = {A: "想要一台收音机听新闻", B: "想要一副老花镜"}
    posted = {}
    for path, village in villages.items():
        reply = await village.secretary.says(f"心愿 {wanted[path]} 某居民 13912345678")
        found = re.search(r"已发布 (\d+) 号", reply)
        assert found, reply
        posted[path] = int(found.group(1))

    for path, village in villages.items():
        theirs, own = posted[other(path)], posted[path]
        for name in ("王芳", "李强", "刘洋" if path == A else "陈静"):  # the branch and the group below it
            listing = await village[name].says("心愿")
            assert f"{own} 号 {wanted[path]}" in listing and wanted[other(path)] not in listing, listing
        for name in ("王芳", "李强"):
            for command in (f"认领 {theirs}", f"完成 {theirs}"):
                assert f"没有找到本支部的 {theirs} 号微心愿" in await village[name].says(command)
        for decider in (village.secretary, village.admin):
            assert f"没有找到本支部的 {theirs} 号微心愿" in await decider.says(f"验收 {theirs}")

    a, b = villages[A], villages[B]
    assert f"你已认领 {posted[A]} 号" in await a["王芳"].says(f"认领 {posted[A]}")
    await a["王芳"].says(f"完成 {posted[A]}")
    assert f"你已认领 {posted[B]} 号" in await b["李强"].says(f"认领 {posted[B]}")
    assert f"没有找到本支部的 {posted[A]} 号微心愿" in await b.secretary.says(f"验收 {posted[A]}")
    counters = {path: await v.secretary.says("心愿") for path, v in villages.items()}
    assert "收集 1 个，已认领 1 个，已实现 0 个" in counters[A] and f"待验收：{posted[A]} 号" in counters[A]
    assert "收集 1 个，已认领 1 个，已实现 0 个" in counters[B] and "待验收" not in counters[B]
    assert "认领的党员计 2 分" in await a.admin.says(f"验收 {posted[A]}")
    assert "已实现 1 个" in await a.secretary.says("心愿") and "已实现 0 个" in await b.secretary.says("心愿")
    await deliver_due(services_of(live))
    assert any("已验收，计 2 分" in m for m in a["王芳"].pushed())
    assert not any("已验收" in m for m in b["王芳"].pushed())

    people, ids = await member_ids(db), await org_ids(db)
    async with db() as session:
        stored = {(w.org_id, w.status, w.claimed_by) for w in await session.scalars(select(Wish))}
        earned = {(e.member_id, e.action) for e in await session.scalars(select(PointEntry))}
        trail = {(e.actor_id, e.member_id, e.org_id, e.action) for e in await session.scalars(select(AuditEntry))}
    wang_a, li_b = people[a["王芳"].number], people[b["李强"].number]
    assert stored == {(ids[A + BRANCH], "fulfilled", wang_a), (ids[B + BRANCH], "claimed", li_b)}
    assert earned == {(wang_a, "wish")}
    assert trail == {(people[a.admin.number], wang_a, ids[A + BRANCH], "wish_accept")}
    assert_private(villages, wechat)


# --- the quarter's stars: the review per organisation, 评星 and its confirmation ------------------------------


async def test_the_star_review_is_per_organisation_and_each_village_reviews_and_confirms_its_own(
        villages: dict[str, Village], live: TestClient, clock: Clock, db: SessionMaker,  # type: ignore[type-arg]
        wechat: FakeWeChat) -> None:
    a, b = villages[A], villages[B]
    await a.secretary.says(f"通过 {await a['王芳'].volunteer('4 清扫村道')}")  # 服务星 for A's 王芳
    await b.secretary.says(f"通过 {await b['黄磊'].volunteer('4 护林巡山')}")  # and for B's 黄磊
    clock.now = datetime(2027, 1, 1, 9, 0, tzinfo=TZ)
    outcome = await run_job(live, "star_review", clock.now)
    assert outcome.startswith("star review 2026Q4: 6 reviews, 2 proposals"), outcome

    people, ids = await member_ids(db), await org_ids(db)
    org_of = {people[r.phone]: ids[r.branch] for r in ROWS}
    async with db() as session:
        reviewed = set(await session.scalars(select(StarReview.org_id)))
        proposed = (await session.execute(select(StarProposal.id, StarProposal.member_id, StarReview.org_id)
                                          .join(StarReview, StarReview.id == StarProposal.review_id))).all()
    assert reviewed == set(ids.values())  # one review per organisation, each with its own members
    assert {(member, org) for _, member, org in proposed} == {
        (people[a["王芳"].number], ids[A + BRANCH]), (people[b["黄磊"].number], ids[B + GROUP])}
    assert all(org_of[member] == org for _, member, org in proposed)
    proposal = {member: id_ for id_, member, _ in proposed}

    for path, village, star, nobody, outsider in ((A, a, "王芳", "黄磊", "陈静"), (B, b, "黄磊", "王芳", "刘洋")):
        for reviewer in (village.secretary, village.admin):
            listing = await reviewer.says("评星")
            assert f"{star} 授服务星（完成志愿服务 4 小时）" in listing and f"{nobody} 授" not in listing, listing
            assert "共 1 条" in listing
        theirs = proposal[people[villages[other(path)][nobody].number]]
        assert await village.secretary.says(f"评星 改 {theirs} 其他村的") == \
            f"没有找到待评定的第 {theirs} 条建议。回复「评星」查看。"
        unknown = await village.secretary.says(f"评星 授 {outsider} 服务星 其他村的")
        assert f"你负责的组织里没有叫「{outsider}」的党员" in unknown, unknown
        assert "你负责的组织里没有" in await village.secretary.says(f"评星 授 {village.admin.name} 服务星 上级")

    changed = await a.secretary.says("评星 授 李强 服务星 带领小组义务劳动")  # A's 李强, never B's
    assert "已调整：李强 授予服务星" in changed, changed
    confirmed = await a.secretary.says("评星 确认")
    assert "2026Q4 摘星授星已确认，2 位党员的星级有变化" in confirmed, confirmed
    assert "授服务星" in await b.secretary.says("评星")  # B's review still waits for B
    assert "没有待评定" in await a.secretary.says("评星")
    assert "本季度没有星级变化" in await a.admin.says("评星")  # the 党总支's own review is the administrator's
    await deliver_due(services_of(live))

    for path, village in villages.items():
        gained = {"王芳", "李强"} if path == A else set()
        for person in village.people.values():
            stars = await person.says("星级")
            assert ("现有 1 颗星：服务星" in stars) == (person.name in gained), (path, person.name, stars)
    async with db() as session:
        held = {(m, s) for m, s in await session.execute(select(HeldStar.member_id, HeldStar.star))}
        states = {org: by for org, by in await session.execute(select(StarReview.org_id, StarReview.confirmed_by))}
        trail = {(e.actor_id, e.member_id, e.org_id, e.action) for e in await session.scalars(select(AuditEntry))}
    wang, li = people[a["王芳"].number], people[a["李强"].number]
    assert held == {(wang, "服务星"), (li, "服务星")}
    sec_a = people[a.secretary.number]
    assert states == {ids[A + BRANCH]: sec_a, ids[A + GROUP]: sec_a, ids[A]: None,
                      ids[B]: None, ids[B + BRANCH]: None, ids[B + GROUP]: None}
    assert {t for t in trail if t[3].startswith("star")} == {
        (sec_a, li, ids[A + GROUP], "star_overrule"),
        (sec_a, None, ids[A + BRANCH], "star_confirm"), (sec_a, None, ids[A + GROUP], "star_confirm")}

    assert "摘星授星已确认" in await b.admin.says("评星 确认")  # B's administrator confirms all of B
    async with db() as session:
        waiting = set(await session.scalars(select(StarReview.org_id).where(StarReview.confirmed_at.is_(None))))
        held_b = set(await session.scalars(select(HeldStar.member_id).where(HeldStar.member_id.not_in([wang, li]))))
    assert waiting == {ids[A]} and held_b == {people[b["黄磊"].number]}
    assert_private(villages, wechat)


# --- 待关注, 调整, 报表, 排行 --------------------------------------------------------------------------------------


async def test_follow_up_lists_only_their_own_villages_members(
        villages: dict[str, Village], db: SessionMaker, wechat: FakeWeChat) -> None:
    a_wang = villages[A]["王芳"].number
    async with db.begin() as session:  # on the roster since 2022; A's 王芳 earned 10 a month since 2023
        for m in await session.scalars(select(Member)):
            m.created_at = datetime(2022, 3, 1, tzinfo=TZ)
        wang = await session.scalar(select(Member.id).where(Member.phone == a_wang))
        assert wang is not None
        session.add_all(PointEntry(member_id=wang, action="checkin", delta=10, reason="签到", event_key=f"k{y}{m}",
                                   occurred_at=datetime(y, m, 2, tzinfo=TZ))
                        for y, m in itertools.product(range(2023, 2027), range(1, 13)) if (y, m) < (2026, 12))

    for path, village in villages.items():
        for who, org in ((village.secretary, BRANCH), (village.admin, "")):
            listing = await who.says("待关注")
            flagged = {line.split("：", 1)[0] for line in listing.splitlines()[1:] if "：" in line}
            expected = names_in(path, org, below=True) - ({"王芳"} if path == A else set())
            assert flagged == expected, (path, who.name, listing)
            assert ("王芳：今年 0 分" in listing) == (path == B)
    assert_private(villages, wechat)


async def test_corrections_reach_only_a_member_of_their_own_village(
        villages: dict[str, Village], db: SessionMaker, wechat: FakeWeChat) -> None:
    a, b = villages[A], villages[B]
    for path, village in villages.items():
        outsider = "陈静" if path == A else "刘洋"
        for who in (village.secretary, village.admin):
            refused = await who.says(f"调整 {outsider} +1 其他村的")
            assert f"你负责的组织里没有叫「{outsider}」的党员" in refused, refused
        above = await village.secretary.says(f"调整 {village.admin.name} +1 上级")  # the 党总支 is above the branch
        assert f"你负责的组织里没有叫「{village.admin.name}」的党员" in above, above
    assert "已为王芳记录积分更正 -1 分" in await a.secretary.says("调整 王芳 -1 重复签到")
    assert "已为李强记录积分更正 +2 分" in await b.admin.says("调整 李强 +2 带头学习")

    corrected = {(A, "王芳"): ["-1 积分更正：重复签到"], (B, "李强"): ["+2 积分更正：带头学习"]}
    for path, village in villages.items():
        for name in ("王芳", "李强"):
            points = await village[name].says("积分")
            shown = [line for line in ("-1 积分更正：重复签到", "+2 积分更正：带头学习") if line in points]
            assert shown == corrected.get((path, name), []) and points.count("积分更正") == len(shown), points
    people, ids = await member_ids(db), await org_ids(db)
    async with db() as session:
        entries = {(e.member_id, e.delta) for e in await session.scalars(select(PointEntry))}
        trail = {(e.actor_id, e.member_id, e.org_id, e.action) for e in await session.scalars(select(AuditEntry))}
    wang, li = people[a["王芳"].number], people[b["李强"].number]
    assert entries == {(wang, -1), (li, 2)}
    assert trail == {(people[a.secretary.number], wang, ids[A + BRANCH], "points_correct"),
                     (people[b.admin.number], li, ids[B + GROUP], "points_correct")}
    assert_private(villages, wechat)


async def test_the_quarter_report_and_the_points_board_count_their_own_village(
        villages: dict[str, Village], wechat: FakeWeChat) -> None:
    hours = {A: {"王芳": 3, "李强": 1}, B: {"王芳": 5, "黄磊": 2}}
    for path, by_name in hours.items():
        for name, h in by_name.items():
            await villages[path].secretary.says(f"通过 {await villages[path][name].volunteer(f'{h} 志愿服务')}")

    for path, village in villages.items():
        total = sum(hours[path].values())
        for who, org, size in ((village.secretary, "第一党支部", 6), (village.admin, path, 7)):
            report = await who.says("报表")
            assert f"{org} 2026Q4 季度报表" in report and f"党员 {size} 人" in report, report
            assert f"11月 {total} 分" in report and f"确认志愿服务 {total} 小时" in report, report
        first, second = sorted(hours[path].items(), key=lambda item: -item[1])
        for person in village.people.values():
            board = await person.says("排行")  # the branch's board, for the 党小组's members too
            title = path if person is village.admin else "第一党支部"  # the 党总支's own member: the whole village
            assert f"{title} 11月积分榜" in board, board
            assert f"第1名 {first[0]} {first[1]} 分\n第2名 {second[0]} {second[1]} 分\n不想上榜" in board, board
    assert_private(villages, wechat)


# --- the monthly 服务之星 and the theme day's check-ins, per branch ---------------------------------------------


async def test_each_branch_gets_its_own_service_star_of_the_month(
        villages: dict[str, Village], live: TestClient, clock: Clock, db: SessionMaker,  # type: ignore[type-arg]
        wechat: FakeWeChat) -> None:
    a, b = villages[A], villages[B]
    await a.secretary.says(f"通过 {await a['李强'].volunteer('2 义务巡逻')}")  # A's star is in its 党小组
    await a.secretary.says(f"通过 {await a['王芳'].volunteer('1 清扫村道')}")
    await b.secretary.says(f"通过 {await b['王芳'].volunteer('5 护林巡山')}")
    clock.now = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
    assert await run_job(live, "service_star", clock.now) == "service stars of 2026-11: 2 branches"
    await deliver_due(services_of(live))

    star = {A: "【11月服务之星】李强同志\n上月完成经确认的志愿服务 2 小时",
            B: "【11月服务之星】王芳同志\n上月完成经确认的志愿服务 5 小时"}
    for path, village in villages.items():
        for person in village.people.values():
            waiting = await person.says("通知")  # two weeks on, every window is closed: the news waits
            in_branch = person.name in names_in(path, BRANCH, below=True)
            assert (star[path] in waiting) == in_branch and star[other(path)] not in waiting, (person.name, waiting)
            assert waiting.count("服务之星】") == in_branch, waiting

    people, ids = await member_ids(db), await org_ids(db)
    async with db() as session:
        audiences = {(org, member) for org, member in await session.execute(
            select(Campaign.org_id, Delivery.member_id).join(Delivery, Delivery.campaign_id == Campaign.id)
            .where(Campaign.kind == "board"))}
    assert audiences == {(ids[v + BRANCH], people[r.phone]) for v in (A, B) for r in rows_in(v, BRANCH, below=True)}
    assert_private(villages, wechat)


async def test_a_theme_day_code_checks_in_only_members_of_its_own_branch_its_group_included(
        villages: dict[str, Village], live: TestClient, clock: Clock, db: SessionMaker,  # type: ignore[type-arg]
        wechat: FakeWeChat, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = itertools.count(1234)
    monkeypatch.setattr("secrets.randbelow", lambda n: next(codes) % n)  # distinct codes in both villages
    clock.now = datetime(2026, 12, 15, 8, 0, tzinfo=TZ)
    assert await run_job(live, "theme_day", clock.now) == "theme day 2026-12-15: 4 branches"  # the 党总支s meet too
    await deliver_due(services_of(live))
    ids = await org_ids(db)
    async with db() as session:
        code = {org: c for org, c in await session.execute(select(Activity.org_id, Activity.code))}
    path_of = {id_: path for path, id_ in ids.items()}
    assert len(set(code.values())) == 4 and set(code) == {ids[v] for v in (A, B)} | {ids[v + BRANCH] for v in (A, B)}

    for path, village in villages.items():
        for person in village.people.values():
            branch = rows_by_phone[person.number].branch
            own = code[ids[path if branch == path else path + BRANCH]]  # one meeting for the branch and its group
            notice = await person.says("通知")
            assert f"回复「签到 {own}」完成签到" in notice, notice
            assert not [c for c in code.values() if c != own and c in notice], notice
        for name in ("王芳", "李强"):
            for theirs in (other(path), other(path) + BRANCH):
                refused = await village[name].says(f"签到 {code[ids[theirs]]}")
                assert f"签到码 {code[ids[theirs]]} 不正确" in refused, refused
            assert f"签到成功！{name}同志" in await village[name].says(f"签到 {code[ids[path + BRANCH]]}")

    opened = await villages[A].secretary.says("发起签到 支部学习 60")
    found = re.search(r"签到码：(\d{4})", opened)
    assert found, opened
    assert "不正确" in await villages[B]["王芳"].says(f"签到 {found.group(1)}")
    assert "签到成功" in await villages[A]["王芳"].says(f"签到 {found.group(1)}")

    people = await member_ids(db)
    async with db() as session:
        checked = (await session.execute(select(CheckIn.member_id, Activity.org_id)
                                         .join(Activity, Activity.id == CheckIn.activity_id))).all()
    phone_of = {id_: phone for phone, id_ in people.items()}
    for member, org in checked:  # every check-in is at the member's organisation or one above it, in their village
        assert rows_by_phone[phone_of[member]].branch.startswith(path_of[org]), (member, path_of[org])
    assert len(checked) == 5  # 王芳 and 李强 of each village, and A's 王芳 at her branch's meeting
    assert_private(villages, wechat)


# --- 解绑 -------------------------------------------------------------------------------------------------------


async def test_a_secretary_unbinds_only_a_member_of_their_own_village(
        villages: dict[str, Village], db: SessionMaker, wechat: FakeWeChat) -> None:
    a, b = villages[A], villages[B]
    for path, village in villages.items():
        theirs = villages[other(path)]
        outsider = "陈静" if path == A else "刘洋"
        for who in (village.secretary, village.admin):
            assert f"你负责的组织里没有叫「{outsider}」的党员" in await who.says(f"解绑 {outsider}")
            refused = await who.says(f"解绑 王芳 {theirs['王芳'].number[-4:]}")  # the other 王芳, by her phone
            assert f"你负责的组织里没有手机号后四位是 {theirs['王芳'].number[-4:]} 的「王芳」" in refused, refused
        assert "你负责的组织里没有" in await village.secretary.says(f"解绑 {village.admin.name}")

    done = await a.secretary.says("解绑 王芳")
    assert done.startswith(f"已解除「王芳」（{A}/第一党支部）的微信绑定"), done
    done = await b.admin.says("解绑 李强")
    assert done.startswith(f"已解除「李强」（{B}/第一党支部/第一党小组）的微信绑定"), done

    for path, village in villages.items():
        for name in ("王芳", "李强"):
            released = (path, name) in {(A, "王芳"), (B, "李强")}
            points = await village[name].says("积分")
            assert ("请先绑定党员身份" in points) == released, (path, name, points)
    assert (await a["王芳"].says("绑定 王芳 0112")).startswith("绑定成功")  # she may bind again

    people, ids = await member_ids(db), await org_ids(db)
    async with db() as session:
        unbound = set(await session.scalars(select(Member.phone).where(Member.openid.is_(None))))
        trail = {(e.actor_id, e.member_id, e.org_id, e.action) for e in await session.scalars(select(AuditEntry))}
    assert unbound == {b["李强"].number}
    assert trail == {(people[a.secretary.number], people[a["王芳"].number], ids[A + BRANCH], "unbind"),
                     (people[b.admin.number], people[b["李强"].number], ids[B + GROUP], "unbind")}
    assert_private(villages, wechat)


# --- political birthdays (not on the list, but a job that addresses a branch's secretaries) ------------


async def test_a_group_members_political_birthday_is_noted_to_their_own_branchs_secretary_only(
        villages: dict[str, Village], live: TestClient, clock: Clock, wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    clock.now = datetime(2027, 5, 4, 9, 0, tzinfo=TZ)  # A's 李强 joined on 2012-05-04; nobody in B did
    assert await run_job(live, "political_birthdays", clock.now) == "1 political birthdays"
    await deliver_due(services_of(live))
    assert "今天是你的政治生日" in await villages[A]["李强"].says("通知")
    assert "李强（党龄 15 年）" not in await villages[B].secretary.says("通知")
    assert_private(villages, wechat)
    assert "李强（党龄 15 年）" in await villages[A].secretary.says("通知")


# --- a lesson's audience names an organisation (content, not a secretary's command) -----------------------------


@pytest.mark.parametrize(("audience", "reached", "outcome"), [
    (f"{A}{GROUP}", names_in(A, GROUP), "lesson village-lesson"),
    ("甲村党总支", names_in(A, below=True), "lesson village-lesson"),
    ("第一党小组", set(), ("not sent: audience organisation '第一党小组' could mean 乙村党总支/第一党支部/第一党小组, "
                     "甲村党总支/第一党支部/第一党小组")),
])
async def test_a_lessons_audience_is_one_organisation_by_path_and_an_ambiguous_name_sends_nothing(
        villages: dict[str, Village], live: TestClient, clock: Clock, db: SessionMaker,  # type: ignore[type-arg]
        audience: str, reached: set[str], outcome: str) -> None:
    services = services_of(live)
    lesson = Lesson("village-lesson", "村里的微党课", "正文。", day=clock.now.date(), audience=audience)
    services.content = replace(services.content, lessons=(*services.content.lessons, lesson))
    assert outcome in await run_job(live, "daily_lesson", clock.now.replace(hour=8, minute=0))
    async with db() as session:
        got = set(await session.scalars(select(Member.name).join(Delivery, Delivery.member_id == Member.id)
                                        .join(Campaign).where(Campaign.ref == "village-lesson")))
        told = set(await session.scalars(select(Member.name).join(Delivery, Delivery.member_id == Member.id)
                                         .join(Campaign).where(Campaign.title == "微党课未发送")))
    assert got == reached
    assert told == (set() if reached else {v.admin.name for v in villages.values()})
    if not reached:
        await deliver_due(services_of(live))
        told_admin = villages[A].admin.pushed()[-1]
        assert "「村里的微党课」" in told_admin and "甲村党总支/第一党支部/第一党小组" in told_admin, told_admin


async def test_two_of_a_name_sharing_the_last_four_digits_bind_with_the_whole_number(
        villages: dict[str, Village], live: TestClient, sim: Simulator, clock: Clock, db: SessionMaker,  # type: ignore[type-arg]
        wechat: FakeWeChat) -> None:
    async with db.begin() as session:
        await apply_rows(session, [RosterRow("王同名", "13800005555", A + BRANCH, Role.MEMBER, None),
                                   RosterRow("王同名", "13900005555", B + BRANCH, Role.MEMBER, None)], clock())
    first, second = (Phone(live, sim, clock, number, wechat) for number in ("13800005555", "13900005555"))
    assert "请发送完整手机号绑定" in (await first.send("绑定 王同名 5555") or "")
    assert (await first.send("绑定 王同名 13800005555") or "").startswith("绑定成功！王同名同志，你已加入甲村党总支/第一党支部")
    assert (await second.send("绑定 王同名 13900005555") or "").startswith("绑定成功！王同名同志，你已加入乙村党总支/第一党支部")


# --- 督办 and 台账 (issue 14): each village's organisations by id, members refused ------------------------------


async def village_meetings(db: SessionMaker) -> None:
    """甲村's branch planned its 主题党日 in time and its group met nowhere; 乙村's branch planned nothing and
    its group met; the topics name the village."""
    async with db.begin() as session:
        ids = await org_ids(db)
        secretary = await meeting_rows.member_id(session, "张建华", ids[A + BRANCH])
        theme = await meeting_rows.meeting(session, org=ids[A + BRANCH], kind="主题党日", topic="甲村冬季防火",
                                           starts_at=datetime(2026, 11, 15, 9, tzinfo=TZ),
                                           planned_at=datetime(2026, 10, 20, tzinfo=TZ), closed=True)
        await meeting_rows.minute(session, theme, author=secretary, at=theme.ends_at, text="甲村纪要")
        group = await meeting_rows.meeting(session, org=ids[B + GROUP], kind="党小组会", topic="乙村护林巡山",
                                           starts_at=datetime(2026, 11, 5, 9, tzinfo=TZ), closed=True)
        await meeting_rows.minute(session, group, at=group.ends_at, text="乙村纪要",
                                  author=await meeting_rows.member_id(session, "钱卫国", ids[B + BRANCH]))


OVERSIGHT = {  # (village, who asks) → the colours they see
    (A, "管理员"): {A: "绿", A + BRANCH: "绿", A + GROUP: "黄"},
    (A, "书记"): {A + BRANCH: "绿", A + GROUP: "黄"},
    (B, "管理员"): {B: "绿", B + BRANCH: "红", B + GROUP: "绿"},
    (B, "书记"): {B + BRANCH: "红", B + GROUP: "绿"},
}


async def test_duban_and_taizhang_show_each_village_only_its_own_organisations_and_refuse_members(
        villages: dict[str, Village], live: TestClient, db: SessionMaker, wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    await village_meetings(db)
    for (path, role), expected in OVERSIGHT.items():
        reply = await villages[path].role(role).says("督办")
        assert colours(reply) == expected, reply
        ledger = await villages[path].role(role).says("台账")
        topic = {A: "主题党日：召开 1 次", B: "党小组会：召开 1 次"}[path]
        assert topic in ledger and {A: "乙村", B: "甲村"}[path] not in ledger, ledger
    for village in villages.values():
        for name in ("王芳", "李强"):
            for command in ("督办", "台账"):
                assert "仅支部书记和管理员可以使用" in await village[name].says(command)
    assert_private(villages, wechat)


async def test_duban_reminders_reach_only_the_branch_secretary_of_their_own_village(
        villages: dict[str, Village], live: TestClient, db: SessionMaker, clock: Clock,  # type: ignore[type-arg]
        wechat: FakeWeChat) -> None:
    await village_meetings(db)
    clock.now = datetime(2026, 11, 20, 9, tzinfo=TZ)
    assert await run_job(live, "oversight_reminder", clock.now) == "oversight 2026-11: 2 reminders"
    await deliver_due(services_of(live))
    expected = {A: f"【督办提醒】{A + GROUP}\n2026年11月组织生活：黄\n11月没有开展党小组活动",
                B: f"【督办提醒】{B + BRANCH}\n2026年11月组织生活：红\n11月主题党日没有在10月25日前报备计划"}
    for path, village in villages.items():
        for person in village.people.values():
            told = await person.says("通知")
            assert (expected[path] in told) == (person is village.secretary), (person.name, told)
            assert expected[other(path)] not in told
    assert_private(villages, wechat)


# --- 扣分 and 豁免 (issue 14) --------------------------------------------------------------------------------------


async def test_deductions_reach_only_a_member_of_their_own_village(
        villages: dict[str, Village], live: TestClient, db: SessionMaker, wechat: FakeWeChat) -> None:  # type: ignore[type-arg]
    a, b = villages[A], villages[B]
    for path, village in villages.items():
        theirs = villages[other(path)]["王芳"].number[-4:]
        outsider = "陈静" if path == A else "刘洋"
        for who in (village.secretary, village.admin):
            assert f"你负责的组织里没有叫「{outsider}」的党员" in await who.says(f"扣分 {outsider} 2 其他村的")
            refused = await who.says(f"扣分 王芳 {theirs} 2 其他村的")  # the other 王芳, by her phone
            assert f"你负责的组织里没有手机号后四位是 {theirs} 的「王芳」" in refused, refused
        assert "你负责的组织里没有" in await village.secretary.says(f"扣分 {village.admin.name} 2 上级")
    assert f"将给王芳（{A}/第一党支部）扣 2 分" in await a.secretary.says("扣分 王芳 2 无故缺席组织生活")
    assert "已为王芳记录扣分 2 分" in await a.secretary.says("确认")
    assert f"将给李强（{B}/第一党支部/第一党小组）扣 3 分" in await b.admin.says("扣分 李强 违反村规民约")
    assert "已为李强记录扣分 3 分" in await b.admin.says("确认")
    await deliver_due(services_of(live))

    deducted = {(A, "王芳"): "-2 扣分：无故缺席组织生活", (B, "李强"): "-3 扣分：违反村规民约"}
    for path, village in villages.items():
        for name in ("王芳", "李强"):
            told = [m for m in village[name].pushed() if "扣分通知" in m]
            points = await village[name].says("积分")
            expected = deducted.get((path, name))
            assert len(told) == (1 if expected else 0) and points.count("扣分：") == len(told), (path, name, points)
            assert expected is None or expected in points
    people, ids = await member_ids(db), await org_ids(db)
    async with db() as session:
        entries = {(e.member_id, e.action, e.delta) for e in await session.scalars(select(PointEntry))}
        trail = {(e.actor_id, e.member_id, e.org_id, e.action) for e in await session.scalars(select(AuditEntry))}
    wang, li = people[a["王芳"].number], people[b["李强"].number]
    assert entries == {(wang, "deduction", -2), (li, "deduction", -3)}
    assert trail == {(people[a.secretary.number], wang, ids[A + BRANCH], "points_deduct"),
                     (people[b.admin.number], li, ids[B + GROUP], "points_deduct")}
    assert_private(villages, wechat)


async def test_exemptions_are_recorded_listed_and_felt_in_their_own_village_only(
        villages: dict[str, Village], db: SessionMaker, wechat: FakeWeChat) -> None:
    a, b = villages[A], villages[B]
    async with db.begin() as session:  # on the roster since 2022 with nothing earned: everyone is followed up
        for m in await session.scalars(select(Member)):
            m.created_at = datetime(2022, 3, 1, tzinfo=TZ)
    for path, village in villages.items():
        theirs = villages[other(path)]["王芳"].number[-4:]
        outsider = "陈静" if path == A else "刘洋"
        for who in (village.secretary, village.admin):
            assert f"没有手机号后四位是 {theirs} 的「王芳」" in await who.says(f"豁免 王芳 {theirs} 11.10 12.10 病")
            assert f"你负责的组织里没有叫「{outsider}」的党员" in await who.says(f"取消豁免 {outsider}")
    assert "已登记王芳豁免" in await a.secretary.says("豁免 王芳 11.10 12.10 生病住院")
    assert "已登记李强豁免" in await b.admin.says("豁免 李强 11月10日 12月10日 冬季转场")

    exempt = {A: "王芳", B: "李强"}
    for path, village in villages.items():
        for who, org in ((village.secretary, BRANCH), (village.admin, "")):
            listing = await who.says("待关注")
            flagged = {line.split("：", 1)[0] for line in listing.splitlines()[1:] if "：" in line}
            shown = names_in(path, org, below=True) & {exempt[path]}
            assert flagged == names_in(path, org, below=True) - {exempt[path]}, (path, who.name, listing)
            exemptions = await who.says("豁免")
            assert {line.split("：", 1)[0] for line in exemptions.splitlines()[1:-1]} == shown, exemptions
        for name in ("王芳", "李强"):
            stars = await village[name].says("星级")
            assert ("本季度你有豁免" in stars) == (name == exempt[path]), (path, name, stars)
    people, ids = await member_ids(db), await org_ids(db)
    async with db() as session:
        trail = {(e.actor_id, e.member_id, e.org_id, e.action) for e in await session.scalars(select(AuditEntry))}
    assert trail == {(people[a.secretary.number], people[a["王芳"].number], ids[A + BRANCH], "exempt"),
                     (people[b.admin.number], people[b["李强"].number], ids[B + GROUP], "exempt")}
    assert_private(villages, wechat)


# --- hostile numbers: a number no key can hold is "not found", never an error --------------------------------


async def test_numbers_too_large_for_any_key_are_not_found(villages: dict[str, Village], live: TestClient) -> None:  # type: ignore[type-arg]
    huge = "99999999999999999999"
    secretary, member = villages[A].secretary, villages[A]["王芳"]
    for who, text in ((secretary, f"会议 {huge}"), (secretary, f"纪要 {huge} 内容"), (secretary, f"送学 王芳 {huge}"),
                      (secretary, f"补学 {huge} 请假"), (member, f"答 {huge} B"), (member, f"请假 {huge} 有事"),
                      (secretary, f"通过 {huge}"), (secretary, f"驳回 {huge} 不符"), (member, f"认领 {huge}"),
                      (secretary, f"验收 {huge}"), (secretary, f"出席 {huge} 王芳"), (secretary, "会议 2147483648"),
                      (secretary, f"调整 王芳 {huge} 理由")):
        reply = await who.says(text)
        assert "没能处理好" not in reply, (text, reply)
