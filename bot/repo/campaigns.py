"""Campaigns and their delivery ledger: one row per (campaign, member), claimed by workers in batches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    Update,
    bindparam,
    case,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import by_id, insert_once, rowcount, run, upsert_insert
from bot.storage.db import UTCDateTime
from bot.storage.models import READABLE, Campaign, Delivery, DeliveryStatus, Member

S = DeliveryStatus
UNDER_WAY = (S.NEW, S.CLAIMED, S.SENDING)  # queued for a worker, or in one's hands
OPEN = (*UNDER_WAY, S.PAUSED)  # a campaign with none of these is finished
HELD = (S.CLAIMED, S.SENDING)  # rows under a worker's lease
NOT_PUSHED = (S.WAITING, S.FAILED, S.UNCERTAIN)  # rows `campaigns show` lists, with their reasons
DELIVERED = (S.SENT, S.TEMPLATED, S.READ)  # reached the member: pushed, a template's summary, or read with `通知`
WITHHELD = (S.WAITING, S.PAUSED)  # not pushed through no failure: reading one with `通知` drops its reason
# Where a worker may move a row it holds from: every change checks the row's status and its owner, so a
# row taken back from a worker presumed dead is never sent, or recorded, by two. A row made uncertain
# while its owner was still sending takes that owner's result.
# Moves outside this table, each conditional on the row's status too: `claim` (new → claimed), `release`
# and `recover` (claimed → new, sending → uncertain), a campaign's pause (new → paused: `pause_queued`) and
# its end (paused → new: `settle_pauses`), and `通知` (READABLE → read: `read_waiting`). So a paused row is
# either read or queued again, whichever move comes first, never both; and a row a worker holds is never read.
FROM: dict[S, tuple[S, ...]] = {
    S.SENDING: (S.CLAIMED,),
    S.NEW: (S.CLAIMED, S.SENDING, S.UNCERTAIN),
    S.PAUSED: (S.SENDING, S.UNCERTAIN),  # the row that met the quota (45009): it was not sent
    S.WAITING: (S.CLAIMED, S.SENDING, S.UNCERTAIN),
    S.SENT: (S.SENDING, S.UNCERTAIN),
    S.TEMPLATED: (S.SENDING, S.UNCERTAIN),
    S.FAILED: (S.SENDING, S.UNCERTAIN),
    S.UNCERTAIN: (S.SENDING,),
}
INTERRUPTED = "发送中断：可能已送达，不再自动重发；成员可回复「通知」阅读"
UNBOUND = "未绑定微信：绑定后回复「通知」阅读"
_BODY = func.coalesce(Delivery.body, Campaign.body)  # a member's own text wins over the campaign's


@dataclass(frozen=True, slots=True)
class Item:
    """What a worker needs to deliver one row."""

    delivery_id: int
    attempts: int
    member_id: int
    openid: str
    campaign_id: int
    kind: str
    ref: str | None
    title: str
    body: str
    needs_ack: bool
    image: str | None
    link: str | None


async def create(session: AsyncSession, *, key: str, kind: str, title: str, body: str, audience: Select[Any],
                 at: datetime, now: datetime, ref: str | None = None, org_id: int | None = None,
                 created_by: int | None = None, needs_ack: bool = False, image: str | None = None,
                 link: str | None = None) -> int | None:
    """Create the campaign once per `key` and give every member of the audience a delivery row.

    Returns the new campaign's id, or None when `key` existed: then only audience members without a
    row yet (say, added to the roster since) get one, so a rerun tops up and never sends twice.
    Members not bound to WeChat get a waiting row: they read it with `通知` once they bind.
    """
    created = await insert_once(session, Campaign, key=key, kind=kind, ref=ref, title=title, body=body,
                                org_id=org_id, created_by=created_by, needs_ack=needs_ack, scheduled_at=at,
                                created_at=now, image=image, link=link)
    campaign_id = await session.scalar(select(Campaign.id).where(Campaign.key == key))
    assert campaign_id is not None
    unbound = Member.openid.is_(None)
    status = case((unbound, literal(S.WAITING.value)), else_=literal(S.NEW.value))
    error = case((unbound, literal(UNBOUND)), else_=null())
    rows = select(literal(campaign_id), Member.id, status, error, literal(0), literal(at, UTCDateTime())).where(
        Member.id.in_(audience))
    insert = upsert_insert(cast(Table, Delivery.__table__), session.get_bind().dialect.name)
    await session.execute(insert.from_select(
        ["campaign_id", "member_id", "status", "error", "attempts", "next_attempt_at"], rows).on_conflict_do_nothing())
    return campaign_id if created else None



async def lesson_of(session: AsyncSession, *, key_prefix: str) -> str | None:
    """The lesson the campaigns whose key starts with `key_prefix` (a day's lesson pushes) carry, if any."""
    return await session.scalar(select(Campaign.ref).where(Campaign.key.startswith(key_prefix, autoescape=True))
                                .order_by(Campaign.id).limit(1))


def members_in(*, key_prefix: str) -> Select[int]:
    """The members with a row in any campaign whose key starts with `key_prefix`, as a subquery."""
    return (select(Delivery.member_id).join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Campaign.key.startswith(key_prefix, autoescape=True)))


