"""The back office's commands (python -m bot.handoff …) on a SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.handoff.backoffice import main
from bot.handoff.config import HandoffSettings
from bot.handoff.draft import TicketDraft
from bot.handoff.models import utcnow
from bot.handoff.store import HandoffStore


def test_upgrade_list_purge_and_ping(
    tmp_path: Path, make_draft: Callable[..., TicketDraft], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = HandoffSettings(database_url=f"sqlite:///{tmp_path / 'var' / 'handoff.db'}", retention_days=30)
    assert main(["ping"], settings) == 1
    assert "python -m bot.handoff upgrade" in capsys.readouterr().err

    assert main(["upgrade"], settings) == 0
    assert main(["ping"], settings) == 0
    old_clock = iter([utcnow() - timedelta(days=31)] * 2)
    store = HandoffStore(settings.database_url, clock=lambda: next(old_clock))
    try:
        ticket = store.create_ticket(make_draft(name="Listattu Henkilö"), ["email"])
    finally:
        store.close()
    capsys.readouterr()

    assert main(["tickets"], settings) == 0
    listing = capsys.readouterr().out
    assert ticket.reference in listing and "email pending" in listing and "Listattu" not in listing
    assert main(["purge"], settings) == 0
    assert "retention 30 days: 0 conversations, personal data of 1 tickets" in capsys.readouterr().out
