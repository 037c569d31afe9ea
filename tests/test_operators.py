"""The operators' commands: jobs list and run, campaigns list, show and retry."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from bot.ops.cli import main
from bot.repo.campaigns import INTERRUPTED
from bot.storage.db import open_database
from bot.storage.models import Delivery, Member
from bot.storage.models import DeliveryStatus as S


def test_running_the_theme_day_by_hand_twice_creates_its_campaigns_once(
        ops_db: str, capsys) -> None:  # type: ignore[no-untyped-def]

    assert main(["jobs", "list"]) == 0
    listed = capsys.readouterr().out
    assert "theme_day\t主题党日通知并开启签到\tnext " in listed and "theme_day_reminder" in listed

    assert main(["jobs", "run", "theme_day", "--at", "2026-11-15T08:00"]) == 0
    assert main(["jobs", "run", "theme_day", "--at", "2026-11-15T08:00"]) == 0
    assert main(["campaigns", "list"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "\tthemeday\t" in line]
    assert len(rows) == 3  # one per organisation with members (two branches, the 党总支), however often it ran
    assert sorted(line.split("\t")[6] for line in rows) == ["10", "10", "2"]  # waiting: nobody bound
    assert all(line.split("\t")[4:6] == ["0", "0"] for line in rows)  # sent, read

    assert main(["campaigns", "show", next(r for r in rows if r.split("\t")[6] == "10").split("\t")[0]]) == 0
    shown = capsys.readouterr().out
    assert "waiting 10" in shown and shown.count("\twaiting\t未绑定微信") == 10
    assert main(["campaigns", "show", "999"]) == 1
    assert main(["jobs", "run", "no_such_job"]) == 1
    assert "jobs list" in capsys.readouterr().err


def test_campaigns_show_names_the_uncertain_and_retry_resends_them_only_when_named(
        ops_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["jobs", "run", "theme_day", "--at", "2026-11-15T08:00"]) == 0
    branch = asyncio.run(_outcomes(ops_db, {"张建国": (S.UNCERTAIN, INTERRUPTED),
                                         "李秀英": (S.FAILED, "微信拒收，不再重发：48001")}))
    capsys.readouterr()

    assert main(["campaigns", "show", branch]) == 0
    shown = capsys.readouterr().out
    assert "failed 1, uncertain 1" in shown and f"张建国\tuncertain\t{INTERRUPTED}" in shown
    assert f"campaigns retry {branch} --uncertain NAME" in shown
    assert main(["campaigns", "retry", branch]) == 0
    assert "1 deliveries queued again" in capsys.readouterr().out  # 李秀英's, known not sent
    assert main(["campaigns", "retry", branch, "--uncertain", "张建国"]) == 0
    assert "1 deliveries queued again" in capsys.readouterr().out
    assert main(["campaigns", "show", branch]) == 0
    assert "failed 0, uncertain 0, new 2" in capsys.readouterr().out


async def _outcomes(url: str, outcomes: dict[str, tuple[S, str]]) -> str:
    """Give these members' rows of their (one) campaign a final status and reason, as the delivery worker
    would; that campaign's id."""
    async with open_database(url) as sessionmaker, sessionmaker.begin() as session:
        members = select(Member.id).where(Member.name.in_(outcomes))
        campaign = await session.scalar(select(Delivery.campaign_id).where(Delivery.member_id.in_(members)))
        for name, (status, error) in outcomes.items():
            member = select(Member.id).where(Member.name == name).scalar_subquery()
            await session.execute(update(Delivery).where(Delivery.campaign_id == campaign,
                                                         Delivery.member_id == member).values(status=status, error=error))
    return str(campaign)