async def personal(session: AsyncSession, *, key: str, kind: str, title: str, bodies: Mapping[int, str],
                   at: datetime, now: datetime, org_id: int | None = None) -> int | None:
    """A campaign whose members each get their own text (a decision on their claim, their stars)."""
    campaign_id = await create(session, key=key, kind=kind, title=title, body="", org_id=org_id, at=at, now=now,
                               audience=select(Member.id).where(Member.id.in_(list(bodies))))
    if campaign_id is not None:
        table = cast(Table, Delivery.__table__)
        stmt = (update(table).where(table.c.campaign_id == campaign_id, table.c.member_id == bindparam("who"))
                .values(body=bindparam("text")))
        await session.execute(stmt, [{"who": who, "text": text} for who, text in bodies.items()])
    return campaign_id


async def claim(session: AsyncSession, *, owner: str, now: datetime, limit: int) -> list[int]:
    """Take up to `limit` due rows of unpaused campaigns under `owner`'s lease, longest due first; other workers
    skip locked rows."""
    due = (
        _due(select(Delivery.id), now)
        .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit).with_for_update(skip_locked=True, of=Delivery)
    )  # in the order of the (status, next_attempt_at) index: ordered by id, 100,000 due rows took 33 ms to sort
    ids = list(await session.scalars(due))  # locked first: as an IN subquery, PostgreSQL may take more than `limit`
    if not ids:
        return []
    result = await session.execute(update(Delivery).where(Delivery.id.in_(ids), Delivery.status == S.NEW)
                                   .values(status=S.CLAIMED, claimed_at=now, lease_owner=owner)
                                   .returning(Delivery.id))
    return sorted(result.scalars())


def _due(query: Select[Any], now: datetime) -> Select[Any]:
    """`query` narrowed to the rows a worker may send now: new, their time come, their campaign not paused."""
    return (query.join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Delivery.status == S.NEW, Delivery.next_attempt_at <= now, _unpaused(now)))


def _unpaused(now: datetime) -> ColumnElement[bool]:
    """A campaign (joined) that may send at `now`: never paused, or its pause is over."""
    return or_(Campaign.paused_until.is_(None), Campaign.paused_until <= now)


