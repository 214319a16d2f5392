"""bot.tracker_store: Rasa's SQL tracker store on SQLite in write-ahead-log mode. Run in the Rasa runtime, as
Rasa loads it from an endpoints file: conversations are saved and read back as with Rasa's store, and the
database file is in WAL mode with synchronous=NORMAL on the store's connections."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from bot.runtime import PROJECT_ROOT, RASA_VENV

PROBE = r"""
import asyncio, json, sys
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

async def main():
    config = read_endpoint_config(sys.argv[1], "tracker_store")
    domain = Domain.from_yaml("slots:\n  language:\n    type: text\n    mappings: [{type: custom}]\n")
    store = TrackerStore.create(config, domain)
    tracker = DialogueStateTracker.from_events("rest:probe", [
        ActionExecuted("action_listen"), UserUttered("Mitkä ovat painopisteet?"), SlotSet("language", "fi"),
        BotUttered("Kolme painopistettä"), ActionExecuted("action_listen"),
    ])
    await store.save(tracker)
    tracker.update(UserUttered("kiitos"))
    await store.save(tracker)
    again = await store.retrieve("rest:probe")
    with store.engine.connect() as connection:
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    print(json.dumps({
        "class": type(store).__name__ if not hasattr(store, "_tracker_store") else type(store._tracker_store).__name__,
        "events": [e.as_dict()["event"] for e in again.events],
        "language": again.get_slot("language"),
        "synchronous": synchronous,
    }))

asyncio.run(main())
"""


def test_conversations_are_kept_in_a_write_ahead_logged_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "tracker.db"
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        f'tracker_store:\n  type: bot.tracker_store.WalSQLTrackerStore\n  dialect: "sqlite"\n  db: "{database}"\n'
    )
    done = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", PROBE, str(endpoints)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["class"] == "WalSQLTrackerStore"
    assert result["events"] == ["action", "user", "slot", "bot", "action", "user"]
    assert result["language"] == "fi"
    assert result["synchronous"] == 1  # NORMAL
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_embedded_default_uses_it() -> None:
    endpoints = (PROJECT_ROOT / "endpoints.yml").read_text()
    assert "type: bot.tracker_store.WalSQLTrackerStore" in endpoints
