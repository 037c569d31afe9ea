"""`palmbot chat`: a terminal conversation with a running server, as one roster member's phone."""

from __future__ import annotations

import asyncio
import sys

import aiohttp
from yarl import URL

from bot.config import FAKE_WECHAT_PATH, Settings
from bot.ops.simulator import Simulator, event_xml, openid_for, text_xml
from bot.repo.members import by_phone
from bot.storage.db import open_database

POLL_SECONDS = 1.0
OUTBOX = "/sandbox/outbox"  # without an AppSecret, pushes land here
FAKE_SENT = FAKE_WECHAT_PATH + "/_sent"  # with the fake WeChat API, what it accepted
FAKE_INTERACTION = FAKE_WECHAT_PATH + "/_interaction"


def server_root(url: str) -> URL:
    """The server's root from what an operator may type: `http://host:8080`, `…/wechat`, `…/`.

    Raises ValueError (one line, from `palmbot chat`) for something that is not an http(s) address."""
    parsed = URL(url)
    if not parsed.is_absolute() or parsed.scheme not in ("http", "https"):
        raise ValueError(f"--url {url!r} is not an address such as http://127.0.0.1:8080")
    return parsed.origin()


async def run_chat(settings: Settings, phone: str, url: str) -> int:
    """Follow the account, then send each typed line and print replies and pushed messages.

    With the fake WeChat API (the sandbox of `make run`) this plays WeChat's part too: each typed
    line opens the member's 48-hour window there, and pushes are read from what the fake accepted.
    """
    sim = Simulator.speaking_to(settings)
    openid = openid_for(phone)
    pushes = FAKE_SENT if settings.fake_wechat else OUTBOX
    print(await _hint(settings, phone))
    async with aiohttp.ClientSession(base_url=url) as http:
        last_seen = await _pushes(http, pushes, openid, after=None)
        await _send(http, sim, event_xml(openid, "subscribe"))
        poller = asyncio.create_task(_poll(http, pushes, openid, last_seen))
        try:
            while (line := await asyncio.to_thread(_read_line)) is not None:
                if line:
                    if settings.fake_wechat:
                        await http.post(FAKE_INTERACTION, json={"openid": openid})
                    await _send(http, sim, text_xml(openid, line))
        finally:
            poller.cancel()
    return 0


async def _hint(settings: Settings, phone: str) -> str:
    """Who this phone is in the roster, and how they bind."""
    async with open_database(settings.database_url) as sessionmaker, sessionmaker() as session:
        member = await by_phone(session, phone=phone)
    if member is None:
        return f"（{phone} 不在名册中：你是一位尚未登记的关注者）输入消息后回车发送，Ctrl-D 退出。"
    return (f"（你是 {member.name}，{member.role}。发送「绑定 {member.name} {phone[-4:]}」完成绑定）"
            "输入消息后回车发送，Ctrl-D 退出。")


def _read_line() -> str | None:
    """One typed line, stripped; None at end of input."""
    print("我> ", end="", flush=True)
    line = sys.stdin.readline()
    return line.strip() if line else None


async def _send(http: aiohttp.ClientSession, sim: Simulator, xml: str) -> None:
    query, body = sim.request(xml)
    async with http.post("/wechat", params=query, data=body.encode()) as resp:
        text = await resp.text()
        if resp.status != 200:
            print(f"[服务器返回 {resp.status}: {text}]")
            return
    reply = sim.reply_text(text)
    print(f"公众号> {reply}" if reply else "[公众号正在处理，稍后会推送回复]")


async def _poll(http: aiohttp.ClientSession, path: str, openid: str, after: int) -> None:
    """Print messages the bot sends to this member outside the passive reply, as they arrive."""
    while True:
        await asyncio.sleep(POLL_SECONDS)
        after = await _pushes(http, path, openid, after)


async def _pushes(http: aiohttp.ClientSession, path: str, openid: str, after: int | None) -> int:
    """Print pushed messages after `after` (none on the first call) and return the newest id."""
    async with http.get(path, params={"openid": openid, "after": str(after or 0)}) as resp:
        if resp.status != 200:
            return after or 0
        messages = await resp.json()
    for message in messages if after is not None else []:
        print(f"\n[推送] {message['content']}\n我> ", end="", flush=True)
    return max([after or 0, *(int(m["id"]) for m in messages)])
