"""`content/console/*.html`: the web console's pages, compiled once and checked like the replies.

Every page the console renders is listed in PAGES; a missing one or a syntax error is a problem reported as
`path:line`, and the last good content stays live.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

from bot.content.files import Problems
from bot.content.templates import SnapshotEnvironment

PAGES = ("base.html", "error.html", "signed_out.html", "pager.html", "audit.html", "todo.html", "todo_parts.html",
         "claim.html", "oversight.html", "me.html", "reports.html", "notices.html", "notice_form.html",
         "notice_preview.html", "notice.html", "notice_parts.html", "meetings.html", "meeting.html",
         "stars.html", "members.html", "member_action.html", "members_import.html")


def load_console(folder: Path, problems: Problems) -> jinja2.Environment:
    """The console's template environment (HTML-escaped), every source read now and never again."""
    sources = {path.name: (path.read_text(encoding="utf-8"), str(path)) for path in sorted(folder.glob("*.html"))}

    def source(name: str) -> tuple[str, str, Callable[[], bool]] | None:
        found = sources.get(name)
        return (found[0], found[1], lambda: True) if found else None

    env = SnapshotEnvironment(loader=jinja2.FunctionLoader(source), undefined=jinja2.StrictUndefined,
                              autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["local"] = local
    for name in PAGES:
        if name not in sources:
            problems.add(folder / name, 0, "console page is missing", "restore it from the shipped content/console/")
    for name, (text, _) in sources.items():
        try:
            env.parse(text)
        except jinja2.TemplateSyntaxError as exc:
            problems.add(folder / name, exc.lineno, f"template syntax: {exc.message}", "close every {{ }} and {% %}")
    return env


def local(at: datetime | None, tz: ZoneInfo, shape: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as the viewer's local time ("" for none)."""
    return at.astimezone(tz).strftime(shape) if at else ""
