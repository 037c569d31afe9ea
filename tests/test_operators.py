"""The operators' commands: jobs list and run, campaigns list and show."""

from __future__ import annotations

from pathlib import Path

from bot.cli import main
from bot.migrate import upgrade
from tests.conftest import ROOT


def test_running_the_theme_day_by_hand_twice_creates_its_campaigns_once(
        tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path}/ops.db"
    upgrade(url)
    monkeypatch.setenv("PALMBOT_DATABASE_URL", url)
    monkeypatch.setenv("PALMBOT_CONTENT_DIR", str(ROOT / "content"))
    monkeypatch.chdir(tmp_path)
    assert main(["members", "import", str(ROOT / "deploy/demo/roster.csv")]) == 0

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

    assert main(["campaigns", "show", next(r for r in rows if r.endswith("\t10\t0\t0\t0\t0\t0")).split("\t")[0]]) == 0
    shown = capsys.readouterr().out
    assert "waiting 10" in shown and shown.count("\twaiting\t未绑定微信") == 10
    assert main(["campaigns", "show", "999"]) == 1
    assert main(["jobs", "run", "no_such_job"]) == 1
    assert "jobs list" in capsys.readouterr().err
