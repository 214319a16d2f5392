"""Fixtures for the Insights tests: a tracker store seeded with conversations (SQLite in tmp_path, or a
scratch PostgreSQL database of tests/postgres.py), and the back office reading it, signed in or not."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from insights_seed import API_TOKEN, StartBackoffice
from pydantic import SecretStr

from bot.handoff.config import HandoffSettings
from bot.web.app import create_app
from bot.web.config import WebSettings
from bot.web.passwords import hash_password
from tests.postgres import scratch_database, url_of
from tests.web.web_helpers import PASSWORD, Backoffice, manager_settings


def pytest_configure(config: pytest.Config) -> None:
    # aiohttp-session 2.12 still keys the request with strings; aiohttp warns about it on every request.
    config.addinivalue_line("filterwarnings", "ignore:It is recommended to use web.RequestKey:UserWarning")


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty tracker store of each kind; the PostgreSQL one is a database of its own, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    with scratch_database("ris3_insights") as (_, name):
        yield url_of(name)


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def web_settings(tmp_path: Path, password_hash: str) -> WebSettings:
    return manager_settings(tmp_path, password_hash, api_token=SecretStr(API_TOKEN))


@pytest_asyncio.fixture
async def start_backoffice(tmp_path: Path, web_settings: WebSettings) -> AsyncIterator[StartBackoffice]:
    """Starts the back office on a tracker store URL; stopped at the end of the test."""
    clients: list[TestClient] = []  # type: ignore[type-arg]

    async def start(tracker_database_url: str) -> Backoffice:
        handoff = HandoffSettings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite:///{tmp_path / 'handoff.db'}",
            tracker_database_url=tracker_database_url,
            timezone="Europe/Helsinki",
            # The seeded conversations are older than the default 90 days: the back office's start-up purge
            # would erase them (bot/web/background.py).
            retention_days=36500,
        )
        client: TestClient = TestClient(TestServer(create_app(web_settings, handoff), host="127.0.0.1"))  # type: ignore[type-arg]
        await client.start_server()
        clients.append(client)
        return Backoffice(client)

    yield start
    for client in clients:
        await client.close()
