"""Only WeChat speaks for a member: message modes, fresh and unreplayed queries, checked fields, quiet logs."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
from datetime import timedelta

import pytest
import xmltodict
from sqlalchemy import func, select
from wechatpy.utils import WeChatSigner

from bot.message.replay import DatabaseMemory, forget_before, kept_for
from bot.ops.logs import RateLimit, member_tag
from bot.ops.logs import handler as log_handler
from bot.ops.simulator import Simulator, text_xml
from bot.storage.models import InboundMessage
from tests.phone import Phone

pytestmark = pytest.mark.usefixtures("roster")
REDIS_URL = os.environ.get("PALMBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def plain(sim: Simulator) -> Simulator:
    """The same account's WeChat in plaintext: signed query, plain body."""
    return Simulator(sim.token, clock=sim.clock)


async def inbound_rows(db) -> int:  # type: ignore[no-untyped-def]
    async with db() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


@pytest.mark.parametrize(("mode", "encrypted", "status"), [
    ("safe", False, 403),
    ("safe", True, 200),
    ("compatible", False, 200),
    ("compatible", True, 200),
    ("plaintext", False, 200),
    ("plaintext", True, 403),
])
async def test_each_message_mode_takes_only_what_wechat_sends_in_it(
        make_client, sim, clock, db, mode: str, encrypted: bool, status: int) -> None:  # type: ignore[no-untyped-def]
    client = await make_client(wechat_message_mode=mode)
    wechat = sim if encrypted else plain(sim)
    phone = Phone(client, wechat, clock, "13800000002")
    got, body = await phone.post(phone.text_xml("待关注"))
    assert got == status
    if status == 403:
        assert "待关注" not in body and "<xml>" not in body
        assert await inbound_rows(db) == 0  # never handled
    else:
        assert "只有书记" in (wechat.reply_text(body) or "") or "绑定" in (wechat.reply_text(body) or "")
        assert ("<Encrypt>" in body) == encrypted  # answered in kind


async def test_safe_mode_refuses_a_signed_plaintext_post_and_says_why_in_the_log(client, sim, clock, caplog) -> None:  # type: ignore[no-untyped-def]
    phone = Phone(client, plain(sim), clock, "13800000001")
    with caplog.at_level(logging.WARNING, logger="bot.message.webhook"):
        status, _ = await phone.post(phone.text_xml("待关注"))
    assert status == 403
    assert "safe mode refuses a plaintext callback" in caplog.text


@pytest.mark.parametrize(("age", "status"), [(0, 200), (-299, 200), (299, 200), (-301, 403), (301, 403),
                                             (-3 * 86400, 403)])
async def test_a_timestamp_outside_five_minutes_is_refused(client, sim, clock, age: int, status: int) -> None:  # type: ignore[no-untyped-def]
    shifted = Simulator(sim.token, sim.aes_key, sim.appid, clock=lambda: clock().timestamp() + age)
    phone = Phone(client, shifted, clock, "13800000002")
    got, _ = await phone.post(phone.text_xml("帮助"))
    assert got == status


@pytest.fixture(params=["database", "redis"])
def memory(request: pytest.FixtureRequest) -> dict[str, str]:
    """Where the replicas keep the replay memory: the shared database, or Redis."""
    return {} if request.param == "database" else {"redis_url": REDIS_URL}


async def test_a_replayed_query_is_refused_across_replicas_while_wechat_s_retry_gets_the_stored_reply(
        make_client, sim, clock, db, memory) -> None:  # type: ignore[no-untyped-def]
    one = await make_client(wechat_message_mode="compatible", **memory)
    two = await make_client(wechat_message_mode="compatible", **memory)  # another replica, same database
    wechat = plain(sim)
    secretary = Phone(one, wechat, clock, "13800000001")
    await secretary.bind("张建国")
    original = secretary.text_xml("积分")
    query, body = wechat.request(original)
    first = await one.post("/wechat", params=query, data=body.encode())
    assert first.status == 200
    first_reply = wechat.reply_text(await first.text())

    forged = text_xml(secretary.openid, "待关注", msg_id=42, at=int(clock().timestamp()))
    replayed = await two.post("/wechat", params=query, data=forged.encode())
    assert replayed.status == 403
    assert "待关注" not in await replayed.text()

    clock.advance(seconds=5)  # WeChat's retry: the same message, on the other replica
    for retry_query in (query, wechat.request(original)[0]):
        retry = await two.post("/wechat", params=retry_query, data=body.encode())
        assert retry.status == 200
        assert wechat.reply_text(await retry.text()) == first_reply
    async with db() as session:
        keys = (await session.scalars(select(InboundMessage.key))).all()
    assert not [k for k in keys if k.endswith(":42")]  # the forged message never ran


