"""`content/menu.toml`: the official account's menu, checked against WeChat's limits and our click keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content.files import ContentError, Problems, get, line_of, read_toml

TOP_LIMIT, SUB_LIMIT = 3, 5  # buttons WeChat allows at the top, and under each
TOP_BYTES, SUB_BYTES = 16, 60  # name lengths in bytes
CLICK_KEYS = {"HELP", "MY_POINTS", "MY_STARS", "LESSON_TODAY", "NOTICES"}  # keys the router answers


@dataclass(frozen=True, slots=True)
class Button:
    name: str
    key: str = ""  # a click button
    url: str = ""  # a link button
    sub: tuple[Button, ...] = ()

    def wechat(self) -> dict[str, Any]:
        """The button as WeChat's menu/create API wants it."""
        if self.sub:
            return {"name": self.name, "sub_button": [b.wechat() for b in self.sub]}
        if self.url:
            return {"type": "view", "name": self.name, "url": self.url}
        return {"type": "click", "name": self.name, "key": self.key}


@dataclass(frozen=True, slots=True)
class Menu:
    buttons: tuple[Button, ...]

    def wechat(self) -> dict[str, Any]:
        return {"button": [b.wechat() for b in self.buttons]}


def load_menu(path: Path, problems: Problems) -> Menu | None:
    menu = None
    with problems.collecting():
        buttons = get(read_toml(path), path, "button", kind=list)
        if not 1 <= len(buttons) <= TOP_LIMIT:
            raise ContentError(path, 1, f"the menu has {len(buttons)} top buttons", f"use 1 to {TOP_LIMIT}")
        menu = Menu(tuple(_button(spec, path, top=True) for spec in buttons))
    return menu


def _button(spec: dict[str, Any], path: Path, *, top: bool) -> Button:
    name = get(spec, path, "name")
    limit = TOP_BYTES if top else SUB_BYTES
    if len(name.encode()) > limit:
        raise ContentError(path, line_of(path, name), f"button name `{name}` is {len(name.encode())} bytes",
                           f"keep it to {limit} bytes ({limit // 3} Chinese characters)")
    subs = spec.get("sub", [])
    if subs:
        if not top or len(subs) > SUB_LIMIT:
            raise ContentError(path, line_of(path, name), f"button `{name}` has too many levels or sub-buttons",
                               f"one level only, at most {SUB_LIMIT} under each top button")
        return Button(name, sub=tuple(_button(s, path, top=False) for s in subs))
    key, url = str(spec.get("key", "")), str(spec.get("url", ""))
    if url:
        if not url.startswith(("https://", "http://")):
            raise ContentError(path, line_of(path, url), f"button `{name}`: `url` must be a web address",
                               "start it with https://")
        return Button(name, url=url)
    if key not in CLICK_KEYS:
        raise ContentError(path, line_of(path, name), f"button `{name}`: unknown key `{key}`",
                           f"use one of {', '.join(sorted(CLICK_KEYS))}, or a `url`")
    return Button(name, key=key)
