"""Shared fixtures for the unit tests that use the real knowledge index and embedding model.

The model and the index are prepared by `bin/bot setup`; loading the model takes seconds, so one
service is loaded for the whole session (get_service() keeps it for the process, and the actions
use the same one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.retrieval import Retriever
from bot.knowledge.service import KnowledgeService, get_service

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def service() -> KnowledgeService:
    return get_service()


@pytest.fixture(scope="session")
def index(service: KnowledgeService) -> KnowledgeIndex:
    return service.index


@pytest.fixture(scope="session")
def retriever(service: KnowledgeService) -> Retriever:
    return service.retriever


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """domain.yml as the action server receives it."""
    return yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
