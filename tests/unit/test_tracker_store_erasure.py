"""The tracker store deletes a conversation erased at the user's request (bot/tracker_store.py): a save whose new
events set `conversation_erased` deletes every event of the conversation, its earlier sessions too, instead of
appending, and leaves other conversations alone; on SQLite and PostgreSQL, in the Rasa runtime."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bot.runtime import PROJECT_ROOT, RASA_VENV
from tests.postgres import scratch_database, url_of

PROBE = r"""
import asyncio, json, sys
import sqlalchemy as sa
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

async def main():
    domain = Domain.from_yaml("slots:\n  conversation_erased:\n    type: bool\n    mappings: [{type: custom}]\n")
    store = LeanSQLTrackerStore(domain, **connection(sys.argv[1]))
    t0 = 1700000000.0
    for sender in ("web:kept", "web:erased"):
        tracker = DialogueStateTracker.from_events(sender, [
            ActionExecuted("action_listen", timestamp=t0), UserUttered("Minun nimeni on Kaisa", timestamp=t0 + 1),
            BotUttered("Kiitos", timestamp=t0 + 2), ActionExecuted("action_session_start", timestamp=t0 + 50),
            SessionStarted(timestamp=t0 + 50), ActionExecuted("action_listen", timestamp=t0 + 50)])
        await store.save(tracker)
    tracker = await store.retrieve("web:erased")
    for event in [UserUttered("/erase_conversation", timestamp=t0 + 60),
                  ActionExecuted("action_erase_conversation", timestamp=t0 + 61),
                  BotUttered("Poistettu", timestamp=t0 + 61), SlotSet("conversation_erased", True, timestamp=t0 + 61),
                  ActionExecuted("action_listen", timestamp=t0 + 61)]:
        tracker.update(event)
    await store.save(tracker)
    with store.engine.connect() as c:
        rows = [list(r) for r in c.execute(sa.text("SELECT sender_id, data FROM events ORDER BY id"))]
    again = await store.retrieve("web:erased")
    print(json.dumps({"rows": rows, "again": None if again is None else len(again.events)}))

asyncio.run(main())
"""


def _run(target: str) -> dict:
    done = subprocess.run([str(RASA_VENV / "bin" / "python"), "-c", PROBE, target], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _assert_erased(result: dict) -> None:
    senders = {sender for sender, _ in result["rows"]}
    assert senders == {"web:kept"}  # every session of the erased one gone, the other one whole
    assert len(result["rows"]) == 6 and any("Kaisa" in data for _, data in result["rows"])
    assert result["again"] is None  # the next message starts a new conversation


def test_an_erased_conversation_is_deleted_on_sqlite(tmp_path: Path) -> None:
    _assert_erased(_run(f"sqlite:{tmp_path / 'tracker.db'}"))


def test_an_erased_conversation_is_deleted_on_postgresql() -> None:
    with scratch_database() as (_, name):
        _assert_erased(_run(url_of(name)))
