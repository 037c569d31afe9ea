"""The webhook benchmark's baseline: aiohttp and wechatpy in safe mode with no storage and no rules.

It does the protocol work every WeChat server does (check the signature, decrypt, parse, reply, encrypt)
and nothing else, so palmbot's rate divided by its rate, measured in the same run on the same core, says
what palmbot's own work costs, whatever the machine's speed that hour (issue 17).
Run: `python tests/bench/baseline_app.py PORT TOKEN AES_KEY APPID`.
"""

from __future__ import annotations

import sys

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature


def make_app(token: str, aes_key: str, appid: str) -> web.Application:
    crypto = WeChatCrypto(token, aes_key, appid)

    async def wechat(request: web.Request) -> web.Response:
        query = request.query
        check_signature(token, query["signature"], query["timestamp"], query["nonce"])
        xml = crypto.decrypt_message(await request.read(), query["msg_signature"], query["timestamp"],
                                     query["nonce"])
        msg = parse_message(xml)
        reply = TextReply(message=msg, content=f"收到：{msg.content}").render()
        return web.Response(text=crypto.encrypt_message(reply, query["nonce"], query["timestamp"]),
                            content_type="application/xml")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/wechat", wechat)
    app.router.add_get("/healthz", healthz)
    return app


if __name__ == "__main__":
    port, token, aes_key, appid = sys.argv[1:5]
    web.run_app(make_app(token, aes_key, appid), host="127.0.0.1", port=int(port), print=None, access_log=None)
