"""Lessons as administrators write them: translations, audiences, quiz points, preview, and the menu push."""

from __future__ import annotations

import shutil
from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from bot.keys import SERVICES
from bot.ops.cli import main
from bot.ops.operators import menu_push
from bot.ops.simulator import openid_for
from bot.storage.db import SessionMaker
from bot.storage.models import Member
from bot.wechat.fake import FakeWeChat
from tests.conftest import ROOT, SECRET, AppMaker, Clock
from tests.phone import Phone

TRANSLATED = '''+++
id = "bo-sample"
title = "中文标题"
date = 2026-11-16
points = 3
link = "https://example.org/lessons/bo-sample"

[quiz]
question = "问题？"
options = { A = "对", B = "错" }
answer = "A"

[translations.bo]
title = "བོད་ཡིག་ཁ་བྱང་།"
body = "བོད་ཡིག་གི་ནང་དོན།"
+++
中文正文。
'''


def with_lesson(tmp_path: Path, text: str) -> Path:
    content = Path(shutil.copytree(ROOT / "content", tmp_path / "content"))
    (content / "lessons/900-bo-sample.md").write_text(text, encoding="utf-8")
    return content


async def test_a_member_reading_tibetan_gets_the_translation_and_the_lesson_s_own_points(
        make_client: AppMaker, roster: None, db: SessionMaker, sim, clock: Clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client: TestClient = await make_client(content_dir=with_lesson(tmp_path, TRANSLATED))  # type: ignore[type-arg]
    tibetan, chinese = Phone(client, sim, clock, "13800000002"), Phone(client, sim, clock, "13800000003")
    await tibetan.bind("李秀英")
    await chinese.bind("王德明")
    async with db.begin() as session:
        await session.execute(update(Member).where(Member.openid == openid_for("13800000002")).values(language="bo"))
    assert "བོད་ཡིག་གི་ནང་དོན།" in (await tibetan.send("微课") or "")
    lesson = await chinese.send("微课") or ""
    assert "中文正文" in lesson and "阅读全文：https://example.org/lessons/bo-sample" in lesson
    assert "获得 3 分" in (await chinese.send("答 A") or "")
    services = client.app[SERVICES]
    assert services.content.quiz_points(services.content.lesson("bo-sample")) == 3


def test_preview_prints_each_message_with_its_bytes(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PALMBOT_CONTENT_DIR", str(with_lesson(tmp_path, TRANSLATED)))
    monkeypatch.chdir(tmp_path)
    assert main(["content", "preview", "bo-sample", "--language", "bo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- message 1/1, ") and "བོད་ཡིག་ཁ་བྱང་།" in out and "答对得 3 分" in out
    long_lesson = ROOT / "content/lessons/003-points.md"
    (tmp_path / "content/lessons/003-points.md").write_text(
        long_lesson.read_text(encoding="utf-8") + "\n\n" + "积分制管理让党员的表现看得见、比得出。" * 40, encoding="utf-8")
    assert main(["content", "preview", "points-system"]) == 0
    out = capsys.readouterr().out
    assert "--- message 1/2, " in out and "--- message 2/2, " in out
    assert main(["content", "preview", "no-such-lesson"]) == 1


async def test_menu_push_sends_the_menu_to_wechat(settings, wechat: FakeWeChat, db: SessionMaker) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    buttons = await menu_push(replace(settings, wechat_secret=SECRET, wechat_api_base=wechat.base))
    assert buttons == 3 and wechat.menu is not None
    assert wechat.menu["button"][0] == {"type": "click", "name": "微党课", "key": "LESSON_TODAY"}
    assert [b["key"] for b in wechat.menu["button"][1]["sub_button"]] == ["MY_POINTS", "MY_STARS", "NOTICES"]
