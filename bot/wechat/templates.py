"""Template message fields within WeChat's rules: each field's type (its name's prefix) limits its value.

WeChat's parameter rules for template and subscription messages (参数值内容限制): `thing` at most 20
characters, `phrase` 5 Chinese characters, `name` 10, `character_string`, `number` and `letter` 32 of
digits, letters or symbols, `symbol` 5, `phone_number` 17, `car_number` 8, and `time` / `date` a
date or time such as 2026年11月15日 08:00; no value may hold a line break. A value over its limit is
refused (47003), so a notice is cut to fit with "…" and its full text stays readable with `通知`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

ELLIPSIS = "…"
SOURCES = ("title", "content", "date")  # what a notice can fill a field with
DEFAULT_FIELDS = (("thing1", "title"), ("thing2", "content"), ("time3", "date"))  # wechat_template_fields' default
_KEY = re.compile(r"^([a-z_]+?)(\d*)$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class FieldType:
    limit: int  # characters
    sources: tuple[str, ...]  # which of the notice's values it can hold


FIELD_TYPES = {
    "thing": FieldType(20, SOURCES),
    "phrase": FieldType(5, ("title", "content")),
    "name": FieldType(10, ("title", "content")),
    "time": FieldType(20, ("date",)),
    "date": FieldType(20, ("date",)),
    "character_string": FieldType(32, ()),
    "number": FieldType(32, ()),
    "letter": FieldType(32, ()),
    "symbol": FieldType(5, ()),
    "amount": FieldType(14, ()),
    "phone_number": FieldType(17, ()),
    "car_number": FieldType(8, ()),
}


def field_type(key: str) -> FieldType | None:
    """The type of a template field from its name (`thing2` is a thing), or None when WeChat has no such type."""
    match = _KEY.match(key)
    return FIELD_TYPES.get(match.group(1)) if match else None


def check_fields(fields: Sequence[tuple[str, str]]) -> list[str]:
    """What is wrong with a `wechat_template_fields` mapping, one line each (empty: it can be used)."""
    problems = []
    for key, source in fields:
        kind = field_type(key)
        if kind is None:
            problems.append(f"{key}: not a WeChat field type ({', '.join(FIELD_TYPES)}, then a number)")
        elif source not in kind.sources:
            problems.append(f"{key}={source}: this field can hold {' or '.join(kind.sources) or 'none of them'}")
    keys = [key for key, _ in fields]
    return problems + [f"{key}: named twice" for key in sorted({k for k in keys if keys.count(k) > 1})]


def fill(fields: Sequence[tuple[str, str]], *, title: str, content: str, at: datetime) -> dict[str, str]:
    """The template's data for a notice: each field from its source, on one line and cut to its type's limit.

    A content that opens with the title as its heading (【第一党支部通知】) loses it: the title has its own field.
    """
    content = content.removeprefix(f"【{title}】").strip()
    values = {"title": title, "content": content, "date": f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"}
    return {key: fit(key, values[source]) for key, source in fields}


def fit(key: str, value: str) -> str:
    """`value` on one line, cut with "…" to the limit of field `key`'s type."""
    kind = field_type(key)
    text = _SPACE.sub(" ", value).strip()
    if kind is None or len(text) <= kind.limit:
        return text
    return text[:kind.limit - 1] + ELLIPSIS


def field_problem(key: str, value: str) -> str | None:
    """Why WeChat would refuse `value` in field `key` (the fake API answers 47003 with it), or None."""
    kind = field_type(key)
    if kind is None:
        return f"data.{key} is not a field type"
    if "\n" in value or len(value) > kind.limit:
        return f"data.{key}.value exceeds limit"
    return None
