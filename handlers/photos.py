"""A photo goes with what its sender did last within the window: a volunteer claim (`志愿`) or minutes (`纪要`)."""

from __future__ import annotations

from datetime import timedelta

from bot.conversation.context import Context
from bot.conversation.routing import Need, Router
from bot.repo import meetings, volunteer
from handlers import meetings as meeting_handlers
from handlers import volunteer as volunteer_handlers

router = Router(topic="会议")


@router.message("image", need=Need.MEMBER)
async def photo(ctx: Context) -> str:
    """The evidence of the sender's newest claim, or a photo of the meeting they just wrote minutes for, whichever
    of the two they sent last in the window."""
    since = ctx.now - timedelta(minutes=volunteer_handlers.PHOTO_MINUTES)
    minutes = await meetings.last_minutes_by(ctx.session, author_id=ctx.bound.id, since=since)
    claimed = await volunteer.latest_pending_at(ctx.session, member_id=ctx.bound.id, since=since)
    if minutes is not None and (claimed is None or minutes[0] >= claimed):
        return await meeting_handlers.attach_photo(ctx, minutes[1])
    return await volunteer_handlers.photo(ctx)