async def oldest_due(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the longest-waiting row a worker may send now became due; None when none is due."""
    oldest: datetime | None = await session.scalar(_due(select(func.min(Delivery.next_attempt_at)), now))
    return oldest


async def items(session: AsyncSession, *, delivery_ids: Sequence[int]) -> list[Item]:
    rows = await session.execute(
        select(Delivery.id, Delivery.attempts, Member.id, Member.openid, Campaign.id, Campaign.kind, Campaign.ref,
               Campaign.title, _BODY, Campaign.needs_ack, Campaign.image, Campaign.link)
        .join(Member, Member.id == Delivery.member_id).join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.id.in_(delivery_ids)).order_by(Delivery.id)
    )
    return [Item(*cast(tuple[Any, ...], row)) for row in rows]


async def mark(session: AsyncSession, *, delivery_id: int, owner: str, status: S, now: datetime,
               error: str | None = None, retry_at: datetime | None = None) -> bool:
    """Move a row `owner` holds to `status`; False (nothing changed) when the row is no longer theirs or has
    moved on. `retry_at` puts it back in the queue for a later attempt."""
    return (await mark_all(session, owner=owner, now=now, moves=[Move(delivery_id, status, error, retry_at)]))[0]


@dataclass(frozen=True, slots=True)
class Move:
    """A row to move to `status`, with the reason `campaigns show` gives and when to try again (back to `new`)."""

    delivery_id: int
    status: S
    error: str | None = None
    retry_at: datetime | None = None


async def mark_all(session: AsyncSession, *, owner: str, now: datetime, moves: Sequence[Move]) -> list[bool]:
    """`mark` for several rows in one transaction: a fan-out records each row's outcome as it marks the next one
    `sending`. Whether each moved. (On SQLite the later statements skip SQLAlchemy's execution: `repo.run`.)"""
    return [rowcount(await run(session, _mark_statement(m.status, m.retry_at is not None), {
        "row": m.delivery_id, "owner": owner, "error": m.error, "now": now, "retry_at": m.retry_at})) == 1
        for m in moves]


@cache
def _mark_statement(status: S, retry: bool) -> Update:
    """The UPDATE behind `mark`, built once per (status, retry): every row of a fan-out runs two of these, and
    building one costs more than SQLite's commit (measured: 1.5 ms of CPU a mark)."""
    table = cast(Table, Delivery.__table__)
    values: dict[str, Any] = {"status": status.value, "error": bindparam("error")}
    if status == S.SENDING:
        values["attempts"] = table.c.attempts + 1
    if status in (S.SENT, S.TEMPLATED, S.READ):
        values["sent_at"] = bindparam("now", type_=UTCDateTime())
    if status in (S.NEW, S.PAUSED):  # out of the worker's hands
        values |= {"lease_owner": None, "claimed_at": None}
    if retry:
        values["next_attempt_at"] = bindparam("retry_at", type_=UTCDateTime())
    from_status = or_(*(table.c.status == s.value for s in FROM[status]))  # not IN: an expanding IN is compiled anew
    return update(table).where(table.c.id == bindparam("row"), table.c.lease_owner == bindparam("owner"),
                               from_status).values(**values)


async def renew(session: AsyncSession, *, owner: str, now: datetime) -> int:
    """Renew `owner`'s lease on the rows it holds; how many.

    Rows another of the owner's transactions has locked at this moment are skipped (PostgreSQL: SKIP LOCKED):
    a sender records one row's outcome and marks the next `sending` in one transaction, so renewing every row
    in one statement could take the two locks in the other order and deadlock. A skipped row is renewed next
    time, a third of a lease later."""
    held = (select(Delivery.id).where(Delivery.lease_owner == owner, Delivery.status.in_(HELD))
            .with_for_update(skip_locked=True))
    result = await session.execute(update(Delivery).where(Delivery.id.in_(held)).values(claimed_at=now))
    return rowcount(result)


async def retry_failed(session: AsyncSession, *, campaign_id: int, now: datetime,
                       uncertain: Sequence[str] = ()) -> int:
    """Queue a campaign's failed rows again, which are known not to have been sent (an operator's decision),
    and the uncertain rows of the members named in `uncertain`, whom the operator knows went without."""
    named = select(Member.id).where(Member.name.in_(uncertain))
    result = await session.execute(
        update(Delivery).where(Delivery.campaign_id == campaign_id,
                               or_(Delivery.status == S.FAILED,
                                   (Delivery.status == S.UNCERTAIN) & Delivery.member_id.in_(named)))
        .values(status=S.NEW, attempts=0, next_attempt_at=now, claimed_at=None, lease_owner=None, error=None))
    await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(reported_at=None))
    return rowcount(result)


async def release(session: AsyncSession, *, owner: str, delivery_ids: Sequence[int]) -> None:
    """Hand claimed rows `owner` did not attempt back to the queue."""
    if delivery_ids:
        await session.execute(update(Delivery).where(Delivery.id.in_(delivery_ids), Delivery.status == S.CLAIMED,
                                                     Delivery.lease_owner == owner)
                              .values(status=S.NEW, claimed_at=None, lease_owner=None))


async def recover(session: AsyncSession, *, before: datetime) -> tuple[int, int]:
    """Take back the rows of workers whose lease was last renewed before `before` (they died): claimed rows go
    back to the queue; a row caught mid-send may have reached WeChat, so it becomes uncertain, never resent.

    Returns (requeued, uncertain).
    """
    requeued = await session.execute(
        update(Delivery).where(Delivery.status == S.CLAIMED, Delivery.claimed_at < before)
        .values(status=S.NEW, claimed_at=None, lease_owner=None))
    uncertain = await session.execute(
        update(Delivery).where(Delivery.status == S.SENDING, Delivery.claimed_at < before)
        .values(status=S.UNCERTAIN, error=INTERRUPTED))
    return rowcount(requeued), rowcount(uncertain)


async def pause(session: AsyncSession, *, campaign_id: int, until: datetime, reason: str) -> None:
    """Stop a campaign's pushes until `until` (WeChat's 45009: the daily quota is spent until midnight), its
    queued rows paused at once, so their members can read them with `通知` meanwhile."""
    await session.execute(update(Campaign).where(Campaign.id == campaign_id)
                          .values(paused_until=until, pause_reason=reason))
    await pause_queued(session, campaign_ids=[campaign_id])


async def quota_paused_until(session: AsyncSession, *, now: datetime) -> datetime | None:
    """Until when a campaign paused by the daily quota stops sending (the latest such pause), or None when none
    is paused now: the quota is the account's, so a campaign started meanwhile is likely to meet it too (and then
    pauses until the same time)."""
    return cast(datetime | None, await session.scalar(select(func.max(Campaign.paused_until))
                                                      .where(Campaign.paused_until > now)))


async def pause_queued(session: AsyncSession, *, campaign_ids: Sequence[int]) -> int:
    """Pause the queued rows of these paused campaigns (new → paused), such as a batch a worker hands back
    once its campaign paused, skipping rows another transaction has locked (a worker claiming them); how
    many."""
    if not campaign_ids:
        return 0
    queued = (select(Delivery.id).where(Delivery.status == S.NEW, Delivery.campaign_id.in_(campaign_ids))
              .with_for_update(skip_locked=True))
    result = await session.execute(update(Delivery).where(Delivery.id.in_(queued), Delivery.status == S.NEW)
                                   .values(status=S.PAUSED))
    return rowcount(result)


async def settle_pauses(session: AsyncSession, *, now: datetime) -> tuple[int, int]:
    """Pause the rows queued meanwhile in a campaign paused now (handed back, retried, added), and queue again
    the paused rows of a campaign whose pause is over (paused → new), for a worker to push to whoever has not
    read them with `通知` by then. Rows another transaction has locked are skipped (PostgreSQL: SKIP LOCKED),
    as in `renew`, and settled next time; `通知` waits for this one and then reads only what is still paused.

    Returns (paused, queued again).
    """
    paused_now = await session.scalars(select(Campaign.id).where(Campaign.paused_until > now))  # by its index
    paused = await pause_queued(session, campaign_ids=list(paused_now))
    over = (select(Delivery.id).join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Delivery.status == S.PAUSED, _unpaused(now))
            .with_for_update(skip_locked=True, of=Delivery))
    resumed = await session.execute(update(Delivery).where(Delivery.id.in_(over), Delivery.status == S.PAUSED)
                                    .values(status=S.NEW))
    return paused, rowcount(resumed)


