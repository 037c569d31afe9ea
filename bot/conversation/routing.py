"""Which handler answers a message, and each command's declaration: words, synonyms, arguments, who, help.

A command is declared once, on its handler (`Router.command`): its words (the first is its name), loose
synonyms that only count when the words after them fit its argument pattern (`选B`, never `选举…`), a bare
pattern that needs no word in context (`B` after a lesson, `8032` while a check-in is open), its number in the
numbered menu, who may use it, and its usage lines. `帮助` (by role) and README's command table are both
made from these declarations (`usages`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, TypeVar

from bot.conversation.grammar import EMPTY, Said, joined_chinese, read

if TYPE_CHECKING:
    from bot.conversation.context import Context

Handler = Callable[["Context"], Awaitable[str | None]]
T = TypeVar("T")
Settle = Callable[["Context", str], Awaitable[str]]  # confirming or cancelling, given the stored payload


class Need(IntEnum):
    """Who may use a route: anyone who follows, a bound member, or a secretary (or administrator)."""

    ANYONE = 0
    MEMBER = 1
    SECRETARY = 2


class NotUnderstood(Exception):
    """Raised by a handler reached by a bare word (`B`, `8032`) when no context makes sense of it."""


@dataclass(frozen=True, slots=True)
class Usage:
    """One line of `帮助` and of README's command table: what to send (`form`), what it does, and who may.

    `need` is the command's own unless given (`通知` reads notices for members, `通知 内容…` is a secretary's).
    """

    form: str
    says: str
    need: Need | None = None


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    need: Need
    word: str = ""
    usages: tuple[Usage, ...] = ()
    fits: re.Pattern[str] | None = None  # what the words after a loose synonym must be
    menu: int = 0  # its number in the numbered menu (0: not there)
    topic: str = ""  # its module's topic: `帮助 会议` lists the usages of every command of that topic


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What `确认` and `取消` do for the command that asked (`通知`, `评星`, `调整`): `what` names it in replies."""

    what: str
    confirm: Settle
    cancel: Settle | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """The route, its words (normalised) and where each was typed, and whether a bare word reached it."""

    route: Route
    args: tuple[str, ...]
    said: Said = EMPTY
    starts: tuple[int, ...] = ()  # in `said.norm`: where the text after the command word begins, then each arg
    bare: bool = False


