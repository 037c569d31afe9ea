"""`palmbot backup` and `palmbot restore`: the whole database to one file and back, on either engine.

SQLite: the online backup API (`sqlite3.Connection.backup`), a consistent copy taken while the server
runs and writes, the write-ahead log included; the file is itself an SQLite database. PostgreSQL:
`pg_dump --format=custom` and `pg_restore`, whose client tools must be installed (of at least the
server's major version); the connection is passed in libpq's environment, never on the command line.

A restore reads the backup's schema revision first: one newer than the code is refused (restore it with
the release that wrote it), an older one is upgraded after loading, as `palmbot db upgrade` would. It
refuses a database holding any row unless forced, and then replaces that database whole.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, literal, select, table, text
from sqlalchemy.engine import Connection, make_url

from bot.storage import migrate
from bot.storage.db import make_engine, require_file, sqlite_path

SQLITE_MAGIC = b"SQLite format 3\x00"
POSTGRES_MAGIC = b"PGDMP"  # pg_dump's custom format


class BackupError(Exception):
    """Why a backup or a restore did not happen, in one line for the operator."""


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore loaded: the backup's schema revision, and the code's newest when it was upgraded to it."""

    revision: str
    upgraded_to: str | None = None


async def backup(database_url: str, path: Path) -> str:
    """Write the whole database to `path` (an existing file is replaced only once the new one is complete).

    Returns the schema revision the backup holds (such as "0013"). Raises NoDatabase for a missing SQLite
    file, BackupError for a database without palmbot's schema, a missing `pg_dump` or its failure.
    """
    require_file(database_url)
    partial = path.with_name(path.name + ".partial")
    source = sqlite_path(database_url)
    try:
        if source is not None:
            await asyncio.to_thread(_sqlite_copy, source, partial, compact=True)
        else:
            await _run("pg_dump", "--format=custom", f"--file={partial}", env=_libpq(database_url))
        revision = await _revision_of_backup(partial)
        if revision is None:
            raise BackupError("the database has no palmbot schema (no alembic_version): nothing to back up")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return revision


async def restore(database_url: str, path: Path, *, force: bool = False) -> Restored:
    """Load the backup at `path` into the database, then upgrade it when it is older than the code.

    Raises BackupError, the database untouched, for a file that is not a backup of this engine, a backup
    newer than the code, or a database that holds rows while `force` is False; and for a failed load.
    """
    engine = _engine_of(path)
    if not database_url.startswith(engine):
        raise BackupError(f"{path} is a backup of a {engine} database; database_url names another engine")
    revision = await _revision_of_backup(path)
    if revision is None:
        raise BackupError(f"{path} has no palmbot schema version (alembic_version): not a palmbot backup")
    if not migrate.known(revision):
        raise BackupError(f"{path} is at schema revision {revision}, newer than this code's {migrate.head()}: "
                          "restore it with the palmbot release that wrote it")
    if not force and await _holds_rows(database_url):
        raise BackupError("the database already holds data; restoring replaces all of it: add --force to do so")
    target = sqlite_path(database_url)
    if target is not None:
        await asyncio.to_thread(_sqlite_copy, str(path), Path(target), compact=False)
    else:
        await _empty_postgres(database_url)
        await _run("pg_restore", f"--dbname={make_url(database_url).database}", "--no-owner", "--no-privileges",
                   "--exit-on-error", "--single-transaction", str(path), env=_libpq(database_url))
    if revision == migrate.head():
        return Restored(revision)
    await migrate.upgrade_async(database_url)
    return Restored(revision, migrate.head())


def _engine_of(path: Path) -> str:
    """"sqlite" or "postgresql", from a backup file's first bytes; BackupError for a missing or other file."""
    try:
        with path.open("rb") as fh:
            start = fh.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"no backup at {path.resolve()}") from None
    if start.startswith(SQLITE_MAGIC):
        return "sqlite"
    if start.startswith(POSTGRES_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is neither an SQLite database nor a pg_dump archive")


async def _revision_of_backup(path: Path) -> str | None:
    """The schema revision a backup file holds; None when it has none."""
    if _engine_of(path) == "sqlite":
        return await asyncio.to_thread(_sqlite_revision, path)
    listing = await _run("pg_restore", "--data-only", "--table=alembic_version", "--file=-", str(path))
    return _copied_value(listing.decode())


def _sqlite_copy(source: str, target: Path, *, compact: bool) -> None:
    """Copy one SQLite database onto another through the backup API; `compact` leaves a single file (no WAL)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        if compact:
            dst.execute("PRAGMA journal_mode=DELETE")


def _sqlite_revision(path: Path) -> str | None:
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:  # no such table, or not a database after all
            return None
    return str(row[0]) if row else None


def _copied_value(sql: str) -> str | None:
    """The first value of alembic_version's COPY block in `pg_restore --data-only` output, if any."""
    lines = iter(sql.splitlines())
    for line in lines:
        if line.startswith("COPY ") and "alembic_version" in line:
            value = next(lines, "\\.")
            return None if value == "\\." else value
    return None


async def _holds_rows(database_url: str) -> bool:
    """Whether any table of the database (other than alembic_version) has a row; False for an empty one."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_any_row)
    finally:
        await engine.dispose()


def _any_row(conn: Connection) -> bool:
    names = [name for name in inspect(conn).get_table_names() if name != "alembic_version"]
    return any(conn.execute(select(literal(1)).select_from(table(name)).limit(1)).first() for name in names)


async def _empty_postgres(database_url: str) -> None:
    """Drop everything in the public schema, so the archive loads into a database without objects."""
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def _libpq(database_url: str) -> dict[str, str]:
    """The environment pg_dump and pg_restore connect with: host, port, user, password and database."""
    url = make_url(database_url)
    host = url.host or url.query.get("host")
    found = {"PGHOST": host, "PGPORT": url.port, "PGUSER": url.username, "PGPASSWORD": url.password,
             "PGDATABASE": url.database}
    return {**os.environ, **{name: str(value) for name, value in found.items() if value}}


async def _run(tool: str, *args: str, env: dict[str, str] | None = None) -> bytes:
    """Run a PostgreSQL client tool; its standard output. Raises BackupError when it is missing or fails."""
    program = shutil.which(tool)
    if program is None:
        raise BackupError(f"{tool} not found: install PostgreSQL's client tools (on Debian: apt install "
                          "postgresql-client), of at least the server's major version")
    process = await asyncio.create_subprocess_exec(program, *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode:
        lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
        raise BackupError(f"{tool} failed: {lines[0] if lines else f'exit status {process.returncode}'}")
    return out
