"""The handoff database's state for /health: reachable, migrated and writable, checked at most every
few seconds however often it is asked."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.handoff.store import HandoffStore, StoreReadOnly

logger = logging.getLogger(__name__)

# Longer than the store's own connect timeout (5 s), so a slow database reports its own error first.
PING_TIMEOUT_SECONDS = 8.0
# /health is public and each check takes the database's write lock for a moment (SQLite's on the whole
# file): however often it is asked, the database is checked at most this often.
CHECK_INTERVAL_SECONDS = 2.0


def _check(store: HandoffStore) -> None:
    store.ping()
    # A database that answers but cannot store a status change or a delivery is no better than a down one.
    store.check_writable()


class DatabaseHealth:
    """The handoff database's state ("ok", "read-only" or "down"), checked at most once per interval;
    requests arriving during a check wait for it and share its answer."""

    def __init__(self, store: HandoffStore, clock: Callable[[], float] = time.monotonic) -> None:
        self._store, self._clock = store, clock
        self._lock = asyncio.Lock()
        self._state = "down"
        self._checked_at: float | None = None

    async def _probe(self) -> str:
        try:
            await asyncio.wait_for(asyncio.to_thread(_check, self._store), PING_TIMEOUT_SECONDS)
        except StoreReadOnly:
            logger.warning("health: handoff database refuses to write")
            return "read-only"
        except Exception as exc:
            # StoreUnavailable, a timeout, or a driver error the store did not translate: all mean "down".
            logger.warning("health: handoff database down (%s)", type(exc).__name__)
            return "down"
        return "ok"

    async def state(self) -> str:
        async with self._lock:
            if self._checked_at is None or self._clock() - self._checked_at >= CHECK_INTERVAL_SECONDS:
                self._state = await self._probe()
                self._checked_at = self._clock()
            return self._state