async def counts(session: AsyncSession, *, campaign_id: int | None = None) -> Counter[str]:
    """Rows by status: of one campaign, or (None) of the whole ledger."""
    query = select(Delivery.status, func.count()).group_by(Delivery.status)
    if campaign_id is not None:
        query = query.where(Delivery.campaign_id == campaign_id)
    return Counter({status: n for status, n in await session.execute(query)})


@dataclass(frozen=True, slots=True)
class Tally:
    """A campaign's rows as its delivery report and the console count them: all, delivered (DELIVERED), still
    being sent (UNDER_WAY), paused with their campaign (readable with `通知` meanwhile; with `sending`, OPEN),
    waiting for the member's window, failed, and uncertain (may have arrived, or in part)."""

    total: int
    delivered: int
    sending: int
    waiting: int
    failed: int
    uncertain: int
    paused: int

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> Tally:
        """From the rows per status (`counts`)."""
        def sum_of(statuses: Sequence[S]) -> int:
            return sum(counts.get(s, 0) for s in statuses)
        return cls(sum(counts.values()), sum_of(DELIVERED), sum_of(UNDER_WAY), sum_of((S.WAITING,)),
                   sum_of((S.FAILED,)), sum_of((S.UNCERTAIN,)), sum_of((S.PAUSED,)))


