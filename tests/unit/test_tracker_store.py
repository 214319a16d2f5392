"""bot.tracker_store: Rasa's SQL table written by a leaner store. Run in the Rasa runtime, as Rasa loads it
from an endpoints file: conversations are saved and read back as with Rasa's store (the same rows, the same
trackers, each store reading what the other wrote, on SQLite and PostgreSQL), and a SQLite file is in WAL
mode with synchronous=NORMAL on the store's connections."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from bot.runtime import PROJECT_ROOT, RASA_VENV
from tests.postgres import scratch_database, url_of

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
        f'tracker_store:\n  type: bot.tracker_store.LeanSQLTrackerStore\n  dialect: "sqlite"\n  db: "{database}"\n'
    )
    done = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", PROBE, str(endpoints)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["class"] == "LeanSQLTrackerStore"
    assert result["events"] == ["action", "user", "slot", "bot", "action", "user"]
    assert result["language"] == "fi"
    assert result["synchronous"] == 1  # NORMAL
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_embedded_default_uses_it() -> None:
    endpoints = (PROJECT_ROOT / "endpoints.yml").read_text()
    assert "type: bot.tracker_store.LeanSQLTrackerStore" in endpoints


# The same conversation through Rasa's store and ours, step by step: a new conversation, turns added to a
# tracker read back, a save with nothing new, a second session (Rasa's session start: the events before it
# stay stored but are no longer the tracker), and a save of a tracker that still holds events stored before.
SAME_AS_RASA = r"""
import asyncio, json, sys
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from bot.tracker_store import LeanSQLTrackerStore

def connection(target):
    if target.startswith("sqlite:"):
        return dict(dialect="sqlite", db=target.split(":", 1)[1])
    url = sa.engine.make_url(target)
    return dict(dialect="postgresql", host=url.host, port=url.port, db=url.database, username=url.username,
                password=url.password)

async def steps(store, other, t0):
    seen = []
    async def look(sender):
        mine, theirs = await store.retrieve(sender), await other.retrieve(sender)
        seen.append([None if t is None else [e.as_dict() for e in t.events] for t in (mine, theirs)])
        return mine
    tracker = DialogueStateTracker.from_events("rest:a", [
        ActionExecuted("action_listen", timestamp=t0), UserUttered("Mitkä ovat painopisteet?", timestamp=t0 + 1),
        SlotSet("language", "fi", timestamp=t0 + 1), BotUttered("Kolme", timestamp=t0 + 2),
        ActionExecuted("action_listen", timestamp=t0 + 2)])
    await store.save(tracker)
    tracker = await look("rest:a")
    tracker.update(UserUttered("kiitos", timestamp=t0 + 3))
    tracker.update(BotUttered("Ole hyvä", timestamp=t0 + 4))
    await store.save(tracker)
    await store.save(await look("rest:a"))  # nothing new
    tracker = await look("rest:a")
    for e in [ActionExecuted("action_session_start", timestamp=t0 + 100), SessionStarted(timestamp=t0 + 100),
              ActionExecuted("action_listen", timestamp=t0 + 100), UserUttered("hello", timestamp=t0 + 101)]:
        tracker.update(e)
    await store.save(tracker)
    tracker = await look("rest:a")
    tracker.update(BotUttered("Hi", timestamp=t0 + 102))
    await store.save(tracker)
    await look("rest:a")
    await look("rest:nobody")
    await store.save(DialogueStateTracker.from_events("rest:b", [ActionExecuted("action_listen", timestamp=t0)]))
    await look("rest:b")
    return seen

async def main():
    domain = Domain.from_yaml("slots:\n  language:\n    type: text\n    mappings: [{type: custom}]\n")
    out = {}
    for name, cls in (("rasa", SQLTrackerStore), ("lean", LeanSQLTrackerStore)):
        target = sys.argv[1] if name == "rasa" else sys.argv[2]
        store, other = cls(domain, **connection(target)), SQLTrackerStore(domain, **connection(target))
        seen = await steps(store, other, 1700000000.0)
        with store.engine.connect() as c:
            rows = [list(r) for r in c.execute(sa.text(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"))]
        out[name] = {"seen": seen, "rows": rows, "class": type(store).__name__}
    print(json.dumps(out))

asyncio.run(main())
"""


def _run_same_as_rasa(rasa_target: str, lean_target: str) -> dict[str, dict]:
    done = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", SAME_AS_RASA, rasa_target, lean_target],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _assert_same(result: dict[str, dict]) -> None:
    rasa, lean = result["rasa"], result["lean"]
    assert lean["class"] == "LeanSQLTrackerStore"
    assert lean["rows"] == rasa["rows"]  # the same rows in the same order
    assert len(rasa["rows"]) == 13  # each event stored once: 5 + 2 + 0 + 4 + 1 in "rest:a", 1 in "rest:b"
    for mine, theirs in lean["seen"]:
        assert mine == theirs  # Rasa's store reads what ours wrote as ours does
    assert lean["seen"] == rasa["seen"]
    second_session = lean["seen"][4][0]
    assert [e["event"] for e in second_session] == ["action", "session_started", "action", "user", "bot"]
    assert lean["seen"][5] == [None, None]


def test_the_same_rows_and_trackers_as_rasas_store_on_sqlite(tmp_path: Path) -> None:
    _assert_same(_run_same_as_rasa(f"sqlite:{tmp_path / 'rasa.db'}", f"sqlite:{tmp_path / 'lean.db'}"))


def test_the_same_rows_and_trackers_as_rasas_store_on_postgresql() -> None:
    with scratch_database() as (_, rasa_db), scratch_database() as (_, lean_db):
        _assert_same(_run_same_as_rasa(url_of(rasa_db), url_of(lean_db)))


@pytest.mark.parametrize("sender", ["rest:x'); DROP TABLE events; --", "telegram:Ä ö 🙂"])
def test_sender_ids_are_bound_not_spliced(tmp_path: Path, sender: str) -> None:
    database = tmp_path / "t.db"
    probe = f"""
import asyncio
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from bot.tracker_store import LeanSQLTrackerStore
async def main():
    store = LeanSQLTrackerStore(Domain.empty(), dialect="sqlite", db={str(database)!r})
    await store.save(DialogueStateTracker.from_events({sender!r}, [ActionExecuted("action_listen"), UserUttered("hi")]))
    back = await store.retrieve({sender!r})
    print(len(back.events), back.sender_id == {sender!r})
asyncio.run(main())
"""
    done = subprocess.run([str(RASA_VENV / "bin" / "python"), "-c", probe], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-2:] == ["2", "True"]
