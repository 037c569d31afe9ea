"""Reading administrators' files with problems that point at `path:line` and say how to fix them."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

TOML_LINE = re.compile(r"at line (\d+)")
KIND_WORDS = {str: "text in quotes", int: "whole number", date: "date like 2026-12-01", dict: "table",
              list: "list", bool: "true or false"}


class ContentError(Exception):
    """One problem in a content file: `path:line: what is wrong — how to fix it`."""

    def __init__(self, path: Path, line: int, message: str, fix: str = "") -> None:
        super().__init__(f"{path}:{line}: {message}" + (f" — {fix}" if fix else ""))
        self.path, self.line = path, line


class ContentInvalid(ContentError):
    """Every problem found in the content folder, one per line."""

    def __init__(self, problems: list[ContentError]) -> None:
        Exception.__init__(self, "\n".join(str(p) for p in problems))
        self.problems = problems
        self.path, self.line = problems[0].path, problems[0].line


class Problems:
    """Collects problems so a check reports all of them, not just the first."""

    def __init__(self) -> None:
        self.found: list[ContentError] = []

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Record a ContentError raised inside the block and carry on after it."""
        try:
            yield
        except ContentInvalid as exc:
            self.found.extend(exc.problems)
        except ContentError as exc:
            self.found.append(exc)

    def add(self, path: Path, line: int, message: str, fix: str = "") -> None:
        self.found.append(ContentError(path, line, message, fix))

    def raise_any(self) -> None:
        if self.found:
            raise ContentInvalid(self.found)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContentError(path, 0, "file is missing", "restore it from the shipped content/") from None
    except tomllib.TOMLDecodeError as exc:
        match = TOML_LINE.search(str(exc))
        raise ContentError(path, int(match.group(1)) if match else 1, f"TOML syntax: {exc}",
                           "check quotes, brackets and `=` on that line") from None


def line_of(path: Path, needle: str, start: int = 1) -> int:
    """The first line of `path` from `start` that mentions `needle`, to point administrators at it."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if number >= start and needle in line:
            return number
    return start


def get(data: dict[str, Any], path: Path, *keys: str, kind: type = str) -> Any:
    """Look up a nested key, insisting on its type."""
    value: Any = data
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise ContentError(path, line_of(path, keys[0]), f"missing `{'.'.join(keys)}`",
                               f"add `{keys[-1]} = …`")
        value = value[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ContentError(path, line_of(path, keys[-1]), f"`{'.'.join(keys)}` must be a {KIND_WORDS[kind]}",
                           f"write it as a {KIND_WORDS[kind]}")
    return value