async def tallies(session: AsyncSession, *, campaign_ids: Sequence[int]) -> dict[int, Tally]:
    """Each campaign's Tally now (an empty one for a campaign without rows)."""
    rows = await session.execute(select(Delivery.campaign_id, Delivery.status, func.count())
                                 .where(Delivery.campaign_id.in_(campaign_ids))
                                 .group_by(Delivery.campaign_id, Delivery.status))
    counted: dict[int, Counter[str]] = {campaign_id: Counter() for campaign_id in campaign_ids}
    for campaign_id, status, n in rows:
        counted[campaign_id][status] = n
    return {campaign_id: Tally.of(found) for campaign_id, found in counted.items()}


async def finish_unreported(session: AsyncSession, *, now: datetime) -> list[Campaign]:
    """Campaigns by a member that have just finished, marked reported so only one caller reports each."""
    still_open = select(Delivery.id).where(Delivery.campaign_id == Campaign.id, Delivery.status.in_(OPEN)).exists()
    candidates = list(await session.scalars(
        select(Campaign).where(Campaign.created_by.is_not(None), Campaign.reported_at.is_(None), ~still_open)))
    finished = []
    for campaign in candidates:
        result = await session.execute(update(Campaign).where(Campaign.id == campaign.id,
                                                              Campaign.reported_at.is_(None)).values(reported_at=now))
        if rowcount(result) == 1:
            finished.append(campaign)
    return finished


@dataclass(frozen=True, slots=True)
class Unread:
    title: str
    body: str
    kind: str
    ref: str | None


async def read_waiting(session: AsyncSession, *, member_id: int, now: datetime) -> list[Unread]:
    """The member's pushes not read in full (READABLE: waiting, paused, failed, uncertain or templated),
    oldest first; from now on they count as read (see `_read`)."""
    return await _read(session, Delivery.member_id == member_id, Delivery.status.in_(READABLE), now=now)


async def read_asked(session: AsyncSession, *, member_id: int, now: datetime) -> list[Unread]:
    """The member's pushes asking for `收到` that are not pushed yet (WITHHELD: the window closed, or the quota
    paused them), oldest first; from now on they count as read, so `收到` acknowledges them."""
    asked = select(Campaign.id).where(Campaign.id == Delivery.campaign_id, Campaign.needs_ack).exists()
    return await _read(session, Delivery.member_id == member_id, Delivery.status.in_(WITHHELD), asked, now=now)


