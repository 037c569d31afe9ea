"""Operator commands fail in one line: no server, no database, a closed pipe. Never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.content import ContentError
from bot.repo.orgs import OrgLookupError
from bot.storage.backup import BackupError
from bot.storage.db import NoDatabase

Command = Callable[[Settings, argparse.Namespace], int | None]


def in_one_line(command: Command, settings: Settings, args: argparse.Namespace) -> int:
    """Run a `palmbot` command; its exit status, or 1 with one line on stderr for a failure outside it."""
    try:
        status = int(command(settings, args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in Python's own flush at exit
        return status
    except BrokenPipeError:  # `palmbot members list | head`
        _drop_stdout()
        return _fail("the output was closed before everything was written")
    except KeyboardInterrupt:
        return 130
    except (NoDatabase, BackupError) as exc:
        return _fail(str(exc))
    except OrgLookupError as exc:  # an --org or --to naming no organisation, or several
        return _fail(f"{exc}; `palmbot members list` shows the organisations")
    except ContentError as exc:  # say, no content folder where the settings point
        problems = str(exc).splitlines()
        more = f" (and {len(problems) - 1} more: `palmbot content check`)" if len(problems) > 1 else ""
        return _fail(f"content error: {problems[0] if problems else exc}{more}")
    except aiohttp.ClientConnectorError as exc:
        return _fail(f"nothing answers at {exc.host}:{exc.port}; is `palmbot serve` running there?")
    except aiohttp.ClientError as exc:
        return _fail(f"the server did not answer properly: {exc}")
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return _fail(f"database error: {cause} (is the schema up to date? `palmbot db upgrade`)")
    except OSError as exc:  # an --output folder that does not exist, a file that cannot be read
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))


def _fail(message: str) -> int:
    try:
        print(f"palmbot: {message}", file=sys.stderr)
    except OSError:
        pass
    return 1


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so Python's own flush at exit does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
