"""GET /health: for the load balancer and monitoring, without signing in and without personal data."""

from __future__ import annotations

from aiohttp import web

from bot.web.keys import HEALTH


async def health(request: web.Request) -> web.Response:
    state = await request.app[HEALTH].state()
    if state != "ok":
        return web.json_response({"status": "error", "database": state}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})
