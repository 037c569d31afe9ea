"""The error taxonomy (bot/wechat/errors.py), row by row: each failure injected at the fake WeChat API, sent through
the real client and the delivery worker, and what the member gets and the ledger holds afterwards."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.config import Settings
from bot.pushes.delivery import DeliveryWorker
from bot.repo import campaigns
from bot.storage.db import SessionMaker
from bot.storage.models import Delivery, Member
from bot.storage.models import DeliveryStatus as S
from bot.wechat.client import WeChatClient, build_client
from bot.wechat.errors import RULES, Action, Failure, QuotaExceeded, WeChatError
from bot.wechat.fake import FakeWeChat
from tests.conftest import ROOT, Clock, services_of
from tests.phone import Phone
from tests.test_delivery import branch_of, statuses

NOTICE = "周六上午九点在村委会开会"

# What one delivery round leaves, by the rule's action: the row's status, and what the fake accepted.
AFTER_ONE_ROUND: dict[Action, tuple[S, list[str]]] = {
    Action.RETRY: (S.SENT, ["text"]),  # retried within the call
    Action.NEW_TOKEN: (S.SENT, ["text"]),  # a new token, then the send again
    Action.WINDOW: (S.TEMPLATED, ["template"]),  # the account's template instead
    Action.REFUSED: (S.FAILED, []),  # no retry; readable with `通知`
    Action.QUOTA: (S.PAUSED, []),  # the campaign pauses until midnight; `通知` reads it meanwhile
}


@pytest.fixture
def quick_client(wechat_settings: Settings, wechat: FakeWeChat, db: SessionMaker, clock: Clock,
                 http: aiohttp.ClientSession) -> WeChatClient:
    """The real client with a short timeout, against a fake that stalls a little longer."""
    wechat.stall_seconds = 0.6
    return build_client(wechat_settings, db, clock, http, backoff=0.001, timeout=0.3)


async def notice_to_one(db: SessionMaker, clock: Clock, wechat: FakeWeChat) -> tuple[int, str]:
    [openid] = await branch_of(db, clock, 1, wechat=wechat)
    async with db.begin() as session:
        campaign_id = await campaigns.create(session, key="notice:1", kind="notice", title="支部通知", body=NOTICE,
                                             audience=select(Member.id), at=clock(), now=clock())
    assert campaign_id is not None
    return campaign_id, openid


def worker(db: SessionMaker, client: WeChatClient, clock: Clock) -> DeliveryWorker:
    return DeliveryWorker(db, client, clock, template_id="TPL_NOTICE", retry_after=timedelta(minutes=1))


@pytest.mark.parametrize("failure", list(RULES), ids=str)
async def test_the_client_names_each_failure_as_its_row_after_the_tries_the_row_allows(
        failure: int | Failure, wechat: FakeWeChat, quick_client: WeChatClient) -> None:
    wechat.interaction("o-reader")
    wechat.fail_next(*[failure] * RULES[failure].in_call)
    with pytest.raises(WeChatError) as raised:
        await quick_client.send_text("o-reader", NOTICE)
    assert raised.value.failure == failure and raised.value.rule == RULES[failure]
    assert isinstance(raised.value, QuotaExceeded) == (RULES[failure].action is Action.QUOTA)
    assert wechat.calls["custom_send"] == RULES[failure].in_call and not wechat.sent


@pytest.mark.parametrize("failure", list(RULES), ids=str)
async def test_each_row_of_the_taxonomy_at_a_send(failure: int | Failure, db: SessionMaker, clock: Clock,
                                                  wechat: FakeWeChat, quick_client: WeChatClient) -> None:
    campaign_id, openid = await notice_to_one(db, clock, wechat)
    wechat.fail_next(failure)
    await worker(db, quick_client, clock).drain()

    status, kinds = AFTER_ONE_ROUND[RULES[failure].action]
    assert await statuses(db, campaign_id) == Counter({status: 1})
    assert [m.kind for m in wechat.messages_to(openid)] == kinds
    async with db() as session:
        campaign = await campaigns.get(session, campaign_id=campaign_id)
        error = await session.scalar(select(Delivery.error))
    assert campaign is not None and bool(campaign.pause_reason) == (RULES[failure].action is Action.QUOTA)
    if RULES[failure].action is Action.REFUSED:
        assert wechat.calls["custom_send"] == 1 and error and str(failure) in error  # never retried; reason kept


@pytest.mark.parametrize("failure", [-1, *Failure], ids=str)
async def test_a_transient_failure_at_the_token_endpoint_is_retried_and_never_aborts_the_round(
        failure: int | Failure, db: SessionMaker, clock: Clock, wechat: FakeWeChat,
        quick_client: WeChatClient) -> None:
    campaign_id, openid = await notice_to_one(db, clock, wechat)
    wechat.fail_token_next(failure)
    await worker(db, quick_client, clock).drain()
    assert [m.content for m in wechat.messages_to(openid)] == [NOTICE]
    assert await statuses(db, campaign_id) == Counter({S.SENT: 1})
    assert wechat.calls["stable_token"] == 2


async def test_a_token_endpoint_down_for_the_whole_call_puts_the_row_back_for_later(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, quick_client: WeChatClient) -> None:
    campaign_id, openid = await notice_to_one(db, clock, wechat)
    wechat.fail_token_next(*[Failure.HTTP_5XX] * RULES[Failure.HTTP_5XX].in_call)
    await worker(db, quick_client, clock).drain()
    assert await statuses(db, campaign_id) == Counter({S.NEW: 1}) and not wechat.sent
    clock.advance(minutes=2)
    await worker(db, quick_client, clock).drain()
    assert [m.content for m in wechat.messages_to(openid)] == [NOTICE]


async def test_a_closed_window_without_a_template_waits_for_the_member(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    campaign_id, _ = await notice_to_one(db, clock, wechat)
    wechat.fail_next(45047)
    await DeliveryWorker(db, wechat_client, clock).drain()
    assert await statuses(db, campaign_id) == Counter({S.WAITING: 1}) and not wechat.sent


async def test_an_unknown_code_is_tried_twice_then_kept_for_the_member(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    campaign_id, _ = await notice_to_one(db, clock, wechat)
    wechat.fail_next(99999, 99999)
    for _ in range(3):
        await worker(db, wechat_client, clock).drain()
        clock.advance(minutes=5)
    assert await statuses(db, campaign_id) == Counter({S.FAILED: 1})
    assert wechat.calls["custom_send"] == 2 and not wechat.sent


async def test_a_busy_api_is_retried_in_the_call_then_the_row_later(
        db: SessionMaker, clock: Clock, wechat: FakeWeChat, wechat_client: WeChatClient) -> None:
    campaign_id, openid = await notice_to_one(db, clock, wechat)
    wechat.fail_next(*[-1] * (RULES[-1].in_call + 1))
    await worker(db, wechat_client, clock).drain()
    assert await statuses(db, campaign_id) == Counter({S.NEW: 1})
    clock.advance(minutes=2)
    await worker(db, wechat_client, clock).drain()
    assert [m.content for m in wechat.messages_to(openid)] == [NOTICE]
    assert wechat.calls["custom_send"] == RULES[-1].in_call + 2


@pytest.mark.parametrize("code", [48001, 43101])
async def test_a_member_refused_for_good_reads_the_notice_with_tongzhi(
        code: int, live: TestClient, member: Callable[[str], Phone], wechat: FakeWeChat,  # type: ignore[type-arg]
        clock: Clock) -> None:
    """A secretary's notice refused for one member (customer service 48001, or a template refusal)."""
    services = services_of(live)
    secretary, reader = member("13800000001"), member("13800000002")
    await secretary.bound("张建国")
    await reader.bound("李秀英")
    wechat.refuse[reader.openid] = code
    if code == 43101:  # the reader has not written for three days: a template is the only way
        clock.advance(days=3)
        await secretary.send("积分")
    await secretary.send("通知 周六上午九点开会")
    await secretary.send("确认")
    assert services.deliveries is not None
    worker = replace(services.deliveries, template_id="TPL_NOTICE")
    await worker.drain()
    assert not wechat.messages_to(reader.openid)
    calls = wechat.calls["custom_send"] + wechat.calls["template_send"]
    await worker.drain()
    assert wechat.calls["custom_send"] + wechat.calls["template_send"] == calls  # not retried
    assert "周六上午九点开会" in await reader.send("通知")
    assert "没有未读通知" in await reader.send("通知")


