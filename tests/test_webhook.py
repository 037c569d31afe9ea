"""The /wechat endpoint as WeChat sees it: signatures, encryption, dedup, deadlines, bad input."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import replace
from datetime import datetime

import pytest
import xmltodict
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto

from bot.conversation.routing import Router
from bot.message.replies import split_text
from bot.ops.simulator import Simulator, text_xml
from bot.storage.models import CheckIn, InboundMessage, PointEntry
from tests.conftest import AES_KEY, APPID, TZ

SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJ"
    "YuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUc"
    "allcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5"
    "Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


async def test_get_with_a_good_signature_echoes_echostr(client, sim) -> None:
    resp = await client.get("/wechat", params={**sim.signed_query(), "echostr": "6317385923"})
    assert resp.status == 200
    assert await resp.text() == "6317385923"


async def test_get_with_a_bad_signature_is_forbidden(client, sim) -> None:
    query = {**sim.signed_query(), "echostr": "6317385923"}
    query["signature"] = "0" * 40
    resp = await client.get("/wechat", params=query)
    assert resp.status == 403
    assert "6317385923" not in await resp.text()


async def test_post_with_a_bad_signature_is_forbidden_and_not_handled(client, sim, phone, db) -> None:
    query, body = sim.request(phone("13800000002").text_xml("帮助"))
    query["signature"] = "f" * 40
    resp = await client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 403
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 0


async def test_post_with_a_tampered_msg_signature_is_forbidden(client, sim, phone) -> None:
    query, body = sim.request(phone("13800000002").text_xml("帮助"))
    query["msg_signature"] = "a" * 40
    resp = await client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 403


async def test_wechat_published_sample_message_decrypts_and_gets_an_encrypted_reply(make_client, clock) -> None:
    clock.now = datetime.fromtimestamp(1409659813, TZ)  # the sample's own time: it is fresh
    client = await make_client(wechat_token="QDG6eK")
    sim = Simulator("QDG6eK", AES_KEY, APPID)
    query = sim.signed_query(timestamp="1409659813", nonce="1372623149")
    query.update(encrypt_type="aes", msg_signature="477715d11cdb4164915debcba66cb864d751f3e6")
    body = f"<xml><ToUserName><![CDATA[{APPID}]]></ToUserName><Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt></xml>"
    resp = await client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 200
    raw = await resp.text()
    outer = xmltodict.parse(raw)["xml"]
    assert set(outer) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    crypto = WeChatCrypto("QDG6eK", AES_KEY, APPID)
    inner = xmltodict.parse(crypto.decrypt_message(raw, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"]))
    assert inner["xml"]["ToUserName"] == "mycreate"
    assert "帮助" in inner["xml"]["Content"]


async def test_plaintext_mode_round_trip(make_client, clock) -> None:
    client = await make_client(wechat_aes_key="")
    sim = Simulator("palmbottest", clock=lambda: clock().timestamp())
    query, body = sim.request(text_xml("oPlainUser", "帮助"))
    assert "encrypt_type" not in query
    resp = await client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 200
    reply = xmltodict.parse(await resp.text())["xml"]
    assert reply["ToUserName"] == "oPlainUser"
    assert "绑定 姓名 手机号后四位" in reply["Content"]


@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
async def test_palmbot_chat_speaks_as_wechat_does_in_each_message_mode(make_client, settings, clock,
                                                                       mode: str) -> None:
    """`palmbot chat` (`Simulator.speaking_to`) with an EncodingAESKey configured: plaintext in 明文模式, where an
    encrypted callback would be refused, encrypted otherwise."""
    client = await make_client(wechat_message_mode=mode)
    wechat = Simulator.speaking_to(replace(settings, wechat_message_mode=mode), clock=lambda: clock().timestamp())
    query, body = wechat.request(text_xml("oChatUser", "帮助"))
    assert ("encrypt_type" in query) == (mode != "plaintext")
    resp = await client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 200
    assert "绑定 姓名 手机号后四位" in (wechat.reply_text(await resp.text()) or "")


async def test_compatible_mode_body_with_plain_fields_and_encrypt_is_answered_encrypted(client, sim) -> None:
    xml = text_xml("oCompatUser", "帮助")
    query, encrypted_body = sim.request(xml)
    encrypt = xmltodict.parse(encrypted_body)["xml"]["Encrypt"]
    compatible = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    resp = await client.post("/wechat", params=query, data=compatible.encode())
    assert resp.status == 200
    assert "绑定 姓名 手机号后四位" in sim.reply_text(await resp.text())


async def test_compatible_mode_plain_fields_with_a_control_character_are_still_answered(client, sim) -> None:
    """A phone let `\x02` into the text: WeChat sends it in the plain fields and in the encrypted copy alike, and
    the member must get the answer, not "该公众号暂时无法提供服务" (a 400)."""
    xml = text_xml("oCompatUser", "帮助\x02")
    query, encrypted_body = sim.request(xml)
    encrypt = xmltodict.parse(encrypted_body.replace("\x02", ""))["xml"]["Encrypt"]
    compatible = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    resp = await client.post("/wechat", params=query, data=compatible.encode())
    assert resp.status == 200
    assert "绑定 姓名 手机号后四位" in sim.reply_text(await resp.text())


async def test_malformed_xml_gets_400(make_client, sim) -> None:
    client = await make_client(wechat_message_mode="compatible")
    resp = await client.post("/wechat", params=sim.signed_query(), data=b"<xml><ToUserName>oops")
    assert resp.status == 400


async def test_xml_without_a_sender_gets_400(make_client, sim) -> None:
    client = await make_client(wechat_message_mode="compatible")
    resp = await client.post("/wechat", params=sim.signed_query(), data=b"<xml><MsgType>text</MsgType></xml>")
    assert resp.status == 400


async def test_hostile_xml_with_entities_is_refused(make_client, sim) -> None:
    client = await make_client(wechat_message_mode="compatible")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
            b"<MsgType>text</MsgType><Content>&b;</Content><MsgId>1</MsgId></xml>")
    resp = await client.post("/wechat", params=sim.signed_query(), data=bomb)
    assert resp.status == 400


async def test_body_over_one_mebibyte_gets_413(make_client, sim) -> None:
    client = await make_client(wechat_message_mode="compatible")
    body = io.BytesIO(b"<xml>" + b"a" * (1024 * 1024 + 1))
    resp = await client.post("/wechat", params=sim.signed_query(), data=body)
    assert resp.status == 413


async def test_retry_storm_of_one_check_in_gives_one_check_in_and_one_set_of_points(roster, phone, db) -> None:
    secretary, member = phone("13800000001"), phone("13800000002")
    await secretary.bind("张建国")
    await member.bind("李秀英")
    code = (await secretary.send("发起签到 主题党日 120")).split("签到码：")[1][:4]
    xml = member.text_xml(f"签到 {code}")
    replies = await asyncio.gather(*(member.deliver(xml) for _ in range(3)))
    assert all(r is None or r.startswith("签到成功") for r in replies)
    assert any(r is not None for r in replies)
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 1
        points = (await session.scalars(select(PointEntry.delta).where(PointEntry.action == "checkin"))).all()
    assert points == [2]


async def test_a_retry_after_the_first_delivery_gets_the_same_reply_without_running_again(roster, phone, db) -> None:
    member = phone("13800000002")
    await member.bind("李秀英")
    await member.send("微课")
    xml = member.text_xml("答 B")
    first = await member.deliver(xml)
    again = await member.deliver(xml)
    assert first == again
    assert first.startswith("回答正确")


def _slow_router(seconds: float) -> Router:
    router = Router()

    @router.command("慢")
    async def slow(ctx):  # type: ignore[no-untyped-def]
        await asyncio.sleep(seconds)
        return "慢慢来的回复"

    return router


async def test_a_handler_past_the_deadline_answers_success_and_delivers_later(make_client, sim, clock, db) -> None:
    from tests.phone import Phone

    client = await make_client(router=_slow_router(0.3), reply_deadline=0.05)
    member = Phone(client, sim, clock, "13900000000")
    status, body = await member.post(member.text_xml("慢"))
    assert (status, body) == (200, "success")
    assert await member.wait_outbox(db, 1) == ["慢慢来的回复"]


async def test_a_handler_that_holds_the_loop_past_the_deadline_still_answers_success_and_delivers_later(
        make_client, sim, clock, db) -> None:  # type: ignore[no-untyped-def]
    """The loop held up past the deadline (as by another process's lock on SQLite, waited for on the loop): the
    outcome is ready when the loop wakes, but WeChat may have stopped waiting, so it goes out as a push."""
    import time

    from tests.phone import Phone

    router = Router()

    @router.command("卡")
    async def stuck(ctx):  # type: ignore[no-untyped-def]
        time.sleep(0.2)  # noqa: ASYNC251 -- holding the loop is the point
        return "卡住后的回复"

    client = await make_client(router=router, reply_deadline=0.05)
    member = Phone(client, sim, clock, "13900000007")
    assert await member.post(member.text_xml("卡")) == (200, "success")
    assert await member.wait_outbox(db, 1) == ["卡住后的回复"]


async def test_an_unreachable_replay_memory_answers_503_not_500(make_client, sim, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """SQLite's own error from a lean statement (another process holding the write lock past the busy timeout)
    asks WeChat to try again, as SQLAlchemy's and Redis's do."""
    import sqlite3

    from bot.message.replay import DatabaseMemory

    async def locked(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(DatabaseMemory, "admits", locked)
    client = await make_client(wechat_message_mode="compatible")
    resp = await client.post("/wechat", params=sim.signed_query(),
                             data=text_xml("oFuzz00000000000000000000001", "积分").encode())
    assert (resp.status, await resp.text()) == (503, "try again")


async def test_past_the_deadline_success_goes_out_at_once_and_nothing_queues_behind_the_message(
        make_client, sim, clock, db) -> None:  # type: ignore[no-untyped-def]
    """`success` is sent while the handler still runs, and on the same connection (as nginx reuses its upstream
    connections for any member) the next message gets its answer by its own deadline, not when the slow one ends
    (on SQLite it waits for the slow one's transaction, so that answer may be `success` too); both replies arrive,
    although the test server cancels a handler whose client has gone."""
    import aiohttp

    from tests.phone import Phone

    gate = asyncio.Event()
    router = Router()

    @router.command("慢")
    async def slow(ctx):  # type: ignore[no-untyped-def]
        await gate.wait()
        return "慢慢来的回复"

    @router.command("快")
    async def fast(ctx):  # type: ignore[no-untyped-def]
        return "马上回复"

    client = await make_client(router=router, reply_deadline=0.05)
    first, second = Phone(client, sim, clock, "13900000005"), Phone(client, sim, clock, "13900000006")
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
            async def post(xml: str) -> tuple[int, str]:
                query, body = sim.request(xml)
                async with http.post(client.make_url("/wechat"), params=query, data=body.encode()) as resp:
                    return resp.status, await resp.text()

            # wait_for: a `success` held back until the handler ends fails here instead of hanging
            assert await asyncio.wait_for(post(first.text_xml("慢")), 10) == (200, "success")
            status, body = await asyncio.wait_for(post(second.text_xml("快")), 10)
            assert status == 200
    finally:
        gate.set()
    assert await first.wait_outbox(db, 1) == ["慢慢来的回复"]
    assert sim.reply_text(body) == "马上回复" or await second.wait_outbox(db, 1) == ["马上回复"]


async def test_a_failing_handler_apologises_logs_and_is_not_rerun_on_retry(make_client, sim, clock, caplog) -> None:
    from tests.phone import Phone

    calls = []
    router = Router()

    @router.command("坏")
    async def broken(ctx):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise RuntimeError("boom")

    client = await make_client(router=router)
    member = Phone(client, sim, clock, "13900000001")
    xml = member.text_xml("坏")
    with caplog.at_level(logging.ERROR):
        first = await member.deliver(xml)
    again = await member.deliver(xml)
    assert first.startswith("抱歉") and again == first
    assert calls == [1]
    assert "RuntimeError: boom" in caplog.text


async def test_a_database_locked_past_the_deadline_still_sends_the_apology_later(  # type: ignore[no-untyped-def]
        make_client, sim, clock, db, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    from bot.repo import inbound
    from tests.phone import Phone

    async def locked(*args, **kwargs):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.1)  # another process holds SQLite's write lock past the busy timeout
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    client = await make_client(reply_deadline=0.05)
    monkeypatch.setattr(inbound, "claim", locked)  # the apology cannot be recorded either
    member = Phone(client, sim, clock, "13900000003")
    status, body = await member.post(member.text_xml("积分"))
    assert (status, body) == (200, "success")  # WeChat sends no retry after this
    late = await member.wait_outbox(db, 1)
    assert len(late) == 1 and late[0].startswith("抱歉")


async def test_a_member_text_with_cdata_terminator_cannot_break_the_reply(roster, phone) -> None:
    member = phone("13800000002")
    await member.bind("李秀英")
    hostile = "]]><MsgType>image</MsgType>"  # a description is echoed back as typed
    status, body = await member.post(member.text_xml(f"志愿 2 {hostile}"))
    assert status == 200
    outer = xmltodict.parse(body)["xml"]
    crypto = WeChatCrypto(member.sim.token, member.sim.aes_key, member.sim.appid)
    inner = xmltodict.parse(crypto.decrypt_message(body, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"]))
    assert inner["xml"]["MsgType"] == "text"
    assert f"2 小时，{hostile}。" in inner["xml"]["Content"]


async def test_a_reply_over_2048_bytes_is_split_and_the_rest_goes_to_the_outbox(make_client, sim, clock, db) -> None:
    from tests.phone import Phone

    router = Router()

    full = "\n".join(f"第{i}行：学习党章党规，做合格党员。" for i in range(120))

    @router.command("长")
    async def long(ctx):  # type: ignore[no-untyped-def]
        return full

    client = await make_client(router=router)
    member = Phone(client, sim, clock, "13900000002")
    first = await member.send("长")
    assert len(first.encode()) <= 2048
    rest = await member.wait_outbox(db, len(split_text(full)) - 1)
    assert len(rest) >= 1
    assert all(len(piece.encode()) <= 2048 for piece in rest)
    assert "\n".join([first, *rest]).count("做合格党员") == 120


async def test_a_database_failure_still_answers_with_an_apology_not_a_500(client, sim, phone, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    from bot.repo import inbound

    async def unreachable(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(inbound, "claim", unreachable)
    status, body = await phone("13800000002").post(phone("13800000002").text_xml("积分"))
    assert status == 200
    assert sim.reply_text(body).startswith("抱歉")
