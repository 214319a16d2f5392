"""Fixtures for the handoff tests: a migrated store on SQLite and on a real PostgreSQL server.

PostgreSQL: one database `ris3_test_<random>` per test run, created on the server named by
RIS3_TEST_POSTGRES_URL (default: the local server, user postgres, database test) and dropped at the
end; each test gets a fresh schema in it. When the server cannot be reached the PostgreSQL tests
fail under CI (CI set), so a CI without its database cannot pass by skipping, and skip elsewhere.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from bot.handoff.draft import TicketDraft
from bot.handoff.store import HandoffStore, upgrade
from tests.postgres import libpq, scratch_database, url_of
from tests.samples import handoff_draft_values

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a database made for this test run; dropped when the run ends."""
    with scratch_database() as (_, name):
        yield url_of(name)


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """A URL whose connections work in a fresh, empty schema of the test run's database."""
    schema = f"t_{secrets.token_hex(4)}"
    with psycopg.connect(libpq(postgres_database), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        yield (
            make_url(postgres_database)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
        connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend, not migrated."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'handoff.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def store(database_url: str) -> Iterator[HandoffStore]:
    handoff_store = HandoffStore(database_url)
    yield handoff_store
    handoff_store.close()


@pytest.fixture
def make_draft() -> Callable[..., TicketDraft]:
    def make(**overrides: Any) -> TicketDraft:
        return TicketDraft(**handoff_draft_values(**overrides))

    return make


@pytest.fixture
def free_port() -> int:
    """A port on which nothing listens (until the test starts something there)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
