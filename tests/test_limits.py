"""One length contract on SQLite and PostgreSQL, and the wish privacy guard by kind (this suite runs on both)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.content.rules import LABEL_LIMIT
from bot.rules.wishes import NewWish, leaks_private
from bot.storage import limits
from bot.storage.db import SessionMaker
from bot.storage.models import Activity, NoticeDraft, PointEntry, VolunteerClaim, Wish
from tests.phone import Phone

SECRETARY = "13800000001"


async def stored(db: SessionMaker, column) -> list[str]:  # type: ignore[no-untyped-def]
    async with db() as session:
        return [str(v) for v in await session.scalars(select(column))]


# (command with {text}, the limit, what the refusal names, the column that stores the text)
TYPED = [
    ("志愿 2 {text}", limits.DESCRIPTION, "志愿服务内容最多 100 字", VolunteerClaim.description),
    ("驳回 {claim} {text}", limits.REASON, "理由最多 100 字", VolunteerClaim.reason),
    ("调整 李秀英 -2 {text}", limits.REASON, "理由最多 100 字", PointEntry.reason),
    ("心愿 {text} 赵大妈 13900001111", limits.WISH, "心愿内容最多 100 字", Wish.content),
    ("心愿 想要一台收音机 {text} 13900001111", limits.RESIDENT, "居民姓名最多 50 字", Wish.resident_name),
    ("发起签到 {text} 120", limits.ACTIVITY, "活动名称最多 100 字", Activity.title),
    ("通知 {text}", limits.NOTICE, "通知内容最多 4000 字", NoticeDraft.body),
]


@pytest.mark.parametrize(("command", "limit", "refusal", "column"), TYPED)
async def test_typed_text_over_its_limit_is_refused_by_name_and_at_the_limit_is_stored_whole(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker,  # type: ignore[type-arg]
        command: str, limit: limits.Limit, refusal: str, column) -> None:  # type: ignore[no-untyped-def]
    secretary = await member(SECRETARY).bound("张建国")
    li = await member("13800000002").bound("李秀英")
    claim = await li.volunteer("2 社区环境整治")
    before = await stored(db, column)

    over = "党" * (limit.chars + 1)
    assert await secretary.send(command.format(claim=claim, text=over)) == f"{refusal}，请精简后重新发送。"
    assert await stored(db, column) == before  # nothing written, on either engine

    exact = "党" * limit.chars
    reply = await secretary.send(command.format(claim=claim, text=exact))
    assert reply and "最多" not in reply
    assert [v for v in await stored(db, column) if exact in v]  # the whole text, not cut


def test_every_typed_limit_fits_its_column_with_what_the_code_adds() -> None:
    assert LABEL_LIMIT + 1 + limits.REASON.chars <= limits.length_of(PointEntry.reason)  # label, "：", reason
    assert limits.DESCRIPTION.chars <= limits.length_of(VolunteerClaim.description)
    assert limits.REASON.chars <= limits.length_of(VolunteerClaim.reason)
    assert limits.WISH.chars <= limits.length_of(Wish.content)


RESIDENT, PHONE = "王秀兰", "13912345678"


@pytest.mark.parametrize(("content", "leaks"), [
    ("想要一台收音机听新闻", False),
    ("想要 2 个书包和 3 本字典，2026 年前", False),
    ("给 13912345678 打电话", True),
    ("电话 139 1234 5678", True),
    ("电话 139-1234-5678", True),
    ("电话 １３９１２３４５６７８", True),
    ("电话（0851）8123 4567", True),
    ("电话 一三九一二三四五六七八", True),
    ("王秀兰想要收音机", True),
    ("王 秀 兰想要收音机", True),
    ("王·秀兰想要收音机", True),
    ("王，秀-兰想要收音机", True),
    ("王大妈想要收音机", False),
    ("电话壹叁玖壹贰叁肆伍陆柒捌", True),
    ("电话139_1234_5678", True),
    ("电话139转1234转5678", True),
    ("电话139 和 1234 和 5678", True),
    ("电话139x1234x5678", True),
    ("王秀蘭想要书包", True),
    ("需要2斤米、3斤油、4袋盐、5个鸡蛋、6块肥皂、7卷纸、8个碗", False),
    ("想要100斤米和200斤面，300元以内", False),
])
def test_the_privacy_guard_refuses_phones_and_the_name_however_written(content: str, leaks: bool) -> None:
    assert leaks_private(NewWish(content, RESIDENT, PHONE)) is leaks


@pytest.mark.parametrize("content", ["给她打 139 1234 5678", "联系１３９１２３４５６７８", "王 秀 兰想要一台收音机"])
async def test_a_wish_leaking_the_resident_is_refused_and_never_stored(
        live: TestClient, member: Callable[[str], Phone], db: SessionMaker, content: str) -> None:  # type: ignore[type-arg]
    secretary = await member(SECRETARY).bound("张建国")
    reply = await secretary.send(f"心愿 {content} {RESIDENT} {PHONE}")
    assert reply and "不能有居民的姓名或电话" in reply
    assert await stored(db, Wish.content) == []
    posted = await secretary.send(f"心愿 想要一台收音机 {RESIDENT} {PHONE}")
    assert posted and re.search(r"已发布 \d+ 号", posted)
