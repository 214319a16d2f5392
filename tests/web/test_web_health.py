"""GET /health tells a load balancer whether the back office can reach its database and write to it."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from web_helpers import Backoffice, StartBackoffice, postgres_url_in

from bot.handoff.config import HandoffSettings
from bot.handoff.database import make_engine
from bot.handoff.draft import TicketDraft
from bot.handoff.models import Ticket
from bot.handoff.store import HandoffStore, StoreReadOnly, upgrade
from bot.web.database_health import CHECK_INTERVAL_SECONDS, DatabaseHealth
from tests.postgres import libpq
from tests.samples import handoff_draft_values

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


def _alembic_rows(database_url: str) -> list[tuple[str, ...]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


async def _refuses_to_write(backoffice: Backoffice) -> None:
    response = await backoffice.client.get("/health")
    assert response.status == 503
    # Which database and why stay in the log: the answer is public.
    assert await response.json() == {"status": "error", "database": "read-only"}


@pytest.mark.asyncio
async def test_health_reports_a_read_only_sqlite_database(
    start_backoffice: StartBackoffice, store: HandoffStore, database_url: str, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    path = make_url(database_url).database
    # As root a chmod 0444 would not stop a write: SQLite's own read-only mode does, for everyone.
    read_only = HandoffSettings(_env_file=None, database_url=f"sqlite:///file:{path}?mode=ro&uri=true")  # type: ignore[call-arg]
    backoffice = await start_backoffice(handoff=read_only)
    await _refuses_to_write(backoffice)

    # Reading still works; a change is refused with the database's 503, not a server error.
    assert (await backoffice.sign_in()).status == 303
    assert (await backoffice.client.get(f"/api/tickets/{ticket.reference}")).status == 200
    changed = await backoffice.client.post(
        f"/api/tickets/{ticket.reference}/status",
        json={"status": "closed"},
        headers={"X-CSRF-Token": await backoffice.api_token()},
    )
    assert changed.status == 503
    assert store.get(ticket.reference).status == "new"  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_health_reports_a_read_only_postgresql_server(
    start_backoffice: StartBackoffice, postgres_database: str, postgres_schema: str
) -> None:
    writable = postgres_url_in(postgres_database, postgres_schema)
    upgrade(writable)
    writer = HandoffStore(writable)
    try:
        ticket = writer.create_ticket(TicketDraft(**handoff_draft_values()), [])
    finally:
        writer.close()
    # What a standby or a database set read-only looks like to its clients.
    read_only = postgres_url_in(postgres_database, postgres_schema, "-cdefault_transaction_read_only=on")
    backoffice = await start_backoffice(handoff=HandoffSettings(_env_file=None, database_url=read_only))  # type: ignore[call-arg]
    await _refuses_to_write(backoffice)

    assert (await backoffice.sign_in()).status == 303
    changed = await backoffice.client.post(
        f"/api/tickets/{ticket.reference}/status",
        json={"status": "closed"},
        headers={"X-CSRF-Token": await backoffice.api_token()},
    )
    assert changed.status == 503 and "unavailable" in (await changed.json())["error"]


@pytest.fixture
def read_only_role(postgres_database: str, postgres_schema: str) -> Iterator[str]:
    """A URL as a role that may read the migrated schema but not write it."""
    upgrade(postgres_url_in(postgres_database, postgres_schema))
    role = f"ris3_reader_{secrets.token_hex(4)}"
    with psycopg.connect(libpq(postgres_database), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(*map(sql.Identifier, (postgres_schema, role))))
        admin.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                *map(sql.Identifier, (postgres_schema, role))
            )
        )
        try:
            yield postgres_url_in(
                make_url(postgres_database).set(username=role).render_as_string(False), postgres_schema
            )
        finally:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.mark.asyncio
async def test_health_reports_a_postgresql_role_that_may_only_read(
    read_only_role: str, start_backoffice: StartBackoffice
) -> None:
    backoffice = await start_backoffice(handoff=HandoffSettings(_env_file=None, database_url=read_only_role))  # type: ignore[call-arg]
    await _refuses_to_write(backoffice)


@pytest.mark.asyncio
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_write_probe_leaves_nothing_behind(
    backend: str, request: pytest.FixtureRequest, start_backoffice: StartBackoffice, store: HandoffStore
) -> None:
    if backend == "sqlite":
        database_url = store.engine.url.render_as_string(hide_password=False)
    else:
        database_url = postgres_url_in(
            request.getfixturevalue("postgres_database"), request.getfixturevalue("postgres_schema")
        )
        upgrade(database_url)
    before = _alembic_rows(database_url)
    backoffice = await start_backoffice(handoff=HandoffSettings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    for _ in range(3):
        response = await backoffice.client.get("/health")
        assert response.status == 200 and await response.json() == {"status": "ok", "database": "ok"}
    assert _alembic_rows(database_url) == before and len(before) == 1


class _CountingStore:
    """Stands in for the store: counts the checks, and refuses writes when told to."""

    def __init__(self) -> None:
        self.checks = 0
        self.read_only = False

    def ping(self) -> None:
        pass

    def check_writable(self) -> None:
        self.checks += 1
        if self.read_only:
            raise StoreReadOnly("refuses to write")


@pytest.mark.asyncio
async def test_the_database_is_checked_at_most_every_few_seconds_however_often_asked() -> None:
    store, now = _CountingStore(), [0.0]
    health = DatabaseHealth(store, clock=lambda: now[0])  # type: ignore[arg-type]
    # /health is public: a flood of requests must not become a flood of writes to the database.
    assert await asyncio.gather(*(health.state() for _ in range(20))) == ["ok"] * 20
    assert store.checks == 1

    store.read_only = True
    now[0] += CHECK_INTERVAL_SECONDS / 2
    assert await health.state() == "ok" and store.checks == 1
    now[0] += CHECK_INTERVAL_SECONDS / 2
    assert await health.state() == "read-only" and store.checks == 2
