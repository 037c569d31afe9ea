"""Template messages within WeChat's field rules: the mapping checked at start-up, values cut to fit, and a long
notice sent as a template whose full text the member reads with `通知`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import pytest
from aiohttp.test_utils import TestClient

from bot.config import ConfigError, Settings
from bot.wechat.fake import FakeWeChat
from bot.wechat.templates import check_fields, field_problem, fill, fit
from tests.conftest import TZ, Clock, services_of
from tests.phone import Phone

LONG = "周六上午九点在村委会三楼会议室召开支部党员大会，请全体党员准时参加，不能参加的向支部书记请假。"


@pytest.mark.parametrize(("mapping", "problem"), [
    ("thing1=title,thing2=content,time3=date", None),
    ("thing1=title,phrase2=content,date3=date", None),
    ("title=title,content=content", "title: not a WeChat field type"),
    ("thing1=title,time2=content", "time2=content: this field can hold date"),
    ("character_string1=title", "character_string1=title: this field can hold none of them"),
    ("thing1=title,thing1=content", "thing1: named twice"),
])
def test_the_template_mapping_is_checked_at_start_up(mapping: str, problem: str | None) -> None:
    if problem is None:
        assert Settings.load({"PALMBOT_WECHAT_TEMPLATE_FIELDS": mapping}).wechat_template_fields
        return
    with pytest.raises(ConfigError) as refused:
        Settings.load({"PALMBOT_WECHAT_TEMPLATE_FIELDS": mapping})
    assert "PALMBOT_WECHAT_TEMPLATE_FIELDS" in str(refused.value) and problem in str(refused.value)
    assert problem in "; ".join(check_fields([tuple(p.split("=")) for p in mapping.split(",")]))  # type: ignore[misc]


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("thing2", "周六开会", "周六开会"),
    ("thing2", LONG, LONG[:19] + "…"),
    ("thing2", "第一行\n第二行", "第一行 第二行"),
    ("phrase4", "已经开始报名", "已经开始…"),
    ("name5", "一二三四五六七八九十十一", "一二三四五六七八九…"),
])
def test_a_value_is_cut_to_its_field_type_s_limit(key: str, value: str, expected: str) -> None:
    assert fit(key, value) == expected
    assert field_problem(key, fit(key, value)) is None
    assert (field_problem(key, value) is None) == (value == expected)


def test_the_date_is_written_as_wechat_s_time_fields_take_it() -> None:
    data = fill((("thing1", "title"), ("time3", "date")), title="通知", content="", at=datetime(2026, 11, 5, 8, 30,
                                                                                                   tzinfo=TZ))
    assert data == {"thing1": "通知", "time3": "2026年11月5日 08:30"}


async def test_a_long_notice_goes_as_a_template_within_the_limits_and_reads_in_full_with_tongzhi(
        live: TestClient, member: Callable[[str], Phone], wechat: FakeWeChat,  # type: ignore[type-arg]
        clock: Clock) -> None:
    secretary, reader = member("13800000001"), member("13800000002")
    await reader.bound("李秀英")
    clock.advance(days=3)  # the reader's window has closed
    await secretary.bound("张建国")
    await secretary.send(f"通知 {LONG}")
    await secretary.send("确认")
    services = services_of(live)
    assert services.deliveries is not None
    await replace(services.deliveries, template_id="TPL_NOTICE").drain()

    [card] = wechat.messages_to(reader.openid)
    assert card.kind == "template" and f"thing2: {LONG[:19]}…" in card.content.splitlines()
    assert LONG in (await reader.send("通知") or "")
