"""`bot.repo.run`: a statement gives the same rows on the lean SQLite path as through SQLAlchemy's execution.

Table-driven over the lists an `IN` is given (one organisation, a chain of three, one outside the tree),
with the datetimes both paths must bind and read back alike. On PostgreSQL `run` is SQLAlchemy's path, so
the same table checks the repository there.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.dialects.sqlite import aiosqlite

from bot.repo import activities, lean, members, run
from bot.storage.models import READABLE, Activity, DeliveryStatus, Organisation
from tests.conftest import Clock

CASES = [  # which organisations' activities are looked in, and the code: the title found (None: not open)
    (["支部"], "1111", "支部活动"),
    (["小组", "支部", "党委"], "1111", "支部活动"),
    (["小组", "支部", "党委"], "2222", "党委活动"),
    (["另一个支部"], "1111", None),
    (["支部", "另一个支部"], "3333", None),  # closed an hour ago
]


@pytest.mark.parametrize(("chain", "code", "title"), CASES)
async def test_an_in_over_a_list_finds_what_sqlalchemy_finds(db, clock: Clock, chain, code, title) -> None:  # type: ignore[no-untyped-def]
    now = clock()
    async with db.begin() as session:
        orgs = {name: Organisation(name=name, kind="党支部", path=name)
                for name in ("小组", "支部", "党委", "另一个支部")}
        session.add_all(orgs.values())
        await session.flush()
        session.add_all([
            Activity(org_id=orgs["支部"].id, title="支部活动", code="1111", opens_at=now - timedelta(hours=1),
                     closes_at=now + timedelta(hours=1)),
            Activity(org_id=orgs["党委"].id, title="党委活动", code="2222", opens_at=now - timedelta(hours=1),
                     closes_at=now + timedelta(hours=1)),
            Activity(org_id=orgs["另一个支部"].id, title="已结束", code="3333", opens_at=now - timedelta(hours=3),
                     closes_at=now - timedelta(hours=1)),
        ])
        ids = [orgs[name].id for name in chain]
    async with db.begin() as session:
        await session.connection()  # the transaction holds its connection: later statements take the lean path
        lean = await activities.open_with_code(session, org_ids=ids, code=code, now=now)
        full = (await session.execute(activities._OPEN_WITH_CODE, {"orgs": ids, "code": code, "now": now})).first()
        again = (await run(session, activities._OPEN_WITH_CODE, {"orgs": ids, "code": code, "now": now})).first()
    assert (lean.title if lean else None) == title
    assert (full.title if full else None) == title
    assert again == lean


@pytest.mark.parametrize(("value", "plain"), [
    (DeliveryStatus.WAITING, "waiting"), (True, 1), (False, 0), ("待读", "待读"), (7, 7), (None, None), (1.5, 1.5),
])
def test_a_statements_own_values_are_bound_as_the_builtin_types_sqlite_takes_at_once(value, plain) -> None:  # type: ignore[no-untyped-def]
    """Enums and bools would go through sqlite3's adapter lookup on every execution; the same content binds."""
    got = lean._plain(value)
    assert got == plain and type(got) is type(plain)


def test_the_sender_querys_delivery_statuses_are_plain_text_in_its_compiled_form() -> None:
    compiled = lean.compiled(members._SENDER, {"sender": "oA"}, aiosqlite.dialect())
    assert compiled is not None
    constants = [value for name, _, value, _ in compiled.slots if name is None]
    assert sorted(constants) == sorted(status.value for status in READABLE)
    assert all(type(value) is str for value in constants)
