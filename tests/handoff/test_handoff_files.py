"""The SQLite handoff database at rest: its file, the journals SQLite writes beside it and its folder are
private to the bot's user, whatever the umask, including a database made before they were."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.handoff.draft import TicketDraft
from bot.handoff.store import HandoffStore, upgrade


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask of most systems, under which files are created readable by everyone (0644)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_database_and_its_folders_are_private(tmp_path: Path) -> None:
    database = tmp_path / "var" / "handoff" / "handoff.db"
    upgrade(f"sqlite:///{database}")
    assert mode(database) == 0o600
    assert mode(database.parent) == 0o700
    assert mode(database.parent.parent) == 0o700


@pytest.mark.parametrize(("journal_mode", "suffixes"), [("PERSIST", ["-journal"]), ("WAL", ["-wal", "-shm"])])
def test_the_journals_sqlite_writes_are_private_too(tmp_path: Path, journal_mode: str, suffixes: list[str]) -> None:
    database = tmp_path / "handoff.db"
    upgrade(f"sqlite:///{database}")
    connection = sqlite3.connect(database)
    try:
        connection.execute(f"PRAGMA journal_mode={journal_mode}")
        with connection:
            connection.execute("UPDATE alembic_version SET version_num = version_num")
        # The journals stay while the connection is open (WAL) or for good (PERSIST).
        for suffix in suffixes:
            journal = Path(f"{database}{suffix}")
            assert journal.exists(), journal
            assert mode(journal) == 0o600, (journal, oct(mode(journal)))
    finally:
        connection.close()


def _database_made_world_readable(path: Path, make_draft: Callable[..., TicketDraft]) -> str:
    """A database with a ticket, as SQLite left it under the usual umask before files were made private."""
    sqlite3.connect(path).close()
    path.chmod(0o644)
    url = f"sqlite:///{path}"
    upgrade(url)
    store = HandoffStore(url)
    try:
        reference = store.create_ticket(make_draft(), ["email"]).reference
    finally:
        store.close()
    path.chmod(0o644)
    Path(f"{path}-wal").write_bytes(b"")
    Path(f"{path}-wal").chmod(0o644)
    return reference


def test_an_existing_open_database_is_made_private_and_keeps_its_tickets(
    tmp_path: Path, make_draft: Callable[..., TicketDraft], caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "handoff.db"
    reference = _database_made_world_readable(database, make_draft)

    with caplog.at_level(logging.WARNING, logger="bot.handoff.database"):
        store = HandoffStore(f"sqlite:///{database}")
    try:
        assert mode(database) == 0o600
        assert mode(Path(f"{database}-wal")) == 0o600
        assert "made it 600" in caplog.text
        ticket = store.get(reference)
        assert ticket is not None and ticket.name == make_draft().name
    finally:
        store.close()


def test_a_file_owned_by_another_user_is_left_alone_with_a_warning(
    tmp_path: Path,
    make_draft: Callable[..., TicketDraft],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = tmp_path / "handoff.db"
    _database_made_world_readable(database, make_draft)
    # The process runs as someone other than the file's owner.
    owner = database.stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)

    with caplog.at_level(logging.WARNING, logger="bot.handoff.database"):
        HandoffStore(f"sqlite:///{database}").close()
    assert mode(database) == 0o644
    assert f"{database} is open to other users (mode 644) and owned by another user" in caplog.text


def test_an_existing_folder_is_not_changed_but_one_others_may_write_to_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with caplog.at_level(logging.WARNING, logger="bot.handoff.database"):
        upgrade(f"sqlite:///{shared / 'handoff.db'}")
    assert mode(shared) == 0o777
    assert mode(shared / "handoff.db") == 0o600
    assert "may be written by other users" in caplog.text

    caplog.clear()
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)  # like /tmp: others cannot remove or replace our file
    with caplog.at_level(logging.WARNING, logger="bot.handoff.database"):
        upgrade(f"sqlite:///{sticky / 'handoff.db'}")
    assert mode(sticky / "handoff.db") == 0o600
    assert "may be written" not in caplog.text


def test_an_in_memory_database_needs_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = HandoffStore("sqlite://")
    try:
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        store.close()
    assert list(tmp_path.iterdir()) == []
