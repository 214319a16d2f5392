"""Fixtures for the Review tests: a copy of the knowledge and the FAQ cases to change, a desk on them (with a
fake embedder unless a test needs meaning), and the back office serving the Review page on a tracker store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from review_helpers import (
    API_TOKEN,
    NLU_DIR,
    MakeDesk,
    ReviewStack,
    StartBackoffice,
    WordsEmbedder,
    copy_cases,
    copy_knowledge,
    running_stack,
)

from bot.analytics.review import LockedEmbedder, ReviewConfig, ReviewDesk
from bot.handoff.config import HandoffSettings
from bot.knowledge.index import build_index
from bot.settings import get_settings
from bot.web.app import create_app
from bot.web.config import WebSettings
from bot.web.passwords import hash_password
from bot.web.review import REVIEW_DESK
from tests.web.web_helpers import PASSWORD, Backoffice, manager_settings


def pytest_configure(config: pytest.Config) -> None:
    # aiohttp-session 2.12 still keys the request with strings; aiohttp warns about it on every request.
    config.addinivalue_line("filterwarnings", "ignore:It is recommended to use web.RequestKey:UserWarning")


@pytest.fixture(scope="session")
def real_embedder() -> Any:
    """The bot's own embedding model, loaded once for the tests that group by meaning."""
    from bot.knowledge.embedder import Embedder

    return Embedder(get_settings().embedding_model)


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    return copy_knowledge(tmp_path / "knowledge")


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    return copy_cases(tmp_path / "cases")


@pytest.fixture
def config(tmp_path: Path, knowledge: Path, cases: Path) -> ReviewConfig:
    return ReviewConfig(
        knowledge_dir=knowledge,
        index_dir=knowledge / "index",
        embedding_model="fake-model",
        database_url=f"sqlite:///{tmp_path / 'handoff.db'}",
        tracker_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        cases_dir=cases,
        nlu_dir=NLU_DIR,
    )


@pytest.fixture
def make_desk(config: ReviewConfig) -> Iterator[MakeDesk]:
    """Desks on the copied knowledge with the fake embedder; build= replaces the index build."""
    desks: list[ReviewDesk] = []

    def make(build: Callable[[], dict[str, Any]] | None = None, **changes: Any) -> ReviewDesk:
        chosen = ReviewConfig(**{**config.__dict__, **changes})
        desk = ReviewDesk(chosen, LockedEmbedder(chosen.embedding_model, factory=WordsEmbedder), build=build)
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.close()


@pytest.fixture
def built_index(config: ReviewConfig) -> dict[str, Any]:
    """An index of the copied knowledge, built with the fake embedder."""
    _, manifest = build_index(config.knowledge_dir, config.index_dir, config.embedding_model, WordsEmbedder)
    return manifest


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def web_settings(tmp_path: Path, password_hash: str) -> WebSettings:
    return manager_settings(tmp_path, password_hash, api_token=SecretStr(API_TOKEN))


@pytest_asyncio.fixture
async def start_backoffice(web_settings: WebSettings) -> AsyncIterator[StartBackoffice]:
    """Starts the back office with the given desk (its tracker store and handoff database); stopped at the end."""
    clients: list[TestClient] = []  # type: ignore[type-arg]

    async def start(desk: ReviewDesk, rasa_url: str = "http://127.0.0.1:9") -> Backoffice:
        handoff = HandoffSettings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=desk.config.database_url,
            tracker_database_url=desk.config.tracker_url,
            rasa_url=rasa_url,
            timezone="Europe/Helsinki",
        )
        app = create_app(web_settings, handoff)
        app[REVIEW_DESK] = desk
        client: TestClient = TestClient(TestServer(app, host="127.0.0.1"))  # type: ignore[type-arg]
        await client.start_server()
        clients.append(client)
        return Backoffice(client)

    yield start
    for client in clients:
        await client.close()


# --- the real bot on a copy of the knowledge -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def review_stack(tmp_path_factory: pytest.TempPathFactory, mailbox: tuple[Any, int], real_embedder: Any) -> Iterator[
    ReviewStack
]:
    """One bot for the Review tests that need it: its knowledge is theirs to change."""
    _, smtp_port = mailbox
    with running_stack(tmp_path_factory.mktemp("review-stack"), smtp_port, real_embedder) as stack:
        yield stack
