"""The daily lesson push: a lesson's image goes as a news card before its text, and the lesson `jobs run` reports
is the one it sends, to members who have not had it that day."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from aiohttp.test_utils import TestClient

from bot.content import load_content
from bot.ops.cli import main
from bot.services import Services
from scheduler import runner
from scheduler.delivery_loop import deliver_due
from tests.conftest import ROOT, SECRET, TZ, AppMaker, services_of
from tests.phone import Phone

PICTURED = '''+++
id = "pictured"
title = "红白事简办"
date = 2026-11-16
link = "https://example.org/lessons/pictured"
image = "https://example.org/lessons/pictured.jpg"
+++
移风易俗，从我做起。婚事新办，丧事简办。
'''
EIGHT = datetime(2026, 11, 16, 8, 0, tzinfo=TZ)


def content_with(tmp_path: Path, lesson: str) -> Path:
    content = Path(shutil.copytree(ROOT / "content", tmp_path / "content"))
    (content / "lessons/900-extra.md").write_text(lesson, encoding="utf-8")
    return content


async def run_lesson_job(services: Services) -> str:
    job = runner.find_job(services, "daily_lesson")
    assert job is not None
    result = await runner.run(services, job, EIGHT, again=True)
    await deliver_due(services)
    return result


async def test_a_lesson_with_an_image_goes_as_a_news_card_then_its_text(
        make_client: AppMaker, roster: None, wechat, sim, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    live: TestClient = await make_client(  # type: ignore[type-arg]
        content_dir=content_with(tmp_path, PICTURED), wechat_secret=SECRET, wechat_api_base=wechat.base)
    reader = Phone(live, sim, clock, "13800000002", wechat)
    await reader.bind("李秀英")
    assert await run_lesson_job(services_of(live)) == "lesson pictured for 2026-11-16"

    kinds = [m.kind for m in wechat.messages_to(reader.openid)]
    card, text = reader.pushed()
    assert kinds == ["news", "text"]
    assert card.splitlines() == ["微党课：红白事简办", "移风易俗，从我做起。婚事新办，丧事简办。",
                                 "https://example.org/lessons/pictured"]
    assert text.startswith("【微党课】红白事简办")


def test_the_preview_shows_the_news_card_first(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PALMBOT_CONTENT_DIR", str(content_with(tmp_path, PICTURED)))
    assert main(["content", "preview", "pictured"]) == 0
    first, second = capsys.readouterr().out.splitlines()[:2]
    assert first == ("--- a news card first: 微党课：红白事简办, picture https://example.org/lessons/pictured.jpg, "
                     "opens https://example.org/lessons/pictured ---")
    assert second.startswith("--- message 1/1")


async def test_jobs_run_reports_the_lesson_it_sends_and_skips_members_who_had_it(
        make_client: AppMaker, roster: None, wechat, sim, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    live: TestClient = await make_client(wechat_secret=SECRET, wechat_api_base=wechat.base)  # type: ignore[type-arg]
    services = services_of(live)
    early, late = (Phone(live, sim, clock, number, wechat) for number in ("13800000002", "13800000003"))
    await early.bind("李秀英")
    morning = services.content.lesson_for(EIGHT.date())
    assert morning is not None
    assert await run_lesson_job(services) == f"lesson {morning.id} for 2026-11-16"

    services.content = load_content(content_with(tmp_path, PICTURED))  # an edit puts another lesson on the day
    assert services.content.lesson_for(EIGHT.date()).id == "pictured"  # type: ignore[union-attr]
    await late.bind("王德明")
    assert await run_lesson_job(services) == f"lesson {morning.id} for 2026-11-16"
    for phone in (early, late):
        [pushed] = phone.pushed()
        assert pushed.startswith(f"【微党课】{morning.title}")