async def _read(session: AsyncSession, *rows: ColumnElement[bool], now: datetime) -> list[Unread]:
    """Mark the `rows` read, and return exactly those this statement moved, oldest first.

    The move is conditional on the status `rows` name, so a paused row queued again at the same moment (its
    pause over) is left to the worker that pushes it, never shown as well. A failed or uncertain row keeps its
    reason for `campaigns show`; a WITHHELD one had no fault and drops it."""
    reason = case((Delivery.status.in_(WITHHELD), null()), else_=Delivery.error)
    read = update(Delivery).where(*rows).values(status=S.READ, sent_at=now, error=reason)
    moved = list(await session.scalars(read.returning(Delivery.id)))
    if not moved:
        return []
    found = await session.execute(select(Campaign.title, _BODY, Campaign.kind, Campaign.ref)
                                  .join(Campaign, Campaign.id == Delivery.campaign_id)
                                  .where(Delivery.id.in_(moved)).order_by(Delivery.id))
    return [Unread(title, body, kind, ref) for title, body, kind, ref in found]


async def recent(session: AsyncSession, *, limit: int = 20) -> Sequence[Campaign]:
    return (await session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit))).all()


async def get(session: AsyncSession, *, campaign_id: int) -> Campaign | None:
    return await by_id(session, Campaign, campaign_id)


# A row not pushed: waiting, failed or uncertain, or read with `通知` after failing (its reason kept).
UNPUSHED = Delivery.status.in_(NOT_PUSHED) | ((Delivery.status == S.READ) & Delivery.error.is_not(None))
# Why a row was not pushed, in the ledger's words (`campaigns show`, the console's receipts); None for the others.
REASON = case((UNPUSHED, Delivery.error), else_=null())


async def failures(session: AsyncSession, *, campaign_id: int) -> Sequence[tuple[str, str, str | None]]:
    """(member name, status, reason) of every UNPUSHED row."""
    rows = await session.execute(
        select(Member.name, Delivery.status, REASON).join(Member, Member.id == Delivery.member_id)
        .where(Delivery.campaign_id == campaign_id, UNPUSHED).order_by(Member.name))
    return [tuple(row) for row in rows]


async def latest_ack_campaign(session: AsyncSession, *, created_by: int) -> Campaign | None:
    return await session.scalar(select(Campaign).where(Campaign.created_by == created_by, Campaign.needs_ack)
                                .order_by(Campaign.id.desc()).limit(1))


async def acknowledge(session: AsyncSession, *, member_id: int, now: datetime) -> list[str]:
    """Acknowledge every notice the member received that asks for it; their titles (empty: nothing to do)."""
    rows = (await session.execute(
        select(Delivery.id, Campaign.title).join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.member_id == member_id, Campaign.needs_ack, Delivery.acked_at.is_(None),
               Delivery.status.in_(DELIVERED))
        .order_by(Delivery.id))).all()
    if rows:
        await session.execute(update(Delivery).where(Delivery.id.in_([r[0] for r in rows])).values(acked_at=now))
    return [str(r[1]) for r in rows]


# A row (joined to its campaign) whose member is asked for `收到`, if the campaign asks: never its sender's.
ASKED = Delivery.member_id.is_distinct_from(Campaign.created_by)
OWES_RECEIPT = Delivery.acked_at.is_(None) & ASKED  # asked, and not replied yet


async def not_acknowledged(session: AsyncSession, *, campaign_id: int) -> list[str]:
    """Who has not replied `收到` to the notice yet, by name; never the secretary who sent it."""
    rows = await session.scalars(
        select(Member.name).join(Delivery, Delivery.member_id == Member.id)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.campaign_id == campaign_id, OWES_RECEIPT).order_by(Member.name))
    return list(rows)

