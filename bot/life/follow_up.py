"""Who a secretary should follow up (待关注): points under the line, years running under it, few stars.

Only the member's secretary ever sees this; no message to the member or the branch names it. A member under an
exemption (`豁免`) today is left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.rules import Rules
from bot.repo import exemptions, points, stars
from bot.rules.periods import Period, year_of
from bot.rules.points import FollowUp, first_full_year, follow_up, scores_by_year
from bot.rules.stars import low_star
from bot.storage.models import Member


@dataclass(frozen=True, slots=True)
class Flagged:
    member_id: int
    name: str
    points: FollowUp
    year_score: int
    stars: int | None  # stars held, when few enough to list (after the organisation's first review)
    exempt: bool  # under an exemption today: never listed

    def listed(self) -> bool:
        return not self.exempt and (self.points.listed() or self.stars is not None)


async def assess(session: AsyncSession, *, rules: Rules, tz: ZoneInfo, org_ids: Sequence[int],
                 today: date) -> list[Flagged]:
    """Every member of these organisations with their follow-up flags, by name."""
    roster = (await session.execute(select(Member.id, Member.name, Member.org_id, Member.created_at)
                                    .where(Member.org_id.in_(org_ids)).order_by(Member.name, Member.id))).all()
    policy = rules.policy
    start, end = Period(date(today.year - policy.follow_up_years, 1, 1), year_of(today).end).bounds(tz)
    entries: defaultdict[int, list[tuple[date, int]]] = defaultdict(list)
    for member_id, at, delta in await points.entries_of(session, member_ids=[r.id for r in roster], start=start,
                                                        end=end):
        entries[member_id].append((at.astimezone(tz).date(), delta))
    held = await stars.held(session, member_ids=[r.id for r in roster])
    reviewed = await stars.reviewed_orgs(session, org_ids=org_ids)
    exempt = await exemptions.exempt_on(session, member_ids=[r.id for r in roster], day=today)
    found = []
    for r in roster:
        years = scores_by_year(entries[r.id], policy.monthly_cap)
        count = len(held.get(r.id, set()))
        found.append(Flagged(
            r.id, r.name,
            follow_up(years, today, policy, first_full_year(r.created_at.astimezone(tz).date())),
            years.get(today.year, 0),
            count if r.org_id in reviewed and low_star(count, rules.review.low_star_max) else None,
            r.id in exempt,
        ))
    return found
