"""Typed keys for what the aiohttp application holds."""

from aiohttp import web

from bot.services import Services

SERVICES = web.AppKey("services", Services)
