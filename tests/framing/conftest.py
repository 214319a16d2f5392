"""The three servers, started once for the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.framing.servers import Server, running_servers


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Server]]:
    with running_servers() as started:
        yield started
