"""Photos members send (evidence of volunteer service), kept before WeChat forgets them.

WeChat keeps a temporary media file three days (its `PicUrl` is no address to rely on either), so each photo
is fetched once through `media/get` and its bytes kept in the database, where every replica serves them to
the console. A sweep finds the photos not yet kept (crash-safe: a process that dies mid-fetch leaves a
lease that runs out); each is taken by one process at a time. WeChat's 40007 (the id is expired or unknown)
gives up at once; a passing failure is tried again a few times, minutes apart.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from bot.pushes.outbound import Clock
from bot.repo import media
from bot.storage.db import SessionMaker, transaction
from bot.storage.models import MediaStatus
from bot.wechat.client import WeChatClient
from bot.wechat.errors import WeChatError

log = logging.getLogger(__name__)

WECHAT_KEEPS = timedelta(days=3)  # after this WeChat answers 40007 for a member's photo
AGAIN = timedelta(minutes=5)  # before another try after a passing failure, and a fetching process's lease
TRIES = 4
BATCH = 20  # photos one sweep fetches
GONE = 40007  # invalid media_id: expired, or never WeChat's
PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")  # what we keep and serve (never an SVG)


class Photo(StrEnum):
    """What the console shows for a claim's photo."""

    NONE = "none"  # the member sent no photo
    KEPT = "kept"  # shown from the database
    WAITING = "waiting"  # not kept yet; the sweep will fetch it
    LOST = "lost"  # could not be kept (expired at WeChat, or every try failed)
    SANDBOX = "sandbox"  # no AppSecret: nothing can be fetched from WeChat


async def keep_due(sessionmaker: SessionMaker, client: WeChatClient, clock: Clock) -> int:
    """Fetch the photos not yet kept (up to BATCH); how many were kept now."""
    now = clock()
    async with transaction(sessionmaker) as session:
        ids = await media.due(session, since=now - WECHAT_KEEPS, tried_before=now - AGAIN, limit=BATCH)
    return sum([await keep(sessionmaker, client, clock, media_id) for media_id in ids])


async def keep(sessionmaker: SessionMaker, client: WeChatClient, clock: Clock, media_id: str) -> bool:
    """Fetch one photo, unless another process holds it or it is settled; whether it is kept now."""
    async with transaction(sessionmaker) as session:
        now = clock()
        if not await media.claim(session, media_id=media_id, now=now, tried_before=now - AGAIN):
            return False
    try:
        found = await client.media(media_id)
    except WeChatError as exc:
        return await _failed(sessionmaker, media_id, str(exc), gone=exc.code == GONE)
    if found.content_type not in PHOTO_TYPES:
        return await _failed(sessionmaker, media_id, f"not a photo: {found.content_type}", gone=True)
    async with transaction(sessionmaker) as session:
        await media.keep(session, media_id=media_id, content_type=found.content_type, data=found.data, now=clock())
    return True


async def _failed(sessionmaker: SessionMaker, media_id: str, failure: str, *, gone: bool) -> bool:
    """Record a failed try: given up when the photo is `gone` or this was the last try, else tried again later.
    False (nothing kept), for `keep` to return."""
    async with transaction(sessionmaker) as session:
        final = gone or await media.tries(session, media_id=media_id) >= TRIES
        await media.fail(session, media_id=media_id, failure=failure, final=final)
    log.warning("photo %s not kept%s: %s", media_id, "" if final else " yet", failure)
    return False


def photo(media_id: str | None, status: str | None, *, sent_at: datetime, now: datetime, sandbox: bool) -> Photo:
    """What to show for a claim's photo: `media_id` is the claim's, `status` its KeptMedia status (None when it
    was never tried), `sent_at` when the claim was made."""
    if media_id is None:
        return Photo.NONE
    if status == MediaStatus.KEPT:
        return Photo.KEPT
    if status == MediaStatus.LOST or now - sent_at >= WECHAT_KEEPS:
        return Photo.LOST
    return Photo.SANDBOX if sandbox else Photo.WAITING