@dataclass
class Router:
    """Routes registered by decorators; `include` merges the routers of the handler modules. `topic` names what
    a module's commands are about for `帮助 <topic>` (several modules may share one)."""

    topic: str = ""
    commands: dict[str, Route] = field(default_factory=dict)
    loose: dict[str, Route] = field(default_factory=dict)
    bare: dict[str, Route] = field(default_factory=dict)
    clicks: dict[str, Route] = field(default_factory=dict)
    events: dict[str, Route] = field(default_factory=dict)
    messages: dict[str, Route] = field(default_factory=dict)
    confirmations: dict[str, Confirmation] = field(default_factory=dict)
    fallback: Route = field(default_factory=lambda: Route(_not_declared, Need.ANYONE))
    _lengths: list[int] = field(default_factory=list, repr=False)
    _counted: int = field(default=0, repr=False)

    def command(self, *words: str, usage: Usage | Sequence[Usage] = (), need: Need = Need.ANYONE, click: str = "",
                loose: Sequence[str] = (), fits: str = "", bare: str = "", menu: int = 0,
                ) -> Callable[[Handler], Handler]:
        """Declare a command: text starting with any of `words` (compared in normal form, see
        `bot.conversation.grammar`), with any of `loose` when the words after it fully match the regex `fits`,
        or matching `bare` alone; the menu key `click`; its number `menu` in the numbered menu; its usage
        lines for `帮助` and README."""
        usages = (usage,) if isinstance(usage, Usage) else tuple(usage)

        def register(handler: Handler) -> Handler:
            declared = Route(handler, need, words[0], usages, re.compile(fits) if fits else None, menu, self.topic)
            for word in words:
                (self.loose if word in loose else self.commands)[read(word).norm] = declared
            for word in loose:
                self.loose[read(word).norm] = declared
            if bare:
                self.bare[bare] = declared
            if click:
                self.clicks[click] = declared
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

    def confirms(self, command: str, *, what: str, cancel: Settle | None = None) -> Callable[[Settle], Settle]:
        """Declare what `确认` does once `command` asked for it (`cancel`: what `取消` does besides forgetting)."""

        def register(confirm: Settle) -> Settle:
            self.confirmations[command] = Confirmation(what, confirm, cancel)
            return confirm

        return register

    def otherwise(self, handler: Handler) -> Handler:
        """Declare the handler of whatever a person sends that nothing else understands (one per bot)."""
        self.fallback = Route(handler, Need.ANYONE, "")
        return handler

    def include(self, *others: Router) -> None:
        for other in others:
            if other.fallback.handler is not _not_declared:
                self.fallback = other.fallback
            for mine, theirs in ((self.commands, other.commands), (self.loose, other.loose),
                                 (self.bare, other.bare), (self.clicks, other.clicks),
                                 (self.events, other.events), (self.messages, other.messages)):
                _merge(mine, theirs)
            _merge(self.confirmations, other.confirmations)
        numbers = [r.menu for r in self.routes() if r.menu]
        if len(numbers) != len(set(numbers)):
            raise ValueError(f"menu numbers used twice: {sorted(numbers)}")

    def routes(self) -> Iterator[Route]:
        """Every declared command once, in the order declared."""
        seen: set[str] = set()
        for route in [*self.commands.values(), *self.loose.values()]:
            if route.word not in seen:
                seen.add(route.word)
                yield route

    def menu(self) -> list[Route]:
        """The numbered menu's commands, by number."""
        return sorted((r for r in self.routes() if r.menu), key=lambda r: r.menu)

    def match_text(self, text: str) -> Match | None:
        """What a text (or recognised speech) means: the longest command word it starts with, a loose synonym
        whose words fit, a number of the numbered menu, or a bare pattern; failing all of them, a command word
        with spaces between its Chinese characters (`_spaced`), which also wins over a shorter command word
        typed (`我的 积分` is 我的积分, `回执 通知 内容` is 回执通知); None when nothing fits."""
        said = read(text)
        typed = self._command(said, said.norm, len)
        if typed is None:
            return self._bare(said) or self._spaced(said)
        if " " not in said.norm:
            return typed
        spaced = self._spaced(said)  # `我的 积分`: the longer command word, read across the space, is meant
        return spaced if spaced is not None and spaced.starts[0] > typed.starts[0] else typed

    def _command(self, said: Said, keys: str, end: Callable[[str], int]) -> Match | None:
        """The longest command word or fitting loose synonym `keys` starts with; `end(word)` is where the word
        ends in `said.norm`, and its arguments are the words of `said.norm` from there."""
        for length in self._longest_first():
            word = keys[:length]
            route = self.commands.get(word) or self.loose.get(word)
            if route is None:
                continue
            start = end(word)
            words = said.words(start)
            if word in self.loose and not (route.fits and route.fits.fullmatch(" ".join(w for w, _ in words))):
                continue
            return Match(route, tuple(w for w, _ in words), said, (start, *(at for _, at in words)))
        return None

    def _spaced(self, said: Said) -> Match | None:
        """A command word typed or recognised with spaces between its Chinese characters (`积 分`, `签 到 7076`:
        a field trial), tried only when nothing matched as typed; the words after the command word stay as
        typed (a name, a reason, a notice)."""
        keys, kept = joined_chinese(said.norm)
        if len(keys) == len(said.norm):
            return None  # no space between Chinese characters: nothing new to find
        return self._command(said, keys, lambda word: kept[len(word) - 1] + 1)

    def _bare(self, said: Said) -> Match | None:
        """A message that is only a menu number or only what a command's bare pattern matches."""
        norm = said.norm
        if norm.isdigit() and len(norm) <= 2:
            numbered = {r.menu: r for r in self.menu()}
            if int(norm) in numbered:
                return Match(numbered[int(norm)], (), said, (len(norm),), bare=True)
        for pattern, route in self.bare.items():
            if re.fullmatch(pattern, norm):
                return Match(route, (norm,), said, (0, 0), bare=True)
        return None

    def _longest_first(self) -> list[int]:
        """The lengths of command words and loose synonyms, longest first (a dictionary lookup per length is
        cheaper than trying every word on every message)."""
        if self._counted != len(self.commands) + len(self.loose):
            self._counted = len(self.commands) + len(self.loose)
            self._lengths = sorted({len(word) for word in [*self.commands, *self.loose]}, reverse=True)
        return self._lengths

    def match_click(self, key: str) -> Match | None:
        route = self.clicks.get(key)
        return Match(route, ()) if route else None

    def match_event(self, name: str) -> Match | None:
        route = self.events.get(name)
        return Match(route, ()) if route else None

    def match_message(self, kind: str) -> Match | None:
        route = self.messages.get(kind)
        return Match(route, ()) if route else None



def _merge(mine: dict[str, T], theirs: dict[str, T]) -> None:
    """Add another module's routes; a word (or key) declared twice is a mistake."""
    clash = mine.keys() & theirs.keys()
    if clash:
        raise ValueError(f"route registered twice: {sorted(clash)}")
    mine.update(theirs)


async def _not_declared(ctx: Context) -> str | None:
    """Until a handler module declares `otherwise`: nothing understood gets no reply."""
    return None
