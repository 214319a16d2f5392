"""One bot for the operations tests, run as a deployment runs it (tests/ops/ops_stack.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.runtime import BotProcesses
from tests.ops.ops_stack import start_bot


@pytest.fixture(scope="session")
def deployed_bot() -> Iterator[BotProcesses]:
    bot = start_bot()
    try:
        yield bot
    finally:
        bot.stop()
