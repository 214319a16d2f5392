"""The Rasa server's calls to the back office for the two-way handoff (bot/channels/backoffice_link.py):
replies kept for a conversation, and the manager's Telegram replies. Best effort: when the back office is
not running or not configured, the channels work as before and kept replies wait in the database.

Runs in the Rasa runtime: Python 3.10, aiohttp 3.9. No bot.handoff import (SQLAlchemy 2 lives there).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

from bot.channels.backoffice_link import KEPT_REPLIES_PATH, backoffice_url, link_token

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 3.0
# After a failed call, the channels leave the back office alone this long: a user's message never waits
# for a back office that is down.
QUIET_AFTER_FAILURE_SECONDS = 10.0


class BackofficeClient:
    def __init__(self, base_url: str | None = None, token: str | None = None) -> None:
        self.base_url = (base_url or backoffice_url()).rstrip("/")
        self.token = link_token() if token is None else token
        self._quiet_until = 0.0
        # One session (and its pool of kept-alive connections) for the process: REST asks at every message.
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """(status, JSON answer), or None when the back office cannot be asked now."""
        if not self.token or time.monotonic() < self._quiet_until:
            return None
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with self._http().post(self.base_url + path, json=body, headers=headers) as response:
                data = await response.json(content_type=None)
                return response.status, data if isinstance(data, dict) else {}
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_SECONDS
            logger.info("back office at %s not reachable (%s)", self.base_url, type(exc).__name__)
            return None

    async def take_kept(self, conversation_id: str, route: str) -> list[dict[str, str]]:
        """The replies kept for the conversation on its route, each handed over once; [] when none or when
        the back office cannot be asked (they stay kept for the next time)."""
        answer = await self.post(KEPT_REPLIES_PATH, {"conversation_id": conversation_id, "route": route})
        if answer is None or answer[0] != 200:
            return []
        messages = answer[1].get("messages")
        if not isinstance(messages, list):
            return []
        return [m for m in messages if isinstance(m, dict) and isinstance(m.get("text"), str)]


_client: BackofficeClient | None = None


def backoffice() -> BackofficeClient:
    """One client per process, reading its settings at first use."""
    global _client
    if _client is None:
        _client = BackofficeClient()
    return _client
