"""Old conversations leave Rasa's tracker store: on a copy of the real bot's tracker database (the schema
Rasa made), through the function, the command and the back office's daily purge."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from bot.cli import main as bot_main
from bot.handoff.backoffice import main as handoff_main
from bot.handoff.config import HandoffSettings
from bot.handoff.conversations import purge_conversations
from bot.handoff.store import HandoffStore, upgrade
from bot.runtime import BotProcesses
from bot.web.background import purge_daily
from tests.conftest import post_message


def senders(db: Path) -> set[str]:
    with sqlite3.connect(db) as connection:
        return {row[0] for row in connection.execute("SELECT DISTINCT sender_id FROM events")}


def handoff_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'handoff.db'}"
    upgrade(url)
    return url


@pytest.fixture
def tracker_copy(bot_stack: BotProcesses, tmp_path: Path) -> tuple[Path, str]:
    """A conversation with a handoff form's personal data, then a copy of the tracker database."""
    sender = f"retention-{uuid.uuid4().hex[:8]}"
    post_message(bot_stack.url, sender, "I'd like to talk to a real person")
    post_message(bot_stack.url, sender, "Aino Esimerkki")
    copy = tmp_path / "tracker.db"
    # SQLite's backup, not a file copy: the last turns may still be in the write-ahead log beside the file
    with sqlite3.connect(bot_stack.workdir / "tracker.db") as live, sqlite3.connect(copy) as target:
        live.backup(target)
    conversation = f"rest:{sender}"  # the REST channel's namespace (bot/channels/conversation_ids.py)
    assert conversation in senders(copy)
    return copy, conversation


def test_conversations_older_than_the_retention_are_erased_whole(tracker_copy: tuple[Path, str]) -> None:
    db, sender = tracker_copy
    url = f"sqlite:///{db}"
    before = senders(db)
    assert sender in before
    assert purge_conversations(url, 1) == 0  # all of today: kept
    assert senders(db) == before
    # Two days later, with a one-day retention, every conversation is past it.
    assert purge_conversations(url, 1, now=time.time() + 2 * 86400) == len(before)
    assert senders(db) == set()
    with sqlite3.connect(db) as connection:
        assert not connection.execute("SELECT 1 FROM events WHERE data LIKE '%Esimerkki%'").fetchall()


def test_the_purge_command_erases_conversations_too(
    tracker_copy: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, sender = tracker_copy
    monkeypatch.setenv("RIS3_TRACKER_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("RIS3_HANDOFF_DATABASE_URL", handoff_db(tmp_path))
    assert bot_main(["handoff", "purge"]) == 0
    assert "retention 90 days: 0 conversations" in capsys.readouterr().out
    assert sender in senders(db)
    time.sleep(0.01)
    assert bot_main(["handoff", "purge", "--days", "0"]) == 0
    assert "retention 0 days: " in capsys.readouterr().out
    assert sender not in senders(db)


def test_no_tracker_database_yet_is_not_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert purge_conversations(f"sqlite:///{missing}", 0) == 0
    assert not missing.exists()  # looking made no empty database


def test_an_unreachable_tracker_database_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("RIS3_TRACKER_DATABASE_URL", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    monkeypatch.setenv("RIS3_HANDOFF_DATABASE_URL", handoff_db(tmp_path))
    assert bot_main(["handoff", "purge"]) == 1
    err = capsys.readouterr().err
    assert "conversation store failed" in err and "RIS3_TRACKER_DATABASE_URL" in err and "secret" not in err


@pytest.mark.asyncio
async def test_the_back_offices_daily_purge_erases_conversations(
    tracker_copy: tuple[Path, str], tmp_path: Path
) -> None:
    db, sender = tracker_copy
    store = HandoffStore(handoff_db(tmp_path))
    stop = asyncio.Event()
    settings = HandoffSettings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=handoff_db(tmp_path),
        tracker_database_url=f"sqlite:///{db}",
        retention_days=0,
    )
    task = asyncio.create_task(purge_daily(settings, 3600, stop))
    try:
        for _ in range(200):
            if sender not in senders(db):
                break
            await asyncio.sleep(0.05)
        assert sender not in senders(db)
    finally:
        stop.set()
        await task
        store.close()


def test_the_back_office_purge_command_reports_an_unreachable_tracker_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = HandoffSettings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=handoff_db(tmp_path),
        tracker_database_url="postgresql+psycopg://nobody:secret@127.0.0.1:1/none",
    )
    assert handoff_main(["purge"], settings) == 1
    err = capsys.readouterr().err
    assert "conversation store failed" in err and "RIS3_TRACKER_DATABASE_URL" in err and "secret" not in err
