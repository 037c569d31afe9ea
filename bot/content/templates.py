"""`content/replies/*.j2`: every sentence the bot says, compiled, checked against its contract and rendered."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from bot.content.files import Problems
from bot.content.samples import SAMPLES
from bot.message.replies import TEXT_LIMIT

SPLIT_BY_DESIGN = {"lesson", "notices_list", "content_refused"}  # long by nature: sent as several messages


class SnapshotEnvironment(jinja2.Environment):
    """The environment of one content snapshot, whose globals never change once it is loaded.

    Each template's globals are one plain dict rather than Jinja's ChainMap over the environment's, which
    every render copies into its context key by key (measured: the `积分` reply in 10 µs instead of 17.5).
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def load_templates(folder: Path, problems: Problems) -> jinja2.Environment:
    """The template environment, every source read now and never again; each problem collected.

    Reading once matters: a loader that rereads files would put a broken edit live behind the
    check's back, where the reload must keep the last good content.
    """
    present = {path.stem: path for path in sorted(folder.glob("*.j2"))}
    sources = {path.name: (path.read_text(encoding="utf-8"), str(path)) for path in present.values()}

    def source(name: str) -> tuple[str, str, Callable[[], bool]] | None:
        found = sources.get(name)
        return (found[0], found[1], lambda: True) if found else None

    env = SnapshotEnvironment(loader=jinja2.FunctionLoader(source), undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, autoescape=False)
    for name in sorted(SAMPLES.keys() - present.keys()):
        problems.add(folder / f"{name}.j2", 0, "reply template is missing", "restore it from the shipped content/")
    for name, path in present.items():
        if name not in SAMPLES:
            problems.add(path, 1, f"the bot never sends a reply named `{name}`", "check the file name, or delete it")
        else:
            _check(env, path, problems)
    return env


def _check(env: jinja2.Environment, path: Path, problems: Problems) -> None:
    """Syntax, variables the bot does not give, a render with sample data, and the length of the result."""
    text_of_file = path.read_text(encoding="utf-8")
    allowed = SAMPLES[path.stem]
    try:
        used = meta.find_undeclared_variables(env.parse(text_of_file))
    except jinja2.TemplateSyntaxError as exc:
        problems.add(path, exc.lineno, f"template syntax: {exc.message}", "close every {{ }} and {% %}")
        return
    unknown = sorted(used - allowed.keys())
    for variable in unknown:
        problems.add(path, _line_with(text_of_file, variable), f"unknown variable `{variable}`",
                     f"this reply can use {', '.join(sorted(allowed)) or 'no variables'}")
    if unknown:
        return
    try:
        text = env.get_template(path.name).render(**allowed).strip()
    except Exception as exc:  # noqa: BLE001 -- any failure to render is the administrator's to fix
        problems.add(path, _render_line(exc, path), f"does not render: {exc}", "check the expression on that line")
        return
    size = len(text.encode())
    if path.stem not in SPLIT_BY_DESIGN and size > TEXT_LIMIT:
        problems.add(path, 1, f"the reply is {size} bytes with sample data, over WeChat's {TEXT_LIMIT}",
                     "shorten it")


def _line_with(source: str, variable: str) -> int:
    pattern = re.compile(rf"\b{re.escape(variable)}\b")
    return next((n for n, line in enumerate(source.splitlines(), 1) if pattern.search(line)), 1)


def _render_line(exc: Exception, path: Path) -> int:
    """The template line Jinja reports in the traceback of a render error."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno or 1 if frames else 1
