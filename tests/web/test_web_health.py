"""GET /health tells a load balancer whether the back office can reach its database."""

from __future__ import annotations

import pytest
from web_helpers import Backoffice, StartBackoffice

from bot.handoff.config import HandoffSettings

# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE = "postgresql+psycopg://x@127.0.0.1:1/x"


@pytest.mark.asyncio
async def test_health_is_ok_with_the_database(backoffice: Backoffice) -> None:
    response = await backoffice.client.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.asyncio
async def test_health_reports_a_database_that_is_down(start_backoffice: StartBackoffice) -> None:
    down = await start_backoffice(handoff=HandoffSettings(_env_file=None, database_url=UNREACHABLE))  # type: ignore[call-arg]
    response = await down.client.get("/health")
    assert response.status == 503
    assert (await response.json())["database"] == "down"

    # Signing in needs no database; the inbox then says the database is away instead of failing.
    assert (await down.sign_in()).status == 303
    page = await down.client.get("/inbox")
    assert page.status == 503 and "unavailable" in await page.text()
    api = await down.client.get("/api/tickets")
    assert api.status == 503 and "unavailable" in (await api.json())["error"]
