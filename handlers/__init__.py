"""Handler modules, one per feature; `build_router` puts their routes together."""

from bot.conversation.routing import Router
from handlers import (
    binding,
    boards,
    checkin,
    conduct,
    console,
    conversation,
    exemptions,
    follow_up,
    help,
    leave,
    ledger,
    lessons,
    meetings,
    notices,
    oversight,
    photos,
    points,
    report,
    review,
    stars,
    volunteer,
    wishes,
)


def build_router() -> Router:
    router = Router()
    router.include(help.router, binding.router, points.router, stars.router, lessons.router, checkin.router,
                   notices.router, volunteer.router, wishes.router, review.router, follow_up.router, boards.router,
                   report.router, ledger.router, oversight.router, conduct.router, exemptions.router,
                   meetings.router, leave.router, photos.router, console.router, conversation.router)
    return router
