"""The seeds' size advice for organisations (002 L147), as warnings: never a refusal."""

from __future__ import annotations

import pytest

from bot.rules.orgs import size_warning


@pytest.mark.parametrize(("kind", "members", "advice"), [
    ("党小组", 0, "needs at least 3"),
    ("党小组", 2, "needs at least 3"),
    ("党小组", 3, None),
    ("党小组", 60, None),
    ("党支部", 2, None),
    ("党支部", 50, None),
    ("党支部", 51, "more than 50 should be a 党总支"),
    ("党支部", 99, "more than 50 should be a 党总支"),
    ("党支部", 100, "100 or more should be a 党委"),
    ("党总支", 51, None),
    ("党总支", 99, None),
    ("党总支", 100, "100 or more should be a 党委"),
    ("党委", 5000, None),
])
def test_size_warnings_follow_the_seed_thresholds(kind: str, members: int, advice: str | None) -> None:
    warning = size_warning(kind, members)
    if advice is None:
        assert warning is None
    else:
        assert warning is not None and advice in warning and f"of {members} members" in warning
