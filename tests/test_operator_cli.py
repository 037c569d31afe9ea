"""Operator commands: local time with its offset, and failures in one line (no server, no database, a closed pipe)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.ops.cli import main
from bot.storage.db import open_database
from bot.storage.models import AuditEntry, Member
from tests.conftest import ROOT


async def test_audit_and_campaigns_print_local_time_with_its_offset(ops_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    async with open_database(ops_db) as sessionmaker, sessionmaker.begin() as session:
        member = (await session.scalars(select(Member).where(Member.name == "李秀英"))).one()
        session.add(AuditEntry(actor_id=None, member_id=member.id, org_id=member.org_id, action="points_correct",
                               subject="points:1", detail="-2: 更正", at=datetime(2026, 11, 16, 1, 30, tzinfo=UTC)))
    capsys.readouterr()
    assert await _in_thread(["audit"]) == 0
    assert "2026-11-16 09:30 +0800\t塘约村党总支/第一党支部\t系统\t李秀英\tpoints_correct" in capsys.readouterr().out
    assert await _in_thread(["jobs", "run", "theme_day", "--at", "2026-11-15T08:00"]) == 0
    assert "theme_day at 2026-11-15 08:00 +0800" in capsys.readouterr().out
    assert await _in_thread(["campaigns", "list"]) == 0
    assert "\tthemeday\t2026-11-15 08:00 +0800\t" in capsys.readouterr().out


async def _in_thread(argv: list[str]) -> int:
    """`main` runs its own event loop, so from an async test it runs in a thread."""
    import asyncio

    return await asyncio.to_thread(main, argv)


def _one_line(err: str) -> str:
    assert err.startswith("palmbot: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://127.0.0.1:9/wechat", "http://127.0.0.1:9/"])
def test_chat_with_no_server_says_so_in_one_line(ops_db: str, capsys, url: str) -> None:  # type: ignore[no-untyped-def]
    assert main(["chat", "--phone", "13800000002", "--url", url]) == 1
    assert "127.0.0.1:9" in _one_line(capsys.readouterr().err)


def test_chat_refuses_what_is_not_an_address_in_one_line(ops_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["chat", "--phone", "13800000002", "--url", "notaurl"]) == 2
    assert "is not an address" in _one_line(capsys.readouterr().err)


def test_a_report_into_a_missing_folder_fails_in_one_line(ops_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["report", "--org", "第一党支部", "--quarter", "2026Q4", "--format", "csv", "--output", "/nonexistent/q.csv"]
    assert main(argv) == 1
    assert "No such file or directory: /nonexistent/q.csv" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv", [["members", "list"], ["chat", "--phone", "13800000001"], ["audit"],
                                  ["campaigns", "list"], ["members", "import", str(ROOT / "deploy/demo/roster.csv")]])
def test_from_another_folder_a_command_fails_in_one_line_and_creates_no_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, argv: list[str]) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    for name in ("PALMBOT_DATABASE_URL", "PALMBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert main(argv) == 1
    assert "no database at" in _one_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_the_schema_fails_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty.db").touch()
    monkeypatch.setenv("PALMBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    assert main(["members", "list"]) == 1
    assert "palmbot db upgrade" in _one_line(capsys.readouterr().err)


def test_a_closed_pipe_ends_the_listing_in_one_line(ops_db: str) -> None:
    with subprocess.Popen([sys.executable, "-m", "bot", "members", "list"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=os.environ.copy(), cwd=ROOT) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # `| head` that has already gone
        err = process.stderr.read().decode()
        assert process.wait(timeout=60) == 1
    assert "output was closed" in _one_line(err)


def test_version_comes_from_the_installed_package(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert capsys.readouterr().out == f"palmbot {project['version']}\n"


def test_chat_finds_the_server_on_the_port_setting(ops_db: str, capsys, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PALMBOT_PORT", "9")
    assert main(["chat", "--phone", "13800000002"]) == 1
    assert "nothing answers at 127.0.0.1:9;" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize(("flags", "env"), [(["--log-format", "json"], {}), ([], {"PALMBOT_LOG_FORMAT": "json"}),
                                            (["--log-format", "json"], {"PALMBOT_LOG_FORMAT": "text"})])
def test_json_logs_write_one_object_per_line(tmp_path: Path, flags: list[str], env: dict[str, str]) -> None:
    environ = {**os.environ, "PALMBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/j.db", **env}
    environ.pop("PALMBOT_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "bot", *flags, "db", "upgrade"], capture_output=True, text=True,
                          env=environ, cwd=tmp_path, timeout=60, check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines and all(set(line) == {"time", "level", "logger", "message"} for line in lines)
    assert {"level": "INFO", "logger": "alembic.runtime.migration", "message": "Context impl SQLiteImpl."} in [
        {key: line[key] for key in ("level", "logger", "message")} for line in lines]
    assert all(datetime.fromisoformat(line["time"]).tzinfo for line in lines)
