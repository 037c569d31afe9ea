"""Which handler answers a message: command words, menu clicks and events, with the role each needs."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.context import Context

Handler = Callable[["Context"], Awaitable[str | None]]


class Need(IntEnum):
    """Who may use a route: anyone who follows, a bound member, or a secretary (or administrator)."""

    ANYONE = 0
    MEMBER = 1
    SECRETARY = 2


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    need: Need
    word: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    args: tuple[str, ...]
    rest: str = ""  # the text after the command word, spacing and line breaks kept


@dataclass
class Router:
    """Routes registered by decorators; `include` merges the routers of the handler modules."""

    commands: dict[str, Route] = field(default_factory=dict)
    clicks: dict[str, Route] = field(default_factory=dict)
    events: dict[str, Route] = field(default_factory=dict)
    messages: dict[str, Route] = field(default_factory=dict)
    _sorted: list[str] = field(default_factory=list, repr=False)

    def command(self, *words: str, click: str = "", need: Need = Need.ANYONE) -> Callable[[Handler], Handler]:
        """Route text starting with any of `words` (and the menu key `click`) to the handler."""

        def register(handler: Handler) -> Handler:
            for word in words:
                self.commands[word] = Route(handler, need, words[0])
            if click:
                self.clicks[click] = Route(handler, need, words[0])
            return handler

        return register

    def event(self, *names: str) -> Callable[[Handler], Handler]:
        """Route WeChat events (subscribe, unsubscribe…) to the handler."""

        def register(handler: Handler) -> Handler:
            for name in names:
                self.events[name] = Route(handler, Need.ANYONE)
            return handler

        return register

    def message(self, *types: str, need: Need = Need.ANYONE) -> Callable[[Handler], Handler]:
        """Route other kinds of message (an image…) to the handler."""

        def register(handler: Handler) -> Handler:
            for kind in types:
                self.messages[kind] = Route(handler, need, kind)
            return handler

        return register

    def include(self, *others: Router) -> None:
        for other in others:
            for mine, theirs in ((self.commands, other.commands), (self.clicks, other.clicks),
                                 (self.events, other.events), (self.messages, other.messages)):
                clash = mine.keys() & theirs.keys()
                if clash:
                    raise ValueError(f"route registered twice: {sorted(clash)}")
                mine.update(theirs)

    def match_text(self, text: str) -> Match | None:
        """The longest command word the text starts with, and the words after it.

        Matching and the words use NFKC (full-width digits become digits); `rest` keeps the text as
        typed, so a notice keeps its Chinese punctuation.
        """
        normal = unicodedata.normalize("NFKC", text).strip()
        for word in self._longest_first():
            if normal.startswith(word):
                return Match(self.commands[word], tuple(normal[len(word):].split()), _after(text.strip(), word))
        return None

    def _longest_first(self) -> list[str]:
        """Command words, longest first, sorted again only when the routes changed."""
        if len(self._sorted) != len(self.commands):
            self._sorted = sorted(self.commands, key=len, reverse=True)
        return self._sorted

    def match_click(self, key: str) -> Match | None:
        route = self.clicks.get(key)
        return Match(route, ()) if route else None

    def match_event(self, name: str) -> Match | None:
        route = self.events.get(name)
        return Match(route, ()) if route else None

    def match_message(self, kind: str) -> Match | None:
        route = self.messages.get(kind)
        return Match(route, ()) if route else None


def _after(typed: str, word: str) -> str:
    """The typed text after the shortest prefix that normalizes to `word`."""
    for end in range(1, len(typed) + 1):
        if unicodedata.normalize("NFKC", typed[:end]) == word:
            return typed[end:].strip()
    return ""
