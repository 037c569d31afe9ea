"""One length contract for SQLite and PostgreSQL: what a member may type into each stored text.

SQLite stores a `VARCHAR(200)` of any length while PostgreSQL refuses it, so every typed text is
checked here before it reaches the database, and the member is told the limit ("理由最多 100 字").
Each limit fits the column that stores it, together with whatever the code puts around it (the
ledger's reason is the action's label, "：" and the typed reason). A test holds each limit to its
column on both engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String

from bot.storage.models import Activity, Meeting, Wish


def length_of(column: Any) -> int:
    """The declared length of a `String(n)` model column, such as `length_of(Wish.content)`."""
    kind = column.property.columns[0].type
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"{column} has no declared length")
    return int(kind.length)


@dataclass(frozen=True, slots=True)
class Limit:
    """A typed text's limit in characters; `what` names it in the `too_long` reply."""

    what: str
    chars: int


REASON = Limit("reason", 100)  # rejections, corrections, star overrules: stored with a label of up to 90
DESCRIPTION = Limit("description", 100)  # a volunteer claim's 'what was done'
WISH = Limit("wish", 100)  # a micro-wish's published text
RESIDENT = Limit("resident", length_of(Wish.resident_name))
ACTIVITY = Limit("activity", length_of(Activity.title))
PLACE = Limit("place", length_of(Meeting.place))
TOPIC = Limit("topic", 100)  # a meeting's topic (its column holds 200)
MINUTES = Limit("minutes", 2000)  # one message of minutes
NOTICE = Limit("notice", 4000)  # what one chat message carries after `回执通知 @…` (bot/message/wire.py)


def too_long(text: str, limit: Limit) -> bool:
    return len(text) > limit.chars
