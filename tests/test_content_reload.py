"""Live content: a good edit goes live, a broken one is refused whole and administrators are told."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from sqlalchemy import insert, select

from bot.keys import SERVICES
from bot.ops.simulator import openid_for
from bot.storage.db import SessionMaker
from bot.storage.models import Member, Organisation, Role
from scheduler import content_watch
from scheduler.content_watch import reload_content, snapshot
from tests.conftest import ROOT, AppMaker, Clock
from tests.phone import Phone

ADMIN_PHONE = "13900000000"


async def test_a_broken_edit_keeps_the_last_good_content_and_a_good_one_goes_live(
        make_client: AppMaker, roster: None, db: SessionMaker, clock: Clock, tmp_path: Path, sim) -> None:  # type: ignore[no-untyped-def]
    content = Path(shutil.copytree(ROOT / "content", tmp_path / "content"))
    client = await make_client(content_dir=content)
    services = client.app[SERVICES]
    async with db.begin() as session:
        org_id = await session.scalar(select(Organisation.id).where(Organisation.name == "第一党支部"))
        await session.execute(insert(Member).values(name="组织部", phone=ADMIN_PHONE, org_id=org_id, role=Role.ADMIN,
                                                    openid=openid_for(ADMIN_PHONE), created_at=clock()))
    member = Phone(client, sim, clock, "13800000002")
    await member.bind("李秀英")
    admin = Phone(client, sim, clock, ADMIN_PHONE)

    before = snapshot(content)
    points = content / "replies/points.j2"
    points.write_text(points.read_text(encoding="utf-8").replace("{{ standing.year }}", "{{ standing.yaer }}"),
                      encoding="utf-8")
    assert snapshot(content) != before
    assert await reload_content(services) is False
    assert "今年累计" in (await member.send("积分") or "")  # still the previous content
    [told] = await admin.outbox(db)
    assert "没有生效" in told and "points.j2:3: does not render" in told

    points.write_text(points.read_text(encoding="utf-8").replace("今年累计：{{ standing.yaer }}", "全年合计：{{ standing.year }}"),
                      encoding="utf-8")
    assert await reload_content(services) is True
    assert "全年合计" in (await member.send("积分") or "")


async def test_the_watcher_notices_an_edit_by_itself(make_client: AppMaker, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    content = Path(shutil.copytree(ROOT / "content", tmp_path / "content"))
    client = await make_client(content_dir=content)
    services = client.app[SERVICES]
    monkeypatch.setattr(content_watch, "POLL_SECONDS", 0.01)
    watcher = asyncio.create_task(content_watch.watch_content(services))
    await asyncio.sleep(0.05)
    unknown = content / "replies/confirm_none.j2"
    unknown.write_text("没听懂，请回复「帮助」。\n", encoding="utf-8")
    for _ in range(200):
        if services.content.render("confirm_none") == "没听懂，请回复「帮助」。":
            break
        await asyncio.sleep(0.01)
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    assert services.content.render("confirm_none") == "没听懂，请回复「帮助」。"


def test_the_snapshot_sees_every_file_once_and_every_kind_of_edit(tmp_path: Path) -> None:
    """Files in nested and hidden folders and through a link to a file count; a link to a folder is not followed
    (as `Path.rglob` does), nor is a broken link a file; a new file, a removed one, a longer one each change it."""
    root = tmp_path / "content"
    (root / "lessons" / ".drafts").mkdir(parents=True)
    (root / "replies").mkdir()
    (root / "lessons" / "a.md").write_text("甲", encoding="utf-8")
    (root / "lessons" / ".drafts" / "b.md").write_text("乙", encoding="utf-8")
    (root / "replies" / "points.j2").write_text("{{ name }}", encoding="utf-8")
    (root / "linked.md").symlink_to(root / "lessons" / "a.md")
    (root / "folder-link").symlink_to(root / "replies")
    (root / "broken").symlink_to(root / "nowhere")

    first = snapshot(root)
    assert [Path(path).relative_to(root).as_posix() for path, _, _ in first] == [
        "lessons/.drafts/b.md", "lessons/a.md", "linked.md", "replies/points.j2"]
    assert first[1][2] == len("甲".encode())
    (root / "replies" / "new.j2").write_text("", encoding="utf-8")
    second = snapshot(root)
    assert second != first
    (root / "replies" / "new.j2").unlink()
    assert snapshot(root) == first
    (root / "lessons" / "a.md").write_text("甲乙", encoding="utf-8")
    assert snapshot(root) != first
