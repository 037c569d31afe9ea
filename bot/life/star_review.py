"""摘星授星: the quarter-end proposals for every member, and confirming them (by a secretary or automatically).

Proposing reads the whole quarter for every member, so the job runs it on a worker thread with its
own engine (`bot.ops.offloop`); confirming touches one organisation's changes and runs anywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.content.rules import Rules
from bot.repo import audit, campaigns, exemptions, metrics, orgs, stars
from bot.rules.periods import Period, quarter_label
from bot.rules.stars import Star, changes, evaluate
from bot.storage.db import SessionMaker, transaction
from bot.storage.models import Member, StarReview

GRANT, REMOVE, KEEP, WITHHOLD = "授", "摘", "保留", "不授"  # what confirming does to one star, as shown


@dataclass(frozen=True, slots=True)
class Listed:
    """One proposal of a waiting review as a secretary reads it (chat `评星` and the console alike): `decision`
    is what it will be once confirmed, `held` whether the member holds the star now."""

    id: int
    review_id: int
    member_id: int
    name: str
    star: str
    decision: bool
    held: bool
    overruled: bool
    reason: str | None
    evidence: str

    @property
    def verb(self) -> str:
        """What confirming will do: 授 or 摘 a change, 不授 (a grant overruled) or 保留 (a removal overruled)."""
        return outcome(self.decision, self.held)

    @property
    def flipped(self) -> str:
        """What confirming would do once this proposal is overruled (`评星 改 N 理由`)."""
        return outcome(not self.decision, self.held)


def outcome(decision: bool, held_now: bool) -> str:
    """What confirming does to one star, read against the stars actually held: GRANT or REMOVE a change,
    WITHHOLD (a grant overruled) or KEEP (a removal overruled) none."""
    if decision != held_now:
        return GRANT if decision else REMOVE
    return KEEP if held_now else WITHHOLD


async def listing(session: AsyncSession, *, review_ids: Sequence[int]) -> list[Listed]:
    """Every proposal of these reviews, by organisation and name, with what confirming will do."""
    rows = await stars.proposals(session, review_ids=review_ids)
    held = await stars.held(session, member_ids={r.member_id for r in rows})
    return [Listed(r.id, r.review_id, r.member_id, r.name, r.star, r.decision, r.star in held.get(r.member_id, set()),
                   r.decision != r.proposed, r.reason, r.evidence) for r in rows]


@dataclass(frozen=True, slots=True)
class Proposed:
    """What a quarter-end run did: reviews opened, proposals made, reviews confirmed without a secretary."""

    quarter: str
    reviews: int
    proposals: int
    auto_confirmed: int


def evidence(star: Star, values: Mapping[str, float], rules: Rules) -> str:
    """The quarter's numbers behind a star, worded from the metrics in rules.toml: "完成志愿服务 6 小时"."""
    return "，".join(f"{rules.metrics[r.metric].label} {values.get(r.metric, 0):g} {rules.metrics[r.metric].unit}"
                    for r in star.requirements)


async def propose(sessionmaker: SessionMaker, *, content: Content, tz: ZoneInfo, quarter: Period,
                  now: datetime) -> Proposed:
    """Open each organisation's review of the quarter and propose every grant and removal; idempotent.

    The quarter is read first; then each organisation's review is written in a short transaction of
    its own, so on SQLite the serving process's writers never wait long for the write lock.
    """
    rules, label = content.rules, quarter_label(quarter.start)
    async with sessionmaker() as session:
        values = await metrics.for_members(session, period=quarter, tz=tz, monthly_cap=rules.policy.monthly_cap,
                                           life=rules.life)
        held = await stars.held(session)
        exempt = await exemptions.during(session, first=quarter.start, last=quarter.last_day)
        by_org: defaultdict[int, list[int]] = defaultdict(list)
        for member_id, org_id in await session.execute(select(Member.id, Member.org_id).order_by(Member.id)):
            by_org[org_id].append(member_id)
    reviews = made = auto = 0
    for org_id, member_ids in by_org.items():
        async with transaction(sessionmaker) as session:
            review_id = await stars.open_review(session, org_id=org_id, quarter=label, now=now)
            if review_id is None:
                continue
            rows = [{"review_id": review_id, "member_id": member_id, **change}
                    for member_id in member_ids
                    for change in _changes(rules, held.get(member_id, set()), values.get(member_id) or metrics.zeros(),
                                           exempt=member_id in exempt)]
            await stars.add_proposals(session, rows)
            reviews, made = reviews + 1, made + len(rows)
            if len(member_ids) <= rules.review.auto_confirm_max_members:
                review = await session.get(StarReview, review_id)
                assert review is not None
                await confirm(session, content=content, review=review, by=None, now=now)
                auto += 1
    return Proposed(label, reviews, made, auto)


def _changes(rules: Rules, held: set[str], values: Mapping[str, float], *, exempt: bool) -> list[dict[str, Any]]:
    """One member's proposal rows (without review and member): each grant or removal with its evidence; a member
    exempt during the quarter keeps the stars only excused shortfalls stand against (`bot.rules.stars.changes`)."""
    found = []
    for change in changes(held, evaluate(rules.stars, values), exempt=exempt):
        star = rules.star(change.star)
        assert star is not None
        found.append({"star": change.star, "proposed": change.grant, "decision": change.grant,
                      "evidence": evidence(star, values, rules)})
    return found


async def confirm(session: AsyncSession, *, content: Content, review: StarReview, by: int | None,
                  now: datetime) -> int:
    """Apply a review's decisions and tell each member what they gained or lost and why; members told."""
    if not await stars.confirm(session, review_id=review.id, by=by, now=now):
        return 0
    rows = await stars.proposals(session, review_ids=[review.id])
    held = await stars.held(session, member_ids={r.member_id for r in rows})
    applied: list[tuple[int, str, bool, str]] = []
    told: defaultdict[int, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = defaultdict(lambda: ([], []))
    for r in rows:
        if r.decision == (r.star in held.get(r.member_id, set())):
            continue
        why = r.reason or r.evidence
        applied.append((r.member_id, r.star, r.decision, why))
        told[r.member_id][0 if r.decision else 1].append((r.star, why))
    await stars.apply(session, changes=applied, quarter=review.quarter, now=now)
    bodies = {member_id: content.render("star_result", quarter=review.quarter, gained=gained, lost=lost)
              for member_id, (gained, lost) in told.items()}
    org = await orgs.name_of(session, org_id=review.org_id)
    if bodies:
        await campaigns.personal(session, key=f"stars:{review.quarter}:{review.org_id}", kind="stars",
                                 title=f"{review.quarter} 摘星授星结果", bodies=bodies, org_id=review.org_id,
                                 at=now, now=now)
    await audit.record(session, actor_id=by, member_id=None, org_id=review.org_id, action="star_confirm",
                       subject=f"stars:{review.quarter}", detail=f"{org}：{len(applied)} 颗星有变化，"
                       f"{sum(r.decision != r.proposed for r in rows)} 条建议经书记调整", at=now)
    return len(bodies)