def test_readme_s_table_names_every_code_of_the_taxonomy() -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### When WeChat fails")[1].split("\n\n**")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    codes = {code.strip() for row in rows for code in row.split("|")[1].split(",")}
    assert {str(code) for code in RULES if isinstance(code, int)} <= codes


async def test_a_person_trying_the_sandbox_can_make_the_fake_misbehave_over_http(
        wechat: FakeWeChat, quick_client: WeChatClient, http: aiohttp.ClientSession) -> None:
    """`POST /fake-wechat/_behave` (README, the sandbox): what the tests set on the fake, a person sets while it
    runs; what it cannot take is a 400 naming it, and changes nothing."""
    behave = f"{wechat.base}/_behave"
    for wrong, named in (({"busy_rate": 2}, "busy_rate"), ({"busy_rate": "0.3"}, "busy_rate"),
                         ({"fail_next": ["html"]}, "fail_next"), ({"quota": 3}, "unknown 'quota'"),
                         ([1], "JSON object"), ({"enforce_window": "no"}, "enforce_window"), ("{busy", "not JSON")):
        async with http.post(behave, data=wrong if isinstance(wrong, str) else json.dumps(wrong)) as resp:
            assert resp.status == 400 and named in (await resp.json())["error"], wrong
    assert (wechat.busy_rate, wechat.daily_quota, wechat.enforce_window) == (0.0, None, True)

    not_json = ["not_json"] * RULES[Failure.NOT_JSON].in_call  # the client's own tries within the call
    async with http.post(behave, json={"fail_next": [45009, *not_json], "daily_quota": 1}) as resp:
        assert resp.status == 200 and (await resp.json())["fail_next"] == ["45009", *not_json]
    wechat.interaction("o-reader")
    with pytest.raises(QuotaExceeded) as quota:
        await quick_client.send_text("o-reader", NOTICE)
    assert str(quota.value) == "45009: injected failure"  # the code once, as `campaigns show` gives the reason
    with pytest.raises(WeChatError) as raised:
        await quick_client.send_text("o-reader", NOTICE)
    assert raised.value.failure == Failure.NOT_JSON
    await quick_client.send_text("o-reader", NOTICE)  # the failures asked for are used up: then the day's quota
    with pytest.raises(QuotaExceeded):
        await quick_client.send_text("o-reader", NOTICE)
    async with http.post(behave, json={"daily_quota": None, "refuse": {"o-reader": 43004}}) as resp:
        assert (await resp.json())["refuse"] == {"o-reader": 43004}
    with pytest.raises(WeChatError) as raised:
        await quick_client.send_text("o-reader", NOTICE)
    assert raised.value.failure == 43004 and len(wechat.sent) == 1
    async with http.post(behave, json={"refuse": {"o-reader": 0}}) as resp:
        assert (await resp.json())["refuse"] == {} and (await resp.json())["sent_today"] == 1
    await quick_client.send_text("o-reader", NOTICE)
    assert len(wechat.sent) == 2
