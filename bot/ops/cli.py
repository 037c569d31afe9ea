"""The `palmbot` command: serve, db, backup, restore, members, content, menu, campaigns, jobs, report, ledger,
oversight, audit, chat."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.config import LOG_FORMATS, ConfigError, Settings
from bot.ops.failures import in_one_line
from bot.ops.logs import configure as configure_logging
from bot.reports.layout import BRANCHES, MEMBERS, SUMMARY
from bot.rules.periods import Period
from bot.storage.db import open_database


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, load settings once, and run the chosen command."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.load(os.environ, args.config, _overrides(args))
    except ConfigError as exc:
        print(f"palmbot: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.log_level, settings.log_format)
    return in_one_line(args.run, settings, args)


SETTING = "setting_"  # the dest of a flag that overrides the setting of that name (file and environment)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, such as `serve --port 8090`, by setting name."""
    return {name.removeprefix(SETTING): value for name, value in vars(args).items()
            if name.startswith(SETTING) and value is not None}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="palmbot", description="掌心党建 WeChat bot")
    parser.add_argument("--config", help="path of palmbot.toml (default: PALMBOT_CONFIG or ./palmbot.toml)")
    parser.add_argument("--version", action="version", version=f"palmbot {version('palmbot')}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--log-format", dest=SETTING + "log_format", choices=LOG_FORMATS,
                        help="text or json, one object per line (default: the log_format setting, text)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the webhook server")
    serve.add_argument("--host", dest=SETTING + "host", metavar="HOST",
                       help="the address to listen on (default: the host setting, 127.0.0.1)")
    serve.add_argument("--port", dest=SETTING + "port", metavar="PORT", type=int,
                       help="the port to listen on (default: the port setting, 8080)")
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database schema").add_subparsers(required=True, metavar="ACTION")
    db.add_parser("upgrade", help="migrate the schema to the newest version").set_defaults(run=_db_upgrade)

    back = commands.add_parser("backup", help="copy the whole database to a file (safe while the server runs)")
    back.add_argument("path", type=Path, help="the file to write (replaced once the new one is complete)")
    back.set_defaults(run=_backup)
    back_in = commands.add_parser("restore", help="load a backup into the database, upgrading an older one "
                                                  "(stop the servers first)")
    back_in.add_argument("path", type=Path, help="a file `palmbot backup` wrote")
    back_in.add_argument("--force", action="store_true", help="replace a database that already holds data")
    back_in.set_defaults(run=_restore)

    members = commands.add_parser("members", help="the roster").add_subparsers(required=True, metavar="ACTION")
    imp = members.add_parser("import", help="import a CSV or XLSX roster (姓名,手机号,支部,角色,入党日期)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(run=_members_import)
    listing = members.add_parser("list", help="print the roster")
    listing.add_argument("--org", help="only this organisation (a name or path) and those under it")
    listing.set_defaults(run=_members_list)
    unbind = members.add_parser("unbind", help="unlink a member's WeChat account (they may bind again)")
    unbind.add_argument("phone")
    unbind.set_defaults(run=_members_unbind)
    move = members.add_parser("move", help="move a member to another organisation, keeping their history")
    move.add_argument("phone")
    move.add_argument("--to", required=True, help="the organisation, such as 塘约村党总支/第二党支部")
    move.set_defaults(run=_members_move)

    content = commands.add_parser("content", help="administrator content").add_subparsers(
        required=True, metavar="ACTION")
    check = content.add_parser("check", help="load and check the content folder")
    check.add_argument("dir", nargs="?", type=Path)
    check.set_defaults(run=_content_check)
    preview = content.add_parser("preview", help="print a lesson exactly as a member receives it")
    preview.add_argument("id")
    preview.add_argument("--language", default="zh", help="zh (default) or a translation such as bo")
    preview.set_defaults(run=_content_preview)

    menu = commands.add_parser("menu", help="the official account's menu").add_subparsers(
        required=True, metavar="ACTION")
    menu.add_parser("push", help="send content/menu.toml to WeChat").set_defaults(run=_menu_push)

    fake = commands.add_parser("fake-wechat", help="serve the fake WeChat API on its own (benchmarks, replicas)")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=8081)
    fake.add_argument("--open-windows", action="store_true",
                      help="treat every member as inside the 48-hour window (it cannot see their messages)")
    fake.set_defaults(run=_fake_wechat)

    camp = commands.add_parser("campaigns", help="pushes and their deliveries").add_subparsers(
        required=True, metavar="ACTION")
    camp.add_parser("list", help="the latest campaigns with delivery counts").set_defaults(run=_campaigns_list)
    show = camp.add_parser("show", help="one campaign's counts and failures")
    show.add_argument("id", type=int)
    show.set_defaults(run=_campaigns_show)
    retry = camp.add_parser("retry", help="queue a campaign's failed deliveries again (known not sent)")
    retry.add_argument("id", type=int)
    retry.add_argument("--uncertain", nargs="+", default=[], metavar="NAME",
                       help="also these members' uncertain deliveries (they may have arrived: only when known not)")
    retry.set_defaults(run=_campaigns_retry)

    jobs = commands.add_parser("jobs", help="the calendar's jobs").add_subparsers(required=True, metavar="ACTION")
    jobs.add_parser("list", help="each job's next and last run").set_defaults(run=_jobs_list)
    run = jobs.add_parser("run", help="run a job now (as if at --at); it never sends anything twice")
    run.add_argument("name")
    run.add_argument("--at", help="ISO time such as 2026-11-15T08:00 (default: now, in the configured zone)")
    run.set_defaults(run=_jobs_run)

    rep = commands.add_parser("report", help="an organisation's report for a quarter or a year (a row per member, "
                                             "a summary, and each 支部 of a 党总支 or 党委)")
    rep.add_argument("--org", required=True,
                     help="the organisation, a name or path such as 塘约村党总支/第一党支部 (with those under it)")
    period = rep.add_mutually_exclusive_group(required=True)
    period.add_argument("--quarter", help="such as 2026Q4")
    period.add_argument("--year", type=int, help="such as 2026: all twelve months (the year-end 民主评议)")
    rep.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    rep.add_argument("--sheet", choices=(MEMBERS, SUMMARY, BRANCHES), default=MEMBERS,
                     help="with --format csv: which sheet (default: the members)")
    rep.add_argument("--output", required=True, type=Path, help="the file to write")
    rep.set_defaults(run=_report)

    book = commands.add_parser("ledger", help="an organisation's 台账 of meetings for a year, as XLSX")
    book.add_argument("--org", required=True, help="the organisation, a name or path (with those under it)")
    book.add_argument("--year", required=True, type=int, help="such as 2026")
    book.add_argument("--out", type=Path, help="the file to write (default: 台账-ORG-YEAR.xlsx here)")
    book.set_defaults(run=_ledger)

    over = commands.add_parser("oversight", help="督办: each organisation under one as red, yellow or green")
    over.add_argument("--org", required=True, help="the organisation, a name or path (with those under it)")
    over.add_argument("--month", help="such as 2026-12 (default: this month)")
    over.set_defaults(run=_oversight)

    trail = commands.add_parser("audit", help="print the audit trail (approvals, rejections, corrections, stars)")
    trail.add_argument("--org", help="only rows about this organisation (a name or path) and those under it")
    trail.set_defaults(run=_audit)

    chat = commands.add_parser("chat", help="talk to a running server as a roster member")
    chat.add_argument("--phone", required=True, help="the member's phone number (the simulated follower)")
    chat.add_argument("--url", help="where the server listens (default: http://HOST:PORT from the settings)")
    chat.set_defaults(run=_chat)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import SERVER_OPTIONS, create_app, settle_heap
    from bot.content import ContentError, load_content

    try:
        content = load_content(settings.content_dir)
    except ContentError as exc:
        print(f"palmbot: content error: {exc}", file=sys.stderr)
        return 2
    mode = ("sandbox (outbox, nothing sent to WeChat)" if settings.sandbox
            else "sandbox (fake WeChat API at /fake-wechat)" if settings.fake_wechat else "live")
    logging.getLogger("palmbot").info("serving %s on %s port %d: %s/wechat", mode, settings.host, settings.port,
                                      settings.local_url)
    app = create_app(settings, content=content)
    app.on_startup.append(settle_heap)
    web.run_app(app, host=settings.host, port=settings.port, print=None, **SERVER_OPTIONS)
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage.backup import backup

    revision = asyncio.run(backup(settings.database_url, args.path))
    print(f"{args.path}: the database at schema revision {revision}, {args.path.stat().st_size:,} bytes")
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage.backup import restore

    restored = asyncio.run(restore(settings.database_url, args.path, force=args.force))
    upgraded = f", upgraded to {restored.upgraded_to}" if restored.upgraded_to else ""
    print(f"{args.path}: restored (schema revision {restored.revision}{upgraded})")
    return 0


