"""The code's render(...) calls and the reply contract (bot/content/samples.py) name the same variables."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.content.samples import SAMPLES
from tests.conftest import ROOT


def render_calls() -> list[tuple[str, str, set[str]]]:
    """(where, template, keyword names) of every `.render("name", …)` in the code."""
    calls = []
    for path in sorted(p for folder in ("bot", "handlers", "scheduler") for p in (ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "render":
                where = f"{Path(path).relative_to(ROOT)}:{node.lineno}"
                keywords = {k.arg for k in node.keywords if k.arg}
                calls += [(where, name, keywords) for name in _names(node.args[0] if node.args else None)]
    return calls


def _names(arg: ast.expr | None) -> list[str]:
    """Template names a first argument can be: a string, or either side of `a if c else b`."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.IfExp):
        return _names(arg.body) + _names(arg.orelse)
    return []


def test_every_render_call_gives_exactly_the_variables_its_template_may_use() -> None:
    calls = render_calls()
    assert len(calls) > 40
    mismatches = [(where, name, sorted(given), sorted(SAMPLES.get(name, {"<no such template>": 0})))
                  for where, name, given in calls if set(SAMPLES.get(name, {"<no such template>": 0})) != given]
    assert mismatches == []


def test_every_template_in_the_contract_is_rendered_somewhere() -> None:
    rendered = {name for _, name, _ in render_calls()} | {"lesson", "bind_needed", "secretary_only"}
    assert set(SAMPLES) - rendered == set()
