"""Signing in to the web console: one-time links sent in chat, sessions kept in the database, form tokens.

Only SHA-256 digests of the link and cookie tokens are stored, so a copy of the database or of a log signs
nobody in. A link is redeemed by one conditional UPDATE, so two replicas (or a double tap) cannot both use it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.repo import rowcount
from bot.storage.models import ConsoleLink, ConsoleSession, Member

LINK_VALID = timedelta(minutes=10)  # issue 15: a `后台` link is valid for 10 minutes, once
SESSION_VALID = timedelta(hours=8)  # a working day; after it the secretary asks for a new link


def digest(token: str) -> str:
    """The hex SHA-256 kept in place of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


async def issue_link(session: AsyncSession, *, member_id: int, now: datetime) -> str:
    """A new one-time link token for the member, valid for LINK_VALID."""
    token = new_token()
    session.add(ConsoleLink(token_hash=digest(token), member_id=member_id, created_at=now,
                            expires_at=now + LINK_VALID))
    return token


async def redeem_link(session: AsyncSession, *, token: str, now: datetime) -> int | None:
    """The member the link signs in, marking it used; None when unknown, used already or expired."""
    changed = await session.execute(
        update(ConsoleLink).where(ConsoleLink.token_hash == digest(token), ConsoleLink.used_at.is_(None),
                                  ConsoleLink.expires_at > now).values(used_at=now))
    if rowcount(changed) != 1:
        return None
    return await session.scalar(select(ConsoleLink.member_id).where(ConsoleLink.token_hash == digest(token)))


@dataclass(frozen=True, slots=True)
class Opened:
    """A new session: the cookie's token (given to the browser once) and the row's form token."""

    token: str
    csrf: str
    expires_at: datetime


async def open_session(session: AsyncSession, *, member_id: int, now: datetime) -> Opened:
    token, csrf = new_token(), new_token()
    session.add(ConsoleSession(token_hash=digest(token), csrf=csrf, member_id=member_id, created_at=now,
                               expires_at=now + SESSION_VALID))
    return Opened(token, csrf, now + SESSION_VALID)


async def live_session(session: AsyncSession, *, token: str, now: datetime) -> tuple[ConsoleSession, Member] | None:
    """The session behind a cookie and its member, while it has neither expired nor been ended."""
    row = (await session.execute(
        select(ConsoleSession, Member).join(Member, Member.id == ConsoleSession.member_id)
        .where(ConsoleSession.token_hash == digest(token), ConsoleSession.ended_at.is_(None),
               ConsoleSession.expires_at > now))).first()
    return (row[0], row[1]) if row else None


async def end_session(session: AsyncSession, *, token: str, now: datetime) -> None:
    await session.execute(update(ConsoleSession).where(ConsoleSession.token_hash == digest(token),
                                                       ConsoleSession.ended_at.is_(None)).values(ended_at=now))


async def end_all(session: AsyncSession, *, member_id: int, now: datetime) -> tuple[int, int]:
    """End every open session of a member and void their links not yet opened (`退出后台` in chat: a lost
    phone, a forwarded link); how many sessions were open and how many links were voided."""
    sessions = await session.execute(update(ConsoleSession).where(ConsoleSession.member_id == member_id,
                                                                  ConsoleSession.ended_at.is_(None),
                                                                  ConsoleSession.expires_at > now).values(ended_at=now))
    links = await session.execute(update(ConsoleLink).where(ConsoleLink.member_id == member_id,
                                                            ConsoleLink.used_at.is_(None),
                                                            ConsoleLink.expires_at > now).values(used_at=now))
    return rowcount(sessions), rowcount(links)


_LINK_PATH = "/console/login?t="
_LINK_TOKEN = re.compile("(" + re.escape(_LINK_PATH) + ")[A-Za-z0-9_-]+")


def hide_link_tokens(text: str | None) -> str | None:
    """A reply as it may be stored (the dedup table keeps replies for WeChat's retries): a sign-in link's token
    replaced by "…", so the database never holds a usable link. A retry then gets a dead link; `后台` again
    gives a new one."""
    return _LINK_TOKEN.sub(r"\1…", text) if text and _LINK_PATH in text else text  # `in` first: most have none


def same_token(given: str, expected: str) -> bool:
    """A constant-time comparison of a form's token with the session's."""
    return hmac.compare_digest(given.encode(), expected.encode())
