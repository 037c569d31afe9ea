"""Repositories: keyword-only async queries, no rules.

Hot statements are built once with bind parameters: SQLAlchemy then reuses their cache key and
compiled form instead of rebuilding both on every message.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def insert_once(session: AsyncSession, model: type[DeclarativeBase], **values: Any) -> bool:
    """Insert a row unless a unique key already holds one; True when this call inserted it."""
    stmt = _insert_ignoring_conflicts(inspect(model).local_table, session.get_bind().dialect.name)
    result = await session.execute(stmt, values)
    return result.first() is not None


@cache
def _insert_ignoring_conflicts(table: Table, dialect: str) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the key, for this table and database."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(*table.primary_key)