def _fake_wechat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.wechat.fake import FakeWeChat

    fake = FakeWeChat(settings.wechat_appid, settings.wechat_secret, lambda: datetime.now(settings.timezone),
                      enforce_window=not args.open_windows)
    web.run_app(fake.app(), host=args.host, port=args.port, print=None, access_log=None)
    return 0


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.storage.migrate import upgrade

    upgrade(settings.database_url)
    print(f"database at {settings.database_url} is up to date")
    return 0


def _members_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.roster.imports import ImportResult, RosterError, apply_rows, read_rows

    async def apply() -> ImportResult:
        rows = read_rows(args.file)
        async with open_database(settings.database_url) as sessionmaker, sessionmaker.begin() as session:
            return await apply_rows(session, rows, datetime.now(settings.timezone))

    try:
        result = asyncio.run(apply())
    except (RosterError, OSError) as exc:
        print(f"palmbot: {exc}; nothing was imported", file=sys.stderr)
        return 1
    print(f"imported {args.file}: {result.created} created, {result.updated} updated ({result.moved} moved)")
    if result.kept:
        print(f"{len(result.kept)} members of these organisations are not in the file and were kept "
              "(`palmbot members move` or unbind them if they left):", *result.kept, sep="\n  ")
    for warning in result.warnings:
        print(f"warning: {warning}")
    return 0


