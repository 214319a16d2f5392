"""What the inbox says about the handoff's notification routes: which are configured and whether they worked
when last tried (bot/handoff/routes.py). Tried at start-up and every ROUTE_CHECK_SECONDS in the background, so
that a page never waits on a mail server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from bot.handoff.config import HandoffSettings
from bot.handoff.routes import USER_EMAIL, Route, check_routes, configured_routes

logger = logging.getLogger(__name__)

ROUTE_CHECK_SECONDS = 600.0


@dataclass
class RouteStatus:
    routes: list[Route]
    checked_at: float | None = None
    manager_routes: list[Route] = field(init=False)

    def __post_init__(self) -> None:
        self.update(self.routes, self.checked_at)

    def update(self, routes: list[Route], checked_at: float | None) -> None:
        self.routes, self.checked_at = routes, checked_at
        self.manager_routes = [r for r in routes if r.kind != USER_EMAIL]

    @property
    def nobody_notified(self) -> bool:
        return not any(r.configured for r in self.manager_routes)

    @property
    def checked(self) -> str:
        return time.strftime("%H:%M", time.localtime(self.checked_at)) if self.checked_at else ""

    @classmethod
    def of(cls, settings: HandoffSettings) -> RouteStatus:
        return cls(configured_routes(settings))


async def watch_routes(status: RouteStatus, settings: HandoffSettings, stop: asyncio.Event,
                       interval: float = ROUTE_CHECK_SECONDS) -> None:
    """Tries the configured routes now and then every `interval` until `stop`; logs a route that fails."""
    while not stop.is_set():
        try:
            routes = await check_routes(settings)
        except Exception as exc:  # a check that breaks must not stop the back office's other work
            logger.error("handoff routes: the check failed (%s)", type(exc).__name__)
        else:
            status.update(routes, time.time())
            for route in routes:
                if route.working is False:
                    logger.warning("handoff route %s fails: %s", route.label, route.problem)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
