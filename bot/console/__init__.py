"""The web console under `/console`: server-rendered pages for secretaries, the level above and members.

Each module owns one page (or a few of one subject) and its routes; `mount` adds them all. Pages call the
same functions as the chat commands (one implementation of each action) and see only the viewer's subtree.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.console import (
    audit,
    claims,
    me,
    meetings,
    members,
    notices,
    oversight,
    reports,
    roster_import,
    signin,
    stars,
    todo,
)
from bot.console.web import PREFIX, guard

STATIC = Path(__file__).parent / "static"
PAGES = (signin, audit, todo, claims, notices, meetings, stars, members, roster_import, oversight, me, reports)


def mount(app: web.Application) -> None:
    """The console's routes, its static files and its guard, on the bot's app."""
    app.middlewares.append(guard)
    for module in PAGES:
        app.router.add_routes(module.routes)
    app.router.add_static(f"{PREFIX}/static/", STATIC)