def _members_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.operators import members_list

    lines = asyncio.run(members_list(settings, args.org))
    print("\n".join(["组织\t姓名\t手机号\t角色\t入党日期\t微信", *lines]))
    return 0


def _members_unbind(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.operators import members_unbind

    done = asyncio.run(members_unbind(settings, args.phone))
    return _print_found(None if done is None else [done], f"no member with phone {args.phone}")


def _members_move(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.operators import members_move

    done = asyncio.run(members_move(settings, args.phone, args.to))
    return _print_found(None if done is None else [done], f"no member with phone {args.phone}")


def _content_check(settings: Settings, args: argparse.Namespace) -> int:
    from bot.content import ContentError, load_content

    folder = args.dir or settings.content_dir
    try:
        content = load_content(folder)
    except ContentError as exc:
        print(exc)
        return 1
    print(f"{folder}: OK ({len(content.lessons)} lessons, {len(content.rules.stars)} stars)")
    return 0


def _campaigns_list(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.ops.operators import campaigns_list

    print("\n".join(asyncio.run(campaigns_list(settings))))
    return 0


def _campaigns_show(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.operators import campaigns_show

    return _print_found(asyncio.run(campaigns_show(settings, args.id)), f"no campaign {args.id}")


def _campaigns_retry(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.operators import campaigns_retry

    queued = asyncio.run(campaigns_retry(settings, args.id, args.uncertain))
    print(f"campaign {args.id}: {queued} deliveries queued again")
    return 0


def _jobs_list(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.ops.operators import jobs_list

    print("\n".join(asyncio.run(jobs_list(settings, datetime.now(settings.timezone)))))
    return 0


def _jobs_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.operators import jobs_run

    try:
        at = datetime.fromisoformat(args.at) if args.at else datetime.now(settings.timezone)
    except ValueError:
        print(f"palmbot: --at {args.at!r} is not an ISO time such as 2026-11-15T08:00", file=sys.stderr)
        return 2
    at = at if at.tzinfo else at.replace(tzinfo=settings.timezone)
    result = asyncio.run(jobs_run(settings, args.name, at))
    if result is None:
        print(f"palmbot: no job {args.name!r}; `palmbot jobs list` shows them", file=sys.stderr)
        return 1
    print(f"{args.name} at {at:%Y-%m-%d %H:%M %z}: {result}")
    return 0


def _content_preview(settings: Settings, args: argparse.Namespace) -> int:
    from bot.content import ContentError
    from bot.ops.operators import content_preview

    try:
        lines = content_preview(settings, args.id, args.language)
    except ContentError as exc:
        print(exc)
        return 1
    return _print_found(lines, f"no lesson with id {args.id!r}")


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.operators import report
    from bot.reports.layout import write_csv, write_xlsx
    from bot.rules.periods import parse_quarter

    period = parse_quarter(args.quarter) if args.quarter else _year(args.year)
    if period is None and args.quarter:
        print(f"palmbot: --quarter {args.quarter!r} is not a quarter such as 2026Q4 (a whole year: --year 2026)",
              file=sys.stderr)
    if period is None:
        return 2
    built = asyncio.run(report(settings, args.org, period, datetime.now(settings.timezone).date()))
    if args.format == "csv" and args.sheet == BRANCHES and not built.has_branches:
        print(f"palmbot: {built.org} has no 支部 under it: no {BRANCHES} sheet", file=sys.stderr)
        return 2
    if args.format == "xlsx":
        write_xlsx(built, args.output)
    else:
        write_csv(built, args.output, sheet=args.sheet)
    print(f"{args.output}: {built.org} {built.label}, {len(built.rows)} members")
    return 0


def _year(year: int) -> Period | None:
    """The calendar year `--year` names; None, having said why, for one that cannot be meant."""
    from bot.rules.periods import YEARS, year_of

    if year not in YEARS:
        print(f"palmbot: --year {year} is not a year such as 2026", file=sys.stderr)
        return None
    return year_of(date(year, 1, 1))


def _ledger(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.operators import ledger_year
    from bot.repo.orgs import normal_path
    from bot.reports.ledger import write_xlsx

    year = _year(args.year)
    if year is None:
        return 2
    path, records = asyncio.run(ledger_year(settings, args.org, year))
    out = args.out or Path(f"台账-{normal_path(args.org).replace('/', '-')}-{args.year}.xlsx")
    write_xlsx(records, out)
    print(f"{out}: {path} {args.year}, {len(records)} meetings")
    return 0


def _oversight(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.operators import oversight_view
    from bot.rules.periods import month_of, parse_month

    now = datetime.now(settings.timezone)
    month = parse_month(args.month, now.date()) if args.month else month_of(now.date())
    if month is None:
        print(f"palmbot: --month {args.month!r} is not a month such as 2026-12", file=sys.stderr)
        return 2
    print(asyncio.run(oversight_view(settings, args.org, month, now)))
    return 0


def _audit(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.operators import audit_trail

    lines = asyncio.run(audit_trail(settings, args.org))
    print("\n".join(["时间\t组织\t操作人\t党员\t操作\t对象\t说明", *lines]))
    return 0


def _print_found(lines: list[str] | None, missing: str) -> int:
    """Print what a command found, or say what was missing and fail."""
    if lines is None:
        print(f"palmbot: {missing}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def _menu_push(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.content import ContentError
    from bot.ops.operators import menu_push
    from bot.wechat.errors import WeChatError

    if settings.sandbox:
        print("palmbot: no wechat_secret is set, so there is no WeChat to send the menu to", file=sys.stderr)
        return 2
    try:
        buttons = asyncio.run(menu_push(settings))
    except (ContentError, WeChatError, OSError) as exc:
        print(f"palmbot: menu not sent: {exc}", file=sys.stderr)
        return 1
    print(f"menu sent: {buttons} top buttons")
    return 0


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.chat import run_chat, server_root

    try:
        root = server_root(args.url or settings.local_url)
    except ValueError as exc:
        print(f"palmbot: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(run_chat(settings, args.phone, str(root)))

