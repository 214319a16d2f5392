"""Fixtures for the back-office tests: a migrated SQLite store in tmp_path, a manager account whose
password is made up for this run, and the app served on a loopback port with a cookie-keeping client.

PostgreSQL (for the tests that need it): one database `ris3_test_<random>` per run on the server named by
RIS3_TEST_POSTGRES_URL (default: the local server, user postgres, database test), a fresh schema per test;
unreachable, those tests fail under CI and skip elsewhere, as in tests/handoff."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from psycopg import sql
from web_helpers import PASSWORD, Backoffice, Client, StartBackoffice, manager_settings

from bot.handoff.config import HandoffSettings
from bot.handoff.draft import TicketDraft
from bot.handoff.models import Ticket
from bot.handoff.store import HandoffStore, upgrade
from bot.web.app import create_app
from bot.web.config import WebSettings
from bot.web.passwords import hash_password
from tests.postgres import libpq, scratch_database, url_of
from tests.samples import handoff_draft_values


def pytest_configure(config: pytest.Config) -> None:
    # aiohttp-session 2.12 still keys the request with strings; aiohttp warns about it on every request.
    config.addinivalue_line("filterwarnings", "ignore:It is recommended to use web.RequestKey:UserWarning")


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'handoff.db'}"


@pytest.fixture
def store(database_url: str) -> Iterator[HandoffStore]:
    upgrade(database_url)
    handoff_store = HandoffStore(database_url)
    yield handoff_store
    handoff_store.close()


@pytest.fixture
def handoff_settings(database_url: str) -> HandoffSettings:
    return HandoffSettings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]


@pytest.fixture
def web_settings(tmp_path: Path, password_hash: str) -> WebSettings:
    return manager_settings(tmp_path, password_hash, outbox_interval_seconds=0.1, shutdown_grace_seconds=5.0)


@pytest_asyncio.fixture
async def start_backoffice(
    web_settings: WebSettings, handoff_settings: HandoffSettings
) -> AsyncIterator[StartBackoffice]:
    """Starts the app (its startup and background work included); everything started stops at the end."""
    clients: list[Client] = []

    async def start(
        settings: WebSettings | None = None,
        handoff: HandoffSettings | None = None,
        prepare: Callable[[web.Application], None] | None = None,
    ) -> Backoffice:
        app = create_app(settings or web_settings, handoff or handoff_settings)
        if prepare is not None:
            prepare(app)  # e.g. a counting account or a fake clock, before the app is frozen
        client: Client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return Backoffice(client)

    yield start
    for client in clients:
        await client.close()


@pytest_asyncio.fixture
async def backoffice(start_backoffice: StartBackoffice, store: HandoffStore) -> Backoffice:
    return await start_backoffice()


@pytest_asyncio.fixture
async def signed_in(backoffice: Backoffice) -> Backoffice:
    response = await backoffice.sign_in()
    assert response.status == 303, await response.text()
    return backoffice


@pytest.fixture
def make_ticket(store: HandoffStore) -> Callable[..., Ticket]:
    def make(channels: tuple[str, ...] = (), **overrides: Any) -> Ticket:
        return store.create_ticket(TicketDraft(**handoff_draft_values(**overrides)), list(channels))

    return make


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a database made for this test run; dropped when the run ends."""
    with scratch_database() as (_, name):
        yield url_of(name)


@pytest.fixture
def postgres_schema(postgres_database: str) -> Iterator[str]:
    """A fresh, empty schema in the test run's database; dropped after the test."""
    schema = f"t_{secrets.token_hex(4)}"
    with psycopg.connect(libpq(postgres_database), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        yield schema
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