async def test_another_member_s_msg_id_never_fetches_their_reply(phone) -> None:  # type: ignore[no-untyped-def]
    secretary, member = phone("13800000001"), phone("13800000002")
    await secretary.bind("张建国")
    private = await secretary.deliver(secretary.text_xml("待关注", msg_id=77))
    assert private and "只有书记" not in private
    stolen = await member.deliver(member.text_xml("待关注", msg_id=77))
    assert stolen != private
    assert stolen and "绑定" in stolen  # the stranger's own answer


ACCOUNT = "<ToUserName>gh_palmbot000</ToUserName>"
SENDER = "<FromUserName>oSender0000000000000000000001</FromUserName>"


@pytest.mark.parametrize(("fields", "reason"), [
    (f"{ACCOUNT}{SENDER}<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>帮助</Content><MsgId>12ab</MsgId>",
     "MsgId is not valid"),
    (f"{ACCOUNT}{SENDER}<MsgType>text</MsgType><Content>帮助</Content><MsgId>1</MsgId>", "CreateTime is missing"),
    (f"{ACCOUNT}{SENDER}<CreateTime>soon</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId>",
     "CreateTime is not valid"),
    (f"{ACCOUNT}{SENDER}<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>帮助</Content>", "MsgId is missing"),
    (f"{ACCOUNT}{SENDER}<CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId>", "Content is missing"),
    (f"{ACCOUNT}{SENDER}<CreateTime>1</CreateTime><MsgType>event</MsgType>", "Event is missing"),
    ((f"{ACCOUNT}<FromUserName>o1]]&gt;&lt;x&gt;</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
     "<MsgId>1</MsgId>"), "FromUserName is not valid"),
    ((f"{ACCOUNT}<FromUserName>{'o' * 65}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
     "<MsgId>1</MsgId>"), "FromUserName is not valid"),
    ((f"{ACCOUNT}{SENDER}<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>{'长' * 4097}</Content>"
     "<MsgId>1</MsgId>"), "Content is too long"),
    ((f"{ACCOUNT}{SENDER}<CreateTime>1</CreateTime><MsgType>text</MsgType><Content><b>x</b></Content>"
     "<MsgId>1</MsgId>"), "Content is not text"),
    (f"{ACCOUNT}{SENDER}<CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>{2**64}</MsgId>",
     "MsgId or CreateTime is out of range"),
    (f"{ACCOUNT}{SENDER}<CreateTime>99999999999999</CreateTime><MsgType>event</MsgType><Event>subscribe</Event>",
     "MsgId or CreateTime is out of range"),
])
async def test_a_field_wechat_would_never_send_is_a_400_naming_it(client, sim, fields: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    query, body = sim.request(f"<xml>{fields}</xml>", openid="oSender0000000000000000000001")
    resp = await client.post("/wechat", params=query, data=body.encode())
    assert (resp.status, await resp.text()) == (400, reason)


async def test_the_access_log_shows_neither_the_signature_nor_the_openid(client, sim, clock, caplog) -> None:  # type: ignore[no-untyped-def]
    phone = Phone(client, sim, clock, "13800000002")
    query, body = sim.request(phone.text_xml("帮助"))
    with caplog.at_level(logging.INFO):
        resp = await client.post("/wechat", params=query, data=body.encode())
        get = await client.get("/wechat", params={**sim.signed_query(), "echostr": "echo6317385923"})
    assert resp.status == get.status == 200
    access = "\n".join(r.getMessage() for r in caplog.records if r.name == "aiohttp.access")
    assert "POST /wechat 200" in access and f"member={member_tag(phone.openid)}" in access
    for secret in (query["signature"], query["msg_signature"], query["nonce"], phone.openid, "echo6317385923"):
        assert secret not in caplog.text


async def test_the_access_log_in_json_has_the_request_s_fields_and_no_secret(client, sim, clock, caplog) -> None:  # type: ignore[no-untyped-def]
    phone = Phone(client, sim, clock, "13800000002")
    query, body = sim.request(phone.text_xml("帮助"))
    stream = io.StringIO()
    access = logging.getLogger("aiohttp.access")
    access.addHandler(log_handler("json", stream))
    try:
        with caplog.at_level(logging.INFO, logger="aiohttp.access"):
            assert (await client.post("/wechat", params=query, data=body.encode())).status == 200
    finally:
        access.removeHandler(access.handlers[-1])
    line = json.loads(stream.getvalue())
    assert line["level"] == "INFO" and line["logger"] == "aiohttp.access"
    assert (line["method"], line["path"], line["status"], line["member"]) == (
        "POST", "/wechat", 200, member_tag(phone.openid))
    assert line["message"] == f"POST /wechat 200 {line['ms']:.1f}ms member={member_tag(phone.openid)}"
    for secret in (query["signature"], query["msg_signature"], query["nonce"], phone.openid):
        assert secret not in stream.getvalue()


@pytest.mark.parametrize(("overrides", "path"), [({}, "/sandbox/outbox"),
                                                 ({"fake_wechat": True}, "/fake-wechat/_sent")])
async def test_palmbot_chat_s_polling_is_logged_at_debug_only(make_client, caplog, overrides: dict[str, bool],
                                                              path: str) -> None:  # type: ignore[no-untyped-def]
    client = await make_client(**overrides)
    poll = {"openid": "o_poller", "after": "0"}
    with caplog.at_level(logging.DEBUG, logger="aiohttp.access"):
        for _ in range(3):
            assert (await client.get(path, params=poll)).status == 200
        assert (await client.post(path, params=poll)).status == 405
        assert (await client.get("/healthz")).status == 200
    lines = [(r.levelname, r.getMessage().rsplit(" ", 2)[0]) for r in caplog.records if r.name == "aiohttp.access"]
    assert lines == [("DEBUG", f"GET {path} 200")] * 3 + [("INFO", f"POST {path} 405"), ("INFO", "GET /healthz 200")]


async def test_a_database_outage_writes_a_line_per_kind_per_minute_not_a_traceback_per_request(
        make_client, sim, clock) -> None:  # type: ignore[no-untyped-def]
    now = [0.0]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RateLimit(interval=60, clock=lambda: now[0]))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        client = await make_client(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/down")
        phone = Phone(client, sim, clock, "13800000002")
        for second in range(40):
            now[0] = second
            assert (await phone.send("积分") or "").startswith("抱歉")  # the apology, never a 500
        quiet = out.getvalue()
        now[0] = 61
        await phone.send("积分")
    finally:
        root.removeHandler(handler)
    assert quiet.count("Traceback") == 2  # the handler's failure and the apology's, once each
    assert len(quiet) < 20_000
    assert "[and 39 more like this since the last one]" in out.getvalue()[len(quiet):]


def test_the_rate_limit_counts_per_kind() -> None:
    now = [0.0]
    limit = RateLimit(interval=60, clock=lambda: now[0])

    def record(msg: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord("bot.x", level, __file__, 1, msg, (), None)

    passed = [limit.filter(record("a %s")) for _ in range(5)] + [limit.filter(record("b"))]
    assert passed == [True, False, False, False, False, True]
    assert all(limit.filter(record("info", logging.INFO)) for _ in range(3))
    now[0] = 60
    again = record("a %s")
    assert limit.filter(again) and again.msg.endswith("[and 4 more like this since the last one]")


async def test_a_sender_with_a_cdata_terminator_gets_a_400_and_replies_stay_well_formed(client, sim) -> None:  # type: ignore[no-untyped-def]
    xml = text_xml("o]]><MsgType>x</MsgType>", "帮助", at=int(sim.clock()))
    query, body = sim.request(xml)
    assert (await client.post("/wechat", params=query, data=body.encode())).status == 400
    fine = text_xml("oFine000000000000000000000001", "]]>帮助<![CDATA[", at=int(sim.clock()))
    query, body = sim.request(fine)
    resp = await client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 200
    assert xmltodict.parse(await resp.text())["xml"]["Encrypt"]



async def test_the_hourly_purge_forgets_queries_past_twice_the_window(db, clock) -> None:  # type: ignore[no-untyped-def]
    memory = DatabaseMemory(db)
    old = clock() - kept_for(300) - timedelta(seconds=1)
    assert await memory.admits("q-old", "msg:a:1", old)
    assert await memory.admits("q-new", "msg:a:2", clock())
    assert not await memory.admits("q-new", "msg:b:3", clock())
    assert await forget_before(db, clock() - kept_for(300)) == 1
    assert await memory.admits("q-old", "msg:b:4", clock())  # forgotten: its timestamp is stale by now anyway


# --- found by an attacker's probe after the merge -------------------------------------------------------------


async def test_a_signed_ciphertext_too_short_to_hold_a_message_is_a_400(client, sim) -> None:  # type: ignore[no-untyped-def]
    query = sim.signed_query()
    junk = base64.b64encode(os.urandom(16)).decode()
    signer = WeChatSigner()
    signer.add_data(sim.token, query["timestamp"], query["nonce"], junk)
    query.update(encrypt_type="aes", msg_signature=signer.signature)
    response = await client.post("/wechat", params=query, data=f"{ACCOUNT}<Encrypt><![CDATA[{junk}]]></Encrypt>"
                                 .join(("<xml>", "</xml>")).encode())
    assert response.status == 400


async def test_in_compatible_mode_an_encrypted_callbacks_query_cannot_carry_a_plaintext_body(
        make_client, sim, clock) -> None:  # type: ignore[no-untyped-def]
    client = await make_client(wechat_message_mode="compatible")
    secretary = Phone(client, sim, clock, "13800000001")
    await secretary.bind("张建国")
    query, body = sim.request(secretary.text_xml("帮助"))
    assert (await client.post("/wechat", params=query, data=body.encode())).status == 200
    bare = {k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")}
    forged = text_xml(secretary.openid, "待关注", msg_id=990002, at=int(clock().timestamp()))
    replayed = await client.post("/wechat", params=bare, data=forged.encode())
    assert replayed.status == 403 and "待关注" not in await replayed.text()


async def test_a_url_verifications_query_cannot_carry_a_message(make_client, sim, clock) -> None:  # type: ignore[no-untyped-def]
    client = await make_client(wechat_message_mode="plaintext")
    query = {**sim.signed_query(), "echostr": "hello"}
    assert await (await client.get("/wechat", params=query)).text() == "hello"
    forged = text_xml("o_someone", "积分", msg_id=990003, at=int(clock().timestamp()))
    assert (await client.post("/wechat", params=query, data=forged.encode())).status == 403


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_each_refusal_reason_is_logged_apart_and_a_query_never_reaches_the_log(log_format: str) -> None:
    stream = io.StringIO()
    handler = log_handler(log_format, stream)
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        logger.warning("refused: " + "stale timestamp")
        logger.warning("refused: " + "bad signature")
        try:
            raise ValueError("Bad status line 'POST /wechat?openid=o6_bmjrPTlm6&signature=d081ab&nonce=23 HTTP/9.9'")
        except ValueError:
            logger.exception("Error handling request from %s", "/wechat?timestamp=1764000000&echostr=abc")
        logger.error("Bad request line b'GET /console/login?t=SECRETTOKEN789\\x01 HTTP/1.1'")
        logger.error("Bad request line b'GET /console/wechat/back?code=CODE42&state=STATE42 HTTP/1.1'")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "stale timestamp" in written and "bad signature" in written
    assert "o6_bmjrPTlm6" not in written and "d081ab" not in written and "echostr=abc" not in written
    assert "openid=…&signature=…" in written
    assert not any(secret in written for secret in ("SECRETTOKEN789", "CODE42", "STATE42"))
    assert "login?t=…" in written and "back?code=…&state=…" in written
    if log_format == "json":
        lines = [json.loads(line) for line in written.splitlines()]
        assert [(line["level"], line["logger"]) for line in lines] == [("WARNING", "test.redact")] * 2 + [
            ("ERROR", "test.redact")] * 3
        assert lines[2]["message"] == "Error handling request from /wechat?timestamp=…&echostr=…"
        assert "ValueError: Bad status line 'POST /wechat?openid=…&signature=…" in lines[2]["exception"]


@pytest.mark.parametrize("event_key", ["<EventKey><a>MY_POINTS</a></EventKey>",
                                       "<EventKey>MY_POINTS</EventKey><EventKey>MY_STARS</EventKey>"])
async def test_an_event_key_that_is_not_text_is_a_400(client, sim, clock, event_key: str) -> None:  # type: ignore[no-untyped-def]
    xml = (f"<xml>{ACCOUNT}{SENDER}<CreateTime>{int(clock().timestamp())}</CreateTime><MsgType>event</MsgType>"
           f"<Event>CLICK</Event>{event_key}</xml>")
    query, body = sim.request(xml)
    response = await client.post("/wechat", params=query, data=body.encode())
    assert response.status == 400 and "EventKey" in await response.text()
