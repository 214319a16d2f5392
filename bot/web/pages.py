"""Public pages outside the inbox."""

from __future__ import annotations

from aiohttp import web

from bot.web.templates import render


async def index(_: web.Request) -> web.Response:
    # A placeholder until the widget (another issue) gets its demo page here.
    return render("index.html", {"signed_in": None})
