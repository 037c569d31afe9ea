"""Branch-level sanity from the seeds: warnings about an organisation's size, never refusals.

Source: 002_b9e2fd12c3dc4498.txt L147 — 正式党员3人以上的全部设立党小组。党员人数超过50人的设立党总支,
100人以上的设立党委. Counts are of the members in an organisation and those under it.
"""

from __future__ import annotations

from bot.storage.models import OrgKind

GROUP_MIN = 3  # a 党小组 needs at least 3 members
BRANCH_MAX = 50  # a branch of more than 50 should be a 党总支
GENERAL_BRANCH_MAX = 99  # 100 or more should be a 党委


def size_warning(kind: str, members: int) -> str | None:
    """What is off about an organisation of `kind` with `members` members, or None when nothing is."""
    if kind == OrgKind.GROUP and members < GROUP_MIN:
        return f"a 党小组 of {members} members (a 党小组 needs at least {GROUP_MIN}; 002 L147)"
    if kind == OrgKind.BRANCH and members > GENERAL_BRANCH_MAX:
        return f"a 党支部 of {members} members (100 or more should be a 党委; 002 L147)"
    if kind == OrgKind.BRANCH and members > BRANCH_MAX:
        return f"a 党支部 of {members} members (more than {BRANCH_MAX} should be a 党总支; 002 L147)"
    if kind == OrgKind.GENERAL_BRANCH and members > GENERAL_BRANCH_MAX:
        return f"a 党总支 of {members} members (100 or more should be a 党委; 002 L147)"
    return None
