"""Reading administrators' TOML files with errors that point at `path:line`."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

TOML_LINE = re.compile(r"at line (\d+)")
KIND_WORDS = {str: "text in quotes", int: "whole number", date: "date like 2026-12-01", dict: "table",
              list: "list", bool: "true or false"}


class ContentError(Exception):
    """A problem in a content file, reported as `path:line: message`."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContentError(path, 0, "file is missing") from None
    except tomllib.TOMLDecodeError as exc:
        match = TOML_LINE.search(str(exc))
        raise ContentError(path, int(match.group(1)) if match else 1, f"TOML syntax: {exc}") from None


def line_of(path: Path, needle: str) -> int:
    """The first line of `path` that mentions `needle`, to point administrators at it."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    return 1


def get(data: dict[str, Any], path: Path, *keys: str, kind: type = str) -> Any:
    """Look up a nested key, insisting on its type."""
    value: Any = data
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise ContentError(path, line_of(path, keys[0]), f"missing `{'.'.join(keys)}`")
        value = value[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ContentError(path, line_of(path, keys[-1]), f"`{'.'.join(keys)}` must be a {KIND_WORDS[kind]}")
    return value
