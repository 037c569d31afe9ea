"""Handler modules, one per feature; `build_router` puts their routes together."""

from bot.routing import Router
from handlers import binding, checkin, help, lessons, notices, points, stars


def build_router() -> Router:
    router = Router()
    router.include(help.router, binding.router, points.router, stars.router, lessons.router, checkin.router,
                   notices.router)
    return router
