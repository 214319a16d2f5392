"""GET /health: for the load balancer and monitoring, without signing in and without personal data."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.handoff.store import HandoffStore, StoreReadOnly
from bot.web.keys import STORE

logger = logging.getLogger(__name__)

# Longer than the store's own connect timeout (5 s), so a slow database reports its own error first.
PING_TIMEOUT_SECONDS = 8.0


def _check(store: HandoffStore) -> None:
    store.ping()
    # A database that answers but cannot store a status change or a delivery is no better than a down one.
    store.check_writable()


async def health(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(asyncio.to_thread(_check, request.app[STORE]), PING_TIMEOUT_SECONDS)
    except StoreReadOnly:
        logger.warning("health: handoff database refuses to write")
        return web.json_response({"status": "error", "database": "read-only"}, status=503)
    except Exception as exc:
        # StoreUnavailable, a timeout, or a driver error the store did not translate: all mean "down".
        logger.warning("health: handoff database down (%s)", type(exc).__name__)
        return web.json_response({"status": "error", "database": "down"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})
